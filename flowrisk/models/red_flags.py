"""Deterministic red flags with their evidence: facts an analyst can check line by line ("3
months of cash deposits totalling just under 10,000 EUR"), reported beside the model's reasons.

Each flag belongs to a feature family, so its evidence ids (``txn:<id>``, ``asset:<id>``,
``report:<id>``) also back the model's reasons of that family. Computed on the same point-in-time
legs as the features (``make_context``), for the entities asked about.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import polars as pl

from flowrisk.features.build import RunMode, collect_plans
from flowrisk.features.context import EDGE_MIN, instant, make_context, near
from flowrisk.features.families.crypto import RISKY
from flowrisk.reference import thresholds

__all__ = ["FLAG_SCHEMA", "MAX_EVIDENCE", "red_flags"]

MAX_EVIDENCE = 50  # ids kept per flag, largest amounts first
FLAG_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "entity_id": pl.String,
        "flag": pl.String,
        "family": pl.String,
        "text": pl.String,
        "evidence": pl.List(pl.String),
    }
)


def _eur(col: str) -> pl.Expr:
    """A money column as '12,345 EUR' (whole euros)."""
    return pl.format(
        "{} EUR",
        pl.col(col)
        .round(0)
        .cast(pl.Int64)
        .map_elements(lambda v: f"{v:,}", return_dtype=pl.String),
    )


def _txn_ids(mask: pl.Expr | None = None) -> pl.Expr:
    """Evidence ids of the legs (where ``mask``), largest amounts first."""
    ids = pl.format("txn:{}", pl.col("txn_id"))
    amount = pl.col("amount")
    if mask is not None:
        ids, amount = ids.filter(mask), amount.filter(mask)
    txn = pl.col("txn_id") if mask is None else pl.col("txn_id").filter(mask)
    return ids.sort_by(amount, txn, descending=[True, False]).head(MAX_EVIDENCE)  # ties: by id


def _flag(frame: pl.LazyFrame, flag: str, family: str, text: pl.Expr) -> pl.LazyFrame:
    return frame.select(
        "entity_id",
        pl.lit(flag).alias("flag"),
        pl.lit(family).alias("family"),
        text.alias("text"),
        pl.col("evidence").list.unique(maintain_order=True),
    )


def red_flags(
    frames: Mapping[str, pl.LazyFrame],
    as_of: datetime,
    entities: Sequence[str],
    mode: RunMode = "bulk",
) -> pl.DataFrame:
    """Red flags of ``entities`` as of ``as_of`` (strictly earlier events), one row per flag;
    ``mode`` says how the plans run (``collect_plans``)."""
    ids = list(entities)
    if not ids:
        return FLAG_SCHEMA.to_frame()
    ctx = make_context(frames, as_of, {}, ids)
    legs = ctx.legs
    cash_in = legs.filter(pl.col("inbound") & (pl.col("channel") == "cash"))
    cosi = thresholds().cosi_cash_monthly
    limit = thresholds().remittance_cash_per_operation
    parts = []

    months = (
        cash_in.with_columns(pl.col("ts").dt.strftime("%Y-%m").alias("month"))
        .group_by("entity_id", "month")
        .agg(
            (pl.col("cents").sum() / 100).alias("total"),
            pl.len().alias("n"),
            _txn_ids().alias("ids"),
        )
        .filter(near(pl.col("total"), cosi) & (pl.col("n") >= 2))
        .sort("month")
        .group_by("entity_id")
        .agg(
            pl.len().alias("months"),
            pl.col("month").str.join(", ").alias("which"),
            pl.col("n").sum().alias("n"),
            pl.col("ids").explode().head(MAX_EVIDENCE).alias("evidence"),
        )
    )
    parts.append(
        _flag(
            months,
            "cash_just_under_cosi",
            "cash",
            pl.format(
                "{} cash deposits in {} month(s) ({}) each totalling between {} and {} EUR, "
                "just under the 10,000 EUR monthly cash report",
                "n",
                "months",
                "which",
                pl.lit(f"{near_low(cosi):,.0f}"),
                pl.lit(f"{cosi - 1:,.0f}"),
            ),
        )
    )
    small = (
        cash_in.filter(near(pl.col("amount"), limit))
        .group_by("entity_id")
        .agg(pl.len().alias("n"), _txn_ids().alias("evidence"))
        .filter(pl.col("n") >= 3)
    )
    parts.append(
        _flag(
            small,
            "cash_just_under_1000",
            "cash",
            pl.format(
                "{} cash deposits between {} and {} EUR in a year",
                "n",
                pl.lit(f"{near_low(limit):,.0f}"),
                pl.lit(f"{limit - 1:,.0f}"),
            ),
        )
    )
    risky = pl.col("cp_tags").list.eval(pl.element().cast(pl.String).is_in(RISKY)).list.any()
    crypto = (
        legs.filter(risky.fill_null(False))
        .group_by("entity_id")
        .agg(
            pl.len().alias("n"),
            (pl.col("cents").sum() / 100).alias("total"),
            _txn_ids().alias("evidence"),
        )
    )
    parts.append(
        _flag(
            crypto,
            "risky_wallets",
            "crypto",
            pl.format(
                "{} transfers ({}) with mixer, darknet or sanctioned wallets", "n", _eur("total")
            ),
        )
    )
    geo = (
        legs.filter(pl.col("cp_high_risk"))
        .group_by("entity_id")
        .agg(
            pl.len().alias("n"),
            (pl.col("cents").sum() / 100).alias("total"),
            pl.col("cp_country").unique().sort().str.join(", ").alias("countries"),
            _txn_ids().alias("evidence"),
        )
    )
    parts.append(
        _flag(
            geo,
            "high_risk_jurisdictions",
            "geo",
            pl.format(
                "{} transfers ({}) with high-risk jurisdictions: {}",
                "n",
                _eur("total"),
                "countries",
            ),
        )
    )
    big = legs.filter(
        (pl.col("amount") >= EDGE_MIN) & pl.col("cp_entity").is_not_null() & ~pl.col("is_self")
    )
    sent = big.filter(~pl.col("inbound")).select("entity_id", "cp_entity").unique()
    back = big.filter(pl.col("inbound")).select("entity_id", "cp_entity").unique()
    partners = sent.join(back, on=["entity_id", "cp_entity"])
    rounds = (
        big.join(partners, on=["entity_id", "cp_entity"])
        .group_by("entity_id")
        .agg(
            pl.col("cp_entity").n_unique().alias("k"),
            (pl.col("cents").filter(~pl.col("inbound")).sum() / 100).alias("out"),
            _txn_ids().alias("evidence"),
        )
    )
    parts.append(
        _flag(
            rounds,
            "round_trips",
            "net",
            pl.format(
                "money went to and came back from {} counterparties ({} sent out to them)",
                "k",
                _eur("out"),
            ),
        )
    )
    recent = pl.col("age_days") < 90
    through = (
        legs.filter(recent & ~pl.col("is_self"))
        .group_by("entity_id")
        .agg(
            (pl.col("cents").filter(pl.col("inbound")).sum() / 100).alias("in"),
            (pl.col("cents").filter(~pl.col("inbound")).sum() / 100).alias("out"),
            pl.col("cp_account")
            .filter(pl.col("inbound") & pl.col("cp_account").is_not_null())
            .n_unique()
            .alias("payers"),
            _txn_ids(pl.col("inbound")).alias("evidence"),
        )
        .filter(
            (pl.col("in") >= 10_000)
            & (pl.col("payers") >= 5)
            & pl.col("out").is_between(0.9 * pl.col("in"), 1.1 * pl.col("in"))
        )
    )
    parts.append(
        _flag(
            through,
            "pass_through",
            "flow",
            pl.format(
                "{} received from {} payers in 90 days and {} sent on (90-110 %)",
                _eur("in"),
                "payers",
                _eur("out"),
            ),
        )
    )
    reports = (
        ctx.frame("reports")
        .filter(
            pl.col("entity_id").is_in(ids)
            & (pl.col("reported_at") < instant(as_of))
            & (pl.col("reported_at") >= instant(as_of - timedelta(days=365)))
        )
        .group_by("entity_id")
        .agg(
            pl.col("declarant_id").n_unique().alias("k"),
            pl.len().alias("n"),
            pl.format("report:{}", pl.col("report_id")).sort().head(MAX_EVIDENCE).alias("evidence"),
        )
        .filter(pl.col("k") >= 2)
    )
    parts.append(
        _flag(
            reports,
            "several_declarants",
            "reports",
            pl.format("{} reports from {} different declarants in a year", "n", "k"),
        )
    )
    income = ctx.frame("entities").select("entity_id", "declared_income")
    assets = (
        ctx.frame("assets")
        .filter(
            pl.col("entity_id").is_in(ids)
            & (pl.col("acquired_at") < as_of.date())
            & (pl.col("acquired_at") >= (as_of - timedelta(days=3 * 365)).date())
        )
        .group_by("entity_id")
        .agg(
            pl.col("value").sum().alias("total"),
            pl.len().alias("n"),
            pl.format("asset:{}", pl.col("asset_id"))
            .sort_by(pl.col("value"), pl.col("asset_id"), descending=[True, False])
            .head(MAX_EVIDENCE)
            .alias("evidence"),
        )
        .join(income, on="entity_id", how="left")
        .filter(pl.col("total") > 3 * pl.col("declared_income"))  # people: those with an income
    )
    parts.append(
        _flag(
            assets,
            "assets_over_income",
            "wealth",
            pl.format(
                "{} assets worth {} bought in 3 years against a declared income of {} a year",
                "n",
                _eur("total"),
                _eur("declared_income"),
            ),
        )
    )
    out = pl.concat(collect_plans(parts, mode))
    return out.cast(dict(FLAG_SCHEMA)).sort("entity_id", "flag")  # type: ignore[arg-type]


def near_low(threshold: float) -> float:
    """The lower edge of the 'just under ``threshold``' band."""
    return thresholds().near_threshold_fraction * threshold
