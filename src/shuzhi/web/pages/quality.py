"""The quality section of a dataset page (scores, their trend as inline SVG, rule results, holds) and
its forms: run the rules now, override a hold (POST, CSRF-checked, then back to the page)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session

from shuzhi import textlimits as limits
from shuzhi.catalog import service as catalog
from shuzhi.errors import Conflict, InvalidInput
from shuzhi.i18n import N_
from shuzhi.orgs.service import Principal
from shuzhi.quality import overview, service
from shuzhi.quality.kinds import DIMENSIONS, rule_kinds
from shuzhi.store.db import Database
from shuzhi.web import flash
from shuzhi.web.deps import get_db, page_principal
from shuzhi.web.pages.core import render_dataset_page
from shuzhi.web.templating import page_context, templates

router = APIRouter(include_in_schema=False)

COLOURS = {
    "overall": "#b4232a",
    "completeness": "#1d5fa8",
    "accuracy": "#7b3fa0",
    "consistency": "#2f7d32",
    "timeliness": "#b26a00",
    "uniqueness": "#00838f",
    "validity": "#5d4037",
}
"""A line's colour in the trend chart (and its legend), one per series."""


def section_html(request: Request, session: Session, principal: Principal, dataset) -> str:
    """The rendered quality section (the dataset page collects it through `dataset_page_sections`).
    The failing rows are shown only when asked for (`?samples=1`) to whoever may see them, and each
    such view is a `quality.samples_read` ledger entry."""
    found = overview.overview(session, principal, dataset, request.app.state.settings)
    if found.can_see_samples and request.query_params.get("samples") == "1":
        overview.with_samples(request.app.state.db, principal, found)
    return templates.get_template("quality_section.html").render(
        request=request,
        ds=dataset,
        q=found,
        chart=trend_chart(found.history),
        dimensions=DIMENSIONS,
        colours=COLOURS,
        kinds=rule_kinds(),
        form_error=getattr(request.state, "form_error", None),
        **page_context(request),
    )


# -- the trend chart --------------------------------------------------------------------------------

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 30


def trend_chart(history: list[dict]) -> dict | None:
    """Coordinates of the scores over versions for an inline SVG: one line for the overall score and
    one per dimension, broken where a version has no score. The vertical scale starts at a multiple
    of ten below the lowest score (at most 90) so that small changes near 100 stay visible."""
    if not history:
        return None
    values = [h["score"] for h in history] + [v for h in history for v in h["dimensions"].values()]
    present = [v for v in values if v is not None]
    low = min(90.0, (min(present) // 10) * 10) if present else 0.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / (len(history) - 1) if len(history) > 1 else 0

    def x(i: int) -> float:
        return round(LEFT + (i * step if step else plot_w / 2), 1)

    def y(v: float) -> float:
        return round(TOP + plot_h * (100 - v) / (100 - low), 1)

    def series(key: str, pick: Callable[[dict], float | None]) -> dict:
        points = [(x(i), y(v), h["version"], v) for i, h in enumerate(history) if (v := pick(h)) is not None]
        return {"key": key, "colour": COLOURS[key], "points": points, "path": _path(history, pick, x, y)}

    lines = [series("overall", lambda h: h["score"])]
    lines += [series(d, lambda h, d=d: h["dimensions"].get(d)) for d in DIMENSIONS]
    ticks = [low + (100 - low) * k / 4 for k in range(5)]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
        "grid": [(round(t, 1), y(t)) for t in ticks],
        "xs": [(x(i), h["version"]) for i, h in enumerate(history)],
        "lines": [s for s in lines if s["points"]],
    }


def _path(history: list[dict], pick, x, y) -> str:
    """An SVG path through the present values, lifting the pen over a version without one."""
    parts, pen_down = [], False
    for i, h in enumerate(history):
        v = pick(h)
        if v is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{x(i)} {y(v)}")
        pen_down = True
    return " ".join(parts)


# -- forms ------------------------------------------------------------------------------------------

RAN = N_("Quality rules run on version %(version)s: score %(score)s.")
OVERRIDDEN = N_("Version %(version)s may be shared and published again; the override is in the audit ledger.")


def _refused(request: Request, db: Database, principal: Principal, ref: str, form: str, values: dict, error):
    """The dataset page again, the refusal said beside the form used (nothing was kept)."""
    request.state.form_error = {"form": form, "error": error, "entered": values}
    with db.read() as session:
        return render_dataset_page(request, session, principal, db, ref, status=error.status)


@router.post("/datasets/{ref}/quality/runs")
def run_form(
    ref: str,
    request: Request,
    db: Database = Depends(get_db),
    principal: Principal = Depends(page_principal),
):
    """Run the rule set on the newest version now (a steward of the owning department, or an admin).
    Who may not run it gets the error page: who may not use a form is not shown one."""
    try:
        run_id = service.run(db, request.app.state.settings, principal, ref)
    except (InvalidInput, Conflict) as error:
        return _refused(request, db, principal, ref, "run", {}, error)
    with db.read() as session:
        r = service.get_run(session, run_id)
        score = "—" if r.score is None else f"{r.score:.1f}"
        target = f"/datasets/{catalog.get_dataset(session, ref).identifier}#quality"
    return flash.redirect(target, RAN, version=r.version_number, score=score)


@router.post("/datasets/{ref}/quality/versions/{number}/override")
def override_form(
    ref: str,
    number: int,
    request: Request,
    reason: str = Form("", max_length=limits.REASON),
    db: Database = Depends(get_db),
    principal: Principal = Depends(page_principal),
):
    """Let a held version be shared and published, saying why (a steward of the owning department,
    or an admin); a missing reason or a version not held is said beside the form."""
    try:
        with db.write() as session:
            service.override_block(session, principal, ref, number, reason)
            identifier = catalog.get_dataset(session, ref).identifier
    except (InvalidInput, Conflict) as error:
        return _refused(request, db, principal, ref, f"override-{number}", {"reason": reason}, error)
    return flash.redirect(f"/datasets/{identifier}#quality", OVERRIDDEN, version=number)
