"""The scoring service in process (TestClient): parity with batch scoring, keys and roles,
an audit row for every scoring request, limits, reload, problem documents and metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from flowrisk.errors import ModelNotFound
from flowrisk.io import write_table
from flowrisk.models.batch import score_dataset
from tests.bands import assert_bands_follow_scores
from tests.conftest import TrainedWorld
from tests.unit.api.conftest import Service
from tests.unit.api.payloads import payload_for


@pytest.fixture(scope="module")
def batch(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    t = trained_world
    out = tmp_path_factory.mktemp("batch")
    score_dataset(t.folder, t.model, t.baselines, out, as_of=t.as_of, explain_mode="none")
    return pl.read_parquet(out / "scores.parquet")


def _audit_count(service: Service) -> int:
    return len(list(service.store.audit_rows()))


def test_entity_lookup_equals_the_batch_score(service: Service, batch: pl.DataFrame) -> None:
    picks = pl.concat(
        [batch.filter(pl.col("band") == b).head(3) for b in ("low", "medium", "high", "critical")]
    )
    for row in picks.iter_rows(named=True):
        r = service.client.get(f"/v1/entities/{row['entity_id']}/score", headers=service.headers())
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["probability"] == row["probability"] and body["band"] == row["band"]
        assert body["model_version"] == "1" and body["reasons"]


def test_the_bands_the_api_returns_follow_its_scores(service: Service, batch: pl.DataFrame) -> None:
    """Entities of every band and the riskiest: sorted by the score the API returns, the band
    it returns never steps down; the schema's bounds hold (a probability never 0 or 1)."""
    ranked = batch.sort("score", descending=True)
    picks = pl.concat(
        [ranked.head(4), *(batch.filter(pl.col("band") == b).head(2) for b in ("low", "medium"))]
    )
    shown = []
    for entity in picks["entity_id"]:
        r = service.client.get(f"/v1/entities/{entity}/score", headers=service.headers())
        assert r.status_code == 200, r.text
        body = r.json()
        assert 0 < body["probability"] < 1
        shown.append((body["score"], body["band"]))
    assert_bands_follow_scores(shown)


def test_payload_score_equals_the_batch_score_on_the_same_data(
    service: Service, trained_world: TrainedWorld, tmp_path: Path
) -> None:
    t = trained_world
    entity = batch_entity = t.labels.filter(pl.col("label") == 1).sort("entity_id")["entity_id"][0]
    payload = payload_for(t.frames, batch_entity, t.as_of)
    r = service.client.post("/v1/scores", json=payload, headers=service.headers())
    assert r.status_code == 200, r.text
    # the same payload written as a dataset and batch-scored
    from flowrisk.api.schemas import ScoreRequest
    from flowrisk.api.service import payload_frames

    frames = payload_frames(ScoreRequest.model_validate(payload))
    for name, frame in frames.items():
        write_table(frame.collect(), tmp_path, name)
    score_dataset(
        tmp_path, t.model, t.baselines, tmp_path / "out", as_of=t.as_of, explain_mode="all"
    )
    scores = pl.read_parquet(tmp_path / "out" / "scores.parquet")
    explained = pl.read_parquet(tmp_path / "out" / "explanations.parquet")
    assert r.json()["probability"] == scores.filter(pl.col("entity_id") == entity)["probability"][0]
    api_reasons = [x["feature"] for x in r.json()["reasons"]]
    assert api_reasons == [x["feature"] for x in explained["reasons"][0]]
    bare = service.client.post("/v1/scores?explain=false", json=payload, headers=service.headers())
    assert bare.status_code == 200 and bare.json()["reasons"] is None
    assert bare.json()["probability"] == r.json()["probability"]


