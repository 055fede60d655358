"""The `[exchange]` settings section: review deadlines, governed-query limits and workers, exports, expiry."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ByteSize, Field


class ExchangeSettings(BaseModel):
    review_working_days: int = 10
    """Working days a provider has to decide a submitted request."""
    holiday_calendar: str = "cn"
    """'cn': mainland public holidays and adjusted working weekends (chinese-calendar); 'none': weekends only."""
    holidays_file: Path | None = None
    """Extra days, one per line: `2026-10-09` (a holiday) or `2026-10-10 workday` (an adjusted working day)."""
    query_timeout_s: float = 30.0
    query_memory_limit: str = "2GB"
    """DuckDB's own memory limit in a query worker (its buffer manager: joins, sorts, aggregates)."""
    query_process_memory: ByteSize = ByteSize(6 * 2**30)
    """Cap on a query worker's address space (RLIMIT_AS): any allocation past it fails, including
    values DuckDB's memory limit does not count. The engine itself takes about 2.5 GB of it."""
    query_engine: Literal["workers", "in-process"] = "workers"
    """What runs governed queries (`shuzhi.engine.interface`): 'workers', child processes under an
    OS memory cap, shared fairly; 'in-process', the server's own DuckDB (no memory cap, no fair
    queue: for embedded use and tests)."""
    query_workers: int = 4
    """Query worker processes at most (governed queries running at once); idle ones stay warm."""
    queries_per_user: int = Field(default=2, ge=1)
    """Governed queries one user may run at once; as many more wait their turn, further ones get 429."""
    queries_per_department: int = Field(default=3, ge=1)
    """Governed queries one department's users may run at once; more wait their turn."""
    queue_wait_s: float = Field(default=20.0, gt=0)
    """Longest wait for a query worker; past it the query is refused with 503 and Retry-After."""
    stream_idle_timeout_s: float = Field(default=10.0, gt=0)
    """A reader that has not taken the next batch of a result within this many seconds (a stalled
    or departed client) loses its worker, whatever is left of the query's own time limit."""
    max_response_bytes: ByteSize = ByteSize(128 * 2**20)
    """Size cap of one governed SQL answer (any format) and of a JSON page of rows, besides the row cap."""
    query_reader: Literal["auto", "arrow"] = "auto"
    """'auto': a worker the kernel confines against every file write (Landlock, seccomp) reads
    versions with DuckDB's own Parquet reader, others as Arrow datasets with no file path granted;
    'arrow': always the latter."""
    query_max_rows: int = 100_000
    """Row cap of one governed SQL result (the SQL endpoint and workbench)."""
    query_max_chars: int = 50_000
    """Longest governed SQL text; a longer one is refused (and audited) before it is parsed."""
    query_max_depth: int = 256
    """Deepest nesting of a governed query's parsed tree (a plain query is 10–20 deep); a deeper
    one is refused (and audited) before any rule runs."""
    page_max_rows: int = 10_000
    """Largest page of the rows endpoint in JSON."""
    workbench_rows: int = Field(default=100, ge=1)
    """Rows of one page of the SQL workbench: each page is a governed query capped there (a download
    has them all)."""
    console_rows: int = Field(default=200, ge=1)
    """Rows `shuzhi exchange sql` prints of a result: the query is capped there (`--out` writes them all)."""
    export_timeout_s: float = 600.0
    """Time limit of a streamed export (rows endpoint in CSV/Parquet/Arrow, bulk export)."""
    default_grant_days: int = 365
    expire_interval_s: float = Field(default=60.0, ge=0)
    """Seconds between the job that marks approved requests whose grants have all run out as
    expired (reads refuse an expired grant at once either way); 0: only `shuzhi exchange expire`."""


SECTIONS = {"exchange": ExchangeSettings}
