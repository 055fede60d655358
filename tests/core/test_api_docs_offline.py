"""The API documentation page works on a network with no way out: every asset it names is ours."""

from __future__ import annotations

import re


def test_the_api_docs_load_nothing_from_elsewhere(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    urls = re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
    assert assets and urls, page.text
    for ref in assets + urls:
        assert ref.startswith("/"), f"{ref} is fetched from another host"
        fetched = client.get(ref)
        assert fetched.status_code == 200 and fetched.content, ref
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", page.text)


def test_every_page_links_to_the_api_docs(client):
    assert 'href="/api/v1/docs"' in client.get("/login").text
