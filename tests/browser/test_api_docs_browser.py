"""The API documentation renders in Chromium with every request to another host refused, as on an
isolated government network: Swagger UI's scripts and styles come from the server itself."""

from tests.conftest import BROWSER

pytestmark = BROWSER


def test_api_docs_render_with_the_network_blocked(live_server, page, tmp_path):
    elsewhere: list[str] = []

    def only_loopback(route):
        url = route.request.url
        if url.startswith(live_server):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.route("**/*", only_loopback)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(live_server + "/login")
    page.click('a[href="/api/v1/docs"]')
    page.wait_for_url("**/api/v1/docs")
    # Swagger UI draws the operations from the OpenAPI document it fetched from the server
    page.wait_for_selector(".opblock-tag", timeout=15_000)
    tags = page.inner_text(".swagger-ui")
    assert "catalog" in tags and "exchange" in tags
    assert page.locator(".opblock").count() > 20
    page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=False)
    assert elsewhere == [] and failed == []
