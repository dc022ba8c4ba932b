"""The registry: through a real MLflow SQLite store (logged as a pyfunc, registered, promoted by
alias, loaded back with the scorer's own probabilities, artifacts under the artifact root, the
environment untouched) and through the in-memory fake client (promotion policy, listing,
comparison, arguments checked before the store is touched)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from flowrisk.config import Settings
from flowrisk.errors import ConfigError, InvalidParameter, ModelNotFound
from flowrisk.features import Baselines
from flowrisk.models import RiskModel, Split
from flowrisk.models.registry import Registry, model_uri
from flowrisk.models.registry_fake import FakeMlflowClient
from tests.conftest import TrainedWorld


@pytest.fixture(scope="module")
def trained(trained_world: TrainedWorld) -> tuple[RiskModel, Baselines, Split]:
    return trained_world.model, trained_world.baselines, trained_world.split


def _inverted(model: RiskModel) -> RiskModel:
    """The same booster with its calibration reversed (knots and bounds): it ranks the
    riskiest last."""
    floor, ceiling = model.calibration_bounds
    return replace(
        model,
        calibration_y=model.calibration_y[::-1].copy(),
        calibration_bounds=(ceiling, floor),
    )


def test_log_register_promote_load_through_sqlite(
    trained: tuple[RiskModel, Baselines, Split], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from tests.servers import tracking_uri

    model, baselines, split = trained
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # nothing may land in ./mlruns of the current folder
    environment, global_uri = dict(os.environ), mlflow.get_tracking_uri()
    registry = Registry(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "art")
    with registry.start_run("flowrisk-test") as run_id:
        version = registry.log_model(model, baselines, split.test.to_pandas())
    assert version == "1" and run_id
    assert not registry.has_champion()
    with pytest.raises(ModelNotFound, match="alias 'champion' does not exist"):
        registry.load_model()
    registry.set_alias(version)
    assert registry.has_champion()
    assert dict(os.environ) == environment and mlflow.get_tracking_uri() == global_uri
    assert any((tmp_path / "art").rglob("booster.txt")) and list(cwd.iterdir()) == []

    expected = model.predict(split.test)
    with tracking_uri(registry.tracking_uri):
        pyfunc = mlflow.pyfunc.load_model(model_uri())
    got = np.asarray(pyfunc.predict(split.test.select(model.features).to_pandas()))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert ((got >= 0) & (got <= 1)).all()
    bundle = registry.load_bundle()
    assert bundle.version == "1" and bundle.uri == model_uri()
    np.testing.assert_allclose(bundle.model.predict(split.test), expected, atol=1e-12)
    assert bundle.model.thresholds == model.thresholds
    assert bundle.baselines.to_json() == baselines.to_json()
    [row] = registry.list_versions()
    assert row["version"] == "1" and row["aliases"] == ["champion"] and row["pr_auc"] is None
    with pytest.raises(ModelNotFound, match="version 7 does not exist"):
        registry.set_alias("7")
    with pytest.raises(ModelNotFound, match="no held-out data"):
        registry.heldout("1")  # logged without a training run's held-out profiles


def _rescaled(model: RiskModel) -> RiskModel:
    """The same ranking as ``model`` with other probabilities (the square root of its own, knots
    and bounds): every ranking metric is unchanged."""
    floor, ceiling = model.calibration_bounds
    return replace(
        model,
        calibration_y=np.sqrt(model.calibration_y),
        calibration_bounds=(float(np.sqrt(floor)), float(np.sqrt(ceiling))),
    )


def _register(registry: Registry, model: RiskModel, baselines: Baselines, split: Split) -> str:
    """Log ``model`` as a training run would: held-out profiles and dataset digest included."""
    import mlflow

    from flowrisk.models.registry import HELDOUT_ARTIFACT

    with tempfile.TemporaryDirectory() as tmp, registry.start_run("flowrisk-test"):
        heldout = Path(tmp) / Path(HELDOUT_ARTIFACT).name
        split.test.write_parquet(heldout)
        mlflow.log_artifact(str(heldout), str(Path(HELDOUT_ARTIFACT).parent))
        mlflow.log_param("dataset_digest", "ff00")
        return registry.log_model(model, baselines, split.test.head(50).to_pandas())


def test_promotion_on_evidence_through_sqlite(
    trained: tuple[RiskModel, Baselines, Split], tmp_path: Path
) -> None:
    """Through a real store: significantly worse is refused, a difference inside the noise is
    promoted and said to be one, better is promoted."""
    model, baselines, split = trained
    registry = Registry(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "art")
    good, worse, same = (
        _register(registry, m, baselines, split)
        for m in (model, _inverted(model), _rescaled(model))
    )
    assert registry.promote(good).previous is None
    with pytest.raises(InvalidParameter, match=r"significantly worse than the champion") as refused:
        registry.promote(worse, resamples=200)
    assert "PR-AUC" in str(refused.value) and "95% CI" in str(refused.value)
    assert str(registry.version("champion").version) == good
    noise = registry.promote(same, resamples=200)
    assert noise.previous == good and noise.decision is not None
    assert not noise.decision.refused and noise.decision.worse == noise.decision.better == []
    assert noise.decision.summary().startswith("inside the noise: PR-AUC")
    assert "+0.0000 [95% CI +0.0000, +0.0000]" in noise.decision.summary()  # the same ranking
    registry.promote(worse, force=True)
    better = registry.promote(same, resamples=200)
    assert better.decision is not None and better.decision.summary().startswith(
        "significantly better: PR-AUC"
    )
    assert str(registry.version("champion").version) == same


def test_bad_arguments_are_refused_before_the_store_is_touched(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    registry = Registry(f"sqlite:///{db}")
    calls = [
        lambda: registry.promote("not a version!"),
        lambda: registry.promote("2", alias="latest"),
        lambda: registry.set_alias("champion"),  # a version number is needed
        lambda: registry.set_alias("1", alias="v3"),
        lambda: registry.load_bundle("runs:/abc/model"),
        lambda: registry.load_bundle("models:/other@champion"),
        lambda: registry.compare("1", "-2"),
        lambda: registry.version("0"),
        lambda: registry.describe("@champion", "text"),
        lambda: registry.ensure_experiment(" "),
    ]
    for call in calls:
        with pytest.raises(InvalidParameter):
            call()
    assert not db.exists()
    assert registry.artifact_root == tmp_path / "mlartifacts"  # next to the database


def test_registry_from_settings_keeps_local_artifacts_under_home(tmp_path: Path) -> None:
    default = Registry.from_settings(Settings(home=tmp_path))
    assert default.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert default.artifact_root == tmp_path / "mlartifacts"
    elsewhere = Registry.from_settings(
        Settings(home=tmp_path, mlflow_uri=f"sqlite:///{tmp_path / 'other' / 'x.db'}")
    )
    assert elsewhere.artifact_root == tmp_path / "mlartifacts"  # never ./mlruns
    server = Registry.from_settings(Settings(home=tmp_path, mlflow_uri="http://127.0.0.1:5000"))
    assert server.artifact_root is None  # the server places them


def test_an_unreachable_server_fails_fast_in_one_line() -> None:
    import time

    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"MLflow at http://127\.0\.0\.1:9: unreachable"):
        Registry("http://127.0.0.1:9").list_versions()  # nothing listens on the discard port
    assert time.perf_counter() - started < 10


def test_promotion_refuses_a_worse_challenger_unless_forced(
    trained: tuple[RiskModel, Baselines, Split], tmp_path: Path
) -> None:
    model, baselines, split = trained
    fake = FakeMlflowClient(tmp_path)
    digest = {"dataset_digest": "ff00"}
    good = fake.add_version(model, baselines, heldout=split.test, params=digest)
    worse = fake.add_version(_inverted(model), baselines, heldout=split.test, params=digest)
    registry = Registry("fake://store", client=fake)
    assert not registry.has_champion()
    first = registry.promote(good, resamples=200)
    assert first.previous is None and first.decision is None  # nothing to compare with
    compared = registry.compare(good, worse, resamples=200)
    assert compared["versions"] == [good, worse]
    assert compared["heldout_of"] == worse and compared["warning"] is None
    assert compared["rows"] == split.test.height
    assert compared["metrics"][worse]["pr_auc"] < compared["metrics"][good]["pr_auc"]
    pr_auc = compared["differences"]["pr_auc"]  # worse minus good, on the same entities
    assert pr_auc["verdict"] == "worse" and pr_auc["low"] <= pr_auc["difference"] < pr_auc["high"]
    assert pr_auc["difference"] == pytest.approx(
        compared["metrics"][worse]["pr_auc"] - compared["metrics"][good]["pr_auc"]
    )
    assert set(compared["differences"]) == {
        "pr_auc",
        "recall_at_0.5pct",
        "recall_at_1pct",
        "recall_at_2pct",
    }
    with pytest.raises(InvalidParameter, match=r"significantly worse .* PR-AUC .* --force"):
        registry.promote(worse, resamples=200)
    assert fake.aliases == {"champion": good}
    forced = registry.promote(worse, force=True)
    assert forced.previous == good and forced.decision is None  # forced: not compared
    assert fake.aliases == {"champion": worse}
    back = registry.promote(good, resamples=200)  # better than the champion: no force needed
    assert back.previous == worse and back.decision is not None and not back.decision.refused
    assert back.decision.summary().startswith("significantly better: PR-AUC")
    assert registry.load_bundle().version == good


def test_listing_loading_and_comparing_with_the_fake_client(
    trained: tuple[RiskModel, Baselines, Split], tmp_path: Path
) -> None:
    model, baselines, split = trained
    fake = FakeMlflowClient(tmp_path)
    metrics = {"flowrisk.pr_auc": 0.8, "flowrisk.recall_at_1pct": 0.4, "rules.pr_auc": 0.1}
    first = fake.add_version(model, baselines, heldout=split.test, metrics=metrics)
    second = fake.add_version(model, baselines, params={"dataset_digest": "ab12"})
    registry = Registry("fake://store", client=fake)
    registry.set_alias(first)
    registry.set_alias(second, alias="@challenger")
    rows = registry.list_versions()
    assert [r["version"] for r in rows] == ["2", "1"]
    assert rows[1]["aliases"] == ["champion"] and rows[0]["aliases"] == ["challenger"]
    assert rows[1]["pr_auc"] == 0.8 and rows[1]["recall_at_1pct"] == 0.4
    assert rows[0]["pr_auc"] is None
    assert registry.run_metrics("champion") == {"pr_auc": 0.8, "recall_at_1pct": 0.4}
    bundle = registry.load_bundle(model_uri(alias="challenger"))
    assert bundle.version == second and bundle.uri == "models:/flowrisk@challenger"
    compared = registry.compare("@challenger", "champion")  # champion's held-out data
    assert compared["heldout_of"] == first and set(compared["metrics"]) == {first, second}
    assert compared["warning"] is not None  # one digest is missing: cannot vouch for it
    with pytest.raises(ModelNotFound, match="no held-out data"):
        registry.compare(first, second)  # the second version logged none
    with pytest.raises(ModelNotFound, match="alias 'nope' does not exist"):
        registry.compare(first, "@nope")
    registry.describe(first, "# card")
    assert fake.descriptions == {first: "# card"}
    fake.calls.clear()
    with pytest.raises(InvalidParameter):
        registry.compare(first, "no such thing")
    assert fake.calls == []  # refused before the store was asked anything


def test_versions_of_different_datasets_are_compared_with_a_warning(
    trained: tuple[RiskModel, Baselines, Split], tmp_path: Path
) -> None:
    """Only the same dataset digest vouches that neither version trained on the other's
    held-out entities: two known but different digests still warn."""
    model, baselines, split = trained
    fake = FakeMlflowClient(tmp_path)
    first = fake.add_version(model, baselines, heldout=split.test, params={"dataset_digest": "aa"})
    same = fake.add_version(model, baselines, heldout=split.test, params={"dataset_digest": "aa"})
    other = fake.add_version(model, baselines, heldout=split.test, params={"dataset_digest": "bb"})
    registry = Registry("fake://store", client=fake)
    assert registry.compare(first, same)["warning"] is None
    warned = registry.compare(first, other)["warning"]
    assert warned is not None and "different datasets" in warned
