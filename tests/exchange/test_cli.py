"""`shuzhi exchange …` end to end: requests, decisions, grants, governed SQL and export, and refusals."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from tests.exchange.conftest import population_table
from typer.testing import CliRunner

from shuzhi.cli import app
from shuzhi.exchange.keys import mask_master_key
from shuzhi.exchange.masking import grant_key, hmac_hex
from shuzhi.exchange.models import Grant, RequestEvent, ShareRequest
from shuzhi.i18n import M_
from shuzhi.ledger.models import LedgerEntry
from shuzhi.orgs import service as orgs

runner = CliRunner()

SOURCE = population_table().to_pylist()
IN_3301 = [r for r in SOURCE if r["region_code"].startswith("3301")]
EXPIRES = date.today() + timedelta(days=30)


@pytest.fixture
def cli(world, cli_env, monkeypatch):
    """Run `shuzhi exchange …` against the test's own store; returns (exit code, output, result)."""
    monkeypatch.setenv("COLUMNS", "400")  # wide enough that no table cell or message is wrapped

    def run(*args: str):
        result = runner.invoke(app, ["exchange", *args])
        return result.exit_code, result.output, result

    return run


def entries(world, event: str) -> list[tuple[LedgerEntry, dict]]:
    with world.db.session() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        return [(e, json.loads(e.entry)["detail"]) for e in rows]


def request_row(world, request_id: int) -> ShareRequest:
    with world.db.session() as s:
        req = s.get(ShareRequest, request_id)
        s.expunge(req)
        return req


def grant_rows(world) -> list[Grant]:
    with world.db.session() as s:
        rows = list(s.scalars(select(Grant).order_by(Grant.id)))
        s.expunge_all()
        return rows


def count(world, model) -> int:
    with world.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def refused(code: int, out: str, result, *needles: str) -> None:
    """Exit code 2, one red error line (plus an optional where/hint line) naming the cause, no traceback."""
    assert code == 2, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out
    lines = out.strip().splitlines()
    assert lines[0].startswith("错误 (error):") and len(lines) <= 3, out
    assert all(n in out for n in needles), out


def ask(cli, fields: str = "id_number,name,gender,region_code", who: str = "rs_analyst") -> int:
    code, out, _ = cli(
        "request", "population", "--fields", fields, "--purpose", "低保资格核查",
        "--basis", "《社会救助暂行办法》", "--as", who,
    )  # fmt: skip
    assert code == 0, out
    assert "申请 #" in out and "submitted" in out
    return int(out.split("申请 #", 1)[1].split()[0])


def approve_narrower(cli, request_id: int, *extra: str) -> tuple[int, str]:
    code, out, _ = cli(
        "approve", str(request_id), "--fields", "name,region_code,id_number",
        "--row-filter", "region_code LIKE '3301%'",
        "--mask", "name=keep_first:1", "--mask", "id_number=hash",
        "--expires", EXPIRES.isoformat(), *extra, "--as", "ga_steward",
    )  # fmt: skip
    return code, out


