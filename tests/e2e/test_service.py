"""The service as operators run it: `flowrisk serve` (uvicorn) in a subprocess on 127.0.0.1,
with a model registered in a real MLflow SQLite store and keys created by `flowrisk keys`;
then scoring, a model reload, the audit trail read back, and a schemathesis run against the
live OpenAPI document."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TrainedWorld
from tests.e2e.live import create_key, flowrisk_serve, service_env
from tests.servers import BIN, run_cli
from tests.unit.api.payloads import payload_for

pytestmark = pytest.mark.slow


@dataclass
class Live:
    url: str
    env: dict[str, str]
    analyst: str
    admin: str
    home: Path


def _request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, body: Any = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"content-type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture(scope="module")
def live(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    import mlflow

    from flowrisk.models.registry import Registry

    t = trained_world
    home = tmp_path_factory.mktemp("service_home")
    registry = Registry(f"sqlite:///{home / 'mlflow.db'}", home / "mlartifacts")
    for _ in range(2):  # versions 1 and 2, champion -> 1
        with registry.start_run("flowrisk"):
            mlflow.log_metric("flowrisk.pr_auc", 0.9)
            version = registry.log_model(t.model, t.baselines, t.split.test.to_pandas())
    registry.set_alias("1")
    env = service_env(home)
    keys = {role: create_key(env, role) for role in ("analyst", "admin")}
    with flowrisk_serve(env, home / "server.log", "--dataset", str(t.folder)) as url:
        assert version == "2"
        yield Live(url, env, keys["analyst"], keys["admin"], home)


def test_score_reload_and_read_the_audit_trail(live: Live, trained_world: TrainedWorld) -> None:
    t = trained_world
    entity = t.labels.filter(t.labels["label"] == 1)["entity_id"][0]
    analyst = {"X-API-Key": live.analyst, "X-Purpose": "case E2E-7"}
    status, body = _request(f"{live.url}/v1/entities/{entity}/score", headers=analyst)
    assert status == 200 and body["model_version"] == "1" and body["reasons"]
    status, posted = _request(
        f"{live.url}/v1/scores", "POST", analyst, payload_for(t.frames, entity, t.as_of)
    )
    assert status == 200 and posted["entity_id"] == entity
    assert _request(f"{live.url}/v1/model/reload", "POST", analyst)[0] == 403
    from flowrisk.models.registry import Registry

    Registry(f"sqlite:///{live.home / 'mlflow.db'}").set_alias("2")
    status, info = _request(f"{live.url}/v1/model/reload", "POST", {"X-API-Key": live.admin})
    assert status == 200 and info["version"] == "2" and info["heldout_metrics"]["pr_auc"] == 0.9
    status, again = _request(f"{live.url}/v1/entities/{entity}/score", headers=analyst)
    assert status == 200 and again["model_version"] == "2"
    assert (
        _request(f"{live.url}/v1/entities/{entity}/score", headers={"X-API-Key": live.analyst})[0]
        == 400
    )
    out = live.home / "audit.csv"
    exported = run_cli(live.env, "audit", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    lines = out.read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]
    mine = [r for r in rows if r["entity_id"] == entity]
    assert [r["status"] for r in mine] == ["200", "200", "200", "400"]
    assert [r["model_version"] for r in mine[:3]] == ["1", "1", "2"]
    assert all(r["purpose"] == "case E2E-7" for r in mine[:3])
    metrics = urllib.request.urlopen(f"{live.url}/metrics", timeout=10).read().decode()
    assert 'flowrisk_model_info{version="2"} 1.0' in metrics


def test_schemathesis_finds_no_server_error_or_undocumented_response(
    live: Live, tmp_path: Path
) -> None:
    """Generated requests (valid and invalid) against every operation of the live service
    (run in a temporary folder: schemathesis keeps its cache in the working directory)."""
    run = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            f"{live.url}/openapi.json",
            "--header",
            f"X-API-Key: {live.admin}",
            "--header",
            "X-Purpose: schemathesis",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_schema_conformance",
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--exclude-path",
            "/v1/model/reload",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=tmp_path,
    )
    print(run.stdout[-3000:])
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def _raw_get(url: str, path: str, headers: list[tuple[str, str]]) -> tuple[int, Any]:
    """A GET with headers sent exactly as listed (repeats included), as a client could."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        conn.putrequest("GET", path)
        for name, value in headers:
            conn.putheader(name, value.encode("utf-8"))
        conn.endheaders()
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read() or b"null")
    finally:
        conn.close()


def test_purposes_the_server_refuses(live: Live, trained_world: TrainedWorld) -> None:
    """Through uvicorn: two purposes, an empty second one, a zero-width space and a too short
    purpose are 400 problems naming X-Purpose, and each is audited with no purpose stored."""
    labels = trained_world.labels  # an honest entity: the other test looks up a guilty one
    entity = str(labels.filter(labels["label"] == 0)["entity_id"][0])
    key = ("X-API-Key", live.analyst)
    path = f"/v1/entities/{entity}/score?explain=false"
    for purposes in (
        [("X-Purpose", "case 1"), ("X-Purpose", "case 2")],
        [("X-Purpose", "case 1"), ("X-Purpose", "")],
        [("X-Purpose", "\u200b")],
        [("X-Purpose", " ab ")],
    ):
        status, body = _raw_get(live.url, path, [key, *purposes])
        assert status == 400 and body["errors"][0]["field"] == "X-Purpose", (purposes, body)
        assert "score" not in body
    from flowrisk.audit import Store

    rows = [r for r in Store(f"sqlite:///{live.home / 'audit.db'}").audit_rows()]
    refused = [r for r in rows if r["entity_id"] == entity]
    assert [(r["status"], r["purpose"]) for r in refused] == [(400, None)] * 4
