"""Query worker processes: each governed query runs in a child process with an OS memory cap.

DuckDB's ``memory_limit`` bounds its buffer manager, not every allocation: a list built from a
size argument (``len(range(400000000))``) grew to 15 GB inside one locked connection. A worker
sets ``RLIMIT_AS`` on itself once its engine is loaded, so any allocation past the cap fails —
DuckDB reports it as out of memory and the worker stays usable — and a worker that dies for
any reason takes only its own query with it. Each worker keeps one locked `Sandbox`, so the
isolation of that class (no file path, no extension, per-cursor registration) holds inside.

The protocol runs over two pipes, in frames of one kind byte and a length. The parent sends a
query, then one credit per batch it wants: the worker computes one batch ahead at most and
stops when told. Batches travel as Arrow IPC messages, read without copying on the other side.

The pool shares its workers fairly (`FairQueue`): each user and each department may run only so
many queries at once, and a waiting query of a department (then a user) with fewer running goes
first. A reader that stops taking batches loses its worker after a short idle deadline, apart
from the query's own time limit: a client that stalls or hangs up holds no worker for long.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import itertools
import json
import logging
import os
import re
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from shuzhi.engine.failures import (
    FRAME_BYTES,
    QueryBusy,
    QueryFailed,
    QueryTimeout,
    TooManyQueries,
    WorkerLost,
    classify,
    failure,
)
from shuzhi.engine.interface import Owner, Result, ResultStream
from shuzhi.engine.sandbox import guard, parse_one
from shuzhi.errors import TooLarge
from shuzhi.i18n import M_

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<cQ")

# parent -> worker (a parent that stops reading early kills the worker instead of draining it)
_QUERY, _NEXT = b"Q", b"N"
# worker -> parent
_READY, _SCHEMA, _BATCH, _END, _ERROR = b"R", b"S", b"B", b"E", b"X"

_GRACE_S = 10.0
_REAP_EVERY_S = 0.5
"""How long past its own time limit the parent waits for a worker before killing it."""

__all__ = ["FRAME_BYTES", "WorkerLost", "WorkerPool", "parse_size", "serve", "shared_pool"]


def _write(fd: int, kind: bytes, payload: bytes | memoryview = b"") -> None:
    data = memoryview(_HEADER.pack(kind, len(payload)))
    for chunk in (data, memoryview(payload)):
        while chunk:
            chunk = chunk[os.write(fd, chunk) :]


def _read_exact(fd: int, n: int) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = os.readv(fd, [view[got:]])
        if k == 0:
            raise EOFError
        got += k
    return buf


def _read(fd: int, limit: int | None = None) -> tuple[bytes, bytearray]:
    kind, length = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    if limit is not None and length > limit:
        raise EOFError(f"frame of {length} bytes")  # not the protocol: the worker is not trusted
    return kind, _read_exact(fd, length) if length else bytearray()


# -- the child --------------------------------------------------------------------------------


def serve(
    req: int, resp: int, memory_limit: str, address_space: int, threads: int | None, confined: dict[str, int]
) -> None:
    """The worker's loop (run by `shuzhi.engine.worker_main`, after confinement)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the server's terminal is the server's
    from shuzhi.engine.sandbox import Sandbox

    if threads:
        pa.set_cpu_count(threads)  # pyarrow decodes the scans: the same share of cores as DuckDB
    box = Sandbox(memory_limit=memory_limit, threads=threads, reader="native" if confined else "arrow")
    box.prepare()
    cap = _memory_cap(address_space, memory_limit)
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    ready = {"reader": box.reader, "confinement": confined, "address_space": cap}
    _write(resp, _READY, json.dumps(ready).encode())
    while True:
        try:
            kind, payload = _read(req)
        except EOFError:
            return  # the parent went away
        if kind == _QUERY:
            _answer(box, req, resp, json.loads(payload))
            box.prepare()


