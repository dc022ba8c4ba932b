"""A registered version loads where flowrisk is not installed: a fresh virtual environment (no
system site packages), created from nothing but the model's own ``requirements.txt``, loads it
with ``mlflow.pyfunc.load_model`` from the same SQLite store and scores its input example as
the training process does. Slow: one ``pip install`` of MLflow, LightGBM, Polars and pandas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from flowrisk.models.registry import Registry
from tests.conftest import ROOT, TrainedWorld
from tests.servers import tracking_uri

pytestmark = pytest.mark.slow
INSTALL_SECONDS = 1_200

# what the fresh environment runs: flowrisk must not be importable before the model is loaded,
# and must then come from the model's own code folder
SCORE = """
import importlib.util, json, sys
import mlflow
from mlflow.models import Model

assert importlib.util.find_spec("flowrisk") is None, "flowrisk is installed in the fresh venv"
uri = sys.argv[1]
model = mlflow.pyfunc.load_model(uri)
local = mlflow.artifacts.download_artifacts(artifact_uri=uri)
example = Model.load(local).load_input_example(local)
import flowrisk
print(json.dumps({
    "scores": [float(s) for s in model.predict(example)],
    "flowrisk": flowrisk.__file__,
    "mlflow": mlflow.__version__,
}))
"""


def _clean_env(tracking_uri: str) -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH (it would put this checkout's flowrisk
    on the path), no active virtual environment, no flowrisk or MLflow settings of the tests."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.startswith(("MLFLOW_", "FLOWRISK_"))
    }
    return {**env, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONDONTWRITEBYTECODE": "1"}


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=INSTALL_SECONDS
    )
    assert done.returncode == 0, (
        f"{command[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def test_the_registered_model_loads_and_scores_in_a_fresh_venv(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    import mlflow
    from mlflow.models import Model

    work = tmp_path / "work"
    work.mkdir()
    registry = Registry(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "art")
    with registry.start_run("flowrisk-portable"):
        version = registry.log_model(
            trained_world.model, trained_world.baselines, trained_world.split.test.to_pandas()
        )
    uri = f"models:/flowrisk/{version}"
    with tracking_uri(registry.tracking_uri):  # a models:/ URI resolves in the default store
        local = Path(
            mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "got"))
        )
    requirements = (local / "requirements.txt").read_text(encoding="utf-8").split()
    pinned = {line.split("==")[0]: line.split("==")[1] for line in requirements if "==" in line}
    assert {"mlflow", "lightgbm", "numpy", "pandas", "polars", "pyarrow"} <= set(pinned)
    assert pinned["polars"] == pl.__version__ and pinned["mlflow"] == mlflow.__version__
    assert (local / "code" / "flowrisk" / "models" / "bundle.py").is_file()
    assert not list((local / "code").rglob("__pycache__"))
    example = Model.load(str(local)).load_input_example(str(local))
    expected = trained_world.model.predict(pl.from_pandas(example))
    assert len(example) == 5 and len(set(expected)) > 1  # from the least to the most risky

    venv = tmp_path / "venv"
    env = _clean_env(registry.tracking_uri)
    _run([sys.executable, "-m", "venv", str(venv)], work, env)
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "-q", "-r", str(local / "requirements.txt")], work, env)
    (work / "score.py").write_text(SCORE, encoding="utf-8")
    out = json.loads(_run([python, "score.py", uri], work, env).splitlines()[-1])

    np.testing.assert_allclose(out["scores"], expected, rtol=0, atol=1e-12)
    assert len(out["scores"]) == len(example) > 0
    loaded_from = Path(out["flowrisk"])
    assert loaded_from.parent.parent.name == "code"  # the model's own copy
    assert not loaded_from.is_relative_to(ROOT) and out["mlflow"] == mlflow.__version__
