"""MLflow: the model as a pyfunc that returns calibrated probabilities, logged with everything
it needs to score (booster, calibration, bands, feature set, fitted baselines), registered as
``flowrisk`` and promoted with aliases (never stages).

This module is an edge: it talks to the tracking server or the SQLite store named by the
settings. MLflow is imported lazily (it is slow to import).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from flowrisk.errors import InvalidParameter, ModelNotFound
from flowrisk.features import Baselines
from flowrisk.models.scorer import RiskModel

__all__ = [
    "MODEL_NAME",
    "Bundle",
    "compare",
    "connect",
    "list_versions",
    "load_bundle",
    "load_model",
    "log_model",
    "model_uri",
    "promote",
    "set_alias",
    "setup_tracking",
]

MODEL_NAME = "flowrisk"
HELDOUT_ARTIFACT = "heldout/profiles.parquet"  # the test split's labelled profiles, per run
PIP_REQUIREMENTS = ["lightgbm>=4.3,<5", "numpy>=2,<3", "pandas>=2.2"]


class _Chatter(logging.Filter):
    """Drops MLflow's routine INFO lines and its warning about pickled model classes (the
    pyfunc class is flowrisk's own code), which would bury flowrisk's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and "CloudPickle" not in record.getMessage()


def connect(tracking_uri: str) -> None:
    """Point MLflow at ``tracking_uri``, failing in seconds on an unreachable server (not after
    minutes of retries), with only MLflow's warnings and errors shown."""
    import os

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    for name in ("mlflow", "alembic"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Chatter) for f in logger.filters):
            logger.addFilter(_Chatter())
        for handler in logger.handlers:
            if not any(isinstance(f, _Chatter) for f in handler.filters):
                handler.addFilter(_Chatter())
    mlflow.set_tracking_uri(tracking_uri)


def setup_tracking(tracking_uri: str, experiment: str, artifact_root: Path | None) -> str:
    """Point MLflow at ``tracking_uri`` and make sure ``experiment`` exists (with an explicit
    artifact location under ``artifact_root`` for local stores). Returns the experiment id."""
    import mlflow

    connect(tracking_uri)
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is not None:
        mlflow.set_experiment(experiment)
        return str(existing.experiment_id)
    location = (artifact_root / experiment).resolve().as_uri() if artifact_root else None
    experiment_id = mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    return str(experiment_id)


def _pyfunc_class() -> Any:
    from mlflow.pyfunc import PythonModel

    class FlowriskModel(PythonModel):
        """Pyfunc wrapper: feature columns in, calibrated probabilities out."""

        def load_context(self, context: Any) -> None:
            self.model = _read_bundle(Path(context.artifacts["bundle"]))

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return self.model.predict(pl.from_pandas(model_input[self.model.features]))

    return FlowriskModel


