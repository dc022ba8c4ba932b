"""An in-memory stand-in for ``mlflow.MlflowClient``, shipped for tests of code that uses a
:class:`~flowrisk.models.registry.Registry` (like httpx's ``MockTransport``): versions, aliases,
runs and experiments live in dictionaries, artifacts in a local folder, and every call is
recorded so that a test can check the store was not touched. For example::

    fake = FakeMlflowClient(tmp_path)
    registry = Registry("fake://", client=fake)
    fake.add_version(model, baselines, heldout=profiles, metrics={"flowrisk.pr_auc": 0.8})
    registry.promote("1")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from flowrisk.features import Baselines
from flowrisk.models.bundle import write_bundle
from flowrisk.models.registry_names import MODEL_NAME
from flowrisk.models.scorer import RiskModel

if TYPE_CHECKING:
    from mlflow.entities import Experiment, Run
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

__all__ = ["FakeMlflowClient"]

HELDOUT = "heldout/profiles.parquet"  # where Registry.heldout looks in a run's artifacts


def _missing(what: str) -> Exception:
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

    return MlflowException(f"{what} not found", error_code=RESOURCE_DOES_NOT_EXIST)


class FakeMlflowClient:
    """The registry part of ``MlflowClient`` in memory; :meth:`add_version` registers a model
    as a training run would (bundle, held-out profiles, metrics, params)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls: list[str] = []  # names of the client methods called, in order
        self.versions: dict[str, ModelVersion] = {}
        self.aliases: dict[str, str] = {}
        self.runs: dict[str, Run] = {}
        self.experiments: dict[str, Experiment] = {}
        self.descriptions: dict[str, str] = {}

    def add_version(
        self,
        model: RiskModel,
        baselines: Baselines,
        *,
        heldout: pl.DataFrame | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> str:
        """Register ``model`` as the next version with a run of its own; returns its number."""
        from mlflow.entities import Metric, Param, Run, RunData, RunInfo
        from mlflow.entities.model_registry import ModelVersion

        number = str(len(self.versions) + 1)
        run_id = f"run-{number}"
        write_bundle(model, baselines, self.root / "models" / number / "artifacts" / "bundle")
        artifacts = self.root / "runs" / run_id / "artifacts"
        if heldout is not None:
            (artifacts / HELDOUT).parent.mkdir(parents=True, exist_ok=True)
            heldout.write_parquet(artifacts / HELDOUT)
        info = RunInfo(run_id, "0", "fake", "FINISHED", 0, 0, "active", artifacts.as_uri())
        data = RunData(
            metrics=[Metric(k, float(v), 0, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, str(v)) for k, v in (params or {}).items()],
        )
        self.runs[run_id] = Run(info, data)
        self.versions[number] = ModelVersion(
            MODEL_NAME, number, creation_timestamp=1_700_000_000_000 + int(number), run_id=run_id
        )
        return number

    # the MlflowClient methods Registry uses

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        self.calls.append("get_model_version")
        if name != MODEL_NAME or version not in self.versions:
            raise _missing(f"Model Version (name={name}, version={version})")
        return self.versions[version]

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        self.calls.append("get_model_version_by_alias")
        if name != MODEL_NAME or alias not in self.aliases:
            raise _missing(f"Registered model alias {alias}")
        return self.versions[self.aliases[alias]]

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.calls.append("set_registered_model_alias")
        self.get_model_version(name, version)
        self.aliases[alias] = version

    def search_model_versions(self, filter_string: str | None = None) -> list[ModelVersion]:
        self.calls.append("search_model_versions")
        return list(self.versions.values())

    def get_registered_model(self, name: str) -> RegisteredModel:
        from mlflow.entities.model_registry import RegisteredModel, RegisteredModelAlias

        self.calls.append("get_registered_model")
        if name != MODEL_NAME or not self.versions:
            raise _missing(f"Registered Model with name={name}")
        aliases = [RegisteredModelAlias(a, v) for a, v in self.aliases.items()]
        return RegisteredModel(name, aliases=aliases)

    def get_run(self, run_id: str) -> Run:
        self.calls.append("get_run")
        if run_id not in self.runs:
            raise _missing(f"Run with id={run_id}")
        return self.runs[run_id]

    def get_model_version_download_uri(self, name: str, version: str) -> str:
        self.calls.append("get_model_version_download_uri")
        self.get_model_version(name, version)
        return (self.root / "models" / version).as_uri()

    def update_model_version(
        self, name: str, version: str, description: str | None = None
    ) -> ModelVersion:
        self.calls.append("update_model_version")
        found = self.get_model_version(name, version)
        self.descriptions[version] = description or ""
        return found

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        self.calls.append("get_experiment_by_name")
        return self.experiments.get(name)

    def create_experiment(self, name: str, artifact_location: str | None = None) -> str:
        from mlflow.entities import Experiment

        self.calls.append("create_experiment")
        experiment_id = str(len(self.experiments) + 1)
        location = artifact_location or (self.root / "experiments" / experiment_id).as_uri()
        self.experiments[name] = Experiment(experiment_id, name, location, "active")
        return experiment_id
