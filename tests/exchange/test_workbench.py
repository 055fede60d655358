"""The SQL workbench page: its own address, the schema browser (what the policy lets the reader
query, with masks), result pages and sorting done by the governed query, syntax errors marked,
the reader's own history, and downloads for spreadsheets."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import date
from urllib.parse import unquote

import pyarrow as pa
import pytest
from sqlalchemy import select, update
from tests.conftest import csrf_of, login
from tests.exchange.conftest import GRANTED, add_dataset

from shuzhi.exchange import workbench
from shuzhi.exchange.models import Grant
from shuzhi.ledger.models import LedgerEntry


def _open(client, user: str, **params):
    login(client, user, next="/exchange/workbench")
    page = client.get("/exchange/workbench", params={"lang": "en", **params})
    assert page.status_code == 200
    return page.text


def _run(client, token: str, sql: str, **form):
    # Results in Chinese, whatever language the page before was shown in.
    return client.post("/exchange/workbench?lang=zh", data={"csrf_token": token, "sql": sql, **form})


def _textarea(text: str) -> str:
    return html.unescape(re.search(r'<textarea name="sql"[^>]*>(.*?)</textarea>', text, re.S).group(1))


def _rows(text: str) -> list[list[str]]:
    body = re.search(r'<table id="results">.*?<tbody>(.*?)</tbody>', text, re.S).group(1)
    return [
        [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", tr)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _meta(text: str) -> str:
    return " ".join(re.search(r'id="result-meta">(.*?)</p>', text, re.S).group(1).split())


def _reads(world) -> list[dict]:
    with world.db.read() as s:
        entries = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == "data.read").order_by(LedgerEntry.seq)
        )
        return [json.loads(e.entry)["detail"] for e in entries]


# -- its own page --------------------------------------------------------------------------


def test_the_workbench_has_its_own_page_and_old_links_lead_there(world, granted, client):
    text = _open(client, "rs_analyst", sql="SELECT gender FROM population")
    assert "SQL workbench" in text and _textarea(text) == "SELECT gender FROM population"
    # The grants page keeps its list, links to the workbench, and holds no editor any more.
    grants = client.get("/exchange/grants?lang=en").text
    assert f'id="grant-{granted}"' in grants and 'id="open-workbench"' in grants and "<textarea" not in grants
    old = client.get(
        "/exchange/grants", params={"sql": "SELECT name FROM population"}, follow_redirects=False
    )
    assert old.status_code == 303
    assert unquote(old.headers["location"]) == "/exchange/workbench?sql=SELECT name FROM population"
    # Running needs the form's token; without it nothing is read.
    before = len(_reads(world))
    assert (
        client.post("/exchange/workbench", data={"sql": "SELECT gender FROM population"}).status_code == 403
    )
    assert len(_reads(world)) == before


def test_the_workbench_needs_a_login(world, client):
    r = client.get("/exchange/workbench", follow_redirects=False)
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


# -- the schema browser --------------------------------------------------------------------


def _schema(text: str) -> dict[str, dict[str, str]]:
    """alias -> {field: mask label} as the schema browser lists them."""
    out = {}
    aside = re.search(r'<aside class="schema".*?</aside>', text, re.S).group(0)
    for alias, body in re.findall(
        r'<details class="schema-dataset" id="schema-([^"]+)".*?>(.*?)</details>', aside, re.S
    ):
        out[alias] = dict(
            re.findall(
                r'<code>([^<]+)</code></button> <span class="muted">[^<]*· <span class="mask">([^<]+)</span>',
                body,
            )
        )
    return out


def test_the_schema_browser_lists_what_the_policy_lets_the_reader_query(world, granted, client):
    schema = _schema(_open(client, "rs_analyst"))
    # The grant's fields with the grant's masks; religion was asked for but not granted.
    assert list(schema["population"]) == GRANTED and "religion" not in schema["population"]
    assert schema["population"]["id_number"] == "keyed hash (HMAC-SHA256)"
    assert schema["population"]["name"] == "keep first N (N=1)"
    assert schema["population"]["birth_date"] == "date to year"
    assert "enterprise" in schema  # shared unconditionally
    assert "secret_registry" not in schema  # not shared
    # The data's own department reads it all, unmasked; its not-shared data too.
    own = _schema(_open(client, "ga_analyst"))
    assert "religion" in own["population"] and set(own["population"].values()) == {"clear text"}
    assert "secret_registry" in own
    # Roles that do not read data see nothing to query.
    assert _schema(_open(client, "admin1")) == {}
    assert "enterprise" not in _schema(_open(client, "rs_steward"))  # unconditional data: analysts


def test_a_revoked_grant_leaves_the_schema_browser(world, granted, client):
    from shuzhi.store.base import utcnow

    with world.db.transaction() as s:
        s.execute(update(Grant).where(Grant.id == granted).values(revoked_at=utcnow()))
    assert "population" not in _schema(_open(client, "rs_analyst"))


def test_a_grade_default_mask_shows_in_the_schema_browser(world, client):
    from tests.exchange.conftest import set_grades

    set_grades(world, "enterprise", {"legal_id_number": "L4"})
    schema = _schema(_open(client, "rs_analyst"))
    assert schema["enterprise"]["legal_id_number"] == "keyed hash (HMAC-SHA256)"
    assert schema["enterprise"]["uscc"] == "clear text"


def test_each_dataset_has_a_starter_query_that_runs(world, granted, client):
    text = _open(client, "rs_analyst")
    block = re.search(r'<details[^>]*id="schema-population".*?</details>', text, re.S).group(0)
    link = html.unescape(re.search(r'<a class="starter" href="([^"]+)"', block).group(1))
    starter = unquote(link.split("sql=", 1)[1])
    assert (
        starter == f"SELECT {', '.join(f'{chr(34)}{f}{chr(34)}' for f in GRANTED)} FROM population LIMIT 100"
    )
    ran = _run(client, csrf_of(text), starter)
    assert ran.status_code == 200 and len(_rows(ran.text)) == 100


# -- result pages and sorting --------------------------------------------------------------

SQL = "SELECT id_number, income FROM population"


def test_results_come_a_page_at_a_time_each_a_governed_read(world, client):
    text = _open(client, "ga_analyst")  # the owner's department: all 400 rows
    token = csrf_of(text)
    before = len(_reads(world))
    first = _run(client, token, SQL)
    rows = _rows(first.text)
    assert len(rows) == 100 and _meta(first.text) == '第 1–100 行 · <span id="more">还有更多…</span>'
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # a stable order: by the columns
    assert 'id="next-page"' in first.text and 'id="prev-page"' not in first.text
    second = _run(client, token, SQL, offset="100")
    assert _rows(second.text)[0][0] > rows[-1][0]  # carries on where the first page stopped
    last = _run(client, token, SQL, offset="300")
    assert len(_rows(last.text)) == 100 and 'id="next-page"' not in last.text
    assert _meta(last.text) == "第 301–400 行 · 共 400 行"  # the end is reached: the total is known
    assert '<button form="pager" name="offset" value="200" id="prev-page">' in last.text
    # Three pages, three governed reads, each capped at its page and kept with its text.
    reads = _reads(world)[before:]
    assert len(reads) == 3 and [r["rows"] for r in reads] == [100, 100, 100]
    assert all(workbench.asked_query(r["query"]) == SQL for r in reads)
    assert "OFFSET 300" in reads[-1]["query"]


def test_a_column_header_sorts_by_it_in_the_query(world, client):
    token = csrf_of(_open(client, "ga_analyst"))
    r = _run(client, token, SQL, sort_by="1:desc", offset="200")  # sorting starts at the first page
    rows = _rows(r.text)
    incomes = [float(v) for _, v in rows]
    assert incomes == sorted(incomes, reverse=True) and len(rows) == 100
    assert 'aria-sort="descending"' in r.text and 'value="1:asc"' in r.text  # the next click: ascending
    assert 'name="order" value="1:desc"' in r.text  # the pages after keep the order
    nxt = _rows(_run(client, token, SQL, order="1:desc", offset="100").text)
    assert float(nxt[0][1]) <= incomes[-1]
    assert "ORDER BY 2 DESC, 1" in _reads(world)[-1]["query"]


def test_a_query_with_its_own_limit_is_paged_as_a_subquery(world, client):
    token = csrf_of(_open(client, "ga_analyst"))
    sql = "SELECT region_code, COUNT(*) AS n FROM population GROUP BY region_code ORDER BY n DESC LIMIT 150"
    r = _run(client, token, sql, sort_by="0:asc")
    codes = [row[0] for row in _rows(r.text)]
    assert codes == sorted(codes) and _meta(r.text) == "第 1–6 行 · 共 6 行"
    assert workbench.asked_query(_reads(world)[-1]["query"]) == sql


def test_each_page_counts_against_the_quota(world, granted, client):
    with world.db.transaction() as s:
        s.execute(update(Grant).where(Grant.id == granted).values(calls_per_day=2))
    token = csrf_of(_open(client, "rs_analyst"))
    sql = "SELECT gender, region_code FROM population"
    assert _run(client, token, sql).status_code == 200
    assert _run(client, token, sql, offset="100").status_code == 200
    third = _run(client, token, sql, offset="200")
    assert third.status_code == 413 and "daily call quota of grant" in third.text
    assert 'id="sql-error"' in third.text and _textarea(third.text) == sql  # the same form, kept


def test_a_page_never_holds_more_than_its_rows(world, client, monkeypatch):
    monkeypatch.setattr(world.settings.exchange, "workbench_rows", 25)
    token = csrf_of(_open(client, "ga_analyst"))
    r = _run(client, token, "SELECT name FROM population")
    assert len(_rows(r.text)) == 25 and r.text.count("<td>") == 25
    assert _reads(world)[-1]["rows"] == 25


# -- syntax errors -------------------------------------------------------------------------


def test_a_syntax_error_is_marked_where_it_is(world, granted, client):
    token = csrf_of(_open(client, "rs_analyst"))
    sql = "SELECT gender,\n  region_code FROM population WHERE (gender = 'F'"
    r = _run(client, token, sql)
    assert r.status_code == 422
    assert "line 2, column" in r.text
    at = html.unescape(re.search(r'<pre class="error-at" id="error-at">(.*?)</pre>', r.text, re.S).group(1))
    line, caret = at.split("\n")
    assert line == "  region_code FROM population WHERE (gender = 'F'"
    col = int(re.search(r'data-error-col="(\d+)"', r.text).group(1))
    assert caret == " " * (col - 1) + "<mark>^</mark>" and 'data-error-line="2"' in r.text
    assert 'aria-invalid="true"' in r.text and _textarea(r.text) == sql


def test_the_api_says_where_a_syntax_error_is(world, granted, client, token_for):
    r = client.post(
        "/api/v1/exchange/sql",
        headers=token_for("rs_analyst"),
        json={"sql": "SELECT gender FROM population WHERE"},
    )
    assert r.status_code == 422 and r.json()["line"] == 1 and r.json()["col"] >= 30


def test_a_refusal_still_names_no_data(world, granted, client):
    """What the error policy hides stays hidden: a refused field is named, its values are not."""
    token = csrf_of(_open(client, "rs_analyst"))
    r = _run(client, token, "SELECT religion FROM population")
    assert r.status_code == 403 and "population.religion" in r.text and "REL-SECRET" not in r.text
    assert 'id="error-at"' not in r.text  # not a syntax error: nothing to point at


# -- history -------------------------------------------------------------------------------


def _history(text: str) -> list[str]:
    block = re.search(r'<details class="history".*?</details>', text, re.S).group(0)
    return [
        unquote(h) for h in re.findall(r'href="/exchange/workbench\?sql=([^"]+)" class="history-item"', block)
    ]


def test_the_history_lists_ones_own_queries_newest_first(world, granted, client):
    token = csrf_of(_open(client, "rs_analyst"))
    _run(client, token, "SELECT gender FROM population")
    _run(client, token, "SELECT gender FROM population", offset="100")  # a page of the same query
    _run(client, token, "SELECT religion FROM population")  # refused: still one's query
    _run(client, token, "SELECT uscc FROM enterprise")
    history = _history(_open(client, "rs_analyst"))
    assert history == [
        "SELECT uscc FROM enterprise",
        "SELECT religion FROM population",
        "SELECT gender FROM population",
    ]
    # A click loads the query into the editor.
    again = client.get("/exchange/workbench", params={"sql": history[1]}).text
    assert _textarea(again) == "SELECT religion FROM population"


def test_nobody_sees_another_readers_history(world, granted, client):
    token = csrf_of(_open(client, "rs_analyst"))
    _run(client, token, "SELECT gender FROM population WHERE gender = 'F'")
    theirs = _open(client, "ga_analyst")
    assert _history(theirs) == [] and "gender = &#39;F&#39;" not in theirs and "gender = 'F'" not in theirs


def test_the_history_keeps_the_latest_fifty(world, granted):
    from shuzhi.exchange import service

    for i in range(4):
        with pytest.raises(Exception):  # noqa: B017 - refused or not, each is in the ledger
            service.run_sql(
                world.db, world.settings, world.rs_analyst, f"SELECT religion FROM population LIMIT {i + 1}"
            )
    with world.db.read() as s:
        past = workbench.recent_queries(s, world.rs_analyst, limit=3)
    assert [p.sql for p in past] == [f"SELECT religion FROM population LIMIT {i}" for i in (4, 3, 2)]
    assert workbench.HISTORY == 50


# -- downloads -----------------------------------------------------------------------------

RISKY = pa.table(
    {
        "note": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "plain", "\tTAB", None],
        "delta": [-5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
)


@pytest.fixture
def risky(world):
    add_dataset(world.db, world.settings, world.ga_steward, "formula-cells", RISKY, "conditional", "GA")
    return world


def test_the_csv_download_is_for_spreadsheets_named_and_guarded(risky, client):
    import csv

    token = csrf_of(_open(client, "ga_analyst"))
    r = _run(client, token, "SELECT note, delta FROM formula_cells ORDER BY delta", format="csv")
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    assert f'filename="formula-cells_{date.today().isoformat()}.csv"' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["note", "delta"]
    assert [row[0] for row in rows[1:]] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "plain",
        "'\tTAB",
        "",
    ]
    assert rows[1][1] == "-5"  # a number stays a number


def test_the_xlsx_download_is_named_and_holds_text_not_formulas(risky, client):
    import openpyxl

    token = csrf_of(_open(client, "ga_analyst"))
    r = _run(client, token, "SELECT note, delta FROM formula_cells ORDER BY delta", format="xlsx")
    assert r.status_code == 200
    assert f'filename="formula-cells_{date.today().isoformat()}.xlsx"' in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    first = sheet.cell(row=2, column=1)
    assert first.value == '=HYPERLINK("http://x")' and first.data_type == "s"
    assert sheet.cell(row=2, column=2).value == -5


def test_a_download_holds_the_whole_result_not_the_page(world, client):
    token = csrf_of(_open(client, "ga_analyst"))
    r = _run(client, token, SQL, format="csv", offset="300", order="1:desc")
    assert len(r.content.decode("utf-8-sig").splitlines()) == 401


def test_the_apis_csv_is_left_as_the_data_is(risky, client, token_for):
    r = client.post(
        "/api/v1/exchange/sql",
        headers=token_for("ga_analyst"),
        json={"sql": "SELECT note FROM formula_cells ORDER BY delta", "format": "csv"},
    )
    assert not r.content.startswith(b"\xef\xbb\xbf") and '"=HYPERLINK' in r.content.decode()


def test_a_result_with_two_columns_of_one_name_shows_its_first_rows_only(world, client):
    token = csrf_of(_open(client, "ga_analyst"))
    r = _run(client, token, "SELECT gender, gender FROM population")
    assert r.status_code == 200 and len(_rows(r.text)) == 100
    assert "同名的列" in _meta(r.text) and 'id="next-page"' not in r.text and 'class="sort"' not in r.text


def test_under_a_row_quota_record_reads_page_and_sort(world, granted, client):
    """A rows-per-day grant allows record reads only: a plain query pages and sorts (ORDER BY,
    LIMIT and OFFSET are added to it), and each page's rows count against the quota."""
    with world.db.transaction() as s:
        s.execute(update(Grant).where(Grant.id == granted).values(rows_per_day=1000))
    token = csrf_of(_open(client, "rs_analyst"))
    sql = "SELECT gender, region_code FROM population"
    assert len(_rows(_run(client, token, sql).text)) == 100
    second = _run(client, token, sql, offset="100", sort_by="1:desc")
    assert second.status_code == 200 and 'aria-sort="descending"' in second.text
    grants = client.get("/exchange/grants", params={"lang": "en"}).text
    row = re.search(rf'<tr id="grant-{granted}">(.*?)</tr>', grants, re.S).group(1)
    assert "rows 200 / 1,000" in row
    # A query with its own LIMIT shows its first page as written; a further page would be a
    # subquery, which record reads do not allow: refused with that reason.
    limited = "SELECT gender, region_code FROM population LIMIT 150"
    assert len(_rows(_run(client, token, limited).text)) == 100
    refused = _run(client, token, limited, offset="100")
    assert refused.status_code == 403 and "record reads" in refused.text
