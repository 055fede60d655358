"""Built-in hook implementations of the exchange: the grants the ledger vouches for; its jobs (grant
expiry, query-worker warm-up)."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def ledger_state():
    from shuzhi.exchange.state import SOURCE

    return [SOURCE]


@hookimpl
def register_jobs():
    from shuzhi.jobs import Job

    return [
        Job(
            name="exchange.expire_grants",
            func="shuzhi.exchange.jobs:expire_grants",
            every=lambda settings: settings.exchange.expire_interval_s,
            retries=2,
            time_limit_s=300,
            title="结束到期授权的申请 (end requests whose grants ran out)",
        ),
        # Local: it warms the query workers of the process that serves queries.
        Job(
            name="exchange.warm_query_workers",
            func="shuzhi.exchange.jobs:warm_query_workers",
            at_start=True,
            local=True,
            time_limit_s=120,
            title="预启动查询进程 (start a query worker ahead of the first query)",
        ),
    ]
