"""Registry profiles: an enterprise from every source; a person only through grants, masked by them,
refused without a word of whether they exist; every read in the ledger. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.registry.profile_world import build

from shuzhi.errors import InvalidInput, NotFound
from shuzhi.exchange import share_requests
from shuzhi.ledger.models import LedgerEntry
from shuzhi.registry.profiles import read_profile, readable_search, search


@pytest.fixture
def world(db, settings, make_user):
    return build(db, settings, make_user)


def _grant(w, fields, masks, row_filter=None):
    """An approved request of the outsider's department for the public-security source."""
    with w.db.transaction() as s:
        req = share_requests.create_request(
            s, w.settings, w.outsider,
            share_requests.RequestIn(dataset="psb_people", fields=fields, purpose="企业法人身份核验"),
            submit=True,
        )  # fmt: skip
        steward = _steward(s, "ga_steward")
        share_requests.approve_request(
            s,
            w.settings,
            steward,
            req,
            share_requests.Approval(fields=fields, masks=masks, row_filter=row_filter),
        )


def _steward(s, username):
    from shuzhi.orgs import service as orgs

    return orgs.Principal.of(orgs.get_user(s, username))


def _ledger(w, event):
    with w.db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        return [(e.user_id, e.outcome, json.loads(e.entry)["detail"]) for e in rows]


def test_an_enterprise_profile_has_a_section_per_source_with_its_version_and_date(world):
    w = world
    profile = read_profile(w.db, w.settings, w.outsider, "enterprises", w.firm)
    assert [(s.dataset, s.version, s.basis) for s in profile.sections] == [
        ("samr_firms", 1, "owner"),
        ("tax_credit", 1, "owner"),
    ]
    samr, tax = profile.sections
    assert samr.rows == [
        {"统一社会信用代码": "91330100MA27XXXX1X", "企业名称": "杭州数治科技有限公司", "法定代表人": "王明"}
    ]
    assert tax.rows == [{"信用代码": "91330100MA27XXXX1X", "纳税信用等级": "A"}] and tax.loaded_at is not None
    golden = {g.attribute: (g.value, g.dataset, g.row) for g in profile.golden}
    assert golden["legal_rep"] == ("王明", "samr_firms", "91330100MA27XXXX1X")
    [(user, outcome, detail)] = _ledger(w, "registry.profile_read")
    assert (user, outcome, detail["entry"]) == (w.outsider.user_id, "ok", w.firm)
    assert [s["dataset"] for s in detail["sections"]] == ["samr_firms", "tax_credit"]


def test_outside_its_department_an_enterprise_source_is_masked_by_its_grades(world):
    w = world
    profile = read_profile(w.db, w.settings, w.psb_analyst, "enterprises", w.firm)
    samr = profile.sections[0]
    assert (samr.basis, samr.masks) == ("catalog", {"法定代表人": "hash"})  # graded L4 in the fixture
    row = samr.rows[0]
    assert row["企业名称"] == "杭州数治科技有限公司" and row["法定代表人"] not in (None, "王明")
    golden = {g.attribute: g for g in profile.golden}
    assert golden["legal_rep"].value == row["法定代表人"] and golden["legal_rep"].mask == "hash"
    assert golden["name"].value == "杭州数治科技有限公司" and golden["name"].mask is None


def test_a_person_profile_shows_only_the_sources_the_reader_may_read(world):
    w = world
    own = read_profile(w.db, w.settings, w.psb_analyst, "people", w.person)
    assert [(s.dataset, s.basis) for s in own.sections] == [("psb_people", "owner")]
    assert own.sections[0].rows[0]["证件号"] == "11010519491231002X" and not own.sections[0].masks
    assert {g.attribute: g.value for g in own.golden} == {
        "name": "王明",
        "ric": "11010519491231002X",
        "sex": "女",
    }
    hrss = read_profile(w.db, w.settings, w.hrss_analyst, "people", w.person)
    assert [s.dataset for s in hrss.sections] == ["hrss_insured"]
    assert hrss.golden == []  # every surviving value came from the source they may not read


