"""Notifications of one user: sending them (once per event key), listing, counting unread, marking read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shuzhi import i18n
from shuzhi.errors import NotFound
from shuzhi.i18n import M_, N_
from shuzhi.notify.models import Notification
from shuzhi.store.base import utcnow

KINDS: dict[str, str] = {
    "request_submitted": N_("new share request"),
    "request_approved": N_("request approved"),
    "request_narrowed": N_("request approved, narrowed"),
    "request_rejected": N_("request rejected"),
    "review_due_soon": N_("review due soon"),
    "review_overdue": N_("review overdue"),
    "grant_expiring": N_("grant expiring"),
    "grading_alert": N_("grading alert"),
    "application_submitted": N_("new open-data application"),
    "quality_alert": N_("quality alert"),
}
"""Each kind of notification in words (catalog messages, translated where shown)."""
MAX_PAGE = 100


@dataclass(frozen=True)
class Message:
    """What one event tells its recipients: its title and body as catalog messages (`M_`), or as a
    text the data carries (`Pair`). Each is stored in both languages, as told at the time."""

    kind: str
    key: str
    """Names the event: a recipient gets one notification per key, ever."""
    title: i18n.Message
    body: i18n.Message | i18n.Pair
    link: str | None = None


def send(session: Session, recipients: Iterable, message: Message) -> list[Notification]:
    """Add the message for each recipient (a User) who has not had this key yet; returns the new
    notifications. Those with an e-mail address get it mailed by the mail job."""
    if message.kind not in KINDS:
        raise ValueError(f"unknown notification kind {message.kind!r}")
    people = {u.id: u for u in recipients if u is not None}
    if not people:
        return []
    had = set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.key == message.key, Notification.user_id.in_(people)
            )
        )
    )
    now = utcnow()
    made = [
        Notification(
            user_id=uid,
            kind=message.kind,
            key=message.key,
            title_zh=message.title.in_lang("zh")[:300],
            title_en=message.title.in_lang("en")[:300],
            body_zh=message.body.in_lang("zh"),
            body_en=message.body.in_lang("en"),
            link=message.link,
            created_at=now,
            mail_state="pending" if (user.email or "").strip() else "none",
            mail_attempts=0,
        )
        for uid, user in sorted(people.items())
        if uid not in had
    ]
    session.add_all(made)
    return made


def sent_keys(session: Session, keys: list[str]) -> set[tuple[str, int]]:
    """Which of these keys each user already has, as (key, user id)."""
    found: set[tuple[str, int]] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        rows = session.execute(
            select(Notification.key, Notification.user_id).where(Notification.key.in_(chunk))
        )
        found.update((key, uid) for key, uid in rows)
    return found


def unread_count(session: Session, user_id: int) -> int:
    """The header's badge: one COUNT on the (user_id, read_at) index."""
    return session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def page(
    session: Session,
    user_id: int,
    *,
    before_id: int | None = None,
    limit: int = 20,
    unread_only: bool = False,
) -> list[Notification]:
    """The user's notifications, newest first; page on with before_id = the last one's id."""
    q = select(Notification).where(Notification.user_id == user_id)
    if before_id is not None:
        q = q.where(Notification.id < before_id)
    if unread_only:
        q = q.where(Notification.read_at.is_(None))
    return list(session.scalars(q.order_by(Notification.id.desc()).limit(min(limit, MAX_PAGE))))


def get_own(session: Session, user_id: int | None, notification_id: int) -> Notification:
    """One of the user's own notifications; someone else's is as absent as a missing one."""
    n = session.get(Notification, notification_id)
    if n is None or user_id is None or n.user_id != user_id:
        raise NotFound(
            M_("no notification %(notification_id)s", notification_id=notification_id), where="notification"
        )
    return n


def mark_read(session: Session, user_id: int | None, notification_id: int) -> Notification:
    n = get_own(session, user_id, notification_id)
    if n.read_at is None:
        n.read_at = utcnow()
    return n


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0


def as_dict(n: Notification) -> dict:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": {"zh": n.title_zh, "en": n.title_en},
        "body": {"zh": n.body_zh, "en": n.body_en},
        "link": n.link,
        "created_at": n.created_at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
    }
