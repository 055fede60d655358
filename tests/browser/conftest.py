"""The small city the browser tests walk: three departments, a steward, an analyst, an auditor, an
admin, and one graded dataset of people (ID numbers, names, addresses, phones)."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD


@pytest.fixture
def city(sqlite_db, sqlite_settings, live_server, tmp_path):
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset, get_dataset
    from shuzhi.ingest import ingest_source
    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        for code, name in (("GA", "市公安局"), ("RS", "市人力资源和社会保障局"), ("BDB", "市大数据管理局")):
            orgs.create_department(s, code=code, name_zh=name, name_en=f"Bureau {code}")
        for user, dept, role in (
            ("ga.steward", "GA", "steward"),
            ("rs.analyst", "RS", "analyst"),
            ("bdb.auditor", "BDB", "auditor"),
            ("bdb.admin", "BDB", "admin"),
        ):
            orgs.create_user(s, username=user, password=PASSWORD, department_code=dept, roles=[role])
        create_dataset(
            s,
            orgs.Principal.of(orgs.get_user(s, "ga.steward")),
            DatasetIn(
                identifier="GA-RK-001",
                title_zh="常住人口基本信息（含户籍地址、现住址与联系方式）",
                department="GA",
                theme="population",
            ),
        )
    src = tmp_path / "people.csv"
    rows = [
        f"11010119900307{i:03d}{'X' if i % 11 == 0 else i % 10},张{i}某,浙江省杭州市西湖区文三路{i}号某某小区{i}幢,1381234{i:04d}"
        for i in range(40)
    ]
    src.write_text("公民身份号码,姓名,现住址,联系电话\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with sqlite_db.transaction() as s:
        ingest_source(s, sqlite_settings, get_dataset(s, "GA-RK-001"), src, user_id=None)
    return live_server
