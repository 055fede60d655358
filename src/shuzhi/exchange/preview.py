"""Approval preview: a few of the providing department's own values of a requested field, masked as
the grant being decided would show them to the requester."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from sqlglot import exp

from shuzhi.catalog.service import can_manage
from shuzhi.config import Settings
from shuzhi.errors import Forbidden, InvalidInput
from shuzhi.exchange.grades import dataset_grades
from shuzhi.exchange.keys import mask_master_key
from shuzhi.exchange.masking import default_rule, grant_key, mask_expression, parse_rule
from shuzhi.exchange.results import sql_first_page
from shuzhi.exchange.share_requests import application_number, get_request
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database

SAMPLE = 3
"""Values shown per field: enough to see what a mask does, few enough to be a glance."""


@dataclass(frozen=True)
class MaskPreview:
    field: str
    mask: str
    """The rule's label in the asker's language (the grade's default when none was chosen)."""
    default: bool
    """No mask was chosen: the field's grade decides."""
    values: list[str | None]
    """The masked values, as text."""


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def mask_preview(
    db: Database,
    settings: Settings,
    principal: Principal,
    request_id: int,
    field: str,
    mask: str | None,
    *,
    lang: str = "zh",
) -> MaskPreview:
    """What the requester would see of `field` under `mask` ('' or None: the grade's default), on a few
    of the owner's values.

    Reading those values is a data read: it is the providing department's (NotFound for whoever may
    not see the request, Forbidden for its requester's side), goes through the governed read as the
    steward's own-department read and is audited like any (`data.read`, purpose naming the request).
    The mask is then applied, as the engine would, to those few values only; a hash uses a key of the
    preview, not of the grant to come, so digests shown here match no real one."""
    with db.read() as s:
        req = get_request(s, principal, request_id)
        if not can_manage(principal, req.dataset):
            raise Forbidden(M_("the providing department's steward previews"))
        names = {f.lower(): f for f in req.fields}
        name = names.get((field or "").strip().lower())
        if name is None:
            raise InvalidInput(M_("the request does not ask for: %(field)s", field=field), where="field")
        rule = parse_rule(mask) if mask else default_rule(dataset_grades(s, settings, req.dataset).get(name))
        identifier, number = req.dataset.identifier, application_number(req)
    page = sql_first_page(
        db,
        settings,
        principal,
        f"SELECT {quoted(name)} FROM {quoted(identifier)} WHERE {quoted(name)} IS NOT NULL LIMIT {SAMPLE}",
        SAMPLE,
        purpose=f"审批预览 {number} / approval preview",
    )
    raw = [row[0] for row in page.rows]
    key = grant_key(mask_master_key(settings), f"preview:{request_id}")
    return MaskPreview(
        field=name,
        mask=rule.label(lang),
        default=not mask,
        values=apply_mask(rule, raw, key),
    )


def apply_mask(rule, values: list, key: bytes) -> list[str | None]:
    """The mask's own SQL expression run over these values (in memory, nothing else in reach)."""
    if not values:
        return []
    column = exp.column("value")
    masked = mask_expression(rule, column, key=key).sql(dialect="duckdb")
    rows = ", ".join("(?)" for _ in values)
    try:
        with duckdb.connect(":memory:", config={"enable_external_access": False}) as con:
            found = con.execute(f"SELECT {masked} FROM (VALUES {rows}) AS t(value)", values).fetchall()
    except duckdb.Error:
        # The engine's text would quote the values (a failed cast names the string it met): it goes
        # nowhere, not even to the log; the steward learns the mask does not suit the field.
        raise InvalidInput(
            M_("this mask cannot be applied to this field's values"),
            where="mask",
        ) from None
    return [None if v is None else str(v) for (v,) in found]
