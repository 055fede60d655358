"""Fixtures of the job tests: each test runs once per runner (in-process, and Redis with a real
broker and a worker consuming it), under a Redis key namespace of its own."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from tests.exchange.conftest import granted, world  # noqa: F401 - fixtures reused here

from shuzhi.hooks import plugin_manager
from shuzhi.jobs import service
from shuzhi.jobs.runner import Runner

REDIS_URL = "redis://127.0.0.1:6379/0"
PLUGIN = "tests.jobs.sample"


def redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def forget_namespace(namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{namespace}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def sample_jobs() -> Iterator[None]:
    """The test plugin's jobs, registered for the test through the `register_jobs` hook."""
    import importlib

    pm = plugin_manager()
    module = importlib.import_module(PLUGIN)
    pm.register(module, name=PLUGIN)
    yield
    pm.unregister(name=PLUGIN)


@pytest.fixture(params=["inprocess", "redis"])
def runner_kind(request) -> str:
    if request.param == "redis" and not redis_up():
        pytest.skip(f"no Redis at {REDIS_URL}")
    return request.param


@pytest.fixture
def job_settings(settings, runner_kind) -> Iterator:
    settings.jobs.runner = runner_kind
    settings.jobs.broker_url = REDIS_URL
    settings.jobs.namespace = f"shuzhi-test-{uuid.uuid4().hex[:12]}"
    settings.jobs.heartbeat_s = 0.2
    settings.ledger.sth_interval_s = 0
    settings.ingest.sweep_interval_s = 0
    settings.exchange.expire_interval_s = 0
    yield settings
    if runner_kind == "redis":
        forget_namespace(settings.jobs.namespace)


@pytest.fixture
def redis_settings(job_settings, runner_kind):
    """The job settings, on the Redis runner only: its `shuzhi worker`s are processes of their own."""
    if runner_kind != "redis":
        pytest.skip("the broker runner's workers are processes")
    return job_settings


@pytest.fixture
def make_runner(db, job_settings, sample_jobs):
    """Start runners on the test's store; on Redis each also consumes as a worker would, on threads
    of this process. All are stopped (runs in progress finish) at the end."""
    from shuzhi.jobs.broker import consuming

    def work(runner, stop):
        with consuming(runner):
            stop.wait()

    started: list[tuple[Runner, threading.Event, threading.Thread | None]] = []

    def _make(database=None, *, serving: bool = False) -> Runner:
        runner = Runner(database or db, job_settings, serving=serving).start()
        stop, consumer = threading.Event(), None
        if runner.broker is not None:
            consumer = threading.Thread(target=work, args=(runner, stop), daemon=True)
            consumer.start()
        started.append((runner, stop, consumer))
        return runner

    yield _make
    for runner, stop, consumer in started:
        stop.set()
        if consumer is not None:
            consumer.join(30)
        runner.stop()


def run_state(db, job_id: int) -> dict:
    with db.read() as s:
        return service.as_dict(service.get(s, job_id))


def wait_for(db, job_id: int, states=("done", "failed", "cancelled"), timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while (run := run_state(db, job_id))["state"] not in states:
        assert time.monotonic() < deadline, f"job {job_id} still {run['state']}: {run}"
        time.sleep(0.05)
    return run
