"""Turning the planned world and its transaction batches into data-model tables (Polars)."""

from __future__ import annotations

import numpy as np
import polars as pl

from flowrisk.reference import sectors
from flowrisk.schema import (
    ACCOUNT_TYPES,
    ASSET_TYPES,
    CHANNELS,
    ENTITY_TYPES,
    OWNERSHIP_ROLES,
    PAYMENT_METHODS,
    REPORT_CATEGORIES,
    RISK_TAGS,
    TABLES,
    TYPOLOGIES,
)
from flowrisk.synth.institutions import N_BRANCHES
from flowrisk.synth.names import COMPANY_FORMS, FIRST_NAMES, SURNAMES
from flowrisk.synth.typologies import REGISTRY
from flowrisk.synth.typologies.reports import PROFESSIONS, Reports
from flowrisk.synth.world import COUNTRIES, CURRENCIES, DAY, RISK_BIT, Txns, World

__all__ = [
    "account_ids",
    "accounts_frame",
    "assets_frame",
    "entities_frame",
    "entity_ids",
    "labels_frame",
    "ownership_frame",
    "reports_frame",
    "transactions_frames",
]


def _format_ids(prefix: str, index: np.ndarray, width: int) -> pl.Series:
    """``prefix`` + zero-padded numbers; -1 gives null."""
    frame = pl.DataFrame({"i": np.asarray(index, dtype=np.int64)}).select(
        pl.when(pl.col("i") >= 0)
        .then(pl.lit(prefix) + pl.col("i").cast(pl.String).str.zfill(width))
        .alias("id")
    )
    return frame["id"]


def _gather(values: pl.Series, codes: np.ndarray) -> pl.Series:
    """``values[codes]`` with null where a code is negative (vectorised, no Python strings)."""
    idx = pl.DataFrame({"i": np.asarray(codes, dtype=np.int64)}).select(
        pl.when(pl.col("i") >= 0).then(pl.col("i")).alias("i")
    )["i"]
    return values.gather(idx)


def _width(n: int) -> int:
    return max(8, len(str(max(n - 1, 0))))


def entity_ids(world: World, index: np.ndarray) -> pl.Series:
    """Entity ids (``E00000042``) for entity numbers; -1 gives null."""
    return _gather(_all_ids(world, "entities"), index)


def account_ids(world: World, index: np.ndarray) -> pl.Series:
    """Account ids (``A000000042``) for account numbers; -1 (cash) gives null."""
    return _gather(_all_ids(world, "accounts"), index)


def _all_ids(world: World, kind: str) -> pl.Series:
    """Every id of ``kind``, formatted once per world and kept on it."""
    if kind not in world.id_cache:
        if kind == "entities":
            n = world.n_entities
            world.id_cache[kind] = _format_ids("E", np.arange(n), _width(n))
        else:
            n = len(world.accounts["entity"])
            world.id_cache[kind] = _format_ids("A", np.arange(n), _width(n) + 1)
    return world.id_cache[kind]


_CURRENCIES = pl.Series(CURRENCIES, dtype=pl.String)
_BRANCHES = _format_ids("BR", np.arange(N_BRANCHES), 4)


def _masked(values: np.ndarray, valid: np.ndarray) -> pl.Series:
    """``values`` with nulls where ``valid`` is false."""
    frame = pl.DataFrame({"v": values, "ok": valid})
    return frame.select(pl.when(pl.col("ok")).then(pl.col("v")).alias("v"))["v"]


def _dates(days: np.ndarray) -> pl.Series:
    """Days since 1970-01-01 as dates; negative means null."""
    d = np.asarray(days, dtype=np.int32)
    return _masked(d, d >= 0).cast(pl.Date)


def _timestamps(seconds: np.ndarray) -> pl.Series:
    micro = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("datetime64[us]")
    return pl.Series(micro).dt.replace_time_zone("UTC")


def _enum(codes: np.ndarray, values: tuple[str, ...]) -> pl.Series:
    return _gather(pl.Series(values, dtype=pl.Enum(values)), codes)


_VOCABULARY_CODE = REGISTRY.vocabulary_codes()


def _typologies(streams: np.ndarray) -> pl.Series:
    """Typology names (the label enum) of ground-truth codes, which are stream ids."""
    return _enum(_VOCABULARY_CODE[streams], TYPOLOGIES)


