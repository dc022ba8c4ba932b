"""A broken model version never serves: through a real `flowrisk serve` (uvicorn) over a real
MLflow SQLite registry, the champion alias is pointed at versions that load but would fail
every request (a NaN calibration, an unknown feature) or cannot be loaded at all (a truncated
booster file); each reload answers a 503 problem document naming the reason and the version
still serving, and scores keep coming from that version. A good version then swaps in, and a
service asked to start on a broken version refuses to start, with one clear error line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from tests.conftest import TrainedWorld
from tests.e2e.live import create_key, flowrisk_serve, service_env
from tests.e2e.test_service import _request
from tests.servers import free_port, run_cli
from tests.unit.api.payloads import payload_for

pytestmark = pytest.mark.slow
PURPOSE = "case 2026-001"


@dataclass
class Live:
    url: str
    env: dict[str, str]
    admin: str
    analyst: str
    home: Path
    versions: dict[str, str]  # what each registered version is -> its number


def _register(registry: Any, model: Any, baselines: Any, example: Any) -> str:
    import mlflow

    with registry.start_run("flowrisk"):
        mlflow.log_metric("flowrisk.pr_auc", 0.9)
        return str(registry.log_model(model, baselines, example))


def _truncate_booster(registry: Any, version: str) -> None:
    """Cut the registered version's booster file in half, where the registry keeps it."""
    from flowrisk.models.registry import MODEL_NAME

    location = registry.client.get_model_version_download_uri(MODEL_NAME, version)
    booster = Path(unquote(urlparse(location).path)) / "artifacts" / "bundle" / "booster.txt"
    text = booster.read_bytes()
    booster.write_bytes(text[: len(text) // 2])


@pytest.fixture(scope="module")
def live(trained_world: TrainedWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from flowrisk.models.registry import Registry

    t = trained_world
    home = tmp_path_factory.mktemp("reload_home")
    registry = Registry(f"sqlite:///{home / 'mlflow.db'}", home / "mlartifacts")
    example = t.split.test.to_pandas()
    model = t.model
    nan = replace(model, calibration_y=np.full_like(model.calibration_y, np.nan))
    unknown = replace(model, features=[*model.features[:-1], "x"])
    versions = {
        "good": _register(registry, model, t.baselines, example),
        "nan calibration": _register(registry, nan, t.baselines, example),
        "unknown feature": _register(
            registry, unknown, t.baselines, example.assign(x=example[model.features[-1]])
        ),
        "truncated booster": _register(registry, model, t.baselines, example),
        "good again": _register(registry, model, t.baselines, example),
    }
    loaded = registry.load_bundle(f"models:/flowrisk/{versions['good']}")
    assert loaded.sample is not None and loaded.sample.height > 0  # log_model bundles a sample
    _truncate_booster(registry, versions["truncated booster"])
    registry.set_alias(versions["good"])
    env = service_env(home)
    keys = {role: create_key(env, role) for role in ("analyst", "admin")}
    with flowrisk_serve(env, home / "server.log") as url:
        yield Live(url, env, keys["admin"], keys["analyst"], home, versions)


def _score(live: Live, payload: dict[str, Any]) -> tuple[int, Any]:
    headers = {"X-API-Key": live.analyst, "X-Purpose": PURPOSE}
    return _request(f"{live.url}/v1/scores", "POST", headers, payload)


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ("nan calibration", "calibration gives NaN"),
        ("unknown feature", "unknown feature 'x' in the model"),
        ("truncated booster", "cannot be loaded"),
    ],
)
def test_a_broken_champion_is_refused_and_the_old_version_keeps_scoring(
    live: Live, trained_world: TrainedWorld, broken: str, reason: str
) -> None:
    from flowrisk.models.registry import Registry

    t = trained_world
    payload = payload_for(t.frames, t.labels["entity_id"][4], t.as_of)
    good = live.versions["good"]
    Registry(f"sqlite:///{live.home / 'mlflow.db'}").set_alias(live.versions[broken])
    admin = {"X-API-Key": live.admin}
    status, problem = _request(f"{live.url}/v1/model/reload", "POST", admin)
    assert status == 503, problem
    assert problem["title"] == "Reload refused" and problem["status"] == 503
    assert reason in problem["detail"] and f"still serving version {good}" in problem["detail"]
    status, info = _request(f"{live.url}/v1/model", headers=admin)
    assert status == 200 and info["version"] == good
    status, scored = _score(live, payload)
    assert status == 200, scored
    assert scored["model_version"] == good and 0 <= scored["probability"] <= 1


def test_a_good_champion_swaps_in(live: Live, trained_world: TrainedWorld) -> None:
    from flowrisk.models.registry import Registry

    t = trained_world
    payload = payload_for(t.frames, t.labels["entity_id"][4], t.as_of)
    fresh = live.versions["good again"]
    Registry(f"sqlite:///{live.home / 'mlflow.db'}").set_alias(fresh)
    status, info = _request(f"{live.url}/v1/model/reload", "POST", {"X-API-Key": live.admin})
    assert status == 200 and info["version"] == fresh
    status, scored = _score(live, payload)
    assert status == 200 and scored["model_version"] == fresh


def test_a_service_on_a_broken_version_does_not_start(live: Live) -> None:
    broken = live.versions["nan calibration"]
    port = free_port()
    started = run_cli(
        live.env, "serve", "--port", str(port), "--model", f"models:/flowrisk/{broken}"
    )
    assert started.returncode == 1, started.stdout + started.stderr
    said = started.stdout + started.stderr
    assert f"version {broken} of models:/flowrisk/{broken} is refused" in said
    assert "calibration gives NaN" in said and "Traceback" not in said
