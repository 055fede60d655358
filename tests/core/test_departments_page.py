"""The departments index: every department once, as a tree under its parent, with how many datasets
each has registered and a link to them in the catalog; English names in English."""

from __future__ import annotations

import re

from tests.conftest import login

from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset
from shuzhi.orgs import service as orgs


def test_the_tree_with_counts_in_both_languages(client, db, make_user):
    make_user("viewer", dept="HZ-DATA", roles=("analyst",))
    with db.transaction() as s:
        orgs.create_department(
            s, code="ZJ-PSB", name_zh="浙江省公安厅", name_en="Zhejiang PSD", level="province"
        )
        orgs.create_department(
            s,
            code="HZ-PSB",
            name_zh="杭州市公安局",
            name_en="Hangzhou PSB",
            level="city",
            parent_code="ZJ-PSB",
        )
        orgs.create_department(
            s, code="HZ-XH-PSB", name_zh="西湖分局", level="district", parent_code="HZ-PSB"
        )
        steward = orgs.Principal.of(
            orgs.create_user(
                s,
                username="psb.steward",
                password="Pass-word-2026!",
                department_code="HZ-PSB",
                roles=["steward"],
            )
        )
        for ident in ("hz-a", "hz-b"):
            create_dataset(
                s,
                steward,
                DatasetIn(identifier=ident, title_zh=ident, department="HZ-PSB", theme="population"),
            )
    login(client, "viewer", next="/departments")
    html = client.get("/departments").text
    # nested: the district inside the city inside the province
    province = html.index('id="dept-ZJ-PSB"')
    city = html.index('id="dept-HZ-PSB"')
    district = html.index('id="dept-HZ-XH-PSB"')
    assert province < city < district
    assert html.count('id="dept-HZ-PSB"') == 1
    assert re.search(r'href="/catalog\?department=HZ-PSB"[^>]*>2 个数据集', html)
    english = client.get("/departments", params={"lang": "en"}).text
    assert (
        "Hangzhou PSB" in english and "2 datasets" in english and "西湖分局" in english
    )  # no English name: Chinese
    catalog = client.get("/catalog").text
    assert 'href="/departments"' in catalog


def test_it_needs_a_login(client):
    r = client.get("/departments", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