def entities_frame(world: World) -> pl.DataFrame:
    """The entities table."""
    n = world.n_entities
    idx = np.arange(n)
    comp = world.is_company
    first = np.asarray(FIRST_NAMES, dtype=object)[world.first_name % len(FIRST_NAMES)]
    last = np.asarray(SURNAMES, dtype=object)[world.surname % len(SURNAMES)]
    labels = sectors()["label"].to_numpy()
    words = np.array([lab.split(" (")[0].split(" and ")[0] for lab in labels], dtype=object)
    form = np.asarray(COMPANY_FORMS, dtype=object)[world.first_name % len(COMPANY_FORMS)]
    sector = np.where(comp, world.sector, 0)
    person_name = first + " " + np.char.upper(last.astype(str)).astype(object)
    company_name = last + " " + words[sector] + " " + form
    codes = sectors()["code"].to_numpy()
    return pl.DataFrame(
        {
            "entity_id": entity_ids(world, idx),
            "entity_type": _enum(comp.astype(np.int8), ENTITY_TYPES),
            "name": pl.Series(np.where(comp, company_name, person_name).astype(str)),
            "country": pl.Series(np.asarray(COUNTRIES)[world.country]),
            "birth_year": _masked(world.birth_year, ~comp),
            "registration_date": _dates(world.registration_day),
            "closure_date": _dates(world.closure_day),
            "sector_code": _masked(codes[sector].astype(str), comp),
            "employees": _masked(world.employees, comp),
            "declared_income": pl.Series(world.income).fill_nan(None),
            "declared_revenue": pl.Series(world.declared_revenue).fill_nan(None),
            "is_pep": pl.Series(world.is_pep),
        },
        schema=TABLES["entities"].schema,
    )


def accounts_frame(world: World) -> pl.DataFrame:
    """The accounts table; external counterparties have no entity."""
    a = world.accounts
    n = len(a["entity"])
    tags = a["tags"]
    tag_lists = pl.DataFrame({"t": tags}).select(
        pl.concat_list(
            [pl.when((pl.col("t") & bit) > 0).then(pl.lit(name)) for name, bit in RISK_BIT.items()]
        )
        .list.drop_nulls()
        .cast(pl.List(pl.Enum(RISK_TAGS)))
        .alias("risk_tags")
    )["risk_tags"]
    return pl.DataFrame(
        {
            "account_id": account_ids(world, np.arange(n)),
            "entity_id": entity_ids(world, a["entity"]),
            "institution_id": pl.Series(np.asarray(world.institutions)[a["institution"]]),
            "account_type": _enum(a["kind"], ACCOUNT_TYPES),
            "country": pl.Series(np.asarray(COUNTRIES)[a["country"]]),
            "opened_at": _dates(a["opened"]),
            "risk_tags": tag_lists,
        },
        schema=TABLES["accounts"].schema,
    )


