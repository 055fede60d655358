"""Commands of the sharing exchange: requests, decisions, grants, governed SQL and bulk export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shuzhi.cli.common import (
    ListTable,
    acting_principal,
    console,
    open_context,
    progress_bar,
    reports_errors,
)
from shuzhi.cli.lang import _
from shuzhi.i18n import M_, N_

if TYPE_CHECKING:
    from shuzhi.orgs.service import Principal

# Domain modules (sqlglot, pyarrow, the exchange) are imported inside the commands: `shuzhi` starts fast
# and every command pays only for what it uses.

app = typer.Typer(
    help="Sharing exchange.\n\nExample:  shuzhi exchange requests --as psb.steward --box inbox",
    no_args_is_help=True,
)

AS_HELP = N_("Act as this user (audited as them)")


def _principal(db, username: str | None) -> Principal:
    with db.read() as s:
        return acting_principal(s, username)


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _state_label(state: str) -> str:
    """A request's state in words, from the catalog."""
    from shuzhi.exchange.share_requests import STATE_LABELS

    return _(STATE_LABELS[state])


def _print_requests(rows) -> None:
    dataset, asker, deadline = _("dataset"), _("from"), _("deadline")
    table = ListTable(
        "id",
        dataset,
        asker,
        _("state"),
        deadline,
        _("fields"),
        _("purpose"),
        whole=(dataset, asker, deadline),
    )
    for r in rows:
        table.add_row(
            str(r.id),
            r.dataset.identifier,
            r.department.code,
            _state_label(r.state),
            str(r.deadline or ""),
            ", ".join(r.fields),
            r.purpose[:40],
        )
    console.print(table)


