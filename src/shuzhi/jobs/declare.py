"""What a job is: its declaration (name, function, schedule, retries, time limit), the context its
function runs with, and the registry gathered from every plugin's `register_jobs` hook."""

from __future__ import annotations

import importlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shuzhi.errors import ConfigurationError
from shuzhi.i18n import M_

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_FUNC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class JobCancelled(Exception):
    """Raised inside a job's function (by `JobContext.progress`) once someone cancelled the job."""


class JobTimeLimit(Exception):
    """Raised inside a job's thread when the job runs past its time limit."""


@dataclass(frozen=True)
class Job:
    """One kind of background work a domain declares.

    `func` is "module:function" so a worker process on a broker imports it by name; the function
    is called as `func(ctx, **params)` and should do its store work in one write transaction, so a
    worker killed mid-job leaves nothing half-applied and a retry starts clean.
    """

    name: str
    """Dotted, domain first: `ledger.sign_tree_head`."""
    func: str
    every: float | Callable[[Any], float] | None = None
    """Seconds between runs, or a function of the settings giving them; None or 0: not periodic."""
    at_start: bool = False
    """Also run once whenever a runner starts (the server, `shuzhi worker`)."""
    local: bool = False
    """Run in the process that starts it, never on the broker: for work on the process itself."""
    retries: int = 0
    """Further attempts after a failure (or after the worker running it died)."""
    time_limit_s: float | None = None
    """A run longer than this is stopped and counts as a failure."""
    title: str = ""
    """What the job does, "中文 (English)", shown by `shuzhi jobs list`."""

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise ConfigurationError(
                M_("a job name is domain.name, lowercase: %(name)r", name=self.name),
                where="register_jobs",
            )
        if not _FUNC.match(self.func):
            raise ConfigurationError(
                M_(
                    "job %(name)s: a job's function is module:function: %(func)r",
                    name=self.name,
                    func=self.func,
                ),
                where="register_jobs",
            )
        if self.retries < 0 or (self.time_limit_s is not None and self.time_limit_s <= 0):
            raise ConfigurationError(
                M_("job %(name)s: retries >= 0, time limit > 0", name=self.name),
                where="register_jobs",
            )

    def interval_s(self, settings) -> float:
        every = self.every(settings) if callable(self.every) else self.every
        return float(every or 0)

    def function(self) -> Callable[..., Any]:
        module, _, attr = self.func.partition(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(
                M_(
                    "job %(name)s: the function cannot be imported: %(func)s: %(exc)s",
                    name=self.name,
                    func=self.func,
                    exc=exc,
                ),
                where="register_jobs",
            ) from None


@dataclass
class JobContext:
    """What a job's function gets: the store, the settings, and a way to report progress."""

    db: Any
    settings: Any
    job_id: int
    attempt: int
    cancelled: threading.Event = field(default_factory=threading.Event)
    fraction: float | None = None
    note: str | None = None
    _changed: float = 0.0

    def progress(self, fraction: float | None = None, note: str | None = None) -> None:
        """Record how far the job is (0..1, and a short note); kept in memory and stored with the
        next heartbeat, so it never takes the store's write lock from inside the job's own
        transaction. Raises `JobCancelled` once the job was cancelled."""
        if fraction is not None:
            self.fraction = min(max(float(fraction), 0.0), 1.0)
        if note is not None:
            self.note = note[:200]
        self._changed = time.monotonic()
        if self.cancelled.is_set():
            raise JobCancelled(self.job_id)


def declared_jobs() -> dict[str, Job]:
    """Every job the registered plugins declare, by name; a name declared twice is refused."""
    from shuzhi.hooks import plugin_manager

    jobs: dict[str, Job] = {}
    for batch in plugin_manager().hook.register_jobs():
        for job in batch or ():
            if job.name in jobs:
                raise ConfigurationError(
                    M_("a job is declared twice: %(name)s", name=job.name), where="register_jobs"
                )
            jobs[job.name] = job
    return jobs
