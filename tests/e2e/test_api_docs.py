"""The API documentation on a network without internet: ``flowrisk serve`` (real uvicorn on
127.0.0.1) opened in headless Chromium with every request to another host refused; Swagger UI
and ReDoc render every operation of the OpenAPI document from the package's own assets."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import TrainedWorld
from tests.e2e.live import flowrisk_serve, register_model, service_env

pytestmark = pytest.mark.slow

LOCAL = "127.0.0.1"


@pytest.fixture(scope="module")
def served(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of ``flowrisk serve`` over the session's model."""
    home = tmp_path_factory.mktemp("docs_home")
    register_model(trained_world, home)
    with flowrisk_serve(service_env(home), home / "server.log") as url:
        yield url


def _operations(url: str) -> list[tuple[str, str, str, str]]:
    """(method, path, summary, operation id) of every operation the live OpenAPI document
    lists."""
    with urllib.request.urlopen(f"{url}/openapi.json", timeout=30) as reply:
        document = json.load(reply)
    return [
        (method, path, operation["summary"], operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _air_gapped(page: Any) -> list[str]:
    """Refuse every request of ``page`` that leaves 127.0.0.1; the refused URLs, as they come."""
    refused: list[str] = []

    def handle(route: Any) -> None:
        where = urlsplit(route.request.url)
        if where.scheme in ("data", "blob") or where.hostname == LOCAL:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", handle)
    return refused


def test_swagger_ui_renders_every_operation_offline(served: str, page: Any, tmp_path: Path) -> None:
    operations = _operations(served)
    refused = _air_gapped(page)
    page.goto(f"{served}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    blocks = page.locator(".opblock")
    assert blocks.count() == len(operations)
    shown = page.inner_text("#swagger-ui")
    for method, path, _, _ in operations:
        assert page.locator(f".opblock-{method} [data-path='{path}']").count() == 1, path
    assert "flowrisk" in shown and "ScoreRequest" in shown  # the schemas section
    assert refused == []
    page.screenshot(path=str(tmp_path / "docs.png"))


def test_redoc_renders_every_operation_offline(served: str, page: Any, tmp_path: Path) -> None:
    operations = _operations(served)
    refused = _air_gapped(page)
    page.goto(f"{served}/redoc")
    page.wait_for_selector("[data-section-id*='operation/']", timeout=30_000)
    sections = page.eval_on_selector_all(
        "[data-section-id*='operation/']", "found => found.map(e => e.dataset.sectionId)"
    )
    assert {s.rsplit("/", 1)[-1] for s in sections} == {op[3] for op in operations}
    shown = page.inner_text("body")
    for _, path, summary, _ in operations:
        assert summary in shown and path in shown, path
    assert refused == []
    page.screenshot(path=str(tmp_path / "redoc.png"))


def test_the_pages_name_no_other_host(served: str) -> None:
    """The pages themselves load their script, stylesheet and icon from the service."""
    for page_path in ("/docs", "/redoc"):
        with urllib.request.urlopen(f"{served}{page_path}", timeout=30) as reply:
            html = reply.read().decode()
        assert "/docs/assets/" in html
        assert "http://" not in html and "https://" not in html, page_path
