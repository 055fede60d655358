"""Where a source is (path, file://, http(s)://, SQL URL) and which format it holds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_, N_

FORMATS = ("csv", "xlsx", "json", "jsonl", "parquet", "sql")
"""Formats ingest reads; `sql` is a table or query of a database named by a SQLAlchemy URL."""

_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
HINT_FORMAT = N_(
    "name the format with --format (CLI) or the form field 'format' (API): csv, xlsx, json, jsonl, parquet"
)


@dataclass(frozen=True)
class SourceRef:
    """A source as the user named it, classified and allowed, not yet opened."""

    kind: str  # "path" | "http" | "sql"
    text: str
    """What the user gave, safe to show and to store (passwords hidden)."""
    location: str
    """The path, URL or SQL URL to open."""
    url: Any = None
    """A SQL source's parsed SQLAlchemy URL, its driver made explicit."""
    driver: Any = None
    """A SQL source's `databases.Driver`."""

    @property
    def name(self) -> str:
        """Short name for messages: file name, or the URL without credentials."""
        if self.kind == "path":
            return Path(self.location).name
        return self.text


def classify_source(source: str | Path, *, local: bool) -> SourceRef:
    """What a source is and whether it may be read: the one place that decides, for every face.

    `local` is True for an operator on the server (the CLI, in-process callers): files, file://
    and SQLite databases are theirs to name. The API passes False: only http(s) URLs and database
    servers of the allowed drivers. The text is taken exactly as given: leading or trailing
    whitespace or a control character anywhere is refused, never stripped, so the string that is
    checked is the string that is opened. Where a network source may connect is checked when it
    is opened (`network.AddressPolicy`).
    """
    if isinstance(source, Path):
        if not local:
            raise _not_remote(str(source))
        return SourceRef("path", str(source), str(source))
    text = source
    if not text:
        raise InvalidInput(M_("no source given"), hint=M_("give a path or URL"))
    if text != text.strip() or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput(
            M_("the source has leading or trailing whitespace or a control character"),
            where=repr(text[:200]),
            hint=M_("remove the whitespace and line breaks, then retry"),
        )
    m = _SCHEME.match(text)
    scheme = m.group(1).lower() if m else ""
    if not scheme or scheme == "file":
        if not local:
            raise _not_remote(text)
        return SourceRef("path", text, unquote(urlparse(text).path) if scheme else text)
    if scheme in ("http", "https"):
        return _http(text)
    from shuzhi.ingest import databases

    if scheme.partition("+")[0] not in databases.BACKENDS:
        drivers = databases.allowed_drivers(local=local)
        raise InvalidInput(
            M_("unsupported scheme %(scheme)s://", scheme=scheme),
            where=text[:200],
            hint=M_("use http(s)://, a database URL (%(drivers)s), a path or file://", drivers=drivers)
            if local
            else M_("use http(s):// or a database URL (%(drivers)s)", drivers=drivers),
        )
    url, driver = databases.parse_url(text, local=local)
    return SourceRef(
        "sql",
        url.render_as_string(hide_password=True),
        url.render_as_string(hide_password=False),
        url,
        driver,
    )


def _not_remote(text: str) -> InvalidInput:
    # Server-side paths (and database files) would let a caller read the server's own disk.
    return InvalidInput(
        M_("the API accepts http(s) or database server URLs only"),
        where=text[:200],
        hint=M_("upload files as multipart field 'file'"),
    )


def _http(text: str) -> SourceRef:
    import httpx

    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise InvalidInput(M_("cannot parse the URL: %(exc)s", exc=exc), where="source") from exc
    if not url.host:
        raise InvalidInput(M_("the URL names no host"), where=text[:200])
    shown = str(url.copy_with(password="***")) if url.password else text
    return SourceRef("http", shown, str(url))


def format_from_name(name: str) -> str | None:
    return _BY_SUFFIX.get(Path(urlparse(name).path if "://" in name else name).suffix.lower())


def sniff_format(head: bytes) -> str | None:
    """Recognise a format from the first bytes of a file when its name does not say."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"[":
        return "json"
    if stripped[:1] == b"{":
        first_line = stripped.split(b"\n", 1)[0].rstrip()
        return "jsonl" if first_line.endswith(b"}") and b"\n" in stripped else "json"
    return None


def resolve_format(fmt: str | None, name: str, head: bytes) -> str:
    """The format asked for, else the one the file name says, else the one the bytes show."""
    if fmt:
        fmt = fmt.lower().lstrip(".")
        fmt = {"ndjson": "jsonl", "xls": "xlsx", "tsv": "csv", "pq": "parquet"}.get(fmt, fmt)
        if fmt not in FORMATS:
            raise InvalidInput(M_("unknown format %(fmt)r", fmt=fmt), where=name, hint=M_(HINT_FORMAT))
        return fmt
    found = format_from_name(name) or sniff_format(head)
    if not found:
        raise InvalidInput(M_("unknown file format"), where=name, hint=M_(HINT_FORMAT))
    return found
