"""E-mail of notifications: through a real SMTP server when one is set, into the outbox when not;
each letter handed over once, a refused one tried again, up to the limit."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select, update

from shuzhi.exchange import share_requests
from shuzhi.notify import mail
from shuzhi.notify.models import Notification
from shuzhi.orgs.models import User


def _with_email(world, *usernames) -> None:
    with world.db.write() as s:
        s.execute(
            update(User).where(User.username.in_(usernames)).values(email=User.username + "@gov.example")
        )


def _submit(world) -> int:
    with world.db.transaction() as s:
        return share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=["name"], purpose="核查"),
            submit=True,
        ).id


def _states(world) -> dict[int, tuple[str, int]]:
    with world.db.read() as s:
        return {n.user_id: (n.mail_state, n.mail_attempts) for n in s.scalars(select(Notification))}


@pytest.fixture
def stewards(world, make_user):
    """Two GA stewards, one with an address, one without."""
    make_user("ga_steward_nomail", "GA", ("steward",))
    _with_email(world, "ga_steward")
    return world


def test_without_smtp_mail_goes_to_the_outbox_once(stewards):
    world = stewards
    rid = _submit(world)
    states = _states(world)
    assert sorted(s for s, _ in states.values()) == ["none", "pending"]
    assert mail.send_pending(world.db, world.settings) == {"sent": 1, "failed": 0}
    files = sorted(mail.outbox_dir(world.settings).glob("*.eml"))
    assert len(files) == 1
    letter = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert letter["To"] == "ga_steward@gov.example"
    assert f"#{rid}" in letter["Subject"] and "Shuzhi" in letter["Subject"]
    body = letter.get_content()
    assert "新的共享申请" in body and "New share request" in body and f"/exchange/requests/{rid}" in body
    assert mail.send_pending(world.db, world.settings) == {"sent": 0, "failed": 0}
    assert len(list(mail.outbox_dir(world.settings).glob("*.eml"))) == 1
    assert sorted(s for s, _ in _states(world).values()) == ["none", "sent"]


class _Inbox:
    """An aiosmtpd handler keeping what it receives; refuses while `refuse` is set."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 try again later"
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = _Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_through_smtp_each_letter_is_sent_once(stewards, smtp_server):
    world = stewards
    handler, port = smtp_server
    world.settings.notify.smtp_host = "127.0.0.1"
    world.settings.notify.smtp_port = port
    world.settings.notify.smtp_starttls = False  # the test server speaks plain SMTP
    world.settings.notify.smtp_from = "noreply@data.gov.example"
    world.settings.notify.site_url = "https://data.gov.example/"
    rid = _submit(world)
    assert mail.send_pending(world.db, world.settings) == {"sent": 1, "failed": 0}
    assert mail.send_pending(world.db, world.settings) == {"sent": 0, "failed": 0}
    assert len(handler.received) == 1
    sender, to, raw = handler.received[0]
    assert sender == "noreply@data.gov.example" and to == ["ga_steward@gov.example"]
    letter = message_from_bytes(raw, policy=policy.default)
    assert f"https://data.gov.example/exchange/requests/{rid}" in letter.get_content()
    assert letter["Message-ID"].startswith("<notification-")
    assert not list(mail.outbox_dir(world.settings).glob("*.eml"))  # nothing went to the outbox


def test_a_refused_letter_is_tried_again_then_given_up(stewards, smtp_server):
    world = stewards
    handler, port = smtp_server
    world.settings.notify.smtp_host = "127.0.0.1"
    world.settings.notify.smtp_port = port
    world.settings.notify.smtp_starttls = False
    world.settings.notify.mail_attempts = 2
    handler.refuse = True
    _submit(world)
    steward = world.ga_steward.user_id
    assert mail.send_pending(world.db, world.settings) == {"sent": 0, "failed": 1}
    assert _states(world)[steward] == ("pending", 1)
    handler.refuse = False
    assert mail.send_pending(world.db, world.settings) == {"sent": 1, "failed": 0}
    assert _states(world)[steward] == ("sent", 2) and len(handler.received) == 1
    # a second request, refused past the limit: failed, the error kept, not tried again
    handler.refuse = True
    _submit(world)
    mail.send_pending(world.db, world.settings)
    mail.send_pending(world.db, world.settings)
    assert mail.send_pending(world.db, world.settings) == {"sent": 0, "failed": 0}
    with world.db.read() as s:
        last = s.scalars(
            select(Notification).where(Notification.user_id == steward).order_by(Notification.id.desc())
        ).first()
        assert (last.mail_state, last.mail_attempts) == ("failed", 2) and "451" in last.mail_error
    assert len(handler.received) == 1


def test_a_letter_cut_off_while_sending_is_not_sent_again(stewards, smtp_server):
    world = stewards
    handler, port = smtp_server
    world.settings.notify.smtp_host = "127.0.0.1"
    world.settings.notify.smtp_port = port
    world.settings.notify.smtp_starttls = False
    _submit(world)
    with world.db.write() as s:
        claimed = mail.claim(s, world.settings)  # handed to a mailer that then died
    assert len(claimed) == 1
    assert mail.send_pending(world.db, world.settings) == {"sent": 0, "failed": 0}
    assert handler.received == []


def test_an_unreachable_server_counts_an_attempt(stewards):
    world = stewards
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens here
    world.settings.notify.smtp_host = "127.0.0.1"
    world.settings.notify.smtp_port = port
    world.settings.notify.smtp_timeout_s = 2
    _submit(world)
    assert mail.send_pending(world.db, world.settings) == {"sent": 0, "failed": 1}
    assert _states(world)[world.ga_steward.user_id] == ("pending", 1)


def test_a_title_with_a_line_break_still_goes_out_on_one_subject_line(stewards):
    """A header may not hold a line break; a dataset's title may. One such title once stopped every
    letter behind it: now the subject folds it into spaces and the rest goes out too."""
    from shuzhi.catalog.service import get_dataset

    world = stewards
    with world.db.write() as s:
        get_dataset(s, "population").title_zh = "常住人口\n（第二行）"
    _submit(world)
    assert mail.send_pending(world.db, world.settings) == {"sent": 1, "failed": 0}
    [file] = mail.outbox_dir(world.settings).glob("*.eml")
    subject = message_from_bytes(file.read_bytes(), policy=policy.default)["Subject"]
    assert "常住人口 （第二行）" in subject and "\n" not in subject
