"""Commands that set up and run a Shuzhi instance: init, serve, demo."""

from __future__ import annotations

from pathlib import Path

import typer

from shuzhi.cli.common import ListTable, console, ok, open_context, progress_bar, reports_errors
from shuzhi.cli.lang import _, say
from shuzhi.i18n import M_


@reports_errors
def init(
    admin_password: str = typer.Option(
        None,
        "--admin-password",
        envvar="SHUZHI_ADMIN_PASSWORD",
        help="Create user 'admin' in department 'BDB' with this password.",
    ),
) -> None:
    """Create the data directory, apply migrations and make the ledger signing key.

    Example:  SHUZHI_DATA_DIR=/srv/shuzhi shuzhi init --admin-password 'change-me-now'
    """
    settings, db = open_context(migrate=False)
    db.upgrade()  # always: also refreshes the controlled vocabularies shipped with this release
    from shuzhi.ledger.keys import ensure_signing_key

    key_path = ensure_signing_key(settings)
    ok(_("metadata store"), db.url.render_as_string(hide_password=True))
    ok(_("data directory"), settings.data_dir.resolve())
    ok(_("ledger signing key"), key_path)
    if admin_password:
        from shuzhi.orgs import service as orgs

        with db.write() as s:
            if not orgs.list_departments(s):
                orgs.create_department(s, code="BDB", name_zh="大数据管理局", name_en="Big Data Bureau")
            orgs.create_user(
                s,
                username="admin",
                password=admin_password,
                department_code="BDB",
                roles=["admin"],
                display_name="平台管理员",
            )
        ok(_("admin user created"), "admin")


@reports_errors
def serve(
    host: str = typer.Option(None, help="Address to listen on (default from settings: 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default from settings: 8000)."),
    workers: int = typer.Option(
        None, min=1, help="Server processes (default from settings: 1); more than one needs PostgreSQL."
    ),
) -> None:
    """Run the web server (pages at /, API at /api/v1, docs at /api/v1/docs, probes at /healthz, /readyz).

    Refuses to start, saying which setting and path, when the data directory is not writable or
    the metadata store cannot be reached or was migrated by a newer release.

    Example:  shuzhi serve --port 8080 --workers 2
    """
    import uvicorn

    from shuzhi.errors import ConfigurationError

    settings, db = open_context()
    workers = workers or settings.workers
    if workers > 1 and db.is_sqlite:
        raise ConfigurationError(
            M_(
                "A SQLite metadata store serves one server process only, not %(workers)s: each process "
                "would wait on the others' write locks. Setting workers (--workers, environment variable "
                "SHUZHI_WORKERS) is %(workers)s with database_url %(url)s.",
                workers=workers,
                url=db.url.render_as_string(hide_password=True),
            ),
            where="workers",
            hint=M_("Use --workers 1, or set database_url to PostgreSQL."),
        )
    host, port = host or settings.host, port or settings.port
    if workers == 1:
        from shuzhi.web.app import create_app

        uvicorn.run(create_app(settings, db=db), host=host, port=port, log_level="info")
        return
    # Each worker process builds its own app from the same settings (the environment it inherits);
    # the store is checked and migrated once, here, before any of them starts.
    db.dispose()
    uvicorn.run(
        "shuzhi.web.app:worker_app", factory=True, workers=workers, host=host, port=port, log_level="info"
    )


@reports_errors
def demo(
    seed: int = typer.Option(20261126, help="Random seed: the same seed builds the same city."),
    scale: float = typer.Option(1.0, min=0.001, help="1.0 ≈ 50,000 residents and 10,000 enterprises."),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Start the server when built."),
    out: Path = typer.Option(
        None, help="Where to write the generated source files (default <data_dir>/demo-city)."
    ),
) -> None:
    """Build the synthetic demo city: departments, users and datasets, loaded and graded.

    Example:  shuzhi demo --scale 0.2 --no-serve
    """

    from shuzhi.demo import generate
    from shuzhi.demo.build import REGISTRIES, build
    from shuzhi.demo.opendata import APPLICANT as DEMO_APPLICANT
    from shuzhi.ledger.keys import ensure_signing_key

    settings, db = open_context()
    ensure_signing_key(settings)
    out = out or settings.data_dir / "demo-city"
    with progress_bar() as bar:
        gen_task = bar.add_task(_("generating the city"), total=None)
        load_task = bar.add_task(_("loading"), total=None, visible=False)

        def on_generate(step: str, done: int, total: int) -> None:
            bar.update(gen_task, description=_("generating %(step)s", step=step), completed=done, total=total)

        def on_build(step: str, done: int, total: int) -> None:
            description = _("loading %(step)s", step=step)
            bar.update(load_task, description=description, completed=done, total=total, visible=True)

        manifest = generate(out, seed=seed, scale=scale, progress=on_generate)
        report = build(settings, db, manifest, progress=on_build)
    ok(
        _(
            "%(departments)s departments, %(users)s users, %(datasets)s datasets, %(added)s new versions "
            "(%(unchanged)s unchanged)",
            departments=report.departments_created,
            users=report.users_created,
            datasets=report.datasets_created,
            added=report.versions_added,
            unchanged=report.versions_unchanged,
        )
    )
    opened = report.open_data
    if opened is not None:
        ok(
            _(
                "open data: %(published)s releases published now, %(already)s already, %(statistics)s statistics releases",
                published=opened.published,
                already=opened.already,
                statistics=opened.statistics,
            )
        )
        for refused in opened.refused:
            console.print("  " + _("not released: %(why)s", why=say(refused)))
    for name, run in zip(REGISTRIES, report.registries, strict=True):
        published = run.get("published") or {}
        ok(
            _("base registry %(name)s: %(entries)s entries", name=name, entries=run["counts"]["entries"]),
            f"{published['dataset']} v{published['version']}" if "version" in published else None,
        )
    console.print("  " + _("ground truth") + f": {manifest.ground_truth}")
    password, dept = _("password"), _("dept")
    logins = ListTable(
        _("username"), password, dept, _("roles"), title=_("demo logins"), whole=(password, dept)
    )
    for u in manifest.users:
        logins.add_row(u.username, u.password, u.department_code, ", ".join(u.roles))
    console.print(logins)
    portal = DEMO_APPLICANT
    console.print(
        "  "
        + _(
            "open-data portal login (/open/login): %(email)s, password %(password)s",
            email=portal["email"],
            password=portal["password"],
        )
    )
    if serve_after:
        serve(host=None, port=None, workers=None)
