"""Bringing bytes to local disk: HTTP downloads and uploads, streamed, with the size limit enforced as they arrive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from shuzhi.errors import SourceUnavailable, TooLarge

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, bytes total or None)."""

CHUNK = 1 << 20


def too_large(name: str, limit: int) -> TooLarge:
    return TooLarge(
        f"文件超过大小上限 {limit:,} 字节 (file exceeds the size limit of {limit:,} bytes)",
        where=name,
        limit=limit,
        hint="拆分文件后分批加载，或请管理员调整 SHUZHI_INGEST__MAX_UPLOAD_BYTES / split the file or ask an admin to raise the limit",
    )


class LimitedWriter:
    """Writes chunks to a file, failing as soon as the total passes the limit."""

    def __init__(
        self, dest: Path, name: str, limit: int, progress: Progress | None = None, total: int | None = None
    ):
        self.dest, self.name, self.limit = dest, name, limit
        self.progress, self.total, self.done = progress, total, 0
        self._f = open(dest, "wb")  # noqa: SIM115 - closed in finish()/abort()

    def write(self, chunk: bytes) -> None:
        self.done += len(chunk)
        if self.done > self.limit:
            self.abort()
            raise too_large(self.name, self.limit)
        self._f.write(chunk)
        if self.progress:
            self.progress(self.done, self.total)

    def finish(self) -> int:
        # No fsync: a staged file is only read by the ingest that follows in the same request, and
        # after a crash its staging area is swept; the version written from it is synced itself.
        self._f.close()
        return self.done

    def abort(self) -> None:
        self._f.close()
        self.dest.unlink(missing_ok=True)


def save_chunks(
    chunks: Iterable[bytes],
    dest: Path,
    name: str,
    limit: int,
    progress: Progress | None = None,
    total: int | None = None,
) -> int:
    out = LimitedWriter(dest, name, limit, progress, total)
    try:
        for chunk in chunks:
            out.write(chunk)
    except BaseException:
        out.abort()
        raise
    return out.finish()


async def save_upload(chunks: AsyncIterator[bytes], dest: Path, name: str, limit: int) -> int:
    """Stream an upload to disk; stops reading the moment it passes the limit."""
    out = LimitedWriter(dest, name, limit)
    try:
        async for chunk in chunks:
            out.write(chunk)
    except BaseException:
        out.abort()
        raise
    return out.finish()


def download(url: str, dest: Path, limit: int, timeout_s: float, progress: Progress | None = None) -> str:
    """GET a URL to `dest`; returns the response's content type (for format detection)."""
    import httpx

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout_s) as resp:
            if resp.status_code >= 400:
                raise SourceUnavailable(
                    f"下载失败，服务器返回 HTTP {resp.status_code} (download failed)",
                    where=url,
                    hint="检查 URL 是否正确、是否需要登录 / check the URL and whether it needs authentication",
                )
            declared = resp.headers.get("content-length")
            total = int(declared) if declared and declared.isdigit() else None
            if total is not None and total > limit:
                raise too_large(url, limit)
            save_chunks(resp.iter_bytes(CHUNK), dest, url, limit, progress, total)
            return resp.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        raise SourceUnavailable(
            f"无法下载 (cannot download): {exc.__class__.__name__}: {exc}",
            where=url,
            hint="检查网络与地址，稍后重试 / check the network and the address, then retry",
        ) from exc