def _write_bundle(model: RiskModel, baselines: Baselines, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.booster.save_model(str(folder / "booster.txt"))
    meta = {
        "calibration_x": model.calibration_x.tolist(),
        "calibration_y": model.calibration_y.tolist(),
        "thresholds": model.thresholds,
        "features": model.features,
        "feature_set": model.feature_set,
        "feature_set_version": model.feature_set_version,
        "peers": model.peers,
    }
    (folder / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    (folder / "baselines.json").write_text(baselines.to_json(), encoding="utf-8")
    return folder


def _read_bundle(folder: Path) -> RiskModel:
    import lightgbm as lgb

    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    return RiskModel(
        booster=lgb.Booster(model_file=str(folder / "booster.txt")),
        calibration_x=np.asarray(meta["calibration_x"]),
        calibration_y=np.asarray(meta["calibration_y"]),
        thresholds=meta["thresholds"],
        features=meta["features"],
        feature_set=meta["feature_set"],
        feature_set_version=meta["feature_set_version"],
        peers={
            kind: {f: (float(m), float(p)) for f, (m, p) in stats.items()}
            for kind, stats in meta.get("peers", {}).items()
        },
    )


def log_model(model: RiskModel, baselines: Baselines, input_example: Any) -> str:
    """Log the model in the active run as a pyfunc and register it; returns the new version."""
    import mlflow
    from mlflow.models import infer_signature

    with tempfile.TemporaryDirectory() as tmp:
        bundle = _write_bundle(model, baselines, Path(tmp) / "bundle")
        example = input_example[model.features]
        signature = infer_signature(example, model.predict(pl.from_pandas(example)))
        # MLflow prints "Successfully registered model ..." itself; flowrisk reports the version
        with contextlib.redirect_stderr(io.StringIO()):
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=_pyfunc_class()(),
                artifacts={"bundle": str(bundle)},
                signature=signature,
                input_example=example.head(5),
                pip_requirements=PIP_REQUIREMENTS,
                registered_model_name=MODEL_NAME,
            )
    return str(info.registered_model_version)


def model_uri(version: str | None = None, alias: str = "champion") -> str:
    """``models:/flowrisk/<version>`` or ``models:/flowrisk@<alias>``."""
    return f"models:/{MODEL_NAME}/{version}" if version else f"models:/{MODEL_NAME}@{alias}"


def set_alias(version: str, alias: str = "champion") -> None:
    """Point ``alias`` at ``version`` of the registered model."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        client.get_model_version(MODEL_NAME, version)
    except MlflowException as exc:
        raise ModelNotFound(f"{MODEL_NAME} version {version} does not exist") from exc
    client.set_registered_model_alias(MODEL_NAME, alias, version)


@dataclass(frozen=True)
class Bundle:
    """A registered model with everything scoring needs: the scorer, the fitted baselines and
    which version it is."""

    model: RiskModel
    baselines: Baselines
    uri: str
    version: str | None


def _download_bundle(uri: str) -> Path:
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        path = mlflow.artifacts.download_artifacts(artifact_uri=f"{uri}/artifacts/bundle")
    except (MlflowException, OSError) as exc:
        raise ModelNotFound(f"{uri}: no such model ({str(exc).splitlines()[0]})") from exc
    return Path(path)


def load_model(uri: str) -> RiskModel:
    """The scorer behind a registry URI (a version or an alias), with its bundle."""
    return _read_bundle(_download_bundle(uri))


def load_bundle(uri: str) -> Bundle:
    """The scorer, its baselines and its version number behind a registry URI."""
    from mlflow import MlflowClient

    folder = _download_bundle(uri)
    ref = uri.removeprefix(f"models:/{MODEL_NAME}")
    version = ref.lstrip("/") if ref.startswith("/") else None
    if ref.startswith("@"):
        version = str(MlflowClient().get_model_version_by_alias(MODEL_NAME, ref[1:]).version)
    return Bundle(
        model=_read_bundle(folder),
        baselines=Baselines.from_json((folder / "baselines.json").read_text(encoding="utf-8")),
        uri=uri,
        version=version,
    )


def _run_metric(client: Any, run_id: str | None, name: str) -> float | None:
    if not run_id:
        return None
    value = client.get_run(run_id).data.metrics.get(name)
    return float(value) if value is not None else None


def list_versions(tracking_uri: str) -> list[dict[str, Any]]:
    """Every registered version, newest first, with aliases and held-out metrics."""
    from mlflow import MlflowClient

    connect(tracking_uri)
    client = MlflowClient()
    out = []
    versions = client.search_model_versions(f"name='{MODEL_NAME}'")
    aliases: dict[str, list[str]] = {}
    if versions:
        for alias, version in (client.get_registered_model(MODEL_NAME).aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
    for v in versions:
        out.append(
            {
                "version": str(v.version),
                "aliases": sorted(aliases.get(str(v.version), [])),
                "pr_auc": _run_metric(client, v.run_id, "flowrisk.pr_auc"),
                "recall_at_1pct": _run_metric(client, v.run_id, "flowrisk.recall_at_1pct"),
                "created": datetime.fromtimestamp(v.creation_timestamp / 1000, UTC).isoformat(
                    timespec="seconds"
                ),
            }
        )
    return sorted(out, key=lambda v: int(v["version"]), reverse=True)


def _version(client: Any, ref: str) -> Any:
    """A model version by number or by alias (``champion``, ``@champion``)."""
    from mlflow.exceptions import MlflowException

    try:
        if ref.isdigit():
            return client.get_model_version(MODEL_NAME, ref)
        return client.get_model_version_by_alias(MODEL_NAME, ref.lstrip("@"))
    except MlflowException as exc:
        what = f"version {ref}" if ref.isdigit() else f"alias {ref.lstrip('@')!r}"
        raise ModelNotFound(f"{MODEL_NAME} {what} does not exist") from exc


def heldout(client: Any, version: Any) -> pl.DataFrame:
    """The held-out profiles (features, label, typologies) logged with ``version``'s run."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=version.run_id, artifact_path=HELDOUT_ARTIFACT
        )
    except (MlflowException, OSError) as exc:
        raise ModelNotFound(
            f"{MODEL_NAME} version {version.version} has no held-out data ({HELDOUT_ARTIFACT})"
        ) from exc
    return pl.read_parquet(path)


