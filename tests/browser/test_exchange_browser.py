"""The sharing exchange in Debian's Chromium: request, narrowed approval, rejection, masked workbench, download."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from sqlalchemy import select
from tests.conftest import BROWSER, PASSWORD, browser_login

from shuzhi.classify.checksums import gb11643_check_char

pytestmark = BROWSER

NAMES = ["王秀英", "李伟", "张敏", "刘洋", "陈静", "杨帆"]
DISTRICTS = ["西湖区", "上城区", "拱墅区"]
USE_UNTIL = "2030-12-31"


def _resident_id(i: int) -> str:
    body = f"330106{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{100 + i:03d}"
    return body + gb11643_check_char(body)


ROWS = [(_resident_id(i), NAMES[i % 6], "女" if i % 2 else "男", DISTRICTS[i % 3]) for i in range(30)]
WOMEN = [r for r in ROWS if r[2] == "女"]


@pytest.fixture
def server(sqlite_db, sqlite_settings, live_server, tmp_path):
    """Public security (GA) provides a conditionally shared, graded resident list; civil affairs (MZ) asks."""
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset
    from shuzhi.ingest import ingest_source
    from shuzhi.orgs import service as orgs

    source = tmp_path / "常住人口.csv"
    source.write_text("sfzh,xm,xb,qx\n" + "".join(",".join(r) + "\n" for r in ROWS), encoding="utf-8")
    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="GA", name_zh="市公安局")
        orgs.create_department(s, code="MZ", name_zh="市民政局")
        steward = orgs.create_user(
            s,
            username="ga.steward",
            password=PASSWORD,
            department_code="GA",
            roles=["steward"],
            display_name="赵管理",
        )
        orgs.create_user(
            s,
            username="mz.analyst",
            password=PASSWORD,
            department_code="MZ",
            roles=["analyst"],
            display_name="钱分析",
        )
        ds = create_dataset(
            s,
            orgs.Principal.of(steward),
            DatasetIn(
                identifier="residents",
                title_zh="常住人口信息",
                department="GA",
                theme="population",
                share_type="conditional",
            ),
        )
        ingest_source(s, sqlite_settings, ds, source, user_id=steward.id)
    return live_server


def _request(page, fields: list[str], purpose: str, basis: str = "", period_end: str = "") -> int:
    """From the dataset page, follow the request link, fill the form, submit; returns the new request id."""
    page.click("#request-access")
    page.wait_for_selector("#request-form")
    for f in fields:
        page.check(f"#request-form input[name=fields][value={f}]")
    page.fill("textarea[name=purpose]", purpose)
    if basis:
        page.fill("input[name=basis]", basis)
    if period_end:
        page.fill("input[name=period_end]", period_end)
    page.click("#request-form button[type=submit]")
    page.wait_for_url(re.compile(r"/exchange\?created=\d+$"))
    return int(page.url.rsplit("=", 1)[1])


def _my_request_row(page, rid: int):
    return page.locator("#my-requests tbody tr").filter(
        has=page.locator("td:first-child", has_text=re.compile(rf"^GX-\d{{4}}-{rid:06d}$"))
    )


def _results(page) -> tuple[list[str], list[list[str]]]:
    head = page.locator("#results thead th").all_inner_texts()
    rows = [r.locator("td").all_inner_texts() for r in page.locator("#results tbody tr").all()]
    return head, rows


def test_request_narrowed_approval_rejection_and_masked_workbench(server, sqlite_db, page, tmp_path):
    from shuzhi.exchange.models import Grant, ShareRequest
    from shuzhi.ledger.models import LedgerEntry

    # -- the analyst asks twice from the dataset page
    browser_login(page, server, "mz.analyst", "/datasets/residents")
    assert "有条件共享" in page.inner_text(".meta")
    wide = _request(
        page, ["sfzh", "xm", "xb", "qx"], "最低生活保障资格核查", "《社会救助暂行办法》第十一条", USE_UNTIL
    )
    assert "待审核" in _my_request_row(page, wide).inner_text()
    page.goto(server + "/datasets/residents")
    narrow = _request(page, ["xm"], "走访名单")
    with sqlite_db.session() as s:
        req = s.get(ShareRequest, wide)
        assert (req.state, req.fields) == ("submitted", ["sfzh", "xm", "xb", "qx"])
        assert (req.basis, req.period_end) == ("《社会救助暂行办法》第十一条", date.fromisoformat(USE_UNTIL))

    # -- the provider's steward approves the first narrower, rejects the second with a reason
    browser_login(page, server, "ga.steward", "/exchange/inbox")
    first = page.locator(f"#request-{wide}")
    assert "市民政局" in first.inner_text() and "最低生活保障资格核查" in first.inner_text()
    first.locator("input[name=fields][value=qx]").uncheck()
    first.locator("select[name=mask_xm]").select_option("keep_first:1")
    first.locator("input[name=row_filter]").fill("xb = '女'")
    first.locator("input[name=reason]").fill("仅限女性户籍，不含区县")
    first.locator("button[value=approve]").click()
    page.wait_for_url("**/exchange/inbox")
    second = page.locator(f"#request-{narrow}")
    second.locator("input[name=reason]").fill("用途不明确，请补充依据")
    second.locator("button[value=reject]").click()
    page.wait_for_url("**/exchange/inbox")
    assert page.locator("section.request").count() == 0  # nothing left to decide
    assert "sfzh, xm, xb" in page.inner_text("body")  # listed among the grants given

    with sqlite_db.session() as s:
        (grant,) = s.scalars(select(Grant)).all()
        assert (grant.request_id, grant.fields, grant.row_filter) == (wide, ["sfzh", "xm", "xb"], "xb = '女'")
        assert grant.masks["xm"]["kind"] == "keep_first"
        assert s.get(ShareRequest, wide).state == "approved"
        assert s.get(ShareRequest, narrow).state == "rejected"
        created = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "grant.created")).all()
        assert [json.loads(e.entry)["detail"]["fields"] for e in created] == [["sfzh", "xm", "xb"]]

    # -- the requester sees the rejection and its reason
    browser_login(page, server, "mz.analyst", "/exchange")
    rejected = _my_request_row(page, narrow).inner_text()
    assert "已驳回" in rejected and "用途不明确，请补充依据" in rejected
    assert "已批准" in _my_request_row(page, wide).inner_text()

    # -- my grants: the narrowed grant, until the day asked for
    page.hover("#menu-sharing .menu-title")  # the link is in the Sharing menu
    page.click("header nav >> text=我的授权")
    page.wait_for_url("**/exchange/grants")
    (row,) = page.locator("#grants tbody tr").all()
    cells = row.locator("td").all_inner_texts()
    # each field with the mask that applies to it
    assert cells[2] == "sfzh 加密哈希（HMAC-SHA256），xm 保留前N位 (N=1)，xb 明文"
    assert cells[3] == "xb = '女'" and cells[6] == USE_UNTIL

    # -- the workbench, from the grants page: filtered rows, masked values
    page.click("#open-workbench")
    page.wait_for_url("**/exchange/workbench")
    page.fill("#workbench textarea[name=sql]", "SELECT sfzh, xm, xb FROM residents ORDER BY sfzh")
    page.click("#workbench button[value=table]")
    page.wait_for_selector("#results")
    head, rows = _results(page)
    assert head == ["sfzh", "xm", "xb"] and len(rows) == len(WOMEN)
    ids, names = {r[0] for r in ROWS}, {r[1] for r in ROWS}
    assert {r[2] for r in rows} == {"女"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", r[0]) for r in rows)  # L4 column: hashed by its grade's default
    assert not {r[0] for r in rows} & ids
    assert all(r[1].endswith("*") and r[1] not in names for r in rows)  # keep first character only
    assert {r[1][0] for r in rows} == {n[0] for _, n, _, _ in WOMEN}

    # -- a field left out of the grant is refused, by name
    page.fill("#workbench textarea[name=sql]", "SELECT xm, qx FROM residents")
    page.click("#workbench button[value=table]")
    page.wait_for_selector("#sql-error")
    error = page.inner_text("#sql-error")
    assert "未获授权的字段" in error and "residents.qx" in error
    assert page.locator("#results").count() == 0

    # -- download the result as CSV
    page.fill("#workbench textarea[name=sql]", "SELECT xm, xb FROM residents")
    with page.expect_download() as info:
        page.click("#workbench button[value=csv]")
    download = info.value
    assert download.suggested_filename == f"residents_{date.today().isoformat()}.csv"
    saved = tmp_path / "query.csv"
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel on Chinese Windows reads it as UTF-8
    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert table[0] == ["xm", "xb"] and len(table) == 1 + len(WOMEN)
    assert all(xb == "女" and xm.endswith("*") and xm not in names for xm, xb in table[1:])

    with sqlite_db.session() as s:
        events = [(e.event, e.outcome, json.loads(e.entry)["detail"]) for e in s.scalars(select(LedgerEntry))]
    reads = [d for ev, outcome, d in events if ev == "data.read" and outcome == "ok"]
    assert [d["rows"] for d in reads] == [len(WOMEN), len(WOMEN)]
    assert {d["grant_id"] for d in reads} == {grant.id}
    (denied,) = [d for ev, _, d in events if ev == "data.denied"]
    assert "residents.qx" in json.dumps(denied, ensure_ascii=False)

    # -- once in English, from the results page (a POST answer: the switch comes back as a GET)
    page.click("text=English")
    page.wait_for_url(re.compile(r"/exchange/workbench\??$"))
    page.wait_for_selector("text=SQL workbench")
    assert page.inner_text("#workbench button[value=table]") == "Run"
    page.hover("#menu-sharing .menu-title")
    page.click("header nav >> text=My grants")
    page.wait_for_url("**/exchange/grants")
    assert page.inner_text("#grants thead").split("\t")[:3] == ["#", "Dataset", "Fields and masks"]


@pytest.mark.parametrize(
    ("lang", "said"), [("zh", "band 的 width 须为有限的数"), ("en", "band: width must be a finite number")]
)
def test_a_crafted_mask_is_refused_beside_its_field(server, sqlite_db, page, tmp_path, lang, said):
    """The inbox lists only valid bands; a form altered to send `band:nan` comes back with the
    refusal on the request and that field's mask choice marked, nothing granted."""
    from shuzhi.exchange.models import Grant

    browser_login(page, server, "mz.analyst", "/datasets/residents")
    asked = _request(page, ["xm", "xb"], "最低生活保障资格核查")
    browser_login(page, server, "ga.steward", "/exchange/inbox")
    page.goto(f"{server}/exchange/inbox?lang={lang}")
    form = page.locator(f"#request-{asked}")
    form.locator("select[name=mask_xb]").evaluate(
        "s => { s.add(new Option('band:nan', 'band:nan')); s.value = 'band:nan'; }"
    )
    form.locator("button[value=approve]").click()
    page.wait_for_selector(".error[data-where='masks.xb']")
    row = page.locator(f"#request-{asked} tr", has=page.locator("select[name=mask_xb]"))
    assert said in row.locator(".error").inner_text()  # beside the field, not above the request
    assert page.locator(f"#request-{asked} .error").count() == 1
    assert page.get_attribute(f"#request-{asked} select[name=mask_xb]", "aria-invalid") == "true"
    assert page.get_attribute(f"#request-{asked} select[name=mask_xm]", "aria-invalid") is None
    page.locator(f"#request-{asked}").screenshot(path=str(tmp_path / f"inbox-mask-refused-{lang}.png"))
    with sqlite_db.session() as s:
        assert s.scalars(select(Grant)).all() == []
