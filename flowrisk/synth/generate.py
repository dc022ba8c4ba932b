"""Generating a world: plan it, draw transactions chunk by chunk, stream the tables to disk.

``plan_world`` and ``iter_transactions`` are pure (seeded); ``generate_world`` is the edge that
writes a dataset folder and its ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from flowrisk.errors import InvalidParameter
from flowrisk.io import TableWriter, write_manifest, write_table
from flowrisk.reference import jurisdictions, sectors_version, thresholds
from flowrisk.schema import TYPOLOGIES
from flowrisk.synth.flows import legit_transactions
from flowrisk.synth.params import GENERATOR_VERSION, WorldParams
from flowrisk.synth.population import plan_population
from flowrisk.synth.shape import as_edge_list, edge_transactions
from flowrisk.synth.streams import (
    inject_stream,
    legit_stream,
    population_stream,
    reports_stream,
    scheme_stream,
)
from flowrisk.synth.tables import (
    accounts_frame,
    assets_frame,
    entities_frame,
    labels_frame,
    ownership_frame,
    reports_frame,
    transactions_frames,
)
from flowrisk.synth.typologies import REGISTRY, TypologyRegistry
from flowrisk.synth.typologies.reports import Reports, cash_reports, plan_reports
from flowrisk.synth.world import DAY, Txns, World

__all__ = ["Chunk", "check_output", "generate_world", "iter_transactions", "plan_world"]

Progress = Callable[[int, int], None]


def plan_world(params: WorldParams, *, registry: TypologyRegistry = REGISTRY) -> World:
    """Plan the honest population and every scheme (in registry order, each typology from the
    stream of its pinned id); no transaction is drawn yet."""
    world, book = plan_population(params, population_stream(params.seed))
    guilty = np.zeros(params.entities, dtype=bool)
    for typology in registry:
        tp = params.typologies.get(typology.name)
        if tp is None or tp.prevalence == 0:
            continue
        k = round(tp.prevalence * params.entities)
        rng = scheme_stream(params.seed, typology.stream)
        plan = typology.plan(rng, world, book, k, guilty)
        world.schemes[typology.name] = plan
        guilty[plan.entity] = True
    world.accounts = book.arrays()
    return world


@dataclass
class Chunk:
    """Transactions of one slice of entities, sorted by time, and the cash reports they cause."""

    lo: int
    hi: int
    txns: Txns
    cash_reports: Reports


def _active(world: World, txns: Txns) -> np.ndarray:
    """Mask of transactions inside the period whose accounts' holders existed at that time."""
    a = world.accounts
    holder = a["entity"]
    closure = world.closure_day[np.maximum(holder, 0)].astype(np.int64)
    until = np.where((holder >= 0) & (closure >= 0), closure * DAY, np.iinfo(np.int64).max)
    ok = (txns.ts >= world.start_s) & (txns.ts < world.end_s) & (txns.amount > 0)
    for side in (txns.src, txns.dst):
        known = side >= 0
        ok &= ~known | (txns.ts < until[np.maximum(side, 0)])
    return ok


def _without_guilty(world: World, txns: Txns) -> Txns:
    """Ordinary transactions that touch no guilty entity's account (camouflage off)."""
    guilty = np.zeros(world.n_entities + 1, dtype=bool)  # last slot: external accounts
    for plan in world.schemes.values():
        guilty[plan.entity] = True
    holder = world.accounts["entity"]
    touched = np.zeros(len(txns), dtype=bool)
    for side in (txns.src, txns.dst):
        who = np.where(side >= 0, holder[np.maximum(side, 0)], -1)
        touched |= guilty[who]
    return txns.take(~touched)


def _scheme_transactions(
    world: World, registry: TypologyRegistry, chunk: int, lo: int, hi: int
) -> list[Txns]:
    """Every scheme's transactions in one chunk, tagged with its typology's stream id."""
    out: list[Txns] = []
    for name, plan in world.schemes.items():
        typology = registry[name]
        rng = inject_stream(world.params.seed, typology.stream, chunk)
        out.extend(t.tagged(typology.stream) for t in typology.inject(rng, world, plan, lo, hi))
    return out


