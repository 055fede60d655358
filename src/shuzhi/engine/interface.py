"""The query engine interface: what the exchange asks of whatever runs a governed query.

Two engines satisfy it: the in-process `Sandbox` (`shuzhi.engine.sandbox`) and the `WorkerPool`
of confined query processes (`shuzhi.engine.worker`), which the `exchange.query_engine` setting
chooses between. A distributed engine (Spark) plugs in here: it takes one checked SELECT and the
local files of the versions it names, and hands back Arrow record batches as they come.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pyarrow as pa

if TYPE_CHECKING:
    from sqlglot import exp

    from shuzhi.config import Settings

Owner = tuple[Hashable, Hashable]
"""Who a query runs for: (user, department), for fair sharing of the engine; None in either place
is not limited."""


@dataclass
class Result:
    """A finished (capped) query result."""

    table: pa.Table
    truncated: bool
    elapsed_s: float


@dataclass
class ResultStream:
    """Record batches of a running query; close it (or exhaust it) to release the cursor."""

    schema: pa.Schema
    _batches: Iterator[pa.RecordBatch]
    _closer: Callable[[], None]
    rows: int = 0
    truncated: bool = False
    started: float = field(default_factory=time.perf_counter)
    on_abandon: Callable[[], None] | None = None
    """Called (from another thread) when the query workers release a stream its reader stopped
    taking; the reader then gets the `stream_abandoned` error if it comes back."""

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self._batches

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> ResultStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@runtime_checkable
class QueryEngine(Protocol):
    """Runs one plain SELECT over registered versions and nothing else.

    `relations` maps the names the query uses to the versions' local files (from the version
    store). A refused statement, an engine error, a timeout or a result past its caps come out as
    the classed errors of `shuzhi.engine.failures`, never as the engine's own text."""

    def stream(
        self,
        sql: str,
        relations: Mapping[str, Path],
        *,
        tree: exp.Expression | None = None,
        timeout_s: float = 30.0,
        max_rows: int | None = None,
        batch_rows: int = 65_536,
        owner: Owner | None = None,
        idle_timeout_s: float | None = None,
    ) -> ResultStream:
        """Start the query; batches come as the engine makes them, at most `max_rows` rows in all
        (then `truncated` is set). `owner` places it among other users' queries; a reader that
        leaves a batch untaken for `idle_timeout_s` may lose it (engines that hold nothing for a
        waiting reader may ignore both)."""
        ...

    def run(self, sql: str, relations: Mapping[str, Path], **kwargs) -> Result:
        """The query run to completion (capped), as one table."""
        ...

    def warm(self) -> None:
        """Get ready ahead of the first query (start a process, open a connection)."""
        ...

    def ready(self) -> None:
        """Raise unless the engine can run a query now."""
        ...

    def close(self) -> None: ...


ENGINES = ("workers", "in-process")


def engine_for(settings: Settings) -> QueryEngine:
    """The process's engine as the `exchange.query_engine` setting names it."""
    x = settings.exchange
    if x.query_engine == "in-process":
        from shuzhi.engine.sandbox import shared_sandbox

        return shared_sandbox(x.query_memory_limit)
    from shuzhi.engine.worker import shared_pool

    return shared_pool(
        x.query_memory_limit,
        int(x.query_process_memory),
        None,
        x.query_workers,
        x.query_reader,
        per_user=x.queries_per_user,
        per_department=x.queries_per_department,
        queue_wait_s=x.queue_wait_s,
    )