def compare(tracking_uri: str, a: str, b: str, *, heldout_of: str | None = None) -> dict[str, Any]:
    """Both versions scored on the same held-out profiles (those logged with ``heldout_of``,
    default ``b``, the challenger): metrics side by side, and a warning when the two were trained
    on different datasets (one may then have trained on the other's held-out entities)."""
    from mlflow import MlflowClient

    from flowrisk.models.evaluate import evaluate_scores

    connect(tracking_uri)
    client = MlflowClient()
    versions = {ref: _version(client, ref) for ref in (a, b)}
    source = versions.get(heldout_of or b) or _version(client, heldout_of or b)
    data = heldout(client, source)
    metrics: dict[str, dict[str, Any]] = {}
    for version in versions.values():
        model = load_model(model_uri(version=str(version.version)))
        missing = sorted(set(model.features) - set(data.columns))
        if missing:
            raise InvalidParameter(
                "heldout_of",
                f"version {source.version}'s held-out data lacks features of version "
                f"{version.version} ({', '.join(missing[:3])}...)",
            )
        metrics[str(version.version)] = evaluate_scores(model.predict(data), data)
    digests = {
        str(v.version): client.get_run(v.run_id).data.params.get("dataset_digest")
        for v in versions.values()
    }
    same = len(set(digests.values())) == 1 and None not in digests.values()
    return {
        "heldout_of": str(source.version),
        "rows": data.height,
        "positives": int(data["label"].sum()),
        "metrics": metrics,
        "warning": None
        if same
        else "the versions were trained on different datasets (or one predates dataset "
        "digests): one may have trained on entities of this held-out set",
    }


def promote(
    tracking_uri: str, version: str, *, force: bool = False, alias: str = "champion"
) -> str | None:
    """Make ``version`` the champion; refuse a challenger whose PR-AUC, on its own held-out
    profiles, is below the champion's on the same profiles, unless ``force``. Returns the
    previous champion's version."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    connect(tracking_uri)
    client = MlflowClient()
    challenger = _version(client, version)
    try:
        champion = client.get_model_version_by_alias(MODEL_NAME, alias)
    except MlflowException:
        champion = None
    if champion is not None and not force and str(champion.version) != str(challenger.version):
        result = compare(tracking_uri, str(champion.version), str(challenger.version))
        new = result["metrics"][str(challenger.version)]["pr_auc"]
        old = result["metrics"][str(champion.version)]["pr_auc"]
        if new < old:
            raise InvalidParameter(
                "version",
                f"{challenger.version} has PR-AUC {new:.4f} on its held-out data, below the "
                f"champion (version {champion.version}, {old:.4f} on the same data); "
                "use --force to promote anyway",
            )
    client.set_registered_model_alias(MODEL_NAME, alias, str(challenger.version))
    return str(champion.version) if champion is not None else None
