"""The job runner of one process: queues runs in the store, hands them to threads here (the
in-process runner, the default) or to workers on the broker, and keeps the periodic jobs' timer."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait

from shuzhi.i18n import M_
from shuzhi.jobs import service
from shuzhi.jobs.declare import Job, declared_jobs
from shuzhi.jobs.execute import execute, stale_before, unsettled
from shuzhi.store.base import utcnow

log = logging.getLogger(__name__)

RETRY_DELAY_S = 1.0
"""Wait before the first retry of a failed run; it doubles with each further attempt (at most 60 s)."""


def _backoff(tries: int) -> float:
    """Seconds to wait after `tries` failed tries in a row: RETRY_DELAY_S, doubling, at most 60."""
    return min(RETRY_DELAY_S * 2 ** (tries - 1), 60.0)


def _map_every_model() -> None:
    """Import every domain's models and configure their mappers, before any thread of this process
    queries: a job importing a model module on one thread while the reaper's query configured the
    mappers on another saw `ShareRequest` without the `RequestEvent` defined below it, and every
    later query of the process failed ("One or more mappers failed to initialize")."""
    from sqlalchemy.orm import configure_mappers

    from shuzhi.store.models import all_metadata

    all_metadata()
    configure_mappers()


class Runner:
    """Runs declared jobs for one process.

    `settings.jobs.runner` chooses where non-local runs execute: "inprocess" on this process's
    threads, "redis" on `shuzhi worker` processes. Local jobs always run here. Periodic jobs are
    queued by every runner's timer, once per period across all of them (the store decides).
    """

    def __init__(self, db, settings, *, serving: bool = True, jobs: dict[str, Job] | None = None):
        self.db, self.settings, self.serving = db, settings, serving
        self.jobs = declared_jobs() if jobs is None else jobs
        self.broker = None
        if settings.jobs.runner == "redis":
            from shuzhi.jobs.broker import Broker

            self.broker = Broker(settings)
        self._pool = ThreadPoolExecutor(settings.jobs.threads, thread_name_prefix="shuzhi-job")
        self._stop = threading.Event()
        self._timers: set[threading.Timer] = set()
        self._running: set[Future] = set()
        self._lock = threading.Lock()
        self._clock: threading.Thread | None = None
        self._last: dict[str, int] = {}  # job name -> the period last seen by the timer
        self._first: dict[str, int] = {}  # job name -> the period the timer started in
        self._failures: dict[int, int] = {}  # run id -> deliveries in a row whose execution raised

    # -- queueing ------------------------------------------------------------------------------------

    def submit(self, name: str, params: dict | None = None) -> int:
        """Queue a run of job `name` and dispatch it; returns the run's id."""
        job_id = self._queue(name, params)
        self.dispatch(job_id, self._job(name))
        return job_id

    def _queue(self, name: str, params: dict | None = None) -> int:
        job = self._job(name)
        with self.db.write() as s:
            return service.queue(s, name, params, max_attempts=job.retries + 1).id

    def dispatch(self, job_id: int, job: Job, delay_s: float = 0.0) -> None:
        if self.broker is not None and not job.local:
            self.broker.send(job_id, delay_s)
        elif delay_s > 0:
            self._later(delay_s, lambda: self.dispatch(job_id, job))
        else:
            self._submit(job_id)

    def _submit(self, job_id: int) -> None:
        """`run` on one of this runner's threads, unless it is stopping (a run left queued is taken
        up again by the next start: `queued_before`)."""
        if self._stop.is_set():
            return
        try:
            self._track(self._pool.submit(self.run, job_id))
        except RuntimeError:  # the pool shut down between the check and the submit
            log.info("job %s left queued: the runner is stopping", job_id)

    def _track(self, future) -> None:
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._untrack)

    def _untrack(self, future) -> None:
        with self._lock:
            self._running.discard(future)

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until the runs this process's threads have taken are done (the start-up jobs, say);
        whether they were within `timeout_s`."""
        with self._lock:
            running = set(self._running)
        return not wait(running, timeout=timeout_s).not_done

    def run(self, job_id: int) -> str | None:
        """Execute run `job_id` in this thread (one of this runner's threads)."""
        return self._execute(job_id, lambda delay_s: self._run_later(job_id, delay_s))

    def _run_later(self, job_id: int, delay_s: float) -> None:
        self._later(delay_s, lambda: self._submit(job_id))

    def delivered(self, job_id: int) -> None:
        """Execute run `job_id` that a broker message named (a `shuzhi worker`'s thread). Returns
        nothing: the store, not the broker, keeps how the run ended."""
        self._execute(job_id, lambda delay_s: self.broker.send(job_id, delay_s))

    def _execute(self, job_id: int, again) -> str | None:
        """Execute a run; when that raised (the store unreachable, say), deliver it again, later
        each time: before it was claimed, through `again(delay_s)` (no message is left to deliver
        it otherwise, and a run still queued was lost); after it ran, to this process (which keeps
        its end until the store takes it: `execute.unsettled`)."""
        try:
            state = execute(self.db, self.settings, self.jobs, job_id)
            if state == "queued":
                self._retry(job_id)
        except Exception:  # noqa: BLE001 - e.g. the store is down
            with self._lock:
                failures = self._failures[job_id] = self._failures.get(job_id, 0) + 1
            delay_s = _backoff(failures)
            log.exception("job %s could not be run; delivered again in %g s", job_id, delay_s)
            if unsettled(self.db, job_id):  # ran here, its end not stored: only this process can store it
                self._run_later(job_id, delay_s)
            else:
                again(delay_s)
            return None
        with self._lock:
            self._failures.pop(job_id, None)
        return state

    def _retry(self, job_id: int) -> None:
        with self.db.read() as s:
            run = service.get(s, job_id)
            name, attempts = run.name, run.attempts
        if name in self.jobs:
            self.dispatch(job_id, self.jobs[name], _backoff(attempts))

    def _later(self, delay_s: float, action) -> None:
        """`action()` in `delay_s` on a timer thread (timers not yet fired are cancelled by `stop`)."""

        def fire():
            with self._lock:
                self._timers.discard(timer)
            action()

        timer = threading.Timer(delay_s, fire)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _job(self, name: str) -> Job:
        from shuzhi.errors import NotFound

        if name not in self.jobs:
            raise NotFound(M_("no job is declared as %(name)r", name=name), where="job")
        return self.jobs[name]

    # -- the clock -----------------------------------------------------------------------------------

    def start(self) -> Runner:
        """Run the start-up jobs, pick up runs a dead process left, and start the periodic timer."""
        _map_every_model()
        started = utcnow()
        # Every write of start() comes before the first run it dispatches: a start-up job holding the
        # store's write lock (SQLite has one writer) past db_busy_timeout_s, on a loaded machine,
        # failed the next start-up job's queueing, and the app's start with it.
        first = [(self._queue(job.name), job) for job in self._mine() if job.at_start]
        orphans = []
        if self.broker is None:
            # Queued runs of this runner live only in memory: those from before now were lost.
            with self.db.read() as s:
                orphans = service.queued_before(s, started)
        self._reap()  # here, not on the clock: the process is quiet once start() returns
        for job_id, job in first:
            self.dispatch(job_id, job)
        for job_id in orphans:
            self._submit(job_id)
        self._clock = threading.Thread(target=self._tick_forever, name="shuzhi-job-clock", daemon=True)
        self._clock.start()
        return self

    def _mine(self) -> list[Job]:
        """The jobs this process schedules: all of them when it serves, else those not bound to a server."""
        return [j for j in self.jobs.values() if self.serving or not j.local]

    def _tick_forever(self) -> None:
        next_reap = time.time() + self.settings.jobs.heartbeat_s
        while not self._stop.is_set():
            now = time.time()
            if now >= next_reap:
                self._reap()
                next_reap = now + self.settings.jobs.heartbeat_s
            wait = min(self._tick(now), next_reap - now)
            self._stop.wait(max(wait, 0.01))

    def _tick(self, now: float) -> float:
        """Queue each periodic job whose period has begun; returns seconds to the next beginning."""
        soonest = self.settings.jobs.heartbeat_s
        for job in self._mine():
            every = job.interval_s(self.settings)
            if every <= 0:
                continue
            period = int(now // every)
            if self._last.get(job.name) != period:
                self._last[job.name] = period
                if period > self._first.setdefault(job.name, period):  # not the period we started in
                    self._queue_period(job, period)
            soonest = min(soonest, (period + 1) * every - now)
        return soonest

    def _queue_period(self, job: Job, period: int) -> None:
        try:
            job_id = service.queue_slot(
                self.db, job.name, f"{job.name}@{period}", max_attempts=job.retries + 1
            )
        except Exception:  # noqa: BLE001 - the store may be briefly busy; the next period tries again
            log.warning("periodic job %s not queued", job.name, exc_info=True)
            return
        if job_id is not None:
            self.dispatch(job_id, job)

    def _reap(self) -> None:
        """Runs whose worker died mid-job go to a worker again (which retries or fails them); old
        ended runs are forgotten."""
        try:
            with self.db.write() as s:
                dead = service.stale(s, stale_before(self.settings))
                service.prune(s, self.settings.jobs.keep_days)
                names = {i: service.get(s, i).name for i in dead}
        except Exception:  # noqa: BLE001 - the next round tries again
            log.warning("looking for jobs of dead workers failed", exc_info=True)
            return
        for job_id, name in names.items():
            if name in self.jobs:
                self.dispatch(job_id, self.jobs[name])

    def stop(self) -> None:
        """Stop the timer and wait for runs in progress to finish (a run is never abandoned midway)."""
        self._stop.set()
        if self._clock is not None:
            self._clock.join()
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.broker is not None:
            self.broker.close()
