"""Commands for departments, users and API tokens."""

from __future__ import annotations

import typer

from shuzhi.cli import lang
from shuzhi.cli.common import ListTable, console, ok, open_context, reports_errors, system_principal
from shuzhi.cli.lang import _
from shuzhi.i18n import N_

dept_app = typer.Typer(
    help="Departments.\n\nExample:  shuzhi dept add HZ-EDU 杭州市教育局 --parent HZ-DATA",
    no_args_is_help=True,
)
user_app = typer.Typer(
    help="Users.\n\nExample:  shuzhi user add li.na --dept HZ-PSB --role steward", no_args_is_help=True
)
token_app = typer.Typer(
    help="API tokens.\n\nExample:  shuzhi token create hrss.analyst --days 30", no_args_is_help=True
)


@dept_app.command("add")
@reports_errors
def dept_add(
    code: str = typer.Argument(..., help="Department code, e.g. GA"),
    name_zh: str = typer.Argument(..., help="Chinese name"),
    name_en: str = typer.Option(None, "--en", help="English name"),
    level: str = typer.Option("city", help="province | city | district"),
    parent: str = typer.Option(None, help="Code of the parent department"),
    region: str = typer.Option(None, help="GB/T 2260 region code (6 digits)"),
) -> None:
    """Add a department.

    Example:  shuzhi dept add HZ-EDU 杭州市教育局 --en "Hangzhou Education Bureau" --parent HZ-DATA --region 330100
    """
    from shuzhi.orgs import service as orgs

    _settings, db = open_context()
    with db.write() as s:
        d = orgs.create_department(
            s,
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            level=level,
            parent_code=parent,
            region_code=region,
            actor=system_principal(),
        )
        ok(_("department added"), f"{d.code} {lang.named(d)}")


@dept_app.command("list")
@reports_errors
def dept_list() -> None:
    """List departments with their parents.

    Example:  shuzhi dept list
    """
    from shuzhi.orgs import service as orgs

    _settings, db = open_context()
    with db.read() as s:
        parent, region = _("parent"), _("region")
        table = ListTable(
            _("code"),
            _("Chinese name"),
            _("English name"),
            _("level"),
            parent,
            region,
            whole=(parent, region),
        )
        for d in orgs.list_departments(s):
            table.add_row(
                d.code,
                d.name_zh,
                d.name_en or "",
                d.level,
                d.parent.code if d.parent else "",
                d.region_code or "",
            )
        console.print(table)


@user_app.command("add")
@reports_errors
def user_add(
    username: str = typer.Argument(..., help="User name to log in with"),
    dept: str = typer.Option(..., "--dept", help="Department code"),
    role: list[str] = typer.Option(..., "--role", help="admin | steward | analyst | auditor (repeatable)"),
    password: str = typer.Option(
        ...,
        prompt=N_("Password"),
        hide_input=True,
        confirmation_prompt=True,
        envvar="SHUZHI_NEW_USER_PASSWORD",
        help="The new user's password (asked for when not given)",
    ),
    name: str = typer.Option(None, help="Display name"),
    email: str = typer.Option(None, help="E-mail address"),
) -> None:
    """Add a user to a department with one or more roles.

    Example:  shuzhi user add li.na --dept HZ-PSB --role steward --name 李娜
    """
    from shuzhi.orgs import service as orgs

    _settings, db = open_context()
    with db.write() as s:
        u = orgs.create_user(
            s,
            username=username,
            password=password,
            department_code=dept,
            roles=role,
            display_name=name,
            email=email,
            actor=system_principal(),
        )
        ok(_("user added"), f"{u.username} ({', '.join(sorted(u.roles))})")


@user_app.command("roles")
@reports_errors
def user_roles(
    username: str = typer.Argument(..., help="The user whose roles to replace"),
    role: list[str] = typer.Option(..., "--role", help="admin | steward | analyst | auditor (repeatable)"),
) -> None:
    """Replace a user's roles with the ones given; the change is written to the audit ledger.

    Example:  shuzhi user roles hrss.analyst --role analyst --role steward
    """
    from shuzhi.orgs import service as orgs

    _settings, db = open_context()
    with db.write() as s:
        u = orgs.set_roles(s, orgs.get_user(s, username), role, actor=system_principal())
        ok(_("roles updated"), f"{u.username} ({', '.join(sorted(u.roles))})")


