"""The model bundle: the files a registered version carries so that it scores on its own (the
LightGBM booster, the calibration, the bands, the feature set, the honest peers, the fitted
baselines and the training reference that drift is measured against) and a small sample of its
held-out profiles (what the service's canary scores before it serves the version), and the MLflow
pyfunc wrapper that serves it. Reads and writes one folder.

A registered version is portable: it ships the flowrisk package it was trained with (MLflow's
``code_paths``, under the model's ``code/`` folder, which ``mlflow.pyfunc.load_model`` puts on
``sys.path``) and its ``requirements.txt`` pins, to the versions installed at training, the
libraries that package needs to load and score (:func:`pip_requirements`). So
``pip install -r requirements.txt`` in a fresh virtual environment is enough to load it."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from flowrisk.errors import ModelRejected
from flowrisk.features import Baselines
from flowrisk.models.calibration import METHOD
from flowrisk.models.drift import DriftReference
from flowrisk.models.scorer import RiskModel

__all__ = [
    "REFERENCE_FILE",
    "SAMPLE_FILE",
    "SAMPLE_ROWS",
    "Bundle",
    "heldout_sample",
    "package_code",
    "pip_requirements",
    "pyfunc_model",
    "read_bundle",
    "read_model",
    "score_range",
    "write_bundle",
]

# what the pyfunc wrapper imports to load and score a bundle (MLflow adds itself); polars reads
# pandas through pyarrow
SCORING_DISTRIBUTIONS = ("lightgbm", "numpy", "pandas", "polars", "pyarrow")
SAMPLE_FILE = "heldout_sample.parquet"
BOOSTER_FILE = "booster.txt"
REFERENCE_FILE = "drift_reference.json"  # training distribution per feature (flowrisk.models.drift)
_END_OF_TREES = b"end of trees"  # what LightGBM writes after the last tree
SAMPLE_ROWS = 100  # enough to meet every band; small enough to score in milliseconds


@dataclass(frozen=True)
class Bundle:
    """A registered model with everything scoring needs: the scorer, the fitted baselines and
    which version it is; ``sample`` holds a few of its held-out profiles (None for a version
    registered before bundles carried one)."""

    model: RiskModel
    baselines: Baselines
    uri: str
    version: str | None
    sample: pl.DataFrame | None = field(default=None, compare=False)


def heldout_sample(profiles: pl.DataFrame, features: list[str]) -> pl.DataFrame:
    """Up to ``SAMPLE_ROWS`` held-out profiles, evenly spaced (so not only the first entity
    type or snapshot), restricted to ``entity_id`` (when present) and ``features``."""
    columns = [c for c in ("entity_id", *features) if c in profiles.columns]
    step = max(1, -(-profiles.height // SAMPLE_ROWS))  # ceiling division
    return profiles.select(columns).gather_every(step).head(SAMPLE_ROWS)


def write_bundle(
    model: RiskModel, baselines: Baselines, folder: Path, sample: pl.DataFrame | None = None
) -> Path:
    """Write the bundle files of ``model`` and ``baselines`` (and the held-out ``sample``, see
    :func:`heldout_sample`) into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    if sample is not None:
        sample.write_parquet(folder / SAMPLE_FILE)
    model.booster.save_model(str(folder / BOOSTER_FILE))
    digest = hashlib.sha256((folder / BOOSTER_FILE).read_bytes()).hexdigest()
    meta = {
        "booster_sha256": digest,
        "calibration": METHOD,
        "calibration_x": np.asarray(model.calibration_x).tolist(),
        "calibration_y": np.asarray(model.calibration_y).tolist(),
        "calibration_bounds": list(model.calibration_bounds),
        "calibration_tails": list(model.calibration_tails),
        "alert_budget": model.alert_budget,
        "thresholds": model.thresholds,
        "features": model.features,
        "feature_set": model.feature_set,
        "feature_set_version": model.feature_set_version,
        "peers": model.peers,
    }
    (folder / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    (folder / "baselines.json").write_text(baselines.to_json(), encoding="utf-8")
    if model.reference is not None:
        text = json.dumps(model.reference.to_dict())
        (folder / REFERENCE_FILE).write_text(text, encoding="utf-8")
    return folder


def read_model(folder: Path) -> RiskModel:
    """The scorer stored in a bundle folder; a booster file that is not the one written (its
    SHA-256, or for older bundles its end marker) is refused before LightGBM parses it: a
    truncated model file makes LightGBM abort the whole process. A bundle calibrated otherwise
    than by this flowrisk's method is refused, saying so."""
    import lightgbm as lgb

    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    _check_method(meta)
    return RiskModel(
        booster=lgb.Booster(model_str=_booster_text(folder, meta.get("booster_sha256"))),
        calibration_x=np.asarray(meta["calibration_x"], dtype=np.float64),
        calibration_y=np.asarray(meta["calibration_y"], dtype=np.float64),
        thresholds=meta["thresholds"],
        calibration_bounds=_pair(meta["calibration_bounds"]),
        calibration_tails=_pair(meta["calibration_tails"]),
        alert_budget=float(meta["alert_budget"]),
        features=meta["features"],
        feature_set=meta["feature_set"],
        feature_set_version=meta["feature_set_version"],
        peers={
            kind: {f: (float(m), float(p)) for f, (m, p) in stats.items()}
            for kind, stats in meta.get("peers", {}).items()
        },
        reference=_reference(folder),
    )


def _reference(folder: Path) -> DriftReference | None:
    """The training reference for drift, None for a bundle written before it was stored."""
    path = folder / REFERENCE_FILE
    if not path.is_file():
        return None
    try:
        return DriftReference.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (KeyError, TypeError, ValueError) as exc:  # InvalidParameter is a ValueError
        raise ModelRejected(f"{REFERENCE_FILE}: not a drift reference ({exc})") from exc


def _check_method(meta: dict[str, Any]) -> None:
    """Refuse a bundle whose calibration this flowrisk does not apply: the step-wise isotonic
    calibration of earlier versions (no ``calibration`` key) tied entities, reached 0 and 1 and
    set its bands on the raw output; such a model is to be trained again."""
    method = meta.get("calibration")
    if method == METHOD:
        return
    if method is None:
        raise ModelRejected(
            "model.json: a step-wise isotonic calibration with bands on the raw output, from an "
            "earlier flowrisk (its probabilities tie and reach 0 and 1); train the model again "
            "with flowrisk train"
        )
    raise ModelRejected(
        f"model.json: unknown calibration {method!r} (this flowrisk applies {METHOD!r})"
    )


def _pair(values: Any) -> tuple[float, float]:
    low, high = (float(v) for v in values)
    return low, high


def _booster_text(folder: Path, digest: str | None) -> str:
    """The booster file's text, once it is known to be whole."""
    data = (folder / BOOSTER_FILE).read_bytes()
    if digest is not None and hashlib.sha256(data).hexdigest() != digest:
        raise ModelRejected(
            f"{BOOSTER_FILE}: its SHA-256 differs from the one the bundle lists (truncated or "
            "altered)"
        )
    if digest is None and _END_OF_TREES not in data:
        raise ModelRejected(f"{BOOSTER_FILE}: truncated (no {_END_OF_TREES.decode()!r} marker)")
    return data.decode("utf-8")


def read_bundle(folder: Path, *, uri: str, version: str | None) -> Bundle:
    """The scorer, the baselines and the held-out sample (when the bundle carries one) of a
    bundle folder, labelled with where they came from."""
    sample = folder / SAMPLE_FILE
    return Bundle(
        model=read_model(folder),
        baselines=Baselines.from_json((folder / "baselines.json").read_text(encoding="utf-8")),
        uri=uri,
        version=version,
        sample=pl.read_parquet(sample) if sample.is_file() else None,
    )


def score_range(scores: np.ndarray, rows: int = 5) -> list[int]:
    """Positions of ``rows`` rows from the lowest to the highest score, evenly spaced in rank:
    an input example that shows what the model does, not five entities at the floor."""
    ranked = np.argsort(scores, kind="stable")
    return sorted(
        {int(i) for i in ranked[np.linspace(0, len(ranked) - 1, rows).round().astype(int)]}
    )


def pip_requirements() -> list[str]:
    """The scoring libraries pinned to their installed versions (``polars==2.1.0``): the
    environment a registered model was trained and tested in (all are flowrisk dependencies,
    so each is installed)."""
    return [f"{name}=={installed_version(name)}" for name in SCORING_DISTRIBUTIONS]


def package_code(folder: Path) -> Path:
    """A copy of the flowrisk package being run, without byte-code caches, in ``folder``
    (returned: ``folder/flowrisk``), for ``log_model(code_paths=...)``."""
    import flowrisk

    source = Path(flowrisk.__file__).parent
    return Path(
        shutil.copytree(source, folder / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    )


def pyfunc_model() -> Any:
    """An MLflow ``PythonModel`` that loads the bundle logged as its ``bundle`` artifact and
    returns calibrated probabilities (a logged classifier would return labels)."""
    from mlflow.pyfunc import PythonModel

    class FlowriskModel(PythonModel):
        """Pyfunc wrapper: feature columns in, calibrated probabilities out."""

        def load_context(self, context: Any) -> None:
            self.model = read_model(Path(context.artifacts["bundle"]))

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return self.model.predict(pl.from_pandas(model_input[self.model.features]))

    return FlowriskModel()
