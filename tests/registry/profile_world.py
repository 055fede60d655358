"""A small stored registry world: source datasets of two departments, a person and an enterprise
registry filled with entries, members and golden attributes, and readers of several departments."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import select
from tests.quality.conftest import add_dataset, add_version

from shuzhi.catalog.models import Dataset
from shuzhi.orgs import service as orgs
from shuzhi.registry import models

PSB = pa.table(
    {
        "证件号": ["11010519491231002X", "110105195001010028"],
        "姓名": ["王明", "李华"],
        "性别": ["女", "男"],
        "电话": ["13800138000", "13912345678"],
    }
)
HRSS = pa.table(
    {
        "身份证号": ["11010519491231002X"],
        "姓名": ["王 明"],
        "参保单位": ["杭州数治科技有限公司"],
    }
)
SAMR = pa.table(
    {
        "统一社会信用代码": ["91330100MA27XXXX1X", "91330106MA2GXXXX2Y"],
        "企业名称": ["杭州数治科技有限公司", "杭州西湖茶业有限责任公司"],
        "法定代表人": ["王明", "张芳"],
    }
)
TAX = pa.table({"信用代码": ["91330100MA27XXXX1X"], "纳税信用等级": ["A"]})
PSB_GRADES = {"证件号": "L4", "姓名": "L3", "性别": "L1", "电话": "L4"}
HRSS_GRADES = {"身份证号": "L4", "姓名": "L3", "参保单位": "L2"}
FIRM_GRADES = {
    "统一社会信用代码": "L1",
    "企业名称": "L1",
    "法定代表人": "L4",
    "信用代码": "L1",
    "纳税信用等级": "L2",
}

PERSON_SOURCES = [
    {"dataset": "psb_people", "key": "证件号", "mapping": {"ric": "证件号", "name": "姓名", "sex": "性别"}},
    {"dataset": "hrss_insured", "key": "身份证号", "mapping": {"ric": "身份证号", "name": "姓名"}},
]
FIRM_SOURCES = [
    {"dataset": "samr_firms", "key": "统一社会信用代码", "mapping": {"uscc": "统一社会信用代码", "name": "企业名称", "legal_rep": "法定代表人"}},
    {"dataset": "tax_credit", "key": "信用代码", "mapping": {"uscc": "信用代码"}},
]  # fmt: skip


@dataclass
class RegistryWorld:
    db: object
    settings: object
    bureau_admin: orgs.Principal
    psb_analyst: orgs.Principal
    hrss_analyst: orgs.Principal
    outsider: orgs.Principal
    person: str = "P-00000001"
    firm: str = "E-00000001"


def _entry(s, reg, key: str, members: list[tuple[str, str]], golden: dict[str, tuple[str, str, str]]):
    entry = models.RegistryEntry(registry_id=reg.id, entry_key=key)
    s.add(entry)
    s.flush()
    for dataset, row in members:
        ds_id = s.scalar(select(Dataset.id).where(Dataset.identifier == dataset))
        s.add(models.RegistryMember(registry_id=reg.id, entry_id=entry.id, record_key=f"{dataset}#{row}",
                                    dataset=dataset, dataset_id=ds_id, version=1, row=row))  # fmt: skip
    for attribute, (value, dataset, row) in golden.items():
        s.add(models.GoldenAttribute(entry_id=entry.id, attribute=attribute, value=value, value_norm=value,
                                     dataset=dataset, version=1, row=row, record_key=f"{dataset}#{row}",
                                     rule="most_frequent"))  # fmt: skip
    return entry


def _registry(s, name: str, kind: str, title: str, dept: str, sources: list[dict], prefix: str):
    dept_id = orgs.get_department(s, dept).id
    reg = models.Registry(name=name, kind=kind, title_zh=title, title_en=name.title(), department_id=dept_id,
                          settings={"name": name, "kind": kind, "sources": sources}, id_prefix=prefix)  # fmt: skip
    s.add(reg)
    s.flush()
    return reg


def build(db, settings, make_user) -> RegistryWorld:
    w = RegistryWorld(
        db=db,
        settings=settings,
        bureau_admin=make_user("bdb_steward", "BDB", ("steward",)),
        psb_analyst=make_user("psb_analyst", "GA", ("analyst",)),
        hrss_analyst=make_user("hrss_analyst", "RS", ("analyst",)),
        outsider=make_user("sc_analyst", "SC", ("analyst",)),
    )
    psb_steward = make_user("ga_steward", "GA", ("steward",))
    hrss_steward = make_user("rs_steward", "RS", ("steward",))
    sc_steward = make_user("sc_steward", "SC", ("steward",))
    for steward, dept, name, table, grades in (
        (psb_steward, "GA", "psb_people", PSB, PSB_GRADES),
        (hrss_steward, "RS", "hrss_insured", HRSS, HRSS_GRADES),
        (sc_steward, "SC", "samr_firms", SAMR, FIRM_GRADES),
        (sc_steward, "SC", "tax_credit", TAX, FIRM_GRADES),
    ):
        add_dataset(
            db, steward, name, table, dept=dept, share_type="conditional" if dept != "SC" else "unconditional"
        )
        add_version(db, settings, name, table, grades=grades)
    with db.transaction() as s:
        people = _registry(s, "persons", "people", "人口综合库", "BDB", PERSON_SOURCES, "P")
        _entry(s, people, w.person, [("psb_people", "11010519491231002X"), ("hrss_insured", "11010519491231002X")],
               {"name": ("王明", "psb_people", "11010519491231002X"),
                "ric": ("11010519491231002X", "psb_people", "11010519491231002X"),
                "sex": ("女", "psb_people", "11010519491231002X")})  # fmt: skip
        _entry(s, people, "P-00000002", [("psb_people", "110105195001010028")],
               {"name": ("李华", "psb_people", "110105195001010028"),
                "ric": ("110105195001010028", "psb_people", "110105195001010028")})  # fmt: skip
        firms = _registry(s, "enterprises", "enterprises", "法人综合库", "BDB", FIRM_SOURCES, "E")
        _entry(s, firms, w.firm, [("samr_firms", "91330100MA27XXXX1X"), ("tax_credit", "91330100MA27XXXX1X")],
               {"name": ("杭州数治科技有限公司", "samr_firms", "91330100MA27XXXX1X"),
                "uscc": ("91330100MA27XXXX1X", "samr_firms", "91330100MA27XXXX1X"),
                "legal_rep": ("王明", "samr_firms", "91330100MA27XXXX1X")})  # fmt: skip
        _entry(s, firms, "E-00000002", [("samr_firms", "91330106MA2GXXXX2Y")],
               {"name": ("杭州西湖茶业有限责任公司", "samr_firms", "91330106MA2GXXXX2Y"),
                "legal_rep": ("张芳", "samr_firms", "91330106MA2GXXXX2Y")})  # fmt: skip
    return w


def check_digit(body: str) -> str:
    """The GB 11643 check character of a 17-digit body (ISO 7064 MOD 11-2)."""
    return "10X98765432"[sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body)) % 11]


def add_people(db, count: int) -> None:
    """`count` more person entries with valid resident ID numbers, fed by the public-security source."""
    with db.transaction() as s:
        reg = s.scalar(select(models.Registry).where(models.Registry.name == "persons"))
        for n in range(count):
            body = f"3301061985{n % 12 + 1:02d}{n % 28 + 1:02d}{n % 1000:03d}"
            number = body + check_digit(body)
            _entry(s, reg, f"P-{n + 100:08d}", [("psb_people", number)],
                   {"name": ("张" + "伟芳丽军"[n % 4], "psb_people", number), "ric": (number, "psb_people", number)})  # fmt: skip