@user_app.command("list")
@reports_errors
def user_list(dept: str = typer.Option(None, "--dept", help="Only this department")) -> None:
    """List users.

    Example:  shuzhi user list --dept HZ-PSB
    """
    from shuzhi.orgs import service as orgs

    _settings, db = open_context()
    with db.read() as s:
        dept_header = _("dept")
        table = ListTable(
            _("username"), _("name"), dept_header, _("roles"), _("active"), whole=(dept_header,)
        )
        for u in orgs.list_users(s, dept):
            table.add_row(
                u.username,
                u.display_name,
                u.department.code,
                ", ".join(sorted(u.roles)),
                _("yes") if u.active else _("no"),
            )
        console.print(table)


@user_app.command("unlock")
@reports_errors
def user_unlock(
    username: str = typer.Argument(None, help="The user whose login lockout to lift"),
    address: str = typer.Option(None, "--address", help="Lift a client address's lockout instead"),
) -> None:
    """Lift a login lockout (too many wrong passwords) and forget the failures; audited.

    Example:  shuzhi user unlock hrss.analyst        shuzhi user unlock --address 10.2.3.4
    """
    from shuzhi.orgs import service as orgs
    from shuzhi.orgs import throttle

    if (username is None) == (address is None):
        raise typer.BadParameter(_("give a username or --address, not both"))
    _settings, db = open_context()
    with db.transaction() as s:
        if address is not None:
            state = throttle.unlock_address(s, address, actor=system_principal())
            what = address
        else:
            state = throttle.unlock_user(s, orgs.get_user(s, username), actor=system_principal())
            what = username
        was = (
            _("locked until %(time)s UTC", time=format(state["locked_until"], "%Y-%m-%d %H:%M:%S"))
            if state["locked_until"]
            else _("not locked")
        )
        failures = _("%(n)s recent failures", n=state["failures"])
        ok(_("unlocked"), f"{what} ({was}, {failures})")


@token_app.command("create")
@reports_errors
def token_create(
    username: str = typer.Argument(..., help="The user the token acts as"),
    name: str = typer.Option("cli", help="A label for the token"),
    days: int = typer.Option(90, help="Days until it expires"),
) -> None:
    """Create an API token for a user. The token is shown once; store it safely.

    Example:  shuzhi token create hrss.analyst --name etl --days 30
    """
    from shuzhi.orgs import service as orgs

    _settings, db = open_context()
    with db.write() as s:
        token, clear = orgs.create_token(
            s, orgs.get_user(s, username), name=name, days=days, actor=system_principal()
        )
        ok(_("token #%(id)s (expires %(date)s):", id=token.id, date=format(token.expires_at, "%Y-%m-%d")))
        console.print(clear, soft_wrap=True, highlight=False)
        console.print("[yellow]" + _("shown once: it is stored hashed.") + "[/]")


@token_app.command("revoke")
@reports_errors
def token_revoke(token_id: int = typer.Argument(..., help="Token number shown at creation")) -> None:
    """Revoke a token; it stops working on the next request.

    Example:  shuzhi token revoke 12
    """
    from shuzhi.orgs import service as orgs

    _settings, db = open_context()
    with db.write() as s:
        t = orgs.revoke_token(s, token_id, actor=system_principal())
        ok(
            _(
                "revoked token #%(id)s (%(prefix)s…) of %(user)s",
                id=t.id,
                prefix=t.prefix,
                user=t.user.username,
            )
        )


@token_app.command("list")
@reports_errors
def token_list(username: str = typer.Argument(None, help="Only this user's tokens")) -> None:
    """List tokens (never their values).

    Example:  shuzhi token list hrss.analyst
    """
    from shuzhi.orgs import service as orgs

    _settings, db = open_context()
    with db.read() as s:
        user = orgs.get_user(s, username) if username else None
        user_header, prefix = _("user"), _("prefix")
        table = ListTable(
            "id", user_header, _("name"), prefix, _("expires"), _("revoked"), whole=(user_header, prefix)
        )
        for t in orgs.list_tokens(s, user):
            table.add_row(
                str(t.id),
                t.user.username,
                t.name,
                t.prefix,
                f"{t.expires_at:%Y-%m-%d}",
                f"{t.revoked_at:%Y-%m-%d}" if t.revoked_at else "",
            )
        console.print(table)