def test_a_reader_without_a_grant_learns_nothing_not_even_that_the_entry_exists(world):
    w = world
    with pytest.raises(NotFound) as known:
        read_profile(w.db, w.settings, w.outsider, "people", w.person)
    with pytest.raises(NotFound) as unknown:
        read_profile(w.db, w.settings, w.outsider, "people", "P-09999999")
    assert known.value.to_dict() == {**unknown.value.to_dict(), "message": known.value.message}
    assert str(known.value).replace(w.person, "?") == str(unknown.value).replace("P-09999999", "?")
    refused = _ledger(w, "registry.profile_refused")
    assert [(u, o, d["entry"]) for u, o, d in refused] == [
        (w.outsider.user_id, "denied", w.person),
        (w.outsider.user_id, "denied", "P-09999999"),
    ]
    assert _ledger(w, "registry.profile_read") == []


def test_a_grant_shows_its_fields_masked_as_it_says_and_golden_values_alike(world):
    w = world
    _grant(w, ["证件号", "姓名"], {"证件号": "hash", "姓名": "keep_first:1"})
    profile = read_profile(w.db, w.settings, w.outsider, "people", w.person)
    [section] = profile.sections
    assert (section.dataset, section.basis, section.fields) == ("psb_people", "grant", ["证件号", "姓名"])
    row = section.rows[0]
    assert row["证件号"] != "11010519491231002X" and row["姓名"].startswith("王") and row["姓名"] != "王明"
    assert section.masks == {"证件号": "hash", "姓名": "keep_first"}
    golden = {g.attribute: g for g in profile.golden}
    assert set(golden) == {"name", "ric"}  # sex is not granted
    assert golden["ric"].value == row["证件号"] and golden["ric"].row == ""  # the row key is the ID itself
    assert golden["name"].value == row["姓名"] and golden["name"].mask == "keep_first"


def test_a_grant_whose_row_filter_leaves_the_record_out_shows_nothing(world):
    w = world
    _grant(w, ["证件号", "姓名"], {}, row_filter="性别 = '男'")
    with pytest.raises(NotFound):
        read_profile(w.db, w.settings, w.outsider, "people", w.person)
    assert read_profile(w.db, w.settings, w.outsider, "people", "P-00000002").sections[0].rows[0]["姓名"]


def test_search_by_name_pinyin_credit_code_and_legal_representative(world):
    w = world
    with w.db.read() as s:
        for q in ("数治", "杭州數治科技有限公司", "shuzhi", "ShuZhi Keji", "91330100ma27xxxx1x", "王明"):
            assert [h.entry for h in search(s, "enterprises", q)] == [w.firm], q
        assert [h.entry for h in search(s, "enterprises", "杭州")] == [w.firm, "E-00000002"]
        assert search(s, "enterprises", "茶叶集团") == []
        [hit] = search(s, "enterprises", "王明")
        assert (hit.name, hit.matched) == ("杭州数治科技有限公司", ["legal_rep"])
        assert [h.entry for h in search(s, "persons", "wangming")] == [w.person]
        with pytest.raises(InvalidInput):
            search(s, "enterprises", "  ")
        with pytest.raises(NotFound):
            search(s, "nobody", "王明")


def test_a_person_search_lists_only_entries_the_reader_may_read_and_no_values(world):
    w = world
    with w.db.read() as s:
        assert readable_search(s, w.settings, w.outsider, "persons", "王明") == []
        [hit] = readable_search(s, w.settings, w.hrss_analyst, "persons", "王明")
        assert (hit.entry, hit.name, hit.matched) == (w.person, None, ["name"])
        assert readable_search(s, w.settings, w.hrss_analyst, "persons", "李华") == []