_SIZE = re.compile(r"^\s*([0-9.]+)\s*([KMGT]?)(I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """DuckDB's way of writing sizes ('2GB' = 2e9, '2GiB' = 2^31) as bytes."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    power = " KMGT".index(m.group(2).upper() or " ")
    base = 1024 if (m.group(3) or "").upper() == "IB" else 1000
    return int(float(m.group(1)) * base**power)


def _address_space_now() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _memory_cap(configured: int, memory_limit: str) -> int:
    """The configured cap, but never below what the loaded engine already maps plus DuckDB's own
    limit and 1 GiB for scans and results: on a machine with many cores the engine maps more
    (thread stacks, allocator arenas), and a cap it starts above would fail every query."""
    if not configured:
        return 0
    floor = _address_space_now() + parse_size(memory_limit) + 2**30
    return max(configured, floor)


def _answer(box, req: int, resp: int, q: dict) -> None:
    try:
        stream = box.stream(
            q["sql"],
            {name: Path(p) for name, p in q["relations"].items()},
            timeout_s=q["timeout_s"],
            max_rows=q["max_rows"],
            batch_rows=q["batch_rows"],
        )
    except Exception as e:
        _write(resp, _ERROR, _error_payload(e, q["relations"].values()))
        return
    with stream:
        _write(resp, _SCHEMA, stream.schema.serialize())
        pieces = _pieces(iter(stream))
        while True:
            kind, _ = _read(req)
            if kind != _NEXT:
                break
            try:
                frame = next(pieces)
            except StopIteration:
                break
            except Exception as e:
                _write(resp, _ERROR, _error_payload(e, q["relations"].values()))
                return
            _write(resp, _BATCH, frame)
        _write(resp, _END, json.dumps({"rows": stream.rows, "truncated": stream.truncated}).encode())


# FRAME_BYTES (from `failures`, whose message names it): the largest batch frame sent to the server.
# A result of huge values (a string doubled in a recursive query) would otherwise arrive as one
# allocation of any size in the server process.

FRAME_TARGET = 8 * 2**20
"""Batches larger than this cross in slices of about this size: each running read holds one frame
in the server, so wide rows (kilobytes each) must not make every frame the largest allowed."""


def _pieces(batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """Each batch as IPC frames of about `FRAME_TARGET`, at most `FRAME_BYTES`; a single row larger
    than that is refused."""
    for batch in batches:
        if batch.nbytes <= FRAME_TARGET or batch.num_rows <= 1:
            frame = batch.serialize()
            if len(frame) > FRAME_BYTES:
                raise failure("too_large")
            yield frame
            continue
        step = max(1, batch.num_rows * FRAME_TARGET // batch.nbytes // 2)
        for start in range(0, batch.num_rows, step):
            yield from _pieces(iter([batch.slice(start, step)]))


def _error_payload(e: Exception, files=()) -> bytes:
    """Only the error class crosses the pipe (see `shuzhi.engine.failures`)."""
    return json.dumps({"class": classify(e, files)}).encode()


# -- the parent -------------------------------------------------------------------------------


@dataclass(eq=False)
class Ticket:
    """One query's place in the queue, then in the pool."""

    user: Hashable
    department: Hashable
    seq: int
    state: str = "waiting"
    """'waiting' · 'running' · 'done'"""


class FairQueue:
    """Who runs next: `places` queries at once, at most `per_user` of one user and `per_department`
    of one department; of the waiting queries that fit, the one whose department runs fewest goes
    first, then the one whose user runs fewest, then the oldest. A user may also wait for at most
    `per_user` queries: a further one is refused at once (`TooManyQueries`).

    Not thread-safe: the pool calls it under its own lock.
    """

    def __init__(self, places: int, per_user: int | None = None, per_department: int | None = None):
        self.places = places
        self.per_user = per_user or places
        self.per_department = per_department or places
        self.waiting: list[Ticket] = []
        self.running = 0
        self._users: Counter = Counter()
        self._departments: Counter = Counter()
        self._seq = itertools.count()

    def running_for(self, user: Hashable = None, department: Hashable = None) -> tuple[int, int]:
        return self._users[user], self._departments[department]

    def join(self, user: Hashable = None, department: Hashable = None) -> Ticket:
        if user is not None and sum(t.user == user for t in self.waiting) >= self.per_user:
            raise TooManyQueries(
                M_(
                    "%(value)s of your queries are running and %(per_user)s waiting: retry later",
                    value=self._users[user],
                    per_user=self.per_user,
                ),
                retry_after_s=5,
            )
        ticket = Ticket(user, department, next(self._seq))
        self.waiting.append(ticket)
        return ticket

    def _fits(self, t: Ticket) -> bool:
        return (t.user is None or self._users[t.user] < self.per_user) and (
            t.department is None or self._departments[t.department] < self.per_department
        )

    def grant(self) -> list[Ticket]:
        """Give free places to waiting tickets, fairest first; returns those given one."""
        given = []
        while self.running < self.places:
            ready = [t for t in self.waiting if self._fits(t)]
            if not ready:
                break
            t = min(ready, key=lambda t: (self._departments[t.department], self._users[t.user], t.seq))
            self.waiting.remove(t)
            t.state = "running"
            self.running += 1
            self._users[t.user] += 1
            self._departments[t.department] += 1
            given.append(t)
        return given

    def leave(self, t: Ticket) -> None:
        """A waiting ticket gives up, or a running one gives its place back (once)."""
        if t.state == "waiting":
            self.waiting.remove(t)
        elif t.state == "running":
            self.running -= 1
            self._users[t.user] -= 1
            self._departments[t.department] -= 1
        t.state = "done"


_PASSED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "PYTHONHOME", "HOME")


def _worker_environment() -> dict[str, str]:
    """What a worker needs of the server's environment and nothing more: no secret or database
    URL of the server's settings reaches the process that runs consumer SQL."""
    env = {k: v for k, v in os.environ.items() if k in _PASSED_ENVIRONMENT}
    # glibc reserves 64 MB of address space per allocator arena, up to 8 per core: few arenas
    # keep a many-core worker's footprint well under its cap.
    env["MALLOC_ARENA_MAX"] = "2"
    return env


_F_SETPIPE_SZ = 1031


def _widen(fd: int, size: int = 1 << 20) -> None:
    """A 1 MiB pipe (Linux's default ceiling for unprivileged processes) instead of 64 KiB: a
    batch crosses in a few wake-ups instead of hundreds."""
    with contextlib.suppress(OSError):  # a lower pipe-max-size: the default works, with more wake-ups
        fcntl.fcntl(fd, _F_SETPIPE_SZ, size)


class Worker:
    """One child process and its two pipes."""

    def __init__(self, memory_limit: str, address_space: int, threads: int | None, reader: str):
        req_r, self._req = os.pipe()
        self._resp, resp_w = os.pipe()
        _widen(self._resp)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shuzhi.engine.worker_main",
                str(req_r),
                str(resp_w),
                memory_limit,
                str(address_space),
                str(threads or 0),
                reader,
            ],
            pass_fds=(req_r, resp_w),
            env=_worker_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            close_fds=True,
        )
        os.close(req_r)
        os.close(resp_w)
        self.reader = ""
        """'native' or 'arrow', as the worker reports once started."""
        self.deadline = 0.0
        """When the running query must be done by (monotonic clock); 0 when idle."""
        self.expired = False
        """Killed by the pool's reaper at its deadline: its reader is told it timed out."""
        self.confinement: dict[str, int] = {}
        """{'landlock': ABI, 'seccomp': 1}: what the worker confined itself with."""
        self.ticket: Ticket | None = None
        """The queue place this worker's query holds."""
        self.idle_since = 0.0
        """When the reader was handed the last batch and has not asked for the next (0: not waiting)."""
        self.idle_limit = 0.0
        """How long the reader may leave it so (0: no limit)."""
        self.abandoned = False
        """Released by the reaper because the reader stopped taking batches."""
        self.on_abandon: Callable[[], None] | None = None
        self.abandon_done = threading.Event()

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        try:
            _write(self._req, kind, payload)
        except OSError:
            raise self._lost() from None

    def receive(self, deadline: float) -> tuple[bytes, bytearray]:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([self._resp], [], [], wait)[0]:
            self.kill()
            raise failure("timeout")
        try:
            return _read(self._resp, limit=FRAME_BYTES + 2**20)
        except (EOFError, OSError):
            if self.expired:
                self.kill()
                raise failure("timeout") from None
            raise self._lost() from None

    def _lost(self) -> WorkerLost:
        self.kill()
        code = self.proc.returncode
        return failure(
            "worker_lost", hint=f"exit status {code}; the query may have exceeded the worker's memory cap"
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for fd in (self._req, self._resp):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._req = self._resp = -1

    def close(self) -> None:
        """Ask politely (EOF on its input), then make sure."""
        with contextlib.suppress(OSError):
            os.close(self._req)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        self.kill()


class WorkerPool:
    """Up to `size` workers; a query takes an idle one (starting one if none), or waits its turn
    in the pool's `FairQueue`."""

    def __init__(
        self,
        *,
        memory_limit: str = "2GB",
        address_space: int = 0,
        threads: int | None = None,
        size: int = 4,
        reader: str = "auto",
        start_timeout_s: float = 60.0,
        per_user: int | None = None,
        per_department: int | None = None,
        queue_wait_s: float | None = None,
    ):
        if reader not in ("auto", "arrow"):
            raise ValueError(f"reader must be 'auto' or 'arrow', not {reader!r}")
        self._spec = (memory_limit, address_space, threads, reader)
        self._size = size
        self._start_timeout_s = start_timeout_s
        self._queue_wait_s = queue_wait_s
        self._queue = FairQueue(size, per_user, per_department)
        """Places: workers running a query plus those starting up, never more than `size`."""
        self._idle: list[Worker] = []
        self._running: set[Worker] = set()
        self._cond = threading.Condition()
        self._closed = False
        self._warned = False
        self._reaper: threading.Thread | None = None

    @property
    def _busy(self) -> int:
        return self._queue.running

    def _wait_turn(self, deadline: float, owner: Owner | None) -> Ticket:
        """A place in the pool, given fairly; refused once `deadline` (or the queue wait) passes."""
        user, department = owner or (None, None)
        with self._cond:
            ticket = self._queue.join(user, department)
            try:
                while True:
                    if self._closed:
                        raise QueryFailed(M_("the query service is shut down"))
                    if self._queue.grant():
                        self._cond.notify_all()  # a place may have gone to another waiter
                    if ticket.state == "running":
                        return ticket
                    if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                        if self._queue_wait_s is None:
                            raise QueryTimeout(M_("no query worker became free in time"))
                        raise QueryBusy(
                            M_("all query workers are busy: retry later"),
                            retry_after_s=max(1, round(self._queue_wait_s / 4)),
                        )
            except BaseException:
                self._queue.leave(ticket)
                self._cond.notify_all()
                raise

    def _acquire(self, deadline: float, owner: Owner | None = None) -> Worker:
        if self._queue_wait_s is not None:
            deadline = min(deadline, time.monotonic() + self._queue_wait_s)
        ticket = self._wait_turn(deadline, owner)
        with self._cond:
            while self._idle:
                w = self._idle.pop()
                if w.alive():
                    w.ticket = ticket
                    self._running.add(w)
                    return w
                w.kill()
        w = None
        try:
            w = Worker(*self._spec)
            w.ticket = ticket
            with self._cond:
                self._running.add(w)  # counted from now on: `_release` takes it back
            kind, payload = w.receive(time.monotonic() + self._start_timeout_s)
            if kind != _READY:
                raise WorkerLost(M_("the query worker failed to start"))
            ready = json.loads(payload)
            w.reader = ready["reader"]
            w.confinement = ready["confinement"]
            if ready["address_space"] > self._spec[1] > 0 and not self._warned:
                self._warned = True
                log.warning(
                    "query worker memory cap raised from %d to %d bytes: the engine and DuckDB's "
                    "memory limit need that much (exchange.query_process_memory)",
                    self._spec[1],
                    ready["address_space"],
                )
            return w
        except BaseException:
            if w is None:
                with self._cond:
                    self._queue.leave(ticket)
                    self._cond.notify_all()
            self._release(w, keep=False)
            raise

    def _release(self, w: Worker | None, keep: bool = True) -> None:
        """Back to the idle list when `keep` and fit; otherwise the worker is killed."""
        with self._cond:
            # A worker no longer running was already taken back by the reaper: only kill it.
            if w is not None and w in self._running:
                self._running.discard(w)
                self._queue.leave(w.ticket)
                keep = keep and w.alive() and not self._closed
                if keep:
                    w.deadline = 0.0
                    w.idle_since = w.idle_limit = 0.0
                    w.ticket = None
                    self._idle.append(w)
                self._queue.grant()
                self._cond.notify_all()
            else:
                keep = False
        if w is not None and not keep:
            w.kill()

    def _reap(self) -> None:
        """Kill workers whose query is past its deadline and give their places back — also when
        the reader of the result has stopped reading (a stalled client would otherwise hold a
        worker, and with `size` of them every other query, for ever): at once when its idle
        deadline passes, or at the query's own deadline."""
        while True:
            with self._cond:
                if self._closed:
                    return
                now = time.monotonic()
                late, idle = [], []
                for w in self._running:
                    if w.idle_since and w.idle_limit and now - w.idle_since > w.idle_limit:
                        idle.append(w)
                    elif w.deadline and now > w.deadline:
                        late.append(w)
                for w in late:
                    w.expired = True
                for w in idle:
                    w.abandoned = True
                for w in late + idle:
                    self._running.discard(w)
                    self._queue.leave(w.ticket)
                if late or idle:
                    self._queue.grant()
                    self._cond.notify_all()
                self._cond.wait(timeout=_REAP_EVERY_S)
            for w in late + idle:
                if w.proc.poll() is None:
                    w.proc.kill()  # its pipes are closed by whoever holds the stream
            for w in idle:
                try:
                    if w.on_abandon is not None:
                        w.on_abandon()  # the read ends now, not when (if ever) its reader comes back
                except Exception:  # noqa: BLE001 - the reaper must go on for the other workers
                    log.exception("ending an abandoned read failed")
                finally:
                    w.abandon_done.set()

    def _start_reaper(self) -> None:
        with self._cond:
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name="query-worker-reaper", daemon=True)
                self._reaper.start()

    def warm(self) -> None:
        """Start one worker now, so that the first query does not wait for it."""
        self._release(self._acquire(time.monotonic() + self._start_timeout_s))

    def ready(self) -> None:
        """Raise unless workers can run queries: one is alive (idle or running), or one starts now."""
        with self._cond:
            if self._closed:
                raise QueryFailed(M_("the query service is shut down"))
            if any(w.alive() for w in (*self._idle, *self._running)):
                return
        self.warm()

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
        """Start a query in a worker (`QueryEngine.stream`).

        `owner` (user, department) places the query in the fair queue; `idle_timeout_s` is how
        long the reader may leave a batch untaken before the worker is released and the stream
        ends in the `stream_abandoned` error class (its `on_abandon` is called then, by the pool)."""
        guard(tree if tree is not None else parse_one(sql))  # refuse before a process is touched
        self._start_reaper()
        w = self._acquire(time.monotonic() + timeout_s + _GRACE_S, owner)
        deadline = time.monotonic() + timeout_s + _GRACE_S
        w.deadline = deadline
        request = {
            "sql": sql,
            "relations": {name: str(p) for name, p in relations.items()},
            "timeout_s": timeout_s,
            "max_rows": max_rows,
            "batch_rows": batch_rows,
        }
        kind = b""
        try:
            w.send(_QUERY, json.dumps(request).encode())
            kind, payload = w.receive(deadline)
            if kind == _ERROR:
                raise _error(payload)
            if kind != _SCHEMA:
                raise WorkerLost(M_("unexpected answer from the query worker"))
            schema = pa.ipc.read_schema(pa.py_buffer(payload))
            w.send(_NEXT)
        except BaseException:
            self._release(w, keep=kind == _ERROR)  # a query the engine refused leaves it fit
            raise
        state = {"open": True, "ended": False, "worker": w}
        stream = ResultStream(schema=schema, _batches=iter(()), _closer=lambda: self._finish(state))
        w.on_abandon = lambda: stream.on_abandon() if stream.on_abandon is not None else stream.close()
        stream._batches = self._batches(state, stream, schema, deadline)
        if idle_timeout_s:
            with self._cond:
                w.idle_limit = idle_timeout_s
                w.idle_since = time.monotonic()  # until the reader asks for the first batch
        return stream

    def _settle(self, w: Worker) -> bool:
        """The reader is back (for the next batch, or to stop): no longer idle — unless the reaper
        got there first, in which case this waits until it has ended the read, so that the read
        is ended (and audited) once. Returns whether it was abandoned."""
        with self._cond:
            w.idle_since = 0.0
            gone = w.abandoned
        if gone:
            w.abandon_done.wait(timeout=30)
        return gone

    def _batches(
        self, state, stream: ResultStream, schema: pa.Schema, deadline: float
    ) -> Iterator[pa.RecordBatch]:
        w: Worker = state["worker"]
        try:
            while True:
                if self._settle(w):
                    raise failure("stream_abandoned")
                kind, payload = w.receive(deadline)
                if kind == _BATCH:
                    w.send(_NEXT)  # let the worker make the next batch while this one is used
                    batch = pa.ipc.read_record_batch(pa.py_buffer(payload), schema)
                    stream.rows += batch.num_rows
                    if w.idle_limit:
                        with self._cond:
                            w.idle_since = time.monotonic()
                    yield batch
                elif kind == _END:
                    end = json.loads(payload)
                    stream.truncated = bool(end["truncated"])
                    state["ended"] = True
                    return
                elif kind == _ERROR:
                    state["ended"] = True
                    raise _error(payload)
                else:
                    raise WorkerLost(M_("unexpected answer from the query worker"))
        finally:
            self._settle(w)
            stream.close()

    def _finish(self, state) -> None:
        if not state["open"]:
            return
        state["open"] = False
        w: Worker = state["worker"]
        # Stopped early: cheaper and surer to replace the worker than to drain it.
        self._release(w, keep=state["ended"])

    def run(self, sql: str, relations: Mapping[str, Path], **kwargs) -> Result:
        with self.stream(sql, relations, **kwargs) as s:
            table = pa.Table.from_batches(list(s), schema=s.schema)
            return Result(table=table, truncated=s.truncated, elapsed_s=time.perf_counter() - s.started)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for w in idle:
            w.close()


def _error(payload: bytes) -> QueryFailed | QueryTimeout | TooLarge:
    """The worker's error, rebuilt here from its class name alone (anything unknown: internal)."""
    try:
        name = json.loads(payload).get("class")
    except (ValueError, AttributeError):
        name = None
    return failure(name if isinstance(name, str) else "internal")


_pools: dict[tuple, WorkerPool] = {}
_pools_lock = threading.Lock()


def shared_pool(
    memory_limit: str,
    address_space: int,
    threads: int | None,
    size: int,
    reader: str = "auto",
    *,
    per_user: int | None = None,
    per_department: int | None = None,
    queue_wait_s: float | None = None,
) -> WorkerPool:
    """The process's worker pool for these limits."""
    key = (memory_limit, address_space, threads, size, reader, per_user, per_department, queue_wait_s)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = WorkerPool(
                memory_limit=memory_limit,
                address_space=address_space,
                threads=threads,
                size=size,
                reader=reader,
                per_user=per_user,
                per_department=per_department,
                queue_wait_s=queue_wait_s,
            )
        return pool


@atexit.register
def _close_pools() -> None:
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()
