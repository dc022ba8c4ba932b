"""Scoring one entity, for every face (API, CLI, case report): its profile through the one feature
path (``build_profiles``) and its explanation through the one explanation path
(``explain_entities``) that batch scoring uses."""

from __future__ import annotations

import gc
import logging
import threading
import time
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
    from flowrisk.models.lookups import LegIndex, Prepared
    from flowrisk.models.registry import Bundle

log = logging.getLogger(__name__)

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
        out = _bare_row(bundle.model, profiles)
    return _stamped(out, as_of, bundle)


def _bare_row(model: RiskModel, profile: pl.DataFrame) -> dict[str, Any]:
    """The score of a one-entity profile without its explanation, as the API returns it."""
    return {**model.score(profile).row(0, named=True), "tags": [], "reasons": None,
            "red_flags": None}  # fmt: skip


def _stamped(out: dict[str, Any], as_of: datetime, bundle: Bundle) -> dict[str, Any]:
    """A score row with its band as text, its date and the model version that made it."""
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
    """A dataset a service was started on, for ``GET /v1/entities/{id}/score`` and the
    console's entity page, held in memory. Once ``prepare``d for a bundle, lookups read the
    profiles and red flags built in the batch path at start-up (:mod:`flowrisk.models.lookups`);
    otherwise (or for another bundle) each lookup scores the entity's neighbourhood
    (``frames_for_entities``), which gives the entity the same features as the batch scorer."""

    def __init__(self, folder: Path, as_of: datetime | None = None) -> None:
        from flowrisk.models.dataset import scoring_date

        self.folder = folder
        # held in memory: a lookup then costs a filter, not a scan of the files
        self.frames = {k: v.collect().lazy() for k, v in read_dataset(folder).items()}
        self.as_of = as_of or scoring_date(self.frames)
        ids = self.frames["entities"].select("entity_id").collect()["entity_id"]
        self.entities = set(ids.to_list())
        self.prepared: Prepared | None = None
        self.index: LegIndex | None = None
        self.preparing: threading.Thread | None = None  # the latest background preparation

    def prepare(self, loaded: Loaded, background: bool = False) -> threading.Thread | None:
        """Build, once, what lookups of ``loaded``'s bundle at ``as_of`` read from memory: every
        entity's profile and red flags, and the index of each account's transactions. With
        ``background``, in a thread (returned): lookups take the feature path until it ends."""
        if background:
            worker = threading.Thread(target=self.prepare, args=(loaded,), daemon=True)
            self.preparing = worker
            worker.start()
            return worker
        from flowrisk.models.lookups import LegIndex, prepare_lookups

        started = time.perf_counter()
        ready = prepare_lookups(self.frames, self.as_of, loaded.bundle)
        self.index = LegIndex(self.frames["transactions"].collect(), self.as_of)
        self.prepared = ready  # one assignment: a lookup sees all of it or none
        gc.freeze()  # held for the service's life: out of the collector's scans
        held = (ready.nbytes() + self.index.nbytes()) / 2**20
        log.info(
            "lookups of %s prepared in memory in %.1f s (%.0f MiB)",
            self.folder.name, time.perf_counter() - started, held,
        )  # fmt: skip
        return None

    def score(self, entity_id: str, loaded: Loaded, explain: bool) -> dict[str, Any]:
        """The entity's score (explained or bare) at ``as_of``: from the prepared profiles when
        they were built for ``loaded``'s bundle, else through the feature path."""
        if entity_id not in self.entities:
            raise EntityNotFound(f"{entity_id}: no such entity in {self.folder.name}")
        ready = self.prepared
        bundle = loaded.bundle
        if ready is None or not ready.serves(bundle, self.as_of) or entity_id not in ready.rows:
            return score_frames(self.frames_for(entity_id), entity_id, self.as_of, loaded, explain)
        if explain:
            profile = ready.profiles.slice(ready.rows[entity_id], 1)
            out = ready.explained(entity_id, profile).row(0, named=True)
        else:
            out = {**ready.scored(entity_id), "tags": [], "reasons": None, "red_flags": None}
        return _stamped(out, self.as_of, bundle)

    def frames_for(self, entity_id: str) -> dict[str, pl.LazyFrame]:
        """The entity's neighbourhood, collected (a request's plans then run on small frames)."""
        if entity_id not in self.entities:
            raise EntityNotFound(f"{entity_id}: no such entity in {self.folder.name}")
        sub = frames_for_entities(self.frames, [entity_id], self.as_of)
        return {name: frame.collect().lazy() for name, frame in sub.items()}

    def frames_of(self, entity_ids: list[str]) -> dict[str, pl.LazyFrame] | None:
        """The dataset's tables with only the transactions, of the ``HORIZON_DAYS`` before
        ``as_of``, that have an account of ``entity_ids`` on a side: everything these entities'
        facts and links read, found through the index (None before ``prepare``)."""
        if self.index is None:
            return None
        unknown = [e for e in entity_ids if e not in self.entities]
        if unknown:
            raise EntityNotFound(f"{unknown[0]}: no such entity in {self.folder.name}")
        accounts = self.frames["accounts"].filter(pl.col("entity_id").is_in(entity_ids))
        theirs = accounts.select("account_id").collect()["account_id"].to_list()
        out = dict(self.frames)
        out["transactions"] = self.index.take(self.index.rows_of(theirs)).lazy()
        return out
