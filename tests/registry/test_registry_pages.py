"""Registry pages: search, an enterprise's profile with the source and date of every section, a
person's profile masked by grant and refused alike for the unknown and the unreadable; both languages."""

from __future__ import annotations

import re

import pytest
from tests.conftest import login
from tests.registry.profile_world import build


@pytest.fixture
def world(db, settings, make_user):
    return build(db, settings, make_user)


def _sections(html: str) -> dict[str, str]:
    return dict(
        re.findall(
            r'<section class="card registry-section" id="source-([^"]+)".*?>(.*?)</section>', html, re.S
        )
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_enterprise_profile_page_shows_each_source_with_version_and_date(client, world, lang):
    login(client, "sc_analyst")
    r = client.get(f"/registry/enterprises/{world.firm}?lang={lang}")
    assert r.status_code == 200, r.text
    assert f'<html lang="{lang}' in r.text[:300] and "杭州数治科技有限公司" in r.text
    sections = _sections(r.text)
    assert list(sections) == ["samr_firms", "tax_credit"]
    for name, html in sections.items():
        source = re.search(r'<p class="muted source">(.*?)</p>', html, re.S).group(1)
        assert f"<code>{name}</code>" in source and re.search(r"\d{4}-\d{2}-\d{2}", source)
    assert "纳税信用等级" in sections["tax_credit"] and "<td>A</td>" in sections["tax_credit"]
    assert re.search(r'data-attribute="legal_rep"><td>(Legal representative|法定代表人)</td>', r.text)
    assert (
        re.search(r"<td>(most frequent|出现最多)</td>", r.text) and "most_frequent" not in r.text
    )  # in words


def test_the_search_page_finds_by_pinyin_and_links_to_the_profile(client, world):
    login(client, "sc_analyst")
    page = client.get("/registry/enterprises/search?q=shuzhi&lang=en").text
    assert f'href="/registry/enterprises/{world.firm}"' in page and "E-00000002" not in page
    empty = client.get("/registry/enterprises/search?q=无此企业").text
    assert 'id="registry-no-hits"' in empty
    assert client.get("/registry/persons/search?q=王明").text.count("/registry/persons/P-") == 0
    login(client, "psb_analyst")
    assert f'href="/registry/persons/{world.person}"' in client.get("/registry/persons/search?q=王明").text


def test_a_person_page_shows_the_readers_own_source_and_refuses_others_alike(client, world):
    login(client, "psb_analyst")
    page = client.get(f"/registry/persons/{world.person}?lang=zh")
    assert page.status_code == 200 and list(_sections(page.text)) == ["psb_people"]
    login(client, "sc_analyst")
    known = client.get(f"/registry/persons/{world.person}")
    unknown = client.get("/registry/persons/P-07777777")
    assert known.status_code == unknown.status_code == 404
    assert "王明" not in known.text and "psb_people" not in known.text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_index_lists_each_registry_with_its_entries_and_the_header_links_to_it(client, world, lang):
    login(client, "sc_analyst")
    page = client.get(f"/registry?lang={lang}")
    assert page.status_code == 200
    rows = dict(re.findall(r'<tr id="registry-([^"]+)">(.*?)</tr>', page.text, re.S))
    assert set(rows) == {"persons", "enterprises"}
    assert "<td>2</td>" in rows["persons"] and "<td>2</td>" in rows["enterprises"]  # active entries
    assert ("尚未构建" if lang == "zh" else "not built yet") in rows["persons"]
    assert 'action="/registry/enterprises/search"' in rows["enterprises"]
    header = page.text.split("</nav>")[0]
    assert 'href="/registry" id="nav-registries"' in header
