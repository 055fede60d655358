"""Ingest's background jobs: sweeping what killed ingests left, re-hashing the version files, and
loading a file uploaded through the web form."""

from __future__ import annotations

import logging

from shuzhi.i18n import M_

log = logging.getLogger(__name__)


def sweep(ctx) -> None:
    from shuzhi.ingest.service import sweep_leftovers
    from shuzhi.ingest.uploads import sweep_held

    with ctx.db.read() as session:  # the store is only read; files are removed
        removed = sweep_leftovers(session, ctx.settings)
    removed += sweep_held(ctx.settings)
    if removed:
        log.info("removed %d ingest leftovers (staging areas, orphan version files)", len(removed))
    ctx.progress(1.0, f"removed {len(removed)}")


def verify_data(ctx) -> None:
    from shuzhi.ingest.integrity import verify_versions

    report = verify_versions(ctx.db, ctx.settings)
    log.info("verified %d versions, %d damaged", report.checked, len(report.damaged))
    ctx.progress(1.0, f"checked {report.checked}, damaged {len(report.damaged)}")


LOAD_UPLOAD = "ingest.load_upload"


def load_upload(ctx, dataset_id: int, token: str, name: str, username: str) -> None:
    """Load a file held by the upload form as the dataset's next version, reporting progress; the
    uploader's right to manage the dataset is checked again when the version is committed. The held
    file goes whatever happens (the job is not retried: the form is the way to try again)."""
    from shuzhi.catalog import service as catalog
    from shuzhi.errors import Forbidden
    from shuzhi.ingest import uploads
    from shuzhi.ingest.service import commit_to, stage_source
    from shuzhi.orgs import service as orgs

    def progress(done: int, total: int | None) -> None:
        if total:
            ctx.progress(0.9 * min(done / total, 1.0))

    try:
        path = uploads.held_path(ctx.settings, token)
        ctx.progress(0.0, "读取并转换 (reading and converting)")
        staged = stage_source(ctx.settings, path, name=name, progress=progress)
        ctx.progress(0.9, "保存版本 (storing the version)")

        def target(session):
            user = orgs.get_user(session, username)
            if not user.active:
                raise Forbidden(M_("the uploader has been deactivated"))
            ds = catalog.get_dataset(session, dataset_id)
            catalog.require_manage(orgs.Principal.of(user), ds)
            return ds

        with ctx.db.read() as session:
            user_id = orgs.get_user(session, username).id
        report = commit_to(ctx.db, ctx.settings, staged, target, user_id=user_id)
    finally:
        uploads.release(ctx.settings, token)
    if report.unchanged:
        ctx.progress(1.0, f"same_as={report.same_as} rows={report.rows}")
    else:
        ctx.progress(1.0, f"version={report.version} rows={report.rows}")
