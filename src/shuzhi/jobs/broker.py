"""The broker runner's transport, on Redis through dramatiq: the server and `shuzhi worker` send a
run's id; workers receive it and execute the run. The store stays the record of each run's state,
so a message delivered twice starts the run once and one lost with a dead worker is sent again."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from shuzhi.jobs.execute import STALE_BEATS

log = logging.getLogger(__name__)

QUEUE = "jobs"
ACTOR = "shuzhi_job"


class Broker:
    """A connection to the Redis broker under the configured key namespace."""

    def __init__(self, settings):
        from dramatiq.brokers.redis import RedisBroker

        self.settings = settings
        # No dramatiq middleware: retries, time limits and state are the runner's own (the same
        # on both runners). A worker that stops beating this long has its messages requeued.
        self.broker = RedisBroker(
            url=settings.jobs.broker_url,
            namespace=settings.jobs.namespace,
            middleware=[],
            heartbeat_timeout=int(settings.jobs.heartbeat_s * STALE_BEATS * 1000),
        )

    def send(self, job_id: int, delay_s: float = 0.0) -> None:
        from dramatiq import Message

        message = Message(queue_name=QUEUE, actor_name=ACTOR, args=(job_id,), kwargs={}, options={})
        self.broker.enqueue(message, delay=int(delay_s * 1000) if delay_s > 0 else None)

    def close(self) -> None:
        self.broker.close()


POLL_S = 0.5
"""How long a thread waiting on a worker sleeps at most before it looks again (see `consuming`)."""


@contextlib.contextmanager
def consuming(runner) -> Iterator[None]:
    """Consume runs from the broker on `jobs.threads` threads while the block runs; on leaving it,
    finish the runs in progress (what `shuzhi worker` does besides keeping the periodic timer).

    The calling thread never blocks longer than `POLL_S` while it waits for them: Python runs a
    signal handler only on the main thread, between two bytecodes, and a signal the kernel hands to
    another thread does not wake a main thread asleep on a lock (a worker asked to stop with
    SIGTERM then never stopped)."""
    import dramatiq

    broker = runner.broker.broker
    dramatiq.Actor(
        runner.delivered, broker=broker, actor_name=ACTOR, queue_name=QUEUE, priority=0, options={}
    )
    worker = dramatiq.Worker(broker, worker_threads=runner.settings.jobs.threads, worker_timeout=200)
    worker.start()
    log.info("job worker consuming %s/%s", runner.settings.jobs.namespace, QUEUE)
    try:
        yield
    finally:
        stopper = threading.Thread(target=worker.stop, name="shuzhi-worker-stop", daemon=True)
        stopper.start()
        while stopper.is_alive():
            stopper.join(POLL_S)
