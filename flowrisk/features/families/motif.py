"""Motifs: the short-window shapes laundering leaves in any transaction graph, looked for over
the whole year (a one-off pattern months before the profile date stays visible). Fan-in and
fan-out (the most distinct payers or payees within 1 and 7 days), gather-scatter (money in from
many and out to many within a week, and the share of the money received that left again within
it), scatter-gather (the most intermediaries between the entity and one other account within a
week), U-turns (money sent back by the account it went to within a week) and temporal cycles of
3 and 4 hops within two weeks with the share of the money sent that came back; and the largest
weekly fan-in and fan-out of the entity's counterparties. The reference is Snap ML's
``GraphFeaturePreprocessor``.

Not in the feature set yet: the family is not in ``FAMILIES`` and its features are not in the
catalog (benchmarks/RESULTS.md, the motif family: it leaves AMLSim where it was and, in the model
trained on the generated world, an honest second salary raised one score by 0.04).

Vectorised Polars, no per-entity loop: sliding-window distinct counts by a sweep over the days
on which each counterparty appears (exact, any window length); paths by self-joins bounded by
time windows, through intermediaries with at most ``two_hop_max_degree`` counterparties (hubs
that everyone shares bring no pattern and would multiply the joins). Every path stays within two
hops of the entity's transactions (its own and its counterparties'), so a lookup of one entity
(``frames_for_entities``) sees the same motifs as the batch build: cycles of 5 or 6 hops would
need a third hop of transactions and are left out. Days are UTC calendar days; only
transactions strictly before the profile date."""

from __future__ import annotations

import polars as pl

from flowrisk.features.catalog import Feature
from flowrisk.features.context import Context, ratio
from flowrisk.features.families.motif_paths import CYCLE_DAYS, WEEK, paths, transfers
from flowrisk.features.legs import WITH_OTHERS

__all__ = ["FEATURES", "compute", "red_flags", "rules", "sliding_distinct_max"]

FAN_DAYS = (1, 7)
DAY_US = 86_400_000_000


def _fan(side: str, text: str, days: int) -> Feature:
    span = "one day" if days == 1 else f"{days} days"
    return Feature(
        f"motif_{side}_max_{days}d_365d",
        "motif",
        f"Most distinct {text} within {span} (calendar days, UTC), over the last 365 days",
        "count",
        "365d",
        1,
        f"Up to {{value:,.0f}} different {text} within {span} (365 days)",
    )