@pytest.fixture
def outdir(tmp_path):
    """An empty directory for output files (the test store lives beside it)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.fixture
def approved(cli, world) -> tuple[int, int]:
    """(request id, grant id): population granted to RS narrower than asked."""
    rid = ask(cli)
    code, out = approve_narrower(cli, rid)
    assert code == 0, out
    (grant,) = grant_rows(world)
    return rid, grant.id


def test_request_lands_in_the_providers_inbox_only(cli, world):
    rid = ask(cli)
    req = request_row(world, rid)
    assert req.state == "submitted" and req.deadline is not None and req.deadline > date.today()
    assert req.fields == ["id_number", "name", "gender", "region_code"]  # schema order
    assert (req.purpose, req.basis) == ("低保资格核查", "《社会救助暂行办法》")
    assert (
        req.requester_id == world.rs_analyst.user_id and req.department_id == world.rs_analyst.department_id
    )
    assert [d["request_id"] for _, d in entries(world, "request.submitted")] == [rid]
    ((entry, detail),) = entries(world, "request.draft")
    assert entry.user_id == world.rs_analyst.user_id and detail["purpose"] == "低保资格核查"

    code, out, _ = cli("requests", "--box", "inbox", "--as", "ga_steward")
    row = next(line for line in out.splitlines() if "population" in line)
    assert code == 0 and str(rid) in row and "RS" in row and "submitted" in row and "低保资格核查" in row
    assert "id_number, name, gender, region_code" in row
    code, out, _ = cli("requests", "--box", "inbox", "--as", "sc_steward")
    assert code == 0 and "population" not in out  # another provider sees nothing
    code, out, _ = cli("requests", "--box", "mine", "--as", "rs_analyst")
    assert code == 0 and "population" in out and "submitted" in out
    code, out, res = cli("requests", "--box", "inbx", "--as", "ga_steward")
    refused(code, out, res, "inbx", "--box")  # a typo is not read as "all"

    code, out, _ = cli("request", "population", "--fields", "name", "--purpose", "核查", "--draft",
                       "--as", "rs_analyst")  # fmt: skip
    assert code == 0 and "draft" in out
    code, out, _ = cli("requests", "--box", "inbox", "--as", "ga_steward")
    assert out.count("population") == 1  # a draft is not awaiting decision


def test_approve_narrower_creates_exactly_that_grant(cli, world, approved):
    rid, gid = approved
    (grant,) = grant_rows(world)
    assert grant.request_id == rid and grant.department_id == world.rs_analyst.department_id
    assert grant.fields == ["id_number", "name", "region_code"]  # the request's order, gender left out
    assert grant.row_filter == "region_code LIKE '3301%'"
    assert grant.masks == {"name": {"kind": "keep_first", "n": 1}, "id_number": {"kind": "hash"}}
    assert grant.expires_on == EXPIRES and grant.revoked_at is None
    req = request_row(world, rid)
    assert req.state == "approved" and req.decided_by_id == world.ga_steward.user_id
    assert req.decision_reason == M_("approved narrower")  # stored in both languages
    ((entry, detail),) = entries(world, "grant.created")
    assert entry.user_id == world.ga_steward.user_id
    assert detail["grant_id"] == gid and detail["fields"] == grant.fields and detail["masks"] == grant.masks
    code, out, _ = cli("requests", "--box", "inbox", "--as", "ga_steward")
    assert code == 0 and "population" not in out  # decided: out of the inbox


def test_approve_fields_beyond_the_request_or_a_bad_filter_are_refused(cli, world):
    rid = ask(cli, fields="name,gender")
    code, out, res = cli("approve", str(rid), "--fields", "name,income", "--as", "ga_steward")
    refused(code, out, res, "income")
    code, out, res = cli("approve", str(rid), "--row-filter", "no_such_col = 1", "--as", "ga_steward")
    refused(code, out, res)
    assert grant_rows(world) == [] and request_row(world, rid).state == "submitted"


def test_malformed_mask_and_expiry_are_clear_errors(cli, world):
    rid = ask(cli, fields="name,gender")
    code, out, res = cli("approve", str(rid), "--mask", "name", "--as", "ga_steward")
    refused(code, out, res, "--mask")
    code, out, res = cli("approve", str(rid), "--mask", "name=nonsense", "--as", "ga_steward")
    refused(code, out, res)
    code, out, res = cli("approve", str(rid), "--expires", "2030-13-40", "--as", "ga_steward")
    refused(code, out, res, "--expires")
    assert grant_rows(world) == [] and request_row(world, rid).state == "submitted"


def test_reject_and_withdraw_with_reasons(cli, world):
    first, second = ask(cli), ask(cli, fields="name")
    code, out, res = cli("reject", str(first), "--reason", "  ", "--as", "ga_steward")
    refused(code, out, res, "理由")
    code, out, _ = cli("reject", str(first), "--reason", "用途不明确", "--as", "ga_steward")
    assert code == 0 and f"#{first}" in out and "rejected" in out
    req = request_row(world, first)
    assert req.state == "rejected" and req.decision_reason == "用途不明确"
    assert req.decided_by_id == world.ga_steward.user_id

    code, out, res = cli("withdraw", str(second), "--reason", "不再需要", "--as", "ga_steward")
    refused(code, out, res, "requester")  # the provider cannot withdraw someone else's request
    code, out, _ = cli("withdraw", str(second), "--reason", "不再需要", "--as", "rs_analyst")
    assert code == 0 and "withdrawn" in out
    assert request_row(world, second).state == "withdrawn"
    with world.db.session() as s:
        last = {
            e.request_id: (e.to_state, e.reason, e.user_id)
            for e in s.scalars(select(RequestEvent).order_by(RequestEvent.id))
        }
    assert last == {
        first: ("rejected", "用途不明确", world.ga_steward.user_id),
        second: ("withdrawn", "不再需要", world.rs_analyst.user_id),
    }
    assert [d["reason"] for _, d in entries(world, "request.rejected")] == ["用途不明确"]
    assert [d["reason"] for _, d in entries(world, "request.withdrawn")] == ["不再需要"]

    code, out, res = cli("approve", str(first), "--as", "ga_steward")
    refused(code, out, res, "rejected")  # final states stay final
    assert grant_rows(world) == []


def test_grants_lists_received_and_provided(cli, world, approved):
    _, gid = approved
    code, out, _ = cli("grants", "--as", "rs_analyst")
    row = next(line for line in out.splitlines() if "population" in line)
    assert code == 0 and str(gid) in row and "RS" in row and EXPIRES.isoformat() in row
    assert "id_number, name, region_code" in row and "region_code LIKE '3301%'" in row
    code, out, _ = cli("grants", "--as", "sc_steward")
    assert code == 0 and "population" not in out
    code, out, _ = cli("grants", "--provided", "--as", "ga_steward")
    assert code == 0 and "population" in out and str(gid) in out
    code, out, _ = cli("grants", "--provided", "--as", "sc_steward")
    assert code == 0 and "population" not in out


def test_sql_prints_masked_filtered_rows_and_is_audited(cli, world, approved):
    _, gid = approved
    code, out, _ = cli(
        "sql", "SELECT name, region_code FROM population", "--purpose", "核查", "--as", "rs_analyst"
    )
    assert code == 0, out
    assert f"{len(IN_3301):,} 行 ({len(IN_3301):,} rows)" in out and "truncated" not in out
    assert "110101" not in out  # the grant's row filter
    assert not {r["name"] for r in SOURCE} & set(out.split())  # no name in the clear
    assert {r["name"][0] + "*" for r in IN_3301[:50]} <= set(out.split())
    entry, detail = entries(world, "data.read")[-1]
    assert entry.user_id == world.rs_analyst.user_id and entry.outcome == "ok"
    assert (detail["channel"], detail["grant_id"], detail["rows"]) == ("sql", gid, len(IN_3301))
    assert detail["purpose"] == "低保资格核查"  # a grant's reads carry the purpose it was granted for


def test_sql_to_a_file_holds_the_masked_values(cli, world, approved, outdir):
    _, gid = approved
    out_file = outdir / "q.csv"
    code, out, _ = cli("sql", "SELECT id_number, name FROM population", "--out", str(out_file),
                       "--as", "rs_analyst")  # fmt: skip
    assert code == 0 and f"{len(IN_3301):,} 行 ({len(IN_3301):,} rows)" in out, out
    table = pacsv.read_csv(out_file)
    assert table.column_names == ["id_number", "name"] and table.num_rows == len(IN_3301)
    key = grant_key(mask_master_key(world.settings), f"grant:{gid}")
    assert set(table.column("id_number").to_pylist()) == {hmac_hex(key, r["id_number"]) for r in IN_3301}
    assert sorted(table.column("name").to_pylist()) == sorted(r["name"][0] + "*" for r in IN_3301)


def test_sql_naming_an_ungranted_field_is_refused_in_one_line(cli, world, approved):
    code, out, res = cli("sql", "SELECT name, income FROM population", "--as", "rs_analyst")
    refused(code, out, res, "未获授权的字段", "income")
    assert len(out.strip().splitlines()) == 1
    assert out.strip().endswith("(fields not granted: population.income)")  # only the refused field is named
    entry, detail = entries(world, "data.denied")[-1]
    assert entry.user_id == world.rs_analyst.user_id and entry.outcome == "denied"
    assert detail["channel"] == "sql" and detail["refused"] == ["population.income"]
    assert entries(world, "data.read") == []


def test_export_writes_only_granted_masked_fields(cli, world, approved, outdir):
    _, gid = approved
    target = outdir / "rk.parquet"
    code, out, _ = cli(
        "export", "population", "--out", str(target), "--purpose", "核查", "--as", "rs_analyst"
    )
    assert code == 0, out
    assert f"{len(IN_3301):,} 行 ({len(IN_3301):,} rows)" in out and f"{target.stat().st_size:,} bytes" in out
    table = pq.read_table(target)
    assert table.column_names == ["id_number", "name", "region_code"] and table.num_rows == len(IN_3301)
    key = grant_key(mask_master_key(world.settings), f"grant:{gid}")
    assert set(table.column("id_number").to_pylist()) == {hmac_hex(key, r["id_number"]) for r in IN_3301}
    assert all(len(n) == 2 and n.endswith("*") for n in table.column("name").to_pylist())
    assert all(c.startswith("3301") for c in table.column("region_code").to_pylist())
    assert [p.name for p in outdir.iterdir()] == ["rk.parquet"]  # nothing left beside it
    entry, detail = entries(world, "data.read")[-1]
    assert (detail["channel"], detail["grant_id"], detail["rows"]) == ("export", gid, len(IN_3301))
    assert entry.user_id == world.rs_analyst.user_id

    # Written beside and renamed into place: a second export replaces the file whole.
    code, out, _ = cli("export", "population", "--out", str(target), "--as", "rs_analyst")
    assert code == 0, out
    assert pq.read_table(target).num_rows == len(IN_3301)
    assert [p.name for p in outdir.iterdir()] == ["rk.parquet"]


def test_export_failing_midway_leaves_the_old_file_and_no_part(cli, world, approved, outdir, monkeypatch):
    import dataclasses

    from shuzhi.errors import ShuzhiError
    from shuzhi.exchange import formats

    target = outdir / "rk.csv"
    target.write_text("earlier export\n")

    def breaks(schema, batches, **framing):
        yield b"id_number,name,region_code\n"
        raise ShuzhiError("查询中断 / query interrupted")

    monkeypatch.setitem(formats.FORMATS, "csv", dataclasses.replace(formats.FORMATS["csv"], encode=breaks))
    code, out, res = cli("export", "population", "--out", str(target), "--as", "rs_analyst")
    refused(code, out, res, "查询中断")
    assert target.read_text() == "earlier export\n"
    assert [p.name for p in outdir.iterdir()] == ["rk.csv"]


def test_export_cut_short_by_a_quota_says_so(cli, world, outdir):
    rid = ask(cli)
    code, out = approve_narrower(cli, rid, "--rows-per-day", "50")
    assert code == 0, out
    target = outdir / "rk.parquet"
    code, out, _ = cli("export", "population", "--out", str(target), "--as", "rs_analyst")
    assert code == 0, out
    assert pq.read_table(target).num_rows == 50
    assert "50 行 (50 rows)" in out and "truncated" in out  # a partial export must not pass for a whole one


def test_output_to_a_missing_directory_is_refused_before_reading(cli, world, approved, outdir):
    for args in (
        ("export", "population", "--out", str(outdir / "nowhere" / "rk.parquet")),
        ("sql", "SELECT name FROM population", "--out", str(outdir / "nowhere" / "q.csv")),
    ):
        code, out, res = cli(*args, "--as", "rs_analyst")
        refused(code, out, res, "目录不存在", "nowhere")
    assert entries(world, "data.read") == [] and list(outdir.iterdir()) == []


def test_revoke_ends_the_grant_for_sql_and_export(cli, world, approved, outdir):
    rid, gid = approved
    code, out, res = cli("revoke", str(gid), "--reason", "合作结束", "--as", "rs_steward")
    refused(code, out, res, "提供部门")  # the grantee cannot revoke
    code, out, _ = cli("revoke", str(gid), "--reason", "合作结束", "--as", "ga_steward")
    assert code == 0 and f"#{gid}" in out and "revoked" in out
    (grant,) = grant_rows(world)
    assert grant.revoked_at is not None and grant.revoke_reason == "合作结束"
    assert grant.revoked_by_id == world.ga_steward.user_id
    assert request_row(world, rid).state == "revoked"
    assert [d["grant_id"] for _, d in entries(world, "grant.revoked")] == [gid]
    code, out, res = cli("revoke", str(gid), "--reason", "再次", "--as", "ga_steward")
    refused(code, out, res, "已撤销")

    code, out, _ = cli("grants", "--as", "rs_analyst")
    assert code == 0 and "population" not in out
    code, out, res = cli("sql", "SELECT name FROM population", "--as", "rs_analyst")
    refused(code, out, res)
    target = outdir / "rk.parquet"
    code, out, res = cli("export", "population", "--out", str(target), "--as", "rs_analyst")
    refused(code, out, res)
    assert not target.exists() and list(outdir.iterdir()) == []
    assert entries(world, "data.read") == []
    assert [d["channel"] for _, d in entries(world, "data.denied")] == ["sql", "export"]


def test_only_the_providing_steward_approves(cli, world):
    rid = ask(cli)
    code, out, res = cli("approve", str(rid), "--as", "rs_analyst")
    refused(code, out, res, "提供部门的数据管理员")  # the analyst who asked
    code, out, res = cli("approve", str(rid), "--as", "rs_steward")
    refused(code, out, res, "提供部门的数据管理员")  # the requesting department's steward
    code, out, res = cli("approve", str(rid), "--as", "sc_steward")
    refused(code, out, res, f"no request {rid}")  # another department does not even see it
    code, out, res = cli("approve", str(rid), "--as", "ga_analyst")
    refused(code, out, res, f"no request {rid}")
    code, out, res = cli("reject", str(rid), "--reason", "x", "--as", "sc_steward")
    refused(code, out, res, f"no request {rid}")
    assert grant_rows(world) == [] and request_row(world, rid).state == "submitted"
    assert entries(world, "grant.created") == []


def test_unknown_ids_and_users(cli, world):
    code, out, res = cli("approve", "999999", "--as", "ga_steward")
    refused(code, out, res, "申请不存在", "999999")
    code, out, res = cli("withdraw", "999999", "--reason", "x", "--as", "rs_analyst")
    refused(code, out, res, "申请不存在")
    code, out, res = cli("revoke", "999999", "--reason", "x", "--as", "ga_steward")
    refused(code, out, res, "授权不存在", "999999")
    code, out, res = cli("grants", "--as", "no.body")
    refused(code, out, res, "用户不存在", "no.body")
    code, out, res = cli("request", "population", "--fields", "name", "--purpose", "x", "--as", "no.body")
    refused(code, out, res, "用户不存在")
    assert count(world, ShareRequest) == 0


def test_a_deactivated_user_cannot_act(cli, world, approved, outdir):
    rid, gid = approved
    with world.db.transaction() as s:
        orgs.set_active(s, orgs.get_user(s, "rs_analyst"), False)
        orgs.set_active(s, orgs.get_user(s, "ga_steward"), False)
    reads = len(entries(world, "data.read"))
    for args in (
        ("request", "population", "--fields", "name", "--purpose", "核查", "--as", "rs_analyst"),
        ("requests", "--box", "mine", "--as", "rs_analyst"),
        ("grants", "--as", "rs_analyst"),
        ("sql", "SELECT name FROM population", "--as", "rs_analyst"),
        ("export", "population", "--out", str(outdir / "x.parquet"), "--as", "rs_analyst"),
        ("withdraw", str(rid), "--reason", "x", "--as", "rs_analyst"),
        ("revoke", str(gid), "--reason", "x", "--as", "ga_steward"),
    ):
        code, out, res = cli(*args)
        refused(code, out, res, "用户已停用", "deactivated", args[-1])
    assert count(world, ShareRequest) == 1 and request_row(world, rid).state == "approved"
    assert grant_rows(world)[0].revoked_at is None
    assert len(entries(world, "data.read")) == reads and list(outdir.iterdir()) == []