def test_keys_and_roles(service: Service) -> None:
    url = "/v1/entities/E00000001/score"
    none = service.client.get(url, headers={"X-Purpose": "x"})
    assert none.status_code == 401 and none.headers["content-type"] == "application/problem+json"
    assert none.headers["www-authenticate"] == "APIKey"
    bad = service.client.get(url, headers={"X-API-Key": "frk_00000000_nope", "X-Purpose": "x"})
    assert bad.status_code == 401
    assert service.client.post("/v1/model/reload", headers=service.headers()).status_code == 403
    key_id, key = service.store.create_key("analyst")
    assert service.client.get(url, headers=service.headers(key)).status_code == 200
    assert service.store.revoke_key(key_id)
    assert service.client.get(url, headers=service.headers(key)).status_code == 401
    with pytest.raises(ValueError, match="role"):
        service.store.create_key("root")
    hashes = [
        r
        for r in service.store.engine.connect()
        .exec_driver_sql("SELECT key_hash FROM api_keys")
        .scalars()
    ]
    assert key.split("_")[-1] not in hashes  # only hashes are stored


LOOKUPS = ("/v1/scores", "/v1/entities/")


def test_every_scoring_request_leaves_an_audit_row(
    service: Service, trained_world: TrainedWorld
) -> None:
    t = trained_world
    entity = t.labels["entity_id"][5]
    payload = payload_for(t.frames, entity, t.as_of)
    other = payload_for(t.frames, t.labels["entity_id"][6], t.as_of)
    requests = [
        ("get", f"/v1/entities/{entity}/score", service.headers(), None, 200, 1),
        ("get", f"/v1/entities/{entity}/score", service.headers(purpose=None), None, 400, 1),
        ("get", f"/v1/entities/{entity}/score", {"X-Purpose": "x"}, None, 401, 1),
        ("get", "/v1/entities/NOBODY/score", service.headers(), None, 404, 1),
        ("post", "/v1/scores", service.headers(), payload, 200, 1),
        ("post", "/v1/scores", service.headers(), {"as_of": 1}, 422, 1),
        ("post", "/v1/scores:batch", service.headers(), {"items": [other, payload]}, 200, 2),
        ("post", "/v1/scores:batch", service.headers(), {"items": [payload] * 6}, 413, 1),
        ("get", "/v1/model", service.headers(), None, 200, 0),  # not a lookup
    ]
    for method, url, headers, body, status, rows in requests:
        before = _audit_count(service)
        r = service.client.request(method.upper(), url, headers=headers, json=body)
        assert r.status_code == status, (url, r.text)
        new = list(service.store.audit_rows())[before:]
        assert len(new) == rows, (url, new)
        for row in new:
            assert row["status"] == status and len(row["request_hash"]) == 64
            if status == 200:
                assert row["entity_id"] in (entity, other["entity"]["entity_id"])
                assert row["band"] and row["model_version"] == "1"
                assert row["key_id"] is not None
    # the trail also holds key creations and reloads (no purpose): the first lookup's row
    last = [r for r in service.store.audit_rows() if r["route"].startswith(LOOKUPS)]
    assert last[0]["purpose"] == "case 2026-001"
    import sqlalchemy as sa

    with (
        pytest.raises(sa.exc.DatabaseError, match="append-only"),
        service.store.engine.begin() as c,
    ):
        c.exec_driver_sql("UPDATE audit SET entity_id = 'someone else'")
    with (
        pytest.raises(sa.exc.DatabaseError, match="append-only"),
        service.store.engine.begin() as c,
    ):
        c.exec_driver_sql("DELETE FROM audit")


def test_limits_give_413_problems(service: Service, trained_world: TrainedWorld) -> None:
    t = trained_world
    payload = payload_for(t.frames, t.labels["entity_id"][7], t.as_of)
    many = dict(payload)
    base = payload["transactions"][0]
    many["transactions"] = [{**base, "txn_id": 10**9 + i} for i in range(3_001)]
    r = service.client.post("/v1/scores", json=many, headers=service.headers())
    assert r.status_code == 413 and r.json()["errors"][0]["field"] == "transactions"
    huge = service.client.post(
        "/v1/scores",
        content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
        headers={**service.headers(), "content-type": "application/json"},
    )
    assert huge.status_code == 413 and "bytes" in huge.json()["detail"]


