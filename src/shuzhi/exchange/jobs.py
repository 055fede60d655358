"""The exchange's background jobs: ending requests whose grants ran out, and starting a query
worker before the first governed query needs one."""

from __future__ import annotations


def expire_grants(ctx) -> None:
    from shuzhi.exchange import share_requests

    with ctx.db.write() as s:
        moved = share_requests.expire_due(s)
        note = f"expired {len(moved)}: " + ", ".join(str(r.id) for r in moved[:20])
    ctx.progress(1.0, note)


def warm_query_workers(ctx) -> None:
    from shuzhi.engine.interface import engine_for

    engine_for(ctx.settings).warm()
    ctx.progress(1.0, "warm")
