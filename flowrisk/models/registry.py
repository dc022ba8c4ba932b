"""The MLflow model registry of flowrisk: versions registered as ``flowrisk``, promoted with
aliases (never stages), compared on held-out data and loaded as bundles.

A :class:`Registry` holds its tracking URI, its artifact root and its client; nothing here reads
or writes the process environment. Arguments (a version, an alias, a model URI) are checked
before the store is touched, so a bad one never creates a database. Tests inject an in-memory
client (:mod:`flowrisk.models.registry_fake`). MLflow is imported lazily (it is slow to import).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import polars as pl

from flowrisk.errors import InvalidParameter, ModelNotFound
from flowrisk.features import Baselines
from flowrisk.models.bootstrap import RESAMPLES
from flowrisk.models.bundle import (
    Bundle,
    heldout_sample,
    package_code,
    pip_requirements,
    pyfunc_model,
    read_bundle,
    read_model,
    score_range,
    write_bundle,
)
from flowrisk.models.promotion import Comparison, Promotion, decide, differences, refusal
from flowrisk.models.registry_names import (
    CHAMPION,
    MODEL_NAME,
    alias_name,
    model_uri,
    parse_ref,
    uri_ref,
    version_number,
)
from flowrisk.models.scorer import RiskModel
from flowrisk.models.tracking import (
    RegistryClient,
    default_artifact_root,
    is_local_store,
    probe,
    quiet_mlflow_logs,
    silenced_stderr,
    store_errors,
    using_tracking_uri,
)

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities.model_registry import ModelVersion

    from flowrisk.config import Settings

__all__ = [
    "CHAMPION",
    "HELDOUT_ARTIFACT",
    "MODEL_NAME",
    "Bundle",
    "Comparison",
    "Promotion",
    "Registry",
    "RegistryClient",
    "VersionRow",
    "model_uri",
]

HELDOUT_ARTIFACT = "heldout/profiles.parquet"  # the test split's labelled profiles, per run
_ABSENT = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}  # what a missing name raises
_read_bundle = read_model  # models logged before the bundle module pickled this name


class VersionRow(TypedDict):
    """One line of :meth:`Registry.list_versions`."""

    version: str
    aliases: list[str]
    pr_auc: float | None
    recall_at_1pct: float | None
    created: str


class Registry:
    """flowrisk's registered model in one MLflow store: list, promote, compare and load its
    versions, and log new ones from a training run."""

    def __init__(
        self,
        tracking_uri: str,
        artifact_root: Path | None = None,
        client: RegistryClient | None = None,
    ) -> None:
        if not tracking_uri:
            raise InvalidParameter("tracking_uri", "must name an MLflow store")
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root or default_artifact_root(tracking_uri)
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        """The registry the settings name: the server, or the SQLite store under home, whose
        artifacts go under ``<home>/mlartifacts`` (also for a SQLite ``FLOWRISK_MLFLOW_URI``)."""
        uri = settings.tracking_uri
        return cls(uri, settings.home / "mlartifacts" if is_local_store(uri) else None)

    def __repr__(self) -> str:
        return f"Registry({self.tracking_uri!r}, artifact_root={self.artifact_root!r})"

    @property
    def client(self) -> RegistryClient:
        """The MLflow client, made on first use (after a reachability check of a server)."""
        if self._client is None:
            from mlflow import MlflowClient

            quiet_mlflow_logs()
            probe(self.tracking_uri)
            self._client = MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri)
        return self._client

    # reading

    @store_errors
    def version(self, ref: str) -> ModelVersion:
        """A registered version by number (``3``) or alias (``champion``, ``@champion``)."""
        from mlflow.exceptions import MlflowException

        number, alias = parse_ref(ref)
        try:
            if number is not None:
                return self.client.get_model_version(MODEL_NAME, number)
            assert alias is not None
            return self.client.get_model_version_by_alias(MODEL_NAME, alias)
        except MlflowException as exc:
            if exc.error_code not in _ABSENT:
                raise
            what = f"version {number}" if number else f"alias {alias!r}"
            raise ModelNotFound(f"{MODEL_NAME} {what} does not exist") from exc

    def has_champion(self, alias: str = CHAMPION) -> bool:
        """Whether ``alias`` points at a version."""
        try:
            self.version(f"@{alias_name(alias)}")
        except ModelNotFound:
            return False
        return True

    @store_errors
    def list_versions(self) -> list[VersionRow]:
        """Every registered version, newest first, with aliases and held-out metrics."""
        versions = self.client.search_model_versions(f"name='{MODEL_NAME}'")
        aliases: dict[str, list[str]] = {}
        if versions:
            for alias, number in (
                self.client.get_registered_model(MODEL_NAME).aliases or {}
            ).items():
                aliases.setdefault(str(number), []).append(alias)
        rows = [self._row(v, sorted(aliases.get(str(v.version), []))) for v in versions]
        return sorted(rows, key=lambda row: int(row["version"]), reverse=True)

    def _row(self, v: ModelVersion, aliases: list[str]) -> VersionRow:
        metrics = self.client.get_run(v.run_id).data.metrics if v.run_id else {}
        pr_auc, recall = metrics.get("flowrisk.pr_auc"), metrics.get("flowrisk.recall_at_1pct")
        created = datetime.fromtimestamp(v.creation_timestamp / 1000, UTC)
        return {
            "version": str(v.version),
            "aliases": aliases,
            "pr_auc": float(pr_auc) if pr_auc is not None else None,
            "recall_at_1pct": float(recall) if recall is not None else None,
            "created": created.isoformat(timespec="seconds"),
        }

    @store_errors
    def run_metrics(self, version: str, prefix: str = "flowrisk.") -> dict[str, float]:
        """The held-out metrics logged with ``version``'s run (``prefix`` dropped)."""
        run_id = self.version(version).run_id
        if not run_id:
            return {}
        logged = self.client.get_run(run_id).data.metrics
        return {k.removeprefix(prefix): float(v) for k, v in logged.items() if k.startswith(prefix)}

    def _download(self, artifact_uri: str, missing: str) -> Path:
        import mlflow
        from mlflow.exceptions import MlflowException

        try:
            with silenced_stderr():  # MLflow draws a progress bar per download
                path = mlflow.artifacts.download_artifacts(
                    artifact_uri=artifact_uri,
                    tracking_uri=self.tracking_uri,
                    registry_uri=self.tracking_uri,
                )
        except (MlflowException, OSError) as exc:
            raise ModelNotFound(f"{missing} ({str(exc).splitlines()[0]})") from exc
        return Path(path)

    @store_errors
    def load_bundle(self, uri: str | None = None) -> Bundle:
        """The scorer, its baselines and its version number behind a model URI (a version or
        an alias; default the champion). An alias is resolved once, so the files and the
        version number belong to the same version even if the alias moves meanwhile."""
        uri = uri or model_uri()
        probe(self.tracking_uri)  # the server may have gone since the client was made
        try:
            number = str(self.version(uri_ref(uri)).version)
        except ModelNotFound as exc:  # name what the caller asked for
            raise ModelNotFound(f"{uri}: {exc}") from exc
        location = self.client.get_model_version_download_uri(MODEL_NAME, number)
        folder = self._download(f"{location}/artifacts/bundle", f"{uri}: no model bundle")
        bundle = read_bundle(folder, uri=uri, version=number)
        if bundle.sample is None:  # registered before bundles carried one: take its run's
            bundle = replace(bundle, sample=self._run_sample(number, bundle.model.features))
        return bundle

    def _run_sample(self, version: str, features: list[str]) -> pl.DataFrame | None:
        """A held-out sample from the profiles logged with ``version``'s run (None without)."""
        try:
            return heldout_sample(self.heldout(version), features)
        except ModelNotFound:
            return None

    def load_model(self, uri: str | None = None) -> RiskModel:
        """The scorer behind a model URI (default the champion)."""
        return self.load_bundle(uri).model

    @store_errors
    def heldout(self, version: str) -> pl.DataFrame:
        """The held-out profiles (features, label, typologies) logged with ``version``'s run."""
        found = self.version(version)
        missing = f"{MODEL_NAME} version {found.version} has no held-out data ({HELDOUT_ARTIFACT})"
        if not found.run_id:
            raise ModelNotFound(missing)
        root = self.client.get_run(found.run_id).info.artifact_uri
        return pl.read_parquet(self._download(f"{root}/{HELDOUT_ARTIFACT}", missing))

    @store_errors
    def compare(
        self, a: str, b: str, *, heldout_of: str | None = None, resamples: int = RESAMPLES
    ) -> Comparison:
        """Both versions scored on the same held-out profiles (those logged with ``heldout_of``,
        default ``b``, the challenger): metrics side by side, B minus A on PR-AUC and recall at
        each budget with a paired bootstrap interval over those entities, and a warning when
        the two were trained on different datasets (one may then have trained on the other's
        held-out entities)."""
        from flowrisk.models.evaluate import evaluate_scores

        for ref in (a, b, heldout_of or b):
            parse_ref(ref)
        versions = [self.version(ref) for ref in (a, b)]
        source = self.version(heldout_of or b)
        data = self.heldout(str(source.version))
        scores = [self._heldout_scores(str(v.version), data, source) for v in versions]
        y = data["label"].to_numpy()
        metrics = {
            str(v.version): evaluate_scores(s, data) for v, s in zip(versions, scores, strict=True)
        }
        digests = {
            self.client.get_run(v.run_id).data.params.get("dataset_digest") if v.run_id else None
            for v in versions
        }
        same = len(digests) == 1 and None not in digests
        return {
            "versions": [str(v.version) for v in versions],
            "heldout_of": str(source.version),
            "rows": data.height,
            "positives": int(y.sum()),
            "metrics": metrics,
            "differences": differences(y, *scores, resamples=resamples),
            "warning": None
            if same
            else "the versions were trained on different datasets (or one predates dataset "
            "digests): one may have trained on entities of this held-out set",
        }

    def _heldout_scores(self, version: str, data: pl.DataFrame, source: ModelVersion) -> Any:
        """``version``'s probabilities on the held-out profiles of ``source``."""
        model = self.load_model(model_uri(version=version))
        missing = sorted(set(model.features) - set(data.columns))
        if missing:
            raise InvalidParameter(
                "heldout_of",
                f"version {source.version}'s held-out data lacks features of version "
                f"{version} ({', '.join(missing[:3])}...)",
            )
        return model.predict(data)

    # writing

    @store_errors
    def set_alias(self, version: str, alias: str = CHAMPION) -> None:
        """Point ``alias`` at ``version`` (which must exist)."""
        number, name = version_number(version), alias_name(alias)
        self.version(number)
        self.client.set_registered_model_alias(MODEL_NAME, name, number)

    @store_errors
    def promote(
        self,
        version: str,
        *,
        force: bool = False,
        alias: str = CHAMPION,
        resamples: int = RESAMPLES,
    ) -> Promotion:
        """Make ``version`` the champion. Unless ``force``, it is first compared with the
        champion on its own held-out profiles (:meth:`compare`) and refused only when it is
        significantly worse on PR-AUC or recall at 1 % (the paired interval of its difference
        entirely below zero); a difference inside the noise does not block it and is said
        to be one in the returned :class:`Promotion`."""
        parse_ref(version)
        name = alias_name(alias)
        challenger = str(self.version(version).version)
        champion = str(self.version(f"@{name}").version) if self.has_champion(name) else None
        decision = None
        if champion is not None and not force and champion != challenger:
            result = self.compare(champion, challenger, resamples=resamples)
            metrics = result["metrics"]
            decision = decide(result["differences"], metrics[champion], metrics[challenger])
            if decision.refused:
                raise InvalidParameter("version", refusal(decision, result))
        self.client.set_registered_model_alias(MODEL_NAME, name, challenger)
        return Promotion(challenger, champion, decision)

    @store_errors
    def ensure_experiment(self, name: str) -> str:
        """The id of experiment ``name``, created (artifacts under the artifact root, when
        there is one) if it does not exist. Also what checks the store answers."""
        if not name.strip():
            raise InvalidParameter("experiment", "must not be empty")
        existing = self.client.get_experiment_by_name(name)
        if existing is not None:
            return str(existing.experiment_id)
        root = self.artifact_root
        location = (root / name).resolve().as_uri() if root is not None else None
        return str(self.client.create_experiment(name, artifact_location=location))

    @contextlib.contextmanager
    def start_run(
        self, experiment: str, *, name: str | None = None, tags: Mapping[str, str] | None = None
    ) -> Iterator[str]:
        """An MLflow run in ``experiment`` for the block, named ``name`` and tagged ``tags``
        from its first second, yielding its id: MLflow's fluent logging (``mlflow.log_*``) and
        :meth:`log_model` write to it. The process-wide tracking URI points at this store for
        the block only."""
        import mlflow

        experiment_id = self.ensure_experiment(experiment)
        with (
            using_tracking_uri(self.tracking_uri),
            mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=dict(tags or {})),
        ):
            active = mlflow.active_run()
            assert active is not None
            yield active.info.run_id

    @store_errors
    def log_model(self, model: RiskModel, baselines: Baselines, input_example: pd.DataFrame) -> str:
        """Log the model as a portable pyfunc (:mod:`flowrisk.models.bundle`) in the run of
        :meth:`start_run` and register it; returns the new version. Of the held-out profiles
        ``input_example``, five from least to most risky are the logged example and a few go
        into the bundle for the service's canary."""
        import mlflow
        from mlflow.models import infer_signature

        if mlflow.active_run() is None:
            raise InvalidParameter("run", "log_model needs the run of Registry.start_run")
        with tempfile.TemporaryDirectory() as tmp:
            kept = [c for c in ("entity_id", *model.features) if c in input_example.columns]
            sample = heldout_sample(pl.from_pandas(input_example[kept]), model.features)
            bundle = write_bundle(model, baselines, Path(tmp) / "bundle", sample)
            example = input_example[model.features]
            scores = model.predict(pl.from_pandas(example))
            signature = infer_signature(example, scores)
            with silenced_stderr():  # MLflow prints "Successfully registered model ..." itself
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=pyfunc_model(),
                    artifacts={"bundle": str(bundle)},
                    signature=signature,
                    input_example=example.iloc[score_range(scores)],
                    pip_requirements=pip_requirements(),
                    code_paths=[str(package_code(Path(tmp) / "code"))],
                    registered_model_name=MODEL_NAME,
                )
        return str(info.registered_model_version)

    @store_errors
    def describe(self, version: str, text: str) -> None:
        """Set ``version``'s description (its model card, in the registry's UI)."""
        number = version_number(version)  # before the client: a bad number touches nothing
        self.client.update_model_version(MODEL_NAME, number, description=text)
