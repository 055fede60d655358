"""Background jobs: declared by the domains through the `register_jobs` hook, their state kept in the
metadata store, run by the in-process runner (the default) or by workers on a Redis broker."""

from shuzhi.jobs.declare import Job, JobContext, declared_jobs

__all__ = ["Job", "JobContext", "declared_jobs"]