FEATURES = [
    *(
        _fan(side, text, days)
        for side, text in (("fanin", "payers"), ("fanout", "payees"))
        for days in FAN_DAYS
    ),
    Feature(
        "motif_gather_scatter_max_7d_365d",
        "motif",
        "Most accounts on the smaller side of money in from many and out to many within 7 days "
        "(the lower of distinct payers and distinct payees in the same 7 days), 365 days",
        "count",
        "365d",
        1,
        "Paid by and paying {value:,.0f} or more different accounts within 7 days (365 days)",
    ),
    Feature(
        "motif_pass_through_share_7d_365d",
        "motif",
        "Share of the money received that was sent on within the same 7 days (the busier of two "
        "week grids three days apart), 365 days",
        "share",
        "365d",
        1,
        "{value:.0%} of the money received was sent on within the week (365 days)",
    ),
    Feature(
        "motif_scatter_gather_out_max_7d_365d",
        "motif",
        "Most intermediaries through which the entity's money reached one other account within "
        "7 days (entity -> many -> one), 365 days",
        "count",
        "365d",
        1,
        "Money reached one account through {value:,.0f} intermediar[y|ies] within 7 days",
    ),
    Feature(
        "motif_scatter_gather_in_max_7d_365d",
        "motif",
        "Most intermediaries through which one other account's money reached the entity within "
        "7 days (one -> many -> entity), 365 days",
        "count",
        "365d",
        1,
        "Money from one account arrived through {value:,.0f} intermediar[y|ies] within 7 days",
    ),
    Feature(
        "motif_uturn_count_7d_365d",
        "motif",
        "Payments sent that the same account sent money back for within 7 days (U-turns), 365 days",
        "count",
        "365d",
        1,
        "{value:,.0f} payment[s] came back from the payee within 7 days (365 days)",
    ),
    Feature(
        "motif_uturn_share_7d_365d",
        "motif",
        "Share of the money sent that the payee sent back within 7 days (each payment counts "
        "at most its own amount), 365 days",
        "share",
        "365d",
        1,
        "{value:.0%} of the money sent came back from the payee within 7 days (365 days)",
    ),
    Feature(
        "motif_cycle_count_14d_365d",
        "motif",
        f"Payments sent that came back to the entity through 2 or 3 other accounts within "
        f"{CYCLE_DAYS} days, each payment later than the one before (cycles of 3 and 4 hops), "
        "365 days",
        "count",
        "365d",
        1,
        f"{{value:,.0f}} payment[s] came back round a cycle within {CYCLE_DAYS} days (365 days)",
    ),
    Feature(
        "motif_cycle_share_14d_365d",
        "motif",
        f"Share of the money sent that came back round a cycle of 3 or 4 hops within "
        f"{CYCLE_DAYS} days (each payment counts at most its own amount), 365 days",
        "share",
        "365d",
        1,
        f"{{value:.0%}} of the money sent came back round a cycle within {CYCLE_DAYS} days",
    ),
    *(
        Feature(
            f"motif_cp_{side}_max_7d_365d",
            "motif",
            f"Largest over the entity's counterparties of their own most distinct {text} within "
            "7 days, 365 days",
            "count",
            "365d",
            1,
            f"A counterparty had up to {{value:,.0f}} different {text} within 7 days (365 days)",
        )
        for side, text in (("fanin", "payers"), ("fanout", "payees"))
    ),
]


def sliding_distinct_max(rows: pl.LazyFrame, key: str, days: int, sides: list[str]) -> pl.LazyFrame:
    """Per ``key``, the largest number of distinct ``cp`` within any ``days`` consecutive days,
    per side (rows: ``key``, ``cp``, ``day`` (an integer day), ``side``), and for two sides also
    the largest lower of the two at the same time (column ``both``). A sweep: each counterparty
    counts from a day it appears until ``days`` later or its next appearance, whichever is first;
    the running sum of those starts and ends is the distinct count of every window."""
    seen = rows.select(key, "cp", "day", "side").unique().sort(key, "side", "cp", "day")
    nxt = pl.col("day").shift(-1).over(key, "side", "cp")
    seen = seen.with_columns(
        pl.min_horizontal(pl.col("day") + days, nxt.fill_null(pl.col("day") + days)).alias("end")
    )
    steps = [pl.when(pl.col("side") == s).then(pl.col("step")).otherwise(0).alias(s) for s in sides]
    events = (
        pl.concat(
            [
                seen.select(key, "side", "day", pl.lit(1, pl.Int32).alias("step")),
                seen.select(
                    key, "side", pl.col("end").alias("day"), pl.lit(-1, pl.Int32).alias("step")
                ),
            ]
        )
        .select(key, "day", *steps)
        .group_by(key, "day")
        .agg(pl.col(s).sum() for s in sides)
        .sort(key, "day")
        .with_columns(pl.col(s).cum_sum().over(key) for s in sides)
    )
    both = [pl.min_horizontal(*sides).max().alias("both")] if len(sides) == 2 else []
    return events.group_by(key).agg(*(pl.col(s).max() for s in sides), *both)


