"""Governed reads as HTTP responses, for the API and the pages alike: streamed in any registered
format, and closed — so audited — however the response ends."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from shuzhi.exchange import formats
from shuzhi.exchange.access import GovernedRead


class ReadResponse(StreamingResponse):
    """A streamed governed read that is closed — and so audited — however the response ends.

    A client that hangs up after the headers cancels the streaming task, possibly before the
    body was ever asked for; the encoder then never starts, and nothing inside it can write the
    audit. So the response itself closes its generators and then the read once it is done with
    them, in a worker thread: left to the garbage collector, their ending (the read's audit) could
    run in any thread, even one inside another transaction. (starlette waits for a batch being
    fetched in a worker thread to return before the cancellation lands, so nothing still reads the
    query when it is closed.)"""

    def __init__(self, read: GovernedRead, chunks, *, closing=(), **kwargs):
        self._read = read
        self._closing = (chunks, *closing)
        super().__init__(chunks, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._end)

    def _end(self) -> None:
        try:
            for gen in self._closing:
                gen.close()  # an encoder stopped mid-way closes the batches it was reading
        finally:
            self._read.close("abandoned")  # a no-op when the batches already ended and audited


def respond(
    read: GovernedRead,
    fmt: str,
    *,
    filename: str | None = None,
    meta: dict | None = None,
    max_bytes: int | None = None,
    for_people: bool = False,
) -> ReadResponse:
    """Stream a governed read in the asked format; the read is audited when the stream ends.

    The first batch is taken before answering, so that a query failing at once gets its error
    status; one that fails later ends the stream short (JSON ends with the error's class). With
    `max_bytes` the answer stops at that size and the read ends there, complete as far as it went
    (JSON says `"truncated": true`). `filename` names a format sent as a file to save (by default
    after the datasets read and the day); `for_people` starts it with what spreadsheet programs need
    first (a CSV's byte order mark: the pages' downloads) and passes the rows through the format's
    spreadsheet guard (a CSV's text that would run as a formula is quoted)."""
    form = formats.get(fmt)
    rest = read.batches()
    batches = _ahead(next(rest, None), rest)
    if for_people and form.spreadsheet_guard is not None:
        batches = _through(form.spreadsheet_guard, batches)
    chunks = form.encode(
        read.schema,
        batches,
        meta=meta or {},
        truncated=lambda: read.stream.truncated,
        errors_inline=True,
        max_bytes=max_bytes,
        cut=read.cut,
    )
    headers = {"X-Query-SHA256": read.query.query_sha256}
    if read.row_cap is not None:
        # Whether a cap cut the stream short is known only at its end; the cap itself is known now.
        headers["X-Row-Cap"] = str(read.row_cap)
    if max_bytes is not None:
        headers["X-Byte-Cap"] = str(max_bytes)
    if form.attachment:
        headers["Content-Disposition"] = attachment(f"{filename or download_name(read)}.{form.extension}")
    if for_people and form.spreadsheet_prefix:
        chunks = _after(form.spreadsheet_prefix, chunks)
    return ReadResponse(read, chunks, media_type=form.media_type, headers=headers, closing=(batches,))


def _after(first: bytes, chunks):
    yield first
    yield from chunks


def download_name(read: GovernedRead, today: date | None = None) -> str:
    """A download's file name: the datasets it read (three at most, then how many more) and the day,
    e.g. `hz-psb-population_2026-12-05`."""
    names = sorted({r.dataset.identifier for r in read.readables})
    shown = "+".join(names[:3]) + (f"+{len(names) - 3}" if len(names) > 3 else "")
    return f"{shown or 'query'}_{(today or date.today()).isoformat()}"


def attachment(name: str) -> str:
    """A Content-Disposition for a file to save: an ASCII name for old clients, the exact name (RFC
    6266 / 5987) for the rest."""
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.+") else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _through(guard, batches):
    try:
        for batch in batches:
            yield guard(batch)
    finally:
        batches.close()  # closing this closes the read's batches too, as `_ahead` does


def _ahead(first, rest):
    if first is not None:
        yield first
    yield from rest  # closing this closes the read's batches too
