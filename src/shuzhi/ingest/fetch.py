"""Bringing bytes to local disk: HTTP downloads and uploads, streamed, with the size limit enforced as they arrive."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from shuzhi.errors import Forbidden, SourceUnavailable, TooLarge
from shuzhi.i18n import M_
from shuzhi.ingest.network import AddressPolicy

Progress = Callable[[int, int | None], None]
"""Called with (bytes done, bytes total or None)."""

CHUNK = 1 << 20


def too_large(name: str, limit: int) -> TooLarge:
    return TooLarge(
        M_("file exceeds the size limit of %(limit)s bytes", limit=format(limit, ",")),
        where=name,
        limit=limit,
        hint=M_("split the file or ask an admin to raise the limit"),
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


MAX_REDIRECTS = 5
"""Redirects an http(s) source may take before the download gives up."""


def _checked_transport(policy: AddressPolicy, where: str):
    """An httpx transport whose every TCP connection goes to an address the policy checked.

    The name is resolved once per connection and the socket opened to that very address, so a
    DNS answer that changes between the check and the connect (rebinding) reaches nothing new.
    TLS still verifies the certificate against the host name of the URL.
    """
    import httpcore
    import httpx

    class Backend(httpcore.SyncBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            last: Exception | None = None
            for addr in policy.resolve(host, port, where=where):
                try:
                    return super().connect_tcp(addr, port, timeout, local_address, socket_options)
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                    last = exc
            raise last  # resolve() returned at least one address

        def connect_unix_socket(self, *args, **kwargs):  # pragma: no cover - never configured
            raise SourceUnavailable(M_("no Unix sockets"), where=where)

    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=Backend()
    )
    return transport


def download(
    url: str,
    dest: Path,
    limit: int,
    timeout_s: float,
    policy: AddressPolicy,
    progress: Progress | None = None,
    *,
    name: str | None = None,
) -> str:
    """GET a URL to `dest`; returns the response's content type (for format detection).

    Redirects are followed here, one hop at a time, each to an http(s) URL whose host passes the
    same address check; no proxy from the environment is used (it would be checked instead of
    the source).
    """
    import httpx

    shown = name or url  # the URL with any password hidden, for messages
    current = httpx.URL(url)
    try:
        with httpx.Client(
            transport=_checked_transport(policy, shown), timeout=timeout_s, trust_env=False
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                where = shown if current == httpx.URL(url) else f"{shown} → {current}"
                with _checked_hop(where), client.stream("GET", current, follow_redirects=False) as resp:
                    if not resp.is_redirect:
                        return _save(resp, dest, shown, limit, progress)
                    location = resp.headers["location"]
                current = _next_hop(current, location, where)
    except httpx.HTTPError as exc:
        raise SourceUnavailable(
            M_("cannot download: %(name__)s: %(exc)s", name__=exc.__class__.__name__, exc=exc),
            where=shown,
            hint=M_("check the network and the address, then retry"),
        ) from exc
    raise SourceUnavailable(
        M_("more than %(MAX_REDIRECTS)s redirects", MAX_REDIRECTS=MAX_REDIRECTS),
        where=f"{shown} → {current}",
        hint=M_("give the final address of the file"),
    )


@contextlib.contextmanager
def _checked_hop(where: str):
    """Name the whole redirect chain in a refusal of one hop's address."""
    try:
        yield
    except Forbidden as exc:
        exc.where = where
        raise


def _next_hop(current, location: str, where: str):
    import httpx

    try:
        nxt = current.join(location)
    except httpx.InvalidURL as exc:
        raise SourceUnavailable(
            M_("invalid redirect location: %(location)r", location=location), where=where
        ) from exc
    if nxt.scheme not in ("http", "https") or not nxt.host:
        raise Forbidden(
            M_("redirect to a non-http(s) address: %(nxt)s", nxt=nxt),
            where=f"{where} → {nxt}",
            hint=M_("a source may only redirect to http(s) addresses"),
        )
    return nxt


def _save(resp, dest: Path, url: str, limit: int, progress: Progress | None) -> str:
    if resp.status_code >= 400:
        raise SourceUnavailable(
            M_("download failed: the server answered HTTP %(status_code)s", status_code=resp.status_code),
            where=url,
            hint=M_("check the URL and whether it needs authentication"),
        )
    declared = resp.headers.get("content-length")
    total = int(declared) if declared and declared.isdigit() else None
    if total is not None and total > limit:
        raise too_large(url, limit)
    save_chunks(resp.iter_bytes(CHUNK), dest, url, limit, progress, total)
    return resp.headers.get("content-type", "")