def test_reload_keeps_the_old_model_when_the_new_one_fails(service: Service) -> None:
    admin = service.headers(service.admin)
    service.versions.append(ModelNotFound("models:/flowrisk@champion: no such model"))
    failed = service.client.post("/v1/model/reload", headers=admin)
    assert failed.status_code == 503 and "still serving version 1" in failed.json()["detail"]
    assert service.client.get("/v1/model", headers=admin).json()["version"] == "1"
    fresh = service.holder.current.bundle
    from dataclasses import replace

    service.versions.append(replace(fresh, version="2"))
    ok = service.client.post("/v1/model/reload", headers=admin)
    assert ok.status_code == 200 and ok.json()["version"] == "2"
    assert 'flowrisk_model_info{version="2"} 1.0' in service.client.get("/metrics").text
    service.versions.append(replace(fresh, version="1"))
    assert service.client.post("/v1/model/reload", headers=admin).json()["version"] == "1"


def test_operations_routes(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    assert service.client.get("/readyz").json()["status"] == "ready"
    service.client.get("/v1/entities/E00000001/score", headers=service.headers())
    text = service.client.get("/metrics").text
    assert 'flowrisk_requests_total{method="GET",route="/v1/entities/{entity_id}/score"' in text
    assert "flowrisk_request_seconds_bucket" in text and "flowrisk_scores_total{band=" in text
    spec = service.client.get("/openapi.json").json()
    for path, codes in {
        "/v1/scores": {"401", "403", "413", "422"},
        "/v1/entities/{entity_id}/score": {"400", "401", "404"},
    }.items():
        ops = spec["paths"][path]
        documented = set(next(iter(ops.values()))["responses"])
        assert codes <= documented, (path, documented)


def test_the_scoring_body_is_documented_and_every_reference_resolves(service: Service) -> None:
    """``/v1/scores`` parses its body itself (pydantic-core JSON): its OpenAPI request body
    must still point at the ScoreRequest schema, and no reference may dangle."""
    spec = service.client.get("/openapi.json").json()
    body = spec["paths"]["/v1/scores"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScoreRequest"
    }
    text = json.dumps(spec)
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', text)):
        assert ref in spec["components"]["schemas"], ref


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (b'{"as_of": "2026-01-01T00:00:00Z"}', "entity"),
    ],
)
def test_malformed_bodies_get_a_422_problem(service: Service, body: bytes, field: str) -> None:
    before = _audit_count(service)
    r = service.client.post(
        "/v1/scores",
        content=body,
        headers={**service.headers(), "content-type": "application/json"},
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == field
    assert _audit_count(service) == before + 1


def test_the_entity_route_explains_as_flowrisk_explain_does(
    service: Service, trained_world: TrainedWorld
) -> None:
    """The API's entity lookup (its neighbourhood, the request engine) and the one-entity
    service of the CLI and the case report (the whole dataset) give the same explanation."""
    from flowrisk.errors import EntityNotFound
    from flowrisk.io import read_dataset
    from flowrisk.models.scoring import explain_entity

    t = trained_world
    frames = read_dataset(t.folder)
    for entity in t.labels.filter(pl.col("label") == 1).sort("entity_id")["entity_id"][:3]:
        row = explain_entity(frames, entity, t.as_of, t.model, t.baselines)
        r = service.client.get(f"/v1/entities/{entity}/score", headers=service.headers())
        body = r.json()
        assert body["probability"] == row["probability"] and body["band"] == str(row["band"])
        assert body["tags"] == row["tags"] and body["reasons"]
        for part in ("reasons", "red_flags"):
            assert body[part] == json.loads(json.dumps(row[part], default=str)), part
    with pytest.raises(EntityNotFound, match=r"^NOBODY: no such entity$"):
        explain_entity(frames, "NOBODY", t.as_of, t.model, t.baselines)


@pytest.mark.parametrize("entity", ["%00", "E0000%000001", "E%01", "E%7F"])
def test_an_entity_id_with_a_control_character_is_refused_before_scoring(
    service: Service, entity: str
) -> None:
    """A NUL or another control character in a path id is a 422 naming it; the refusal is
    audited like any other (the store keeps the text safe)."""
    before = _audit_count(service)
    r = service.client.get(f"/v1/entities/{entity}/score", headers=service.headers())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.entity_id"
    rows = list(service.store.audit_rows())[before:]
    assert [row["status"] for row in rows] == [422]
