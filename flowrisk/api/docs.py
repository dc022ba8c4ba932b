"""The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), built from assets
shipped in the package (``static/docs``: the npm releases of swagger-ui-dist and redoc, with
their licences) so that they work on a network without internet access: no CDN, no web fonts,
no validator badge."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "ASSETS_PATH", "install_docs"]

ASSETS = Path(__file__).parent / "static" / "docs"
ASSETS_PATH = "/docs/assets"
# Swagger UI's defaults, less the badge it would fetch from an online validator
SWAGGER_PARAMETERS = {"validatorUrl": None, "displayRequestDuration": True}


def _root(request: Request) -> str:
    """The path prefix the app is served under (behind a proxy), empty by default."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def install_docs(app: FastAPI) -> None:
    """Serve the documentation pages and their assets on ``app`` (built with ``docs_url=None``
    and ``redoc_url=None``, so that FastAPI's CDN pages are not there as well)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs-assets")
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=title,
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=title,
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            with_google_fonts=False,
        )
