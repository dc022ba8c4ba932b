"""The OpenAPI document as users read it in /docs and /redoc: every property and parameter has a
description and an example, every example is valid against its own schema, the composed
examples are valid documents (a request that scores, responses the models accept), and the
documentation pages load only the service's own assets."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from flowrisk.api import schemas
from flowrisk.api.docs import ASSETS
from flowrisk.api.schemas.fields import example_of
from tests.unit.api.conftest import Service

ROOT = "urn:flowrisk:openapi"


def _documented(node: dict[str, Any]) -> bool:
    examples = node.get("examples") or node.get("schema", {}).get("examples")
    return bool(node.get("description")) and ("example" in node or bool(examples))


def _step(key: object) -> str:
    """One step of a JSON pointer (RFC 6901: ``~`` and ``/`` escaped)."""
    return "/" + str(key).replace("~", "~0").replace("/", "~1")


def _fields(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema property and every parameter of the document, with its JSON pointer."""
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{where}/properties{_step(name)}", prop
        for i, parameter in enumerate(node.get("parameters") or []):
            yield f"{where}/parameters/{i}", parameter
        for key, value in node.items():
            yield from _fields(value, f"{where}{_step(key)}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _fields(value, f"{where}/{i}")


def first_undocumented(document: dict[str, Any]) -> str | None:
    """The pointer of the first property or parameter without a description or an example."""
    return next((w for w, node in _fields(document) if not _documented(node)), None)


@pytest.fixture(scope="module")
def document(service: Service) -> dict[str, Any]:
    reply = service.client.get("/openapi.json")
    assert reply.status_code == 200
    return dict(reply.json())


def test_every_field_has_a_description_and_an_example(document: dict[str, Any]) -> None:
    fields = list(_fields(document))
    assert len(fields) > 90  # the request and response models are all there
    missing = first_undocumented(document)
    assert missing is None, f"{missing} has no description or no example"


def test_the_walk_names_a_property_without_an_example(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    del broken["components"]["schemas"]["TransactionIn"]["properties"]["amount"]["examples"]
    assert first_undocumented(broken) == "#/components/schemas/TransactionIn/properties/amount"
    del broken["paths"]["/v1/entities/{entity_id}/score"]["get"]["parameters"][0]["description"]
    entity = "#/paths/~1v1~1entities~1{entity_id}~1score/get/parameters/0"
    assert first_undocumented(broken) == entity


def test_every_example_is_valid_against_its_schema(document: dict[str, Any]) -> None:
    registry = Registry().with_resource(ROOT, DRAFT202012.create_resource(document))
    checked = 0
    for where, node in _fields(document):
        schema = node.get("schema", node)
        for example in [*schema.get("examples", []), *node.get("examples", [])]:
            pointer = where.removeprefix("#")
            target = f"{pointer}/schema" if "schema" in node else pointer
            validator = Draft202012Validator({"$ref": f"{ROOT}#{target}"}, registry=registry)
            errors = [e.message for e in validator.iter_errors(example)]
            assert not errors, f"{where}: example {example!r}: {errors[0]}"
            checked += 1
    assert checked > 90


@pytest.mark.parametrize(
    "model",
    [
        schemas.ScoreRequest,
        schemas.BatchRequest,
        schemas.ScoreResponse,
        schemas.BatchResponse,
        schemas.Problem,
        schemas.ModelInfo,
        schemas.Health,
        schemas.Readiness,
    ],
)
def test_the_examples_compose_into_a_valid_document(model: type) -> None:
    model.model_validate(example_of(model))  # type: ignore[attr-defined]


def _without_nulls(value: Any) -> Any:
    """``value`` as FastAPI writes it into the OpenAPI document, which leaves out null members
    (an omitted ``src_account_id`` means null: cash paid in)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def test_the_documented_request_scores(service: Service, document: dict[str, Any]) -> None:
    body = document["paths"]["/v1/scores"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"] == _without_nulls(example_of(schemas.ScoreRequest))
    reply = service.client.post("/v1/scores", json=body["example"], headers=service.headers())
    assert reply.status_code == 200, reply.text
    assert reply.json()["entity_id"] == body["example"]["entity"]["entity_id"]
    batch = service.client.post(
        "/v1/scores:batch", json=example_of(schemas.BatchRequest), headers=service.headers()
    )
    assert batch.status_code == 200, batch.text


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_pages_load_the_service_assets_only(service: Service, path: str) -> None:
    page = service.client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "https://" not in page.text and "http://" not in page.text
    linked = [part.split('"')[0] for part in page.text.split('="/docs/assets/')[1:]]
    assert linked, "the page loads no asset"
    for name in linked:
        asset = service.client.get(f"/docs/assets/{name}")
        assert asset.status_code == 200 and asset.content == (ASSETS / name).read_bytes(), name


def test_the_assets_ship_with_their_licences() -> None:
    names = {p.name for p in ASSETS.iterdir()}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"} <= names
    assert {"swagger-ui.LICENSE", "swagger-ui.NOTICE", "redoc.LICENSE"} <= names