@app.command("request")
@reports_errors
def request(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    fields: str = typer.Option(..., help="Comma-separated fields"),
    purpose: str = typer.Option(..., help="Purpose (required)"),
    basis: str = typer.Option(None, help="Legal or policy basis"),
    draft: bool = typer.Option(False, help="Keep as draft"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
) -> None:
    """Ask another department for fields of a dataset.

    Example:  shuzhi exchange request hz-psb-population --fields 姓名,性别 --purpose 低保核查 --as hrss.analyst
    """
    from shuzhi.exchange import share_requests

    settings, db = open_context()
    who = _principal(db, as_user)
    with db.write() as s:
        req = share_requests.create_request(
            s,
            settings,
            who,
            share_requests.RequestIn.of(dataset=dataset, fields=_split(fields), purpose=purpose, basis=basis),
            submit=not draft,
        )
        console.print(
            _("request #%(id)s", id=req.id)
            + f" {_state_label(req.state)}; "
            + _("deadline %(date)s", date=req.deadline)
        )


@app.command("requests")
@reports_errors
def list_requests(
    box: str = typer.Option("inbox", help="inbox | mine | overdue | all"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """List requests: awaiting decision (inbox), your own, or overdue.

    Example:  shuzhi exchange requests --box overdue
    """
    from shuzhi.exchange import share_requests

    _settings, db = open_context()
    who = _principal(db, as_user)
    with db.read() as s:
        _print_requests(share_requests.requests_in_box(s, who, box, where="--box"))


@app.command("approve")
@reports_errors
def approve(
    request_id: int = typer.Argument(..., help="Request id (see exchange requests)"),
    fields: str = typer.Option(None, help="Grant only these fields"),
    row_filter: str = typer.Option(None, help="Row filter, e.g. \"region_code LIKE '3301%'\""),
    mask: list[str] = typer.Option([], help="field=rule, e.g. id_number=hash, name=keep_first:1"),
    expires: str = typer.Option(None, help="Expiry date YYYY-MM-DD"),
    rows_per_day: int = typer.Option(None, help="Rows the grant may read a day"),
    calls_per_day: int = typer.Option(None, help="Calls the grant may make a day"),
    reason: str = typer.Option(None, help="Reason"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
) -> None:
    """Approve a request, possibly narrower than asked.

    Example:  shuzhi exchange approve 3 --fields 姓名 --row-filter "性别 = '女'" --mask 姓名=keep_first:1 --as psb.steward
    """
    from datetime import date

    from shuzhi.errors import InvalidInput
    from shuzhi.exchange import share_requests

    # Malformed options are refused as such, before anything is opened (not as a traceback).
    if bad := [m for m in mask if "=" not in m]:
        raise InvalidInput(M_("A mask is field=rule: %(masks)s", masks=", ".join(bad)), where="--mask")
    try:
        expires_on = date.fromisoformat(expires) if expires else None
    except ValueError:
        raise InvalidInput(M_("A date is YYYY-MM-DD: %(date)s", date=expires), where="--expires") from None
    settings, db = open_context()
    who = _principal(db, as_user)
    masks = dict(m.split("=", 1) for m in mask)
    approval = share_requests.Approval(
        fields=_split(fields) or None,
        row_filter=row_filter,
        masks=masks,
        expires_on=expires_on,
        rows_per_day=rows_per_day,
        calls_per_day=calls_per_day,
    )
    with db.write() as s:
        grant = share_requests.approve_request(
            s, settings, who, share_requests.get_request(s, who, request_id), approval, reason
        )
        console.print(_("approved, grant #%(id)s", id=grant.id) + f": {', '.join(grant.fields)}")


def _decide(action: str, request_id: int, reason: str, as_user: str) -> None:
    from shuzhi.exchange import share_requests

    _settings, db = open_context()
    who = _principal(db, as_user)
    with db.write() as s:
        req = share_requests.get_request(s, who, request_id)
        (share_requests.reject_request if action == "reject" else share_requests.withdraw_request)(
            s, who, req, reason
        )
        console.print(_("request #%(id)s", id=req.id) + f": {_state_label(req.state)}")


@app.command("reject")
@reports_errors
def reject(
    request_id: int, reason: str = typer.Option(...), as_user: str = typer.Option(..., "--as", help=AS_HELP)
):
    """Reject a request, with a reason.

    Example:  shuzhi exchange reject 3 --reason 用途不明确 --as psb.steward
    """
    _decide("reject", request_id, reason, as_user)


@app.command("withdraw")
@reports_errors
def withdraw(
    request_id: int, reason: str = typer.Option(...), as_user: str = typer.Option(..., "--as", help=AS_HELP)
):
    """Withdraw your own request, with a reason.

    Example:  shuzhi exchange withdraw 3 --reason 不再需要 --as hrss.analyst
    """
    _decide("withdraw", request_id, reason, as_user)


@app.command("revoke")
@reports_errors
def revoke(
    grant_id: int, reason: str = typer.Option(...), as_user: str = typer.Option(..., "--as", help=AS_HELP)
):
    """Revoke a grant; it stops working on the grantee's next call.

    Example:  shuzhi exchange revoke 5 --reason 合作结束 --as psb.steward
    """
    from shuzhi.exchange import share_requests

    _settings, db = open_context()
    who = _principal(db, as_user)
    with db.write() as s:
        share_requests.revoke_grant(s, who, share_requests.get_grant(s, grant_id), reason)
        console.print(_("grant #%(id)s revoked", id=grant_id))


@app.command("grants")
@reports_errors
def grants(
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    provided: bool = typer.Option(False, help="The grants your department has given"),
) -> None:
    """List your department's active grants (or, with --provided, those it has given).

    Example:  shuzhi exchange grants --as hrss.analyst
    """
    from shuzhi.exchange import share_requests

    _settings, db = open_context()
    who = _principal(db, as_user)
    with db.read() as s:
        rows = share_requests.provided_grants(s, who) if provided else share_requests.my_grants(s, who)
        dataset, dept = _("dataset"), _("dept")
        table = ListTable(
            _("grant"), dataset, dept, _("fields"), _("filter"), _("expires"), whole=(dataset, dept)
        )
        for g in rows:
            table.add_row(
                str(g.id),
                g.dataset.identifier,
                g.department.code,
                ", ".join(g.fields),
                g.row_filter or "",
                g.expires_on.isoformat(),
            )
        console.print(table)


@app.command("sql")
@reports_errors
def sql(
    query: str = typer.Argument(..., help="One SELECT"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    purpose: str = typer.Option(None, help="Purpose"),
    out: Path = typer.Option(None, help="Write to .parquet, .csv or .arrows instead of printing"),
) -> None:
    """Run governed SQL over datasets you may read (masked, filtered, capped, audited).

    Example:  shuzhi exchange sql 'SELECT 性别, COUNT(*) FROM "hz-psb-population" GROUP BY 1' --as hrss.analyst
    """
    from shuzhi.exchange import service
    from shuzhi.exchange.channels import write_file
    from shuzhi.exchange.results import sql_first_page

    settings, db = open_context()
    who = _principal(db, as_user)
    if out is not None:
        fmt = _out_format(out)
        with service.run_sql(db, settings, who, query, purpose=purpose) as read:
            size = write_file(out, fmt, read.schema, read.batches())
        _report_file(out, read.stream.rows, read.stream.truncated, size)
        return
    # Printed rows only: the query stops there (--out writes the whole result).
    page = sql_first_page(db, settings, who, query, settings.exchange.console_rows, purpose=purpose)
    view = ListTable(*page.columns)
    for row in page.rows:
        view.add_row(*["" if v is None else str(v) for v in row])
    console.print(view)
    console.print(_("%(rows)s rows", rows=format(page.shown, ",")) + _truncated(page.truncated))


def _out_format(out: Path) -> str:
    """The output file's format, checked before a read is opened (an opened read holds quota)."""
    from shuzhi.errors import InvalidInput
    from shuzhi.exchange import formats

    if not out.parent.is_dir():
        raise InvalidInput(M_("No such directory: %(path)s", path=str(out.parent)), where="--out")
    # .arrow is the usual name of an Arrow file too; an unknown or missing extension gets Parquet.
    suffix = ".arrows" if out.suffix.lower() == ".arrow" else out.suffix
    found = formats.by_extension(suffix)
    return found.name if found is not None else "parquet"


def _report_file(out: Path, rows: int, truncated: bool, size: int) -> None:
    # A row cap or a daily row quota ends a read early: a partial file must not pass for a whole one.
    rows_text = _("%(rows)s rows", rows=format(rows, ","))
    size_text = _("%(bytes)s bytes", bytes=format(size, ","))
    console.print(f"{rows_text}{_truncated(truncated)} → {out}, {size_text}")


def _truncated(truncated: bool) -> str:
    return " (" + _("truncated") + ")" if truncated else ""


@app.command("export")
@reports_errors
def export(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    out: Path = typer.Option(..., help=".parquet, .csv or .arrows"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
    purpose: str = typer.Option(None, help="Purpose"),
) -> None:
    """Bulk export of what you may read of a dataset to a file.

    The file is written beside and renamed into place: an earlier file is replaced only by a whole one.

    Example:  shuzhi exchange export hz-psb-population --out rk.parquet --as hrss.analyst
    """
    from shuzhi.exchange import service

    settings, db = open_context()
    who = _principal(db, as_user)
    fmt = _out_format(out)
    with progress_bar(transient=True) as bar:
        task = bar.add_task(_("exporting %(dataset)s", dataset=dataset), total=None)
        done = service.export_to_file(
            db,
            settings,
            who,
            dataset,
            out,
            fmt,
            purpose=purpose,
            progress=lambda n: bar.update(
                task, completed=n, description=_("exporting %(rows)s rows", rows=format(n, ","))
            ),
        )
    _report_file(out, done.rows, done.truncated, done.bytes)


@app.command("expire")
@reports_errors
def expire() -> None:
    """Mark approved requests whose grants have run out as expired.

    Example:  shuzhi exchange expire
    """
    from shuzhi.exchange import share_requests

    _settings, db = open_context()
    with db.write() as s:
        moved = share_requests.expire_due(s)
        console.print(_("%(n)s requests expired", n=len(moved)))
