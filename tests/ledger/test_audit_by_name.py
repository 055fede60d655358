"""Auditors read and ask by name: entries show user names, department codes and dataset identifiers,
outcomes in words and times on the display clock; filters take names, and a name that does not
exist comes back beside the form that was sent (pages) or as a clear error (CLI)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tests.conftest import login
from tests.ledger import events as ev
from typer.testing import CliRunner

from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset
from shuzhi.cli import app as cli_app
from shuzhi.ledger import append
from shuzhi.ledger.models import LedgerEntry

IDENT = "hz-psb-population-long-identifier"


@pytest.fixture
def named(db, make_user):
    make_user("shen.ji", dept="HZ-DATA", roles=("auditor",))
    analyst = make_user("fen.xi", dept="HZ-HRSS", roles=("analyst",))
    steward = make_user("ga.steward", dept="HZ-PSB", roles=("steward",))
    with db.transaction() as s:
        ds = create_dataset(
            s,
            steward,
            DatasetIn(identifier=IDENT, title_zh="常住人口", department="HZ-PSB", theme="population"),
        )
        append(
            s, ev.Read(i=1), user_id=analyst.user_id, department_id=analyst.department_id, dataset_id=ds.id
        )
        append(
            s,
            ev.Denied(),
            user_id=analyst.user_id,
            department_id=analyst.department_id,
            dataset_id=ds.id,
            outcome="denied",
        )
    return analyst, ds.id


def _utc_of_last(db) -> datetime:
    from sqlalchemy import select

    with db.read() as s:
        return s.scalar(select(LedgerEntry.created_at).where(LedgerEntry.event == "test.denied"))


def test_the_ledger_page_names_who_and_what_in_words_and_local_time(named, client, db):
    login(client, "shen.ji", next="/audit")
    html = client.get("/audit", params={"event": "test.", "lang": "en"}).text
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)[1:]
    assert len(rows) == 2
    denied = rows[0]
    assert "fen.xi" in denied and "HZ-HRSS" in denied and f'href="/datasets/{IDENT}"' in denied
    assert ">denied<" in denied and "(UTC+8)" in denied
    local = _utc_of_last(db).replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M:%S") in denied
    zh = client.get("/audit", params={"event": "test.", "lang": "zh"}).text
    assert ">拒绝<" in zh and ">成功<" in zh


def test_the_ledger_page_filters_by_names_and_reads_times_on_the_display_clock(named, client, db):
    login(client, "shen.ji", next="/audit")
    by_name = client.get("/audit", params={"user": "fen.xi", "dept": "HZ-HRSS", "dataset": IDENT}).text
    assert by_name.count("<code>test.") == 2
    # a time typed without an offset is read on the display clock (UTC+8): four hours after the
    # last entry's UTC wall time is, on that clock, four hours before it
    typed = (_utc_of_last(db) + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S")
    html = client.get("/audit", params={"since": typed, "event": "test."}).text
    assert html.count("<code>test.") == 2
    html = client.get("/audit", params={"since": typed + "+00:00", "event": "test."}).text
    assert html.count("<code>test.") == 0  # an explicit offset is taken as given


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [("user", "nobody", "user"), ("dataset", "no-such-set", "dataset"), ("since", "yesterday", "since")],
)
def test_a_bad_filter_comes_back_beside_the_form_as_it_was_sent(named, client, field, value, where):
    login(client, "shen.ji", next="/audit")
    params = {"dept": "HZ-HRSS", "event": "test.denied", field: value}
    page = client.get("/audit", params=params)
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]
    assert 'id="filter-error"' in page.text and f'data-where="{where}"' in page.text
    assert value in page.text and 'value="HZ-HRSS"' in page.text  # what was typed is kept
    assert '<option value="test.denied" selected>' in page.text
    assert re.search(rf'name="{field}" aria-invalid="true"', page.text)
    assert 'id="csv-link"' not in page.text


def test_the_cli_log_takes_names_and_shows_them(named, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    runner = CliRunner()
    shown = runner.invoke(cli_app, ["audit", "log", "--user", "fen.xi", "--dataset", IDENT])
    assert shown.exit_code == 0, shown.output
    assert "fen.xi" in shown.output and "HZ-HRSS" in shown.output and IDENT in shown.output
    assert shown.output.count("test.") == 2 and "Asia/Shanghai" in shown.output
    unknown = runner.invoke(cli_app, ["audit", "log", "--user", "nobody"])
    assert unknown.exit_code != 0 and "nobody" in unknown.output and "user" in unknown.output
    by_id = runner.invoke(cli_app, ["audit", "log", "--user", str(named[0].user_id)])
    assert by_id.exit_code == 0 and by_id.output.count("test.") == 2


def test_the_entry_page_names_who_and_what(named, client, db):
    from sqlalchemy import select

    login(client, "shen.ji", next="/audit")
    with db.read() as s:
        seq = s.scalar(select(LedgerEntry.seq).where(LedgerEntry.event == "test.denied"))
    html = client.get(f"/audit/entries/{seq}", params={"lang": "en"}).text
    assert re.search(r'id="entry-user">fen.xi<', html) and 'id="entry-dept">HZ-HRSS<' in html
    assert f'href="/datasets/{IDENT}"' in html and "test denied" in html and "· denied" in html
