"""The interactive API documentation, served with its scripts from this server: nothing from a CDN."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/api/v1/docs"
ASSETS_PATH = "/api/v1/docs-assets"


def mount_api_docs(app: FastAPI) -> None:
    """Swagger UI at DOCS_PATH; its script and style ship in the fastapi-offline package."""
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS_PATH, StaticFiles(directory=str(assets)), name="api-docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    def api_docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
        )
