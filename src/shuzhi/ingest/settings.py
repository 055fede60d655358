"""The `[ingest]` settings section: upload limits, conversion, workbook and Parquet bounds, sweeps."""

from __future__ import annotations

from pydantic import BaseModel, ByteSize, Field


class IngestSettings(BaseModel):
    max_upload_bytes: int = 2 * 1024**3
    """Largest file accepted by ingest (CLI and API)."""
    batch_rows: int = 262_144
    """Rows per Arrow batch while converting a file to Parquet."""
    sql_connect_timeout_s: int = 10
    http_timeout_s: float = 60.0
    """Seconds to wait for an http(s) source to connect or send the next bytes."""
    allowed_source_hosts: list[str] = Field(default_factory=list)
    """Hosts (names, `*.suffix`, IP addresses or networks) an http(s) or database source may reach
    although they resolve to a loopback, private, link-local or other non-public address."""
    memory_limit: str = "1GB"
    """DuckDB's working memory while converting; beyond it DuckDB spills to the staging directory."""
    verify_interval_s: float = Field(default=86_400.0, ge=0)
    """How often the server re-hashes every version file against its stored SHA-256 and marks the
    damaged ones (0: never; `shuzhi verify-data` does it on demand)."""
    workbook_max_xml_bytes: ByteSize = ByteSize(512 * 2**20)
    """Largest a workbook's worksheets and shared strings may expand to (as its zip declares, checked
    while inflating before the sheet is parsed): the parser holds a whole sheet in memory."""
    workbook_max_cells: int = Field(default=10_000_000, ge=1)
    """Most cells (rows × columns of the sheet's used range) a workbook sheet may have."""
    workbook_max_rows: int = Field(default=1_048_576, ge=1)
    """Most rows a workbook sheet may have (Excel's own limit by default)."""
    max_decompressed_bytes: ByteSize = ByteSize(16 * 2**30)
    """Largest uncompressed size a Parquet upload may declare in its footer (its row groups)."""
    sweep_interval_s: float = Field(default=900, ge=0)
    """Seconds between the server's sweeps of ingest leftovers (staging areas of dead ingests,
    orphan version files); the server also sweeps at start. 0: at start only."""
    orphan_grace_s: float = Field(default=3600, gt=0)
    """A version file no version row points to is removed by a sweep once it is this old."""


SECTIONS = {"ingest": IngestSettings}
