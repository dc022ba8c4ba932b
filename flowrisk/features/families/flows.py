"""Flow-through: how much comes in and goes out, from how many, how fast, and what stays; the
pass-through red flag and rules, on the same 90-day sums and payers as the features."""

from __future__ import annotations

from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, RedFlag, register, register_flags
from flowrisk.features.context import Context, ratio, total, window
from flowrisk.features.evidence import counted, eur, flag_rows, txn_ids
from flowrisk.features.legs import INFLOW, OUTFLOW, WITH_OTHERS
from flowrisk.reference import thresholds

__all__ = ["FEATURES", "PASS_THROUGH", "compute", "passes_through", "red_flags", "rules"]

(PASS_THROUGH,) = register_flags(
    RedFlag(
        "pass_through",
        "flow",
        "Money from several payers sent on almost in full within 90 days (funnel account)",
    ),
)

FEATURES = register(
    Feature(
        "flow_inflow_sum_90d",
        "flow",
        "Money received from others over 90 days",
        "EUR",
        "90d",
        0,
        "{value:,.0f} EUR received in 90 days",
    ),
    Feature(
        "flow_outflow_sum_90d",
        "flow",
        "Money sent to others over 90 days",
        "EUR",
        "90d",
        0,
        "{value:,.0f} EUR sent in 90 days",
    ),
    Feature(
        "flow_out_in_ratio_90d",
        "flow",
        "Money sent out per euro received, 90 days",
        "ratio",
        "90d",
        1,
        "{value:.2f} EUR sent out for every euro received in 90 days",
        red_flag=PASS_THROUGH.name,
    ),
    Feature(
        "flow_distinct_payers_90d",
        "flow",
        "Distinct accounts paying the entity, 90 days",
        "count",
        "90d",
        1,
        "{value:.0f} [payer|different payers] in 90 days (fan-in)",
        red_flag=PASS_THROUGH.name,
    ),
    Feature(
        "flow_distinct_payees_90d",
        "flow",
        "Distinct accounts paid by the entity, 90 days",
        "count",
        "90d",
        1,
        "{value:.0f} [payee|different payees] in 90 days (fan-out)",
    ),
    Feature(
        "flow_new_payer_share_90d",
        "flow",
        "Share of the last 90 days' payers never seen in the 275 days before",
        "share",
        "90d",
        1,
        "{value:.0%} of payers in the last 90 days are new",
    ),
    Feature(
        "flow_median_hold_hours_90d",
        "flow",
        "Median hours between money arriving and the next payment out, 90 days",
        "hours",
        "90d",
        -1,
        "Money leaves a median {value:.0f} hour[s] after it arrives",
    ),
    Feature(
        "flow_txn_count_30d",
        "flow",
        "Transactions with others over 30 days (velocity)",
        "count",
        "30d",
        1,
        "{value:.0f} transaction[s] in 30 days",
    ),
)


@cache
def _flow_90d() -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Money received from and sent to others, and distinct payers, over 90 days: what the
    features, the pass-through flag and its rule read (built once, not per request)."""
    payers = pl.col("cp_account").filter(INFLOW & window(90) & pl.col("cp_account").is_not_null())
    return total(INFLOW & window(90)), total(OUTFLOW & window(90)), payers.n_unique()


def passes_through(out_in_ratio: pl.Expr) -> pl.Expr:
    """Pass-through: the money sent on is about the money received (the ratio band of
    ``thresholds.toml``), whichever amount cut-off the caller adds."""
    t = thresholds()
    return out_in_ratio.is_between(t.pass_through_ratio_low, t.pass_through_ratio_high)


@cache
def _per_entity() -> tuple[pl.Expr, ...]:
    """The per-entity aggregations (expressions are immutable: built once, not per request)."""
    inflow, outflow, payers = _flow_90d()
    return (
        inflow.alias("flow_inflow_sum_90d"),
        outflow.alias("flow_outflow_sum_90d"),
        ratio(outflow, inflow).alias("flow_out_in_ratio_90d"),
        payers.alias("flow_distinct_payers_90d"),
        pl.col("cp_account")
        .filter(OUTFLOW & window(90) & pl.col("cp_account").is_not_null())
        .n_unique()
        .alias("flow_distinct_payees_90d"),
        (WITH_OTHERS & window(30)).sum().alias("flow_txn_count_30d"),
    )


def compute(ctx: Context) -> pl.LazyFrame:
    per_entity = ctx.legs.group_by("entity_id").agg(*_per_entity())
    return per_entity.join(_hold_hours(ctx), on="entity_id", how="left").join(
        _new_payers(ctx), on="entity_id", how="left"
    )


def _hold_hours(ctx: Context) -> pl.LazyFrame:
    """Median hours between money arriving and the next payment out, 90 days."""
    return (
        ctx.legs.filter(WITH_OTHERS)
        .sort("entity_id", "ts", "inbound", "txn_id")
        .with_columns(
            pl.when(pl.col("inbound"))
            .then(pl.col("ts"))
            .forward_fill()
            .over("entity_id")
            .alias("last_in")
        )
        .filter(~pl.col("inbound") & window(90) & pl.col("last_in").is_not_null())
        .group_by("entity_id")
        .agg(
            ((pl.col("ts") - pl.col("last_in")).dt.total_seconds() / 3600)
            .median()
            .alias("flow_median_hold_hours_90d")
        )
    )


def _new_payers(ctx: Context) -> pl.LazyFrame:
    """Share of the last 90 days' payers that never paid before that window."""
    return (
        ctx.legs.filter(INFLOW & pl.col("cp_account").is_not_null())
        .group_by("entity_id", "cp_account")
        .agg(pl.col("age_days").min().alias("latest"), pl.col("age_days").max().alias("first"))
        .filter(pl.col("latest") < 90)
        .group_by("entity_id")
        .agg((pl.col("first") < 90).mean().alias("flow_new_payer_share_90d"))
    )


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """Pass-through: at least the flag's amount received from at least its number of payers
    in 90 days, and about as much sent on."""
    t = thresholds()
    inflow, outflow, payers = _flow_90d()
    through = (
        ctx.legs.group_by("entity_id")
        .agg(
            inflow.alias("in"),
            outflow.alias("out"),
            payers.alias("payers"),
            txn_ids(INFLOW & window(90)).alias("evidence"),
        )
        .filter(
            (pl.col("in") >= t.pass_through_flag_min_inflow)
            & (pl.col("payers") >= t.pass_through_flag_min_payers)
            & passes_through(ratio(pl.col("out"), pl.col("in")))
        )
    )
    low, high = t.pass_through_ratio_low, t.pass_through_ratio_high
    text = pl.format(
        f"{{}} received from {{}} in 90 days and {{}} sent on ({low * 100:.0f}-{high * 100:.0f} %)",
        eur("in"),
        counted("payers", "payer", "payers"),
        eur("out"),
    )
    return [flag_rows(through, PASS_THROUGH, text)]


def rules() -> dict[str, pl.Expr]:
    """Funnel-account monitoring scenarios, on profile columns."""
    t = thresholds()
    return {
        "many_payers": pl.col("flow_distinct_payers_90d") >= t.rule_many_payers,
        "pass_through": passes_through(pl.col("flow_out_in_ratio_90d"))
        & (pl.col("flow_inflow_sum_90d") > t.pass_through_rule_min_inflow),
    }
