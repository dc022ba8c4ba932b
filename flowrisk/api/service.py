"""What the routes call: the loaded model (reloadable without a restart), payloads turned into
ordinary frames, and scoring through the one feature path (``build_profiles``) and the one
explanation path (``explain_entities``) that batch scoring uses."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from flowrisk.api.schemas import ScoreRequest
from flowrisk.errors import EntityNotFound, InvalidParameter
from flowrisk.features import build_profiles, frames_for_entities
from flowrisk.io import read_dataset
from flowrisk.models.batch import explain_entities
from flowrisk.models.registry import Bundle
from flowrisk.schema import TABLES

__all__ = ["DatasetSource", "ModelHolder", "payload_frames", "score_frames"]


@dataclass
class Loaded:
    bundle: Bundle
    loaded_at: datetime
    metrics: dict[str, float]


class ModelHolder:
    """The model the service scores with; ``reload`` swaps it atomically, keeping the old one
    when the new target cannot be loaded."""

    def __init__(self, uri: str, loader: Any) -> None:
        self.uri = uri
        self._loader = loader  # uri -> (Bundle, held-out metrics)
        self._lock = threading.Lock()
        self.current = self._load()

    def _load(self) -> Loaded:
        bundle, metrics = self._loader(self.uri)
        return Loaded(bundle=bundle, loaded_at=datetime.now(UTC), metrics=metrics)

    def reload(self) -> tuple[Loaded, Loaded]:
        """Load the URI's current target; returns (previous, current). Raises (and keeps the
        previous model) when it cannot be loaded."""
        fresh = self._load()
        with self._lock:
            previous, self.current = self.current, fresh
        return previous, fresh


def payload_frames(request: ScoreRequest) -> dict[str, pl.LazyFrame]:
    """The request as a dataset (every table conformed to the data model), after the checks a
    dataset gets from the contracts that a single payload can break."""
    entity = request.entity.entity_id
    owned = {a.account_id for a in request.accounts if a.entity_id == entity}
    if not owned:
        raise InvalidParameter("accounts", f"none of the accounts belongs to {entity}")
    for name, items, key in (
        ("accounts", request.accounts, "account_id"),
        ("transactions", request.transactions, "txn_id"),
        ("assets", request.assets, "asset_id"),
        ("reports", request.reports, "report_id"),
    ):
        seen: set[Any] = set()
        for i, item in enumerate(items):
            value = getattr(item, key)
            if value in seen:
                raise InvalidParameter(f"{name}[{i}].{key}", f"duplicate {key} {value!r}")
            seen.add(value)
    listed = {a.account_id for a in request.accounts}
    for i, t in enumerate(request.transactions):
        if t.src_account_id is None and t.dst_account_id is None:
            raise InvalidParameter(f"transactions[{i}]", "src and dst cannot both be cash")
        for side in ("src_account_id", "dst_account_id"):
            account = getattr(t, side)
            if account is not None and account not in listed:
                raise InvalidParameter(
                    f"transactions[{i}].{side}", f"{account!r} is not among the accounts"
                )
        if t.src_account_id not in owned and t.dst_account_id not in owned:
            raise InvalidParameter(f"transactions[{i}]", f"neither account belongs to {entity}")
    holders = [("assets", i, a.entity_id) for i, a in enumerate(request.assets)]
    holders += [("reports", i, r.entity_id) for i, r in enumerate(request.reports)]
    for name, i, holder in holders:
        if holder != entity:
            raise InvalidParameter(f"{name}[{i}].entity_id", f"must be {entity}")
    links: set[tuple[str, str, str]] = set()
    for i, o in enumerate(request.ownership):
        if entity not in (o.owner_entity_id, o.owned_entity_id):
            raise InvalidParameter(f"ownership[{i}]", f"the link does not involve {entity}")
        link = (o.owner_entity_id, o.owned_entity_id, o.role)
        if link in links:
            raise InvalidParameter(f"ownership[{i}]", f"duplicate link {link}")
        links.add(link)

    def frame(table: str, rows: list[dict[str, Any]]) -> pl.LazyFrame:
        return pl.DataFrame(rows, schema=TABLES[table].empty().schema).lazy()

    return {
        "entities": frame("entities", [request.entity.model_dump()]),
        "accounts": frame("accounts", [a.model_dump() for a in request.accounts]),
        "transactions": frame("transactions", [t.model_dump() for t in request.transactions]),
        "assets": frame("assets", [a.model_dump() for a in request.assets]),
        "ownership": frame("ownership", [o.model_dump() for o in request.ownership]),
        "reports": frame("reports", [r.model_dump() for r in request.reports]),
    }


def score_frames(
    frames: Mapping[str, pl.LazyFrame],
    entity_id: str,
    as_of: datetime,
    loaded: Loaded,
    explain: bool,
) -> dict[str, Any]:
    """One entity's explained score (or bare score) from its frames."""
    bundle = loaded.bundle
    profiles = build_profiles(frames, as_of, bundle.baselines, [entity_id]).collect()
    if profiles.is_empty():
        raise EntityNotFound(f"{entity_id}: no such entity")
    if explain:
        row = explain_entities(dict(frames), profiles, as_of, bundle.model, bundle.baselines)
        out = row.row(0, named=True)
    else:
        scored = bundle.model.score(profiles).row(0, named=True)
        out = {**scored, "tags": [], "reasons": None, "red_flags": None}
    out["band"] = str(out["band"])
    out["as_of"] = as_of
    out["model_version"] = bundle.version
    return out


class DatasetSource:
    """A dataset the service was started on, for ``GET /v1/entities/{id}/score``, held in
    memory; each lookup scores the entity's neighbourhood (``frames_for_entities``), which gives
    the entity the same features as the batch scorer."""

    def __init__(self, folder: Path, as_of: datetime | None = None) -> None:
        from flowrisk.models.training_run import snapshot_dates

        self.folder = folder
        # held in memory: a lookup then costs a filter, not a scan of the files
        self.frames = {k: v.collect().lazy() for k, v in read_dataset(folder).items()}
        self.as_of = as_of or snapshot_dates(self.frames, 1)[0]
        ids = self.frames["entities"].select("entity_id").collect()["entity_id"]
        self.entities = set(ids.to_list())

    def frames_for(self, entity_id: str) -> dict[str, pl.LazyFrame]:
        if entity_id not in self.entities:
            raise EntityNotFound(f"{entity_id}: no such entity in {self.folder.name}")
        sub = frames_for_entities(self.frames, [entity_id], self.as_of)
        return {name: frame.collect().lazy() for name, frame in sub.items()}
