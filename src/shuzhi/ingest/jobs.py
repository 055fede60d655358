"""Ingest's background jobs: sweeping what killed ingests left, and re-hashing the version files."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def sweep(ctx) -> None:
    from shuzhi.ingest.service import sweep_leftovers

    with ctx.db.read() as session:  # the store is only read; files are removed
        removed = sweep_leftovers(session, ctx.settings)
    if removed:
        log.info("removed %d ingest leftovers (staging areas, orphan version files)", len(removed))
    ctx.progress(1.0, f"removed {len(removed)}")


def verify_data(ctx) -> None:
    from shuzhi.ingest.integrity import verify_versions

    report = verify_versions(ctx.db, ctx.settings)
    log.info("verified %d versions, %d damaged", report.checked, len(report.damaged))
    ctx.progress(1.0, f"checked {report.checked}, damaged {len(report.damaged)}")
