"""The API documentation on a network without internet: ``flowrisk serve`` (real uvicorn on
127.0.0.1) opened in headless Chromium with every request to another host refused; Swagger UI
and ReDoc render every operation of the OpenAPI document from the package's own assets."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import TrainedWorld
from tests.e2e.live import create_key, flowrisk_serve, register_model, service_env
from tests.servers import BIN

pytestmark = pytest.mark.slow

LOCAL = "127.0.0.1"


@dataclass
class Served:
    url: str
    analyst: str


@pytest.fixture(scope="module")
def served(
    trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """``flowrisk serve`` over the session's model and dataset, and an analyst's key."""
    home = tmp_path_factory.mktemp("docs_home")
    register_model(trained_world, home)
    env = service_env(home)
    analyst = create_key(env, "analyst")
    with flowrisk_serve(env, home / "server.log", "--dataset", str(trained_world.folder)) as url:
        yield Served(url, analyst)


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


def test_swagger_ui_renders_every_operation_offline(
    served: Served, page: Any, tmp_path: Path
) -> None:
    operations = _operations(served.url)
    refused = _air_gapped(page)
    page.goto(f"{served.url}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    blocks = page.locator(".opblock")
    assert blocks.count() == len(operations)
    shown = page.inner_text("#swagger-ui")
    for method, path, _, _ in operations:
        assert page.locator(f".opblock-{method} [data-path='{path}']").count() == 1, path
    assert "flowrisk" in shown and "ScoreRequest" in shown  # the schemas section
    page.click(".opblock-post [data-path='/v1/scores']")  # open it: the documented example
    body = page.wait_for_selector(".opblock.is-open .body-param__example", timeout=30_000)
    assert '"entity_id": "EX-P1"' in body.inner_text()
    assert refused == []
    page.screenshot(path=str(tmp_path / "docs.png"), full_page=True)


def test_redoc_renders_every_operation_offline(served: Served, page: Any, tmp_path: Path) -> None:
    operations = _operations(served.url)
    refused = _air_gapped(page)
    page.goto(f"{served.url}/redoc")
    page.wait_for_selector("[data-section-id*='operation/']", timeout=30_000)
    sections = page.eval_on_selector_all(
        "[data-section-id*='operation/']", "found => found.map(e => e.dataset.sectionId)"
    )
    assert {s.rsplit("/", 1)[-1] for s in sections} == {op[3] for op in operations}
    shown = page.inner_text("body")
    for _, path, summary, _ in operations:
        assert summary in shown and path in shown, path
    assert "Score as of this instant" in shown and '"entity_id": "EX-P1"' in shown
    assert refused == []
    page.screenshot(path=str(tmp_path / "redoc.png"), full_page=True)


def test_the_pages_name_no_other_host(served: Served) -> None:
    """The pages themselves load their script, stylesheet and icon from the service."""
    for page_path in ("/docs", "/redoc"):
        with urllib.request.urlopen(f"{served.url}{page_path}", timeout=30) as reply:
            html = reply.read().decode()
        assert "/docs/assets/" in html
        assert "http://" not in html and "https://" not in html, page_path


def test_the_documented_examples_are_accepted(served: Served, tmp_path: Path) -> None:
    """schemathesis sends the examples of the OpenAPI document, and only them, to every
    scoring operation: each must be accepted (2xx) and answered as documented. Run in a
    temporary folder: schemathesis keeps its cache in the working directory."""
    run = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            f"{served.url}/openapi.json",
            "--phases",
            "examples",
            "--header",
            f"X-API-Key: {served.analyst}",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_schema_conformance,positive_data_acceptance",
            "--include-path-regex",
            "^/v1/(scores|entities)",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    print(run.stdout[-3000:])
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Tested: 3" in run.stdout, run.stdout[-2000:]  # both score routes and the lookup
