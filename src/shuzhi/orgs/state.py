"""The part of the security state orgs keeps: users, their roles and departments, API tokens and login
sessions, as the ledger's entries imply them and as the tables hold them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.ledger.reconcile import UNKNOWN, Rows, StateSource, Table, digest, moment
from shuzhi.orgs.models import ApiToken, LoginSession, User, UserRole

EVENTS = frozenset(
    {
        "user.created",
        "user.updated",
        "user.password_rehashed",
        "user.password_reset",
        "token.created",
        "token.revoked",
        "auth.login",
        "auth.logout",
    }
)
USER_COLUMNS = ("id", "department_id", "active", "password")


class OrgsReplay:
    """Entries in, expected rows out. Fields an older entry did not record stay unknown."""

    def __init__(self) -> None:
        self.users: Rows = {}
        self.roles: dict[str, set[str]] = {}
        self.tokens: Rows = {}
        self.sessions: Rows = {}

    def feed(self, doc: dict) -> None:
        d = doc.get("detail") or {}
        event = doc.get("event")
        if event == "user.created" and isinstance(d.get("username"), str):
            name = d["username"]
            self.users[(name,)] = {
                "id": d.get("id", UNKNOWN),
                "department_id": doc.get("department_id"),
                "active": d.get("active", True),  # users were always created active
                "password": d.get("password_digest", UNKNOWN),
            }
            self.roles[name] = set(d.get("roles") or ())
        elif event in ("user.updated", "user.password_rehashed", "user.password_reset") and isinstance(
            d.get("username"), str
        ):
            name = d["username"]
            user = self.users.setdefault((name,), dict.fromkeys(USER_COLUMNS, UNKNOWN))
            if "roles" in d:
                self.roles[name] = set(d["roles"] or ())
            if "active" in d:
                user["active"] = d["active"]
            if "password_digest" in d:
                user["password"] = d["password_digest"]
        elif event == "token.created" and "token_id" in d:
            self.tokens[(d["token_id"],)] = {
                "owner": d.get("owner", UNKNOWN),
                "expires_at": moment(d.get("expires_at", UNKNOWN)),
                "revoked": False,
                "hash": d.get("hash_digest", UNKNOWN),
            }
        elif event == "token.revoked" and "token_id" in d:
            self._row(self.tokens, d["token_id"], ("owner", "expires_at", "hash"))["revoked"] = True
        elif event == "auth.login" and "login_session" in d:
            self.sessions[(d["login_session"],)] = {
                "user": d.get("username", UNKNOWN),
                "expires_at": moment(d.get("expires_at", UNKNOWN)),
                "ended": False,
                "hash": d.get("hash_digest", UNKNOWN),
            }
        elif event == "auth.logout" and "login_session" in d:
            self._row(self.sessions, d["login_session"], ("user", "expires_at", "hash"))["ended"] = True

    @staticmethod
    def _row(rows: Rows, row_id, unknown: tuple[str, ...]) -> dict:
        return rows.setdefault((row_id,), dict.fromkeys(unknown, UNKNOWN))

    def tables(self) -> dict[str, Table]:
        return {
            "users": Table(("username",), self.users),
            "user_roles": Table(
                ("username", "role"), {(u, r): {} for u, roles in self.roles.items() for r in roles}
            ),
            "api_tokens": Table(("id",), self.tokens),
            "login_sessions": Table(("id",), self.sessions),
        }


def read(session: Session) -> dict[str, Rows]:
    """The rows as the tables hold them (plain selects: no ORM objects for thousands of rows)."""
    users: Rows = {}
    names: dict[int, str] = {}
    for uid, name, dept, active, password_hash in session.execute(
        select(User.id, User.username, User.department_id, User.active, User.password_hash)
    ):
        names[uid] = name
        users[(name,)] = {
            "id": uid,
            "department_id": dept,
            "active": bool(active),
            "password": digest(password_hash),
        }
    roles: Rows = {
        (names.get(uid, f"#{uid}"), role): {}
        for uid, role in session.execute(select(UserRole.user_id, UserRole.role))
    }
    tokens: Rows = {
        (tid,): {
            "owner": names.get(uid, f"#{uid}"),
            "expires_at": moment(expires),
            "revoked": revoked is not None,
            "hash": digest(token_hash),
        }
        for tid, uid, expires, revoked, token_hash in session.execute(
            select(
                ApiToken.id, ApiToken.user_id, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.token_hash
            )
        )
    }
    sessions: Rows = {
        (sid,): {
            "user": names.get(uid, f"#{uid}"),
            "expires_at": moment(expires),
            "ended": ended is not None,
            "hash": digest(session_hash),
        }
        for sid, uid, expires, ended, session_hash in session.execute(
            select(
                LoginSession.id,
                LoginSession.user_id,
                LoginSession.expires_at,
                LoginSession.ended_at,
                LoginSession.session_hash,
            )
        )
    }
    return {"users": users, "user_roles": roles, "api_tokens": tokens, "login_sessions": sessions}


SOURCE = StateSource("orgs", EVENTS, OrgsReplay, read)