def _day(ts: str = "ts") -> pl.Expr:
    return (pl.col(ts).dt.epoch("us") // DAY_US).cast(pl.Int32)


def _fans(legs: pl.LazyFrame) -> pl.LazyFrame:
    """Fan-in, fan-out (1 and 7 days) and gather-scatter of each entity."""
    rows = legs.select(
        "entity_id",
        pl.col("cp_account").alias("cp"),
        _day().alias("day"),
        pl.when(pl.col("inbound")).then(pl.lit("i")).otherwise(pl.lit("o")).alias("side"),
    )
    out = None
    for days in FAN_DAYS:
        got = sliding_distinct_max(rows, "entity_id", days, ["i", "o"])
        names = {"i": f"motif_fanin_max_{days}d_365d", "o": f"motif_fanout_max_{days}d_365d"}
        if days == WEEK:
            names["both"] = "motif_gather_scatter_max_7d_365d"
        got = got.select("entity_id", *(pl.col(a).alias(b) for a, b in names.items()))
        out = got if out is None else out.join(got, on="entity_id", how="full", coalesce=True)
    assert out is not None
    return out


def _pass_through(legs: pl.LazyFrame) -> pl.LazyFrame:
    """Share of the money received sent on within the same week, on two week grids three days
    apart (a pattern across one grid's boundary falls inside the other's), the busier one."""
    day = _day()
    cents_in = pl.when(pl.col("inbound")).then(pl.col("cents")).otherwise(0)
    cents_out = pl.when(pl.col("inbound")).then(0).otherwise(pl.col("cents"))
    grids = []
    for offset in (0, 3):
        weekly = (
            legs.group_by("entity_id", ((day + offset) // WEEK).alias("week"))
            .agg(cents_in.sum().alias("cin"), cents_out.sum().alias("cout"))
            .group_by("entity_id")
            .agg(
                pl.min_horizontal("cin", "cout").sum().alias("matched"),
                pl.col("cin").sum().alias("received"),
            )
        )
        grids.append(weekly.with_columns(pl.lit(offset).alias("grid")))
    return (
        pl.concat(grids)
        .group_by("entity_id")
        .agg(pl.col("matched").max(), pl.col("received").first())
        .select(
            "entity_id",
            ratio(pl.col("matched").cast(pl.Float64), pl.col("received").cast(pl.Float64)).alias(
                "motif_pass_through_share_7d_365d"
            ),
        )
    )


def _cp_fans(ctx: Context, legs: pl.LazyFrame) -> pl.LazyFrame:
    """The largest weekly fan-in and fan-out of the entity's counterparties (their own
    transactions: the second hop)."""
    tx = transfers(ctx)
    near = legs.select(pl.col("cp_account").alias("account")).unique()
    rows = pl.concat(
        [
            tx.select(
                pl.col("dst").alias("account"),
                pl.col("src").alias("cp"),
                "ts",
                pl.lit("i").alias("side"),
            ),
            tx.select(
                pl.col("src").alias("account"),
                pl.col("dst").alias("cp"),
                "ts",
                pl.lit("o").alias("side"),
            ),
        ]
    ).join(near, on="account", how="semi")
    fans = sliding_distinct_max(rows.with_columns(_day().alias("day")), "account", WEEK, ["i", "o"])
    pairs = legs.select("entity_id", pl.col("cp_account").alias("account")).unique()
    return (
        pairs.join(fans, on="account")
        .group_by("entity_id")
        .agg(
            pl.col("i").max().alias("motif_cp_fanin_max_7d_365d"),
            pl.col("o").max().alias("motif_cp_fanout_max_7d_365d"),
        )
    )


def compute(ctx: Context) -> pl.LazyFrame:
    legs = (
        ctx.legs.filter(WITH_OTHERS & pl.col("cp_account").is_not_null())
        .select("entity_id", "txn_id", "ts", "cents", "inbound", "cp_account")
        .cache()
    )
    out = _fans(legs)
    for part in (_pass_through(legs), paths(ctx, legs), _cp_fans(ctx, legs)):
        out = out.join(part, on="entity_id", how="full", coalesce=True)
    return out.select("entity_id", *(f.name for f in FEATURES))


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """The motif family raises no red flag of its own."""
    return []


def rules() -> dict[str, pl.Expr]:
    """No rule of the baseline reads the motif family."""
    return {}
