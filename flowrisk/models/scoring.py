"""Scoring one entity, for every face (API, CLI, case report): its profile through the one feature
path (``build_profiles``) and its explanation through the one explanation path
(``explain_entities``) that batch scoring uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from flowrisk.errors import EntityNotFound
from flowrisk.features import Baselines, RunMode, build_profiles, collect_plans, frames_for_entities
from flowrisk.io import read_dataset
from flowrisk.models.batch import explain_entities
from flowrisk.models.scorer import RiskModel

if TYPE_CHECKING:
    from flowrisk.models.registry import Bundle

__all__ = ["DatasetSource", "Loaded", "explain_entity", "score_frames"]


@dataclass
class Loaded:
    """A bundle as a service holds it: when it was loaded and its held-out metrics."""

    bundle: Bundle
    loaded_at: datetime
    metrics: dict[str, float]


def explain_entity(
    frames: dict[str, pl.LazyFrame],
    entity_id: str,
    as_of: datetime,
    model: RiskModel,
    baselines: Baselines,
) -> dict[str, Any]:
    """One entity's explanation row (score, band, tags, reasons, red flags) from a dataset's
    frames, as ``flowrisk explain`` and the case report show it."""
    known = frames["entities"].filter(pl.col("entity_id") == entity_id).collect()
    if known.is_empty():
        raise EntityNotFound(f"{entity_id}: no such entity")
    profile = build_profiles(frames, as_of, baselines, entities=[entity_id]).collect()
    return _explained_row(frames, profile, as_of, model, baselines, "bulk")


def score_frames(
    frames: Mapping[str, pl.LazyFrame],
    entity_id: str,
    as_of: datetime,
    loaded: Loaded,
    explain: bool,
) -> dict[str, Any]:
    """One entity's explained score (or bare score) from its frames, as the API returns it."""
    bundle = loaded.bundle
    plan = build_profiles(frames, as_of, bundle.baselines, [entity_id])
    profiles = collect_plans([plan], "request")[0]
    if profiles.is_empty():
        raise EntityNotFound(f"{entity_id}: no such entity")
    if explain:
        out = _explained_row(frames, profiles, as_of, bundle.model, bundle.baselines, "request")
    else:
        scored = bundle.model.score(profiles).row(0, named=True)
        out = {**scored, "tags": [], "reasons": None, "red_flags": None}
    out["band"] = str(out["band"])
    out["as_of"] = as_of
    out["model_version"] = bundle.version
    return out


def _explained_row(
    frames: Mapping[str, pl.LazyFrame],
    profile: pl.DataFrame,
    as_of: datetime,
    model: RiskModel,
    baselines: Baselines,
    mode: RunMode,
) -> dict[str, Any]:
    """The explanation of a one-entity profile: the step every one-entity path shares."""
    row = explain_entities(dict(frames), profile, as_of, model, baselines, mode)
    return row.row(0, named=True)


class DatasetSource:
    """A dataset a service was started on, for ``GET /v1/entities/{id}/score``, held in
    memory; each lookup scores the entity's neighbourhood (``frames_for_entities``), which gives
    the entity the same features as the batch scorer."""

    def __init__(self, folder: Path, as_of: datetime | None = None) -> None:
        from flowrisk.models.dataset import scoring_date

        self.folder = folder
        # held in memory: a lookup then costs a filter, not a scan of the files
        self.frames = {k: v.collect().lazy() for k, v in read_dataset(folder).items()}
        self.as_of = as_of or scoring_date(self.frames)
        ids = self.frames["entities"].select("entity_id").collect()["entity_id"]
        self.entities = set(ids.to_list())

    def frames_for(self, entity_id: str) -> dict[str, pl.LazyFrame]:
        """The entity's neighbourhood, collected (a request's plans then run on small frames)."""
        if entity_id not in self.entities:
            raise EntityNotFound(f"{entity_id}: no such entity in {self.folder.name}")
        sub = frames_for_entities(self.frames, [entity_id], self.as_of)
        return {name: frame.collect().lazy() for name, frame in sub.items()}