def transactions_frames(
    world: World, txns: Txns, first_id: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The transactions of one chunk (ids from ``first_id``) and their ground-truth rows."""
    n = len(txns)
    txn_id = np.arange(first_id, first_id + n, dtype=np.int64)
    frame = pl.DataFrame(
        {
            "txn_id": txn_id,
            "ts": _timestamps(txns.ts),
            "src_account_id": account_ids(world, txns.src),
            "dst_account_id": account_ids(world, txns.dst),
            "amount": txns.amount,
            "channel": _enum(txns.channel, CHANNELS),
            "currency_original": _gather(_CURRENCIES, txns.currency),
            "branch_id": _gather(_BRANCHES, txns.branch),
        },
        schema=TABLES["transactions"].schema,
    )
    flagged = txns.typology >= 0
    labels = pl.DataFrame(
        {
            "txn_id": txn_id[flagged],
            "entity_id": entity_ids(world, txns.entity[flagged]),
            "typology": _typologies(txns.typology[flagged]),
            "scheme_id": txns.typology[flagged].astype(np.int64) * 1_000_000_000
            + txns.scheme[flagged],
        },
        schema=TABLES["transaction_labels"].schema,
    )
    return frame, labels


def assets_frame(world: World) -> pl.DataFrame:
    """Honest assets and the assets schemes buy (``asset_*`` arrays of a plan's ``extra``)."""
    a = world.assets
    entity, kind, day, value, method = a["entity"], a["type"], a["day"], a["value"], a["method"]
    for plan in world.schemes.values():
        if "asset_holder" in plan.extra:
            x = plan.extra
            entity = np.concatenate([entity, x["asset_holder"]])
            kind = np.concatenate([kind, x["asset_type"]])
            day = np.concatenate([day, x["asset_day"]])
            value = np.concatenate([value, x["asset_value"]])
            method = np.concatenate([method, x["asset_method"]])
    order = np.lexsort((entity, day))
    return pl.DataFrame(
        {
            "asset_id": _format_ids("AS", np.arange(len(order)), 8),
            "entity_id": entity_ids(world, entity[order]),
            "asset_type": _enum(kind[order], ASSET_TYPES),
            "acquired_at": _dates(day[order]),
            "value": value[order].astype(np.float64),
            "payment_method": _enum(method[order], PAYMENT_METHODS),
        },
        schema=TABLES["assets"].schema,
    )


def ownership_frame(world: World) -> pl.DataFrame:
    """Ownership, directorship and family links (duplicates removed, first kept)."""
    o = world.ownership
    frame = pl.DataFrame(
        {
            "owner_entity_id": entity_ids(world, o["owner"]),
            "owned_entity_id": entity_ids(world, o["owned"]),
            "role": _enum(o["role"], OWNERSHIP_ROLES),
            "share_pct": pl.Series(o["share"]).fill_nan(None),
            "since": _dates(o["since"]),
        },
        schema=TABLES["ownership"].schema,
    )
    return frame.unique(subset=list(TABLES["ownership"].key), keep="first", maintain_order=True)


def reports_frame(world: World, reports: list[Reports]) -> pl.DataFrame:
    """All reports, sorted by time, with ids in that order."""
    cols = {k: np.concatenate([r[k] for r in reports]) for k in reports[0]}
    order = np.lexsort((cols["declarant"], cols["entity"], cols["ts"]))
    names = np.asarray((*world.institutions, *PROFESSIONS))
    return pl.DataFrame(
        {
            "report_id": _format_ids("R", np.arange(len(order)), 8),
            "entity_id": entity_ids(world, cols["entity"][order]),
            "declarant_id": pl.Series(names[cols["declarant"][order]]),
            "reported_at": _timestamps(cols["ts"][order]),
            "category": _enum(cols["category"][order], REPORT_CATEGORIES),
        },
        schema=TABLES["reports"].schema,
    )


def labels_frame(world: World) -> pl.DataFrame:
    """One row per entity: label, main typology (earliest scheme), all typologies, the start of
    the first scheme and the end of the last (null when a scheme lasts to the end of the period
    and on)."""
    ent, code, start, end = [], [], [], []
    for name, plan in world.schemes.items():
        ent.append(plan.entity)
        code.append(np.full(len(plan.entity), REGISTRY[name].stream, np.int8))
        start.append(plan.start_s)
        open_end = np.full(len(plan.entity), -1)
        end.append(
            open_end if plan.end_s is None else np.where(plan.end_s < world.end_s, plan.end_s, -1)
        )
    guilty = pl.DataFrame(
        {
            "e": np.concatenate(ent) if ent else np.zeros(0, np.int64),
            "typology": _typologies(np.concatenate(code) if code else np.zeros(0, np.int8)),
            "start": np.concatenate(start) if start else np.zeros(0, np.int64),
            "end": np.concatenate(end).astype(np.int64) if end else np.zeros(0, np.int64),
        }
    ).sort("e", "start", "typology")
    per_entity = guilty.group_by("e", maintain_order=True).agg(
        pl.col("typology").first().alias("typology"),
        pl.col("typology").unique(maintain_order=True).sort().alias("typologies"),
        pl.col("start").min().alias("start"),
        pl.when((pl.col("end") < 0).any()).then(-1).otherwise(pl.col("end").max()).alias("end"),
    )
    all_entities = pl.DataFrame({"e": np.arange(world.n_entities, dtype=np.int64)})
    joined = all_entities.join(per_entity, on="e", how="left", maintain_order="left")
    start_day = (joined["start"] // DAY).fill_null(-1).to_numpy()
    # the last day with activity: a life ending at midnight ended the day before
    end_day = ((joined["end"] - 1) // DAY).fill_null(-1).to_numpy()
    end_day = np.where(joined["end"].fill_null(-1).to_numpy() < 0, -1, end_day)
    return pl.DataFrame(
        {
            "entity_id": entity_ids(world, joined["e"].to_numpy()),
            "label": joined["typology"].is_not_null().cast(pl.Int8),
            "typology": joined["typology"],
            "typologies": joined["typologies"].fill_null(
                pl.lit([], dtype=pl.List(pl.Enum(TYPOLOGIES)))
            ),
            "label_date": _dates(start_day),
            "label_end": _dates(end_day),
        },
        schema=TABLES["labels"].schema,
    )
