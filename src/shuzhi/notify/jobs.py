"""The notification centre's background jobs: the time-based notifications, and sending e-mail."""

from __future__ import annotations


def scan(ctx) -> None:
    from shuzhi.notify import feed

    with ctx.db.write() as s:
        counts = feed.scan(s, ctx.settings)
    ctx.progress(1.0, ", ".join(f"{k} {v}" for k, v in counts.items()))


def send_mail(ctx) -> None:
    from shuzhi.notify import mail

    while True:
        result = mail.send_pending(ctx.db, ctx.settings)
        ctx.progress(None, f"sent {result['sent']}, failed {result['failed']}")
        if result["failed"] or result["sent"] < mail.BATCH:  # failures wait for the next run
            break
    ctx.progress(1.0)
