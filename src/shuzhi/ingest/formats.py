"""Where a source is (path, file://, http(s)://, SQL URL) and which format it holds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from shuzhi.errors import InvalidInput

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
_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql", "duckdb")
HINT_FORMAT = (
    "请指明格式（命令行 --format，API 表单字段 format）：csv, xlsx, json, jsonl, parquet / "
    "name the format with --format (CLI) or the form field 'format' (API)"
)


@dataclass(frozen=True)
class SourceRef:
    """A source as the user named it, classified but not yet opened."""

    kind: str  # "path" | "http" | "sql"
    text: str
    """What the user gave, safe to show and to store (passwords hidden)."""
    location: str
    """The path, URL or SQL URL to open."""

    @property
    def name(self) -> str:
        """Short name for messages: file name, or the URL without credentials."""
        if self.kind == "path":
            return Path(self.location).name
        return self.text


def classify_source(source: str | Path) -> SourceRef:
    text = str(source).strip()
    if not text:
        raise InvalidInput(
            "没有给出数据来源 (no source given)", hint="给出文件路径或 URL / give a path or URL"
        )
    scheme = urlparse(text).scheme.lower() if "://" in text else ""
    if scheme == "file":
        return SourceRef("path", text, unquote(urlparse(text).path))
    if scheme in ("http", "https"):
        return SourceRef("http", text, text)
    if scheme.split("+")[0] in _SQL_SCHEMES:
        from sqlalchemy.engine import make_url

        try:
            shown = make_url(text).render_as_string(hide_password=True)
        except Exception as exc:  # an unparsable URL is the user's input, not a crash
            raise InvalidInput(f"数据库地址无法解析 (cannot parse database URL): {exc}", where=text) from exc
        return SourceRef("sql", shown, text)
    if scheme:
        raise InvalidInput(
            f"不支持的来源协议 {scheme}:// (unsupported scheme)",
            where=text,
            hint="支持文件路径、file://、http(s):// 与数据库 URL / use a path, file://, http(s):// or a database URL",
        )
    return SourceRef("path", text, text)


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
            raise InvalidInput(f"未知格式 {fmt!r} (unknown format)", where=name, hint=HINT_FORMAT)
        return fmt
    found = format_from_name(name) or sniff_format(head)
    if not found:
        raise InvalidInput("无法识别文件格式 (unknown file format)", where=name, hint=HINT_FORMAT)
    return found