def iter_transactions(world: World, *, registry: TypologyRegistry = REGISTRY) -> Iterator[Chunk]:
    """Draw the transactions chunk by chunk: ordinary life plus the schemes of the chunk.

    Without camouflage the guilty have no ordinary life: only their schemes' transactions. An
    edge-list world keeps only plain transfers between accounts and draws no cash reports.
    ``registry`` must be the one the world was planned with.
    """
    params = world.params
    step = params.chunk_entities
    for c, lo in enumerate(range(0, world.n_entities, step)):
        hi = min(lo + step, world.n_entities)
        legit = legit_transactions(legit_stream(params.seed, c), world, lo, hi)
        if not params.camouflage:
            legit = _without_guilty(world, legit)
        txns = Txns.concat([legit, *_scheme_transactions(world, registry, c, lo, hi)])
        txns = txns.take(_active(world, txns))
        txns = txns.take(np.lexsort((txns.dst, txns.src, txns.ts)))
        if params.shape == "edge-list":
            yield Chunk(
                lo,
                hi,
                edge_transactions(world, txns),
                cash_reports(world, txns.take(np.zeros(0, dtype=np.int64))),
            )
        else:
            yield Chunk(lo, hi, txns, cash_reports(world, txns))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_output(out: Path) -> None:
    """Create ``out`` if needed; raise :class:`InvalidParameter` when it cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidParameter("out", f"cannot create {out}: {exc.strerror}") from exc
    if not out.is_dir() or not os.access(out, os.W_OK):
        raise InvalidParameter("out", f"{out} is not a writable folder")


def generate_world(
    params: WorldParams, out: Path | str, progress: Progress | None = None
) -> dict[str, Any]:
    """Generate a world into the folder ``out`` and return its manifest.

    Transactions are drawn and written ``params.chunk_entities`` entities at a time, so memory
    stays bounded whatever the world's size. ``progress(done, total)`` is called per chunk.
    """
    out = Path(out)
    check_output(out)
    world = plan_world(params)
    rows: dict[str, int] = {}
    all_reports: list[Reports] = [plan_reports(reports_stream(params.seed), world)]
    with (
        TableWriter(out, "transactions") as tx_out,
        TableWriter(out, "transaction_labels") as lab_out,
    ):
        next_id = 1
        for chunk in iter_transactions(world):
            frame, labels = transactions_frames(world, chunk.txns, next_id)
            tx_out.write(frame)
            lab_out.write(labels)
            next_id += frame.height
            all_reports.append(chunk.cash_reports)
            if progress is not None:
                progress(chunk.hi, world.n_entities)
    rows["transactions"] = tx_out.rows
    rows["transaction_labels"] = lab_out.rows
    tables: dict[str, pl.DataFrame] = {
        "entities": entities_frame(world),
        "accounts": accounts_frame(world),
        "assets": assets_frame(world),
        "ownership": ownership_frame(world),
        "reports": reports_frame(world, all_reports),
        "labels": labels_frame(world),
    }
    if params.shape == "edge-list":
        tables = as_edge_list(tables)
    for name, frame in tables.items():
        write_table(frame, out, name)
        rows[name] = frame.height
    manifest = _manifest(params, world, tables["labels"], rows, out)
    write_manifest(out, manifest)
    return manifest


def _manifest(
    params: WorldParams, world: World, labels: pl.DataFrame, rows: dict[str, int], out: Path
) -> dict[str, Any]:
    exploded = labels.filter(pl.col("label") == 1).explode("typologies")
    per_typology = dict(
        exploded.group_by("typologies")
        .len()
        .sort("typologies")
        .select(pl.col("typologies").cast(pl.String), "len")
        .iter_rows()
    )
    files = sorted(p.name for p in out.glob("*.parquet") if p.stem in rows)
    return {
        "generator": "flowrisk.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": params.seed,
        "parameters": params.to_dict(),
        "period": {
            "start": np.datetime64(world.start_s, "s").astype("datetime64[D]").item().isoformat(),
            "end": np.datetime64(world.end_s - DAY, "s").astype("datetime64[D]").item().isoformat(),
        },
        "reference_versions": {
            "sectors": sectors_version(),
            "jurisdictions": jurisdictions().version,
            "thresholds": thresholds().version,
        },
        "rows": dict(sorted(rows.items())),
        "labels": {
            "entities": int(labels.height),
            "positive": int(labels["label"].sum()),
            "per_typology": {
                t: int(per_typology.get(t, 0)) for t in TYPOLOGIES if t in params.typologies
            },
        },
        "sha256": {name: _sha256(out / name) for name in files},
    }
