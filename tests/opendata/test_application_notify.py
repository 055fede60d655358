"""Stewards are told of a new open-data application, once, and nobody else is."""

from __future__ import annotations

from tests.opendata.test_applications import apply, decide, register, release  # noqa: F401

from shuzhi.notify import feed, service
from shuzhi.opendata.application_events import ApplicationSubmitted
from shuzhi.opendata.application_models import Application


def _inbox(world, who) -> list[tuple[str, str, str]]:
    with world.db.read() as s:
        return [(n.kind, n.key, n.link) for n in service.page(s, who.user_id, limit=100)]


def test_a_submitted_application_notifies_the_departments_stewards_once(world, release):  # noqa: F811
    app_id = apply(world, register(world))
    told = ("application_submitted", f"application:{app_id}:submitted", feed.APPLICATIONS_LINK)
    assert _inbox(world, world.steward) == [told]
    assert _inbox(world, world.steward2) == [told]
    for other in (world.other_steward, world.analyst):  # another department's steward; not a steward
        assert _inbox(world, other) == []
    with world.db.read() as s:
        [n] = service.page(s, world.steward.user_id)
        assert "某大学" in n.body_zh and "研究低保覆盖率" in n.body_en and f"#{app_id}" in n.title_en
    with world.db.transaction() as s:  # the same event met again (a replay) tells nobody twice
        app = s.get(Application, app_id)
        again = ApplicationSubmitted(
            application_id=app_id,
            dataset="population",
            portal_user_id=app.portal_user_id,
            purpose=app.purpose,
            organisation=app.organisation,
            start=app.requested_start.isoformat(),
            end=app.requested_end.isoformat(),
            terms_version=app.terms_version,
            terms_sha256=app.terms_sha256,
        )
        feed.on_ledger_event(s, again)
    assert _inbox(world, world.steward) == [told]


def test_decisions_tell_no_staff(world, release):  # noqa: F811
    app_id = apply(world, register(world))
    decide(world, app_id, world.steward, "reject", "用途不明")
    second = apply(world, register(world, "wang@example.org"))
    decide(world, second, world.steward, "approve")
    assert [k for _, k, _ in _inbox(world, world.steward)] == [
        f"application:{second}:submitted",
        f"application:{app_id}:submitted",
    ]
