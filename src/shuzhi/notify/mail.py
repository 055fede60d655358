"""E-mail of notifications: through SMTP when a server is set, else into an outbox directory; each
notification is handed over at most once, a refused one tried again up to `mail_attempts`."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from sqlalchemy import select

from shuzhi.i18n import M_
from shuzhi.notify.models import Notification
from shuzhi.orgs import service as orgs
from shuzhi.store.base import utcnow

BATCH = 200


@dataclass(frozen=True)
class Letter:
    notification_id: int
    to: str
    message: EmailMessage


def outbox_dir(settings) -> Path:
    return settings.data_dir / "outbox"


def compose(settings, n: Notification, to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.notify.smtp_from
    msg["To"] = to
    # The letter is in both languages, and so is the platform's name at the head of its subject.
    name = M_("Shuzhi")
    product = f"{name.in_lang('zh')} {name.in_lang('en')}"
    # A title may hold a line break (a dataset's title): a header may not, so spaces stand for it.
    msg["Subject"] = " ".join(f"[{product}] {n.title_zh} / {n.title_en}".split())
    msg["Date"] = formatdate(n.created_at.timestamp(), localtime=False)
    # One id per notification: a receiving system that somehow got it twice can tell.
    domain = settings.notify.smtp_from.rpartition("@")[2] or "shuzhi"
    msg["Message-ID"] = f"<notification-{n.id}@{domain}>"
    link = n.link or ""
    if link and settings.notify.site_url:
        link = settings.notify.site_url.rstrip("/") + link
    msg.set_content(
        f"{n.title_zh}\n\n{n.body_zh}\n\n{n.title_en}\n\n{n.body_en}\n" + (f"\n{link}\n" if link else "")
    )
    return msg


def claim(session, settings, limit: int = BATCH) -> list[Letter]:
    """Take pending notifications for sending: they are marked 'sending' (and the attempt counted)
    in this transaction, before any is handed over, so none is ever sent twice."""
    rows = list(
        session.scalars(
            select(Notification)
            .where(Notification.mail_state == "pending")
            .order_by(Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    users = orgs.users_by_id(session, [n.user_id for n in rows])
    letters = []
    for n in rows:
        user = users.get(n.user_id)
        address = (user.email or "").strip() if user is not None and user.active else ""
        if not address:
            n.mail_state = "none"  # the address was removed since: nothing to send
            continue
        try:
            message = compose(settings, n, address)
        except (ValueError, TypeError) as exc:  # this letter cannot be written: it alone fails
            n.mail_state, n.mail_error = "failed", f"cannot compose: {exc}"[:1000]
            continue
        n.mail_state = "sending"
        n.mail_attempts += 1
        letters.append(Letter(n.id, address, message))
    return letters


def settle(session, settings, outcomes: dict[int, str | None]) -> None:
    """Record what became of each claimed letter: None sent, else the error (tried again later
    until `mail_attempts` is reached)."""
    for n in session.scalars(select(Notification).where(Notification.id.in_(list(outcomes)))):
        error = outcomes[n.id]
        if error is None:
            n.mail_state, n.mailed_at, n.mail_error = "sent", utcnow(), None
        else:
            n.mail_error = error[:1000]
            n.mail_state = "pending" if n.mail_attempts < settings.notify.mail_attempts else "failed"


def deliver(settings, letters: list[Letter]) -> dict[int, str | None]:
    """Hand the letters over: to the SMTP server when one is set, else to the outbox."""
    if not letters:
        return {}
    if settings.notify.smtp_host:
        return _smtp(settings, letters)
    return {letter.notification_id: _to_outbox(settings, letter) for letter in letters}


def _to_outbox(settings, letter: Letter) -> str | None:
    folder = outbox_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{letter.notification_id:012d}.eml"
    tmp = folder / f".{letter.notification_id:012d}.{os.getpid()}.tmp"
    try:
        tmp.write_bytes(letter.message.as_bytes())
        with contextlib.suppress(FileExistsError):  # a letter is written once, whole
            os.link(tmp, final)
        return None
    except OSError as exc:
        return f"outbox: {exc}"
    finally:
        tmp.unlink(missing_ok=True)


def _smtp(settings, letters: list[Letter]) -> dict[int, str | None]:
    cfg = settings.notify
    try:
        server = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout_s)
    except (OSError, smtplib.SMTPException) as exc:
        return {letter.notification_id: f"smtp connect: {exc}" for letter in letters}
    out: dict[int, str | None] = {}
    try:
        server.ehlo()
        if cfg.smtp_starttls:
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        if cfg.smtp_user:
            password = cfg.smtp_password.get_secret_value() if cfg.smtp_password else ""
            server.login(cfg.smtp_user, password)
        for letter in letters:
            try:
                server.send_message(letter.message, from_addr=cfg.smtp_from, to_addrs=[letter.to])
                out[letter.notification_id] = None
            except smtplib.SMTPRecipientsRefused as exc:
                out[letter.notification_id] = f"smtp refused: {exc}"
            except smtplib.SMTPResponseException as exc:
                out[letter.notification_id] = f"smtp {exc.smtp_code}: {exc.smtp_error!r}"
    except (OSError, smtplib.SMTPException) as exc:
        for letter in letters:
            out.setdefault(letter.notification_id, f"smtp: {exc}")
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            server.close()
    return out


def send_pending(db, settings, limit: int = BATCH) -> dict[str, int]:
    """Claim, hand over, settle: three steps, the handing over outside any transaction."""
    with db.write() as s:
        letters = claim(s, settings, limit)
    outcomes = deliver(settings, letters)
    with db.write() as s:
        settle(s, settings, outcomes)
    sent = sum(1 for e in outcomes.values() if e is None)
    return {"sent": sent, "failed": len(outcomes) - sent}
