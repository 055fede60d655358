"""Jobs of a test plugin, registered through the same `register_jobs` hook as the domains' own."""

from __future__ import annotations

import time
from pathlib import Path

from shuzhi.hooks import hookimpl
from shuzhi.jobs import Job

PREFIX = "JT"


@hookimpl
def register_jobs():
    return [
        Job(name="sample.departments", func="tests.jobs.sample:departments", retries=1, time_limit_s=60),
        Job(name="sample.departments_once", func="tests.jobs.sample:departments", time_limit_s=60),
        Job(name="sample.fail", func="tests.jobs.sample:fail", retries=2),
        Job(name="sample.flaky", func="tests.jobs.sample:flaky", retries=1),
        Job(name="sample.slow", func="tests.jobs.sample:slow", time_limit_s=0.5),
        Job(name="sample.wait", func="tests.jobs.sample:wait", time_limit_s=60),
        Job(name="sample.tick", func="tests.jobs.sample:tick", every=0.2),
    ]


def departments(ctx, n: int = 5, tag: str = "A", pause: str | None = None) -> None:
    """Create n departments in one transaction; with `pause`, write that file halfway and wait
    there (a test kills the worker then)."""
    from shuzhi.orgs import service as orgs

    with ctx.db.write() as s:
        for i in range(n):
            orgs.create_department(s, code=f"{PREFIX}{tag}{i}", name_zh=f"任务测试{tag}{i}")
            s.flush()
            ctx.progress((i + 1) / n, f"{i + 1} of {n}")
            if pause and i == n // 2 and ctx.attempt == 1:
                Path(pause).write_text(str(ctx.job_id))
                time.sleep(60)


def fail(ctx) -> None:
    raise RuntimeError("this job always fails")


def flaky(ctx) -> None:
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails")
    ctx.progress(1.0, "second attempt")


def slow(ctx) -> None:
    while True:
        time.sleep(0.01)


def wait(ctx, flag: str) -> None:
    """Report progress until the file `flag` exists (or the run is cancelled)."""
    ctx.progress(0.5, "waiting")
    while not Path(flag).exists():
        ctx.progress(0.5, "waiting")
        time.sleep(0.02)
    ctx.progress(1.0, "flag seen")


def tick(ctx) -> None:
    ctx.progress(1.0, "tick")


def hold(ctx, seconds: float = 1.5) -> None:
    """Hold the store's write lock (on SQLite, the only writer's) for `seconds`."""
    with ctx.db.write():
        time.sleep(seconds)
