"""Built-in hook implementation of the ledger: its signed-tree-head job."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def register_jobs():
    from shuzhi.jobs import Job

    return [
        Job(
            name="ledger.sign_tree_head",
            func="shuzhi.ledger.jobs:sign_tree_head",
            every=lambda settings: settings.ledger.sth_interval_s,
            at_start=True,
            retries=2,
            time_limit_s=300,
            title="签名树头 (sign a tree head when due)",
        )
    ]
