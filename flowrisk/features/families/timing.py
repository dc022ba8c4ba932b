"""Timing: when an entity moves money, not how much. How bursty the gaps between its
transactions are, on how many days it is active, the longest quiet spell of its year and the
money moved just after a dormant spell, how the last 7 and 30 days compare with its own year, and
how concentrated its transactions are on one weekday. Every dataset carries times, so these
features hold on data flowrisk did not generate. No hour-of-day feature yet: in the generated
worlds honest people almost never pay at night while launderers pay at any hour, so an hour
feature would teach the model the generator rather than laundering.

Read on the legs with others (sent and received; a transfer between the entity's own accounts is
not activity), strictly before the profile date: one sort on time, shifts within each entity and
one group-by, no per-entity loop. Exact and deterministic: burstiness comes from integer sums of
gaps in whole seconds and money from whole cents, so a result never depends on the order rows
reach the aggregation."""

from __future__ import annotations

from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, ratio, window
from flowrisk.features.legs import WITH_OTHERS
from flowrisk.reference import thresholds

__all__ = ["FEATURES", "compute", "red_flags", "rules"]

YEAR = 365
DAY_S = 86_400  # seconds in a day
AWAKE_DAYS = 30  # the money moved within this many days after a dormant spell counts
DORMANT = thresholds().dormancy_min_days
PRIOR = thresholds().surge_prior_events
SURGE_WINDOWS = (7, 30)
BURST_DAYS = 90  # the shorter window of burstiness and active-day share
BURST_SIDES = {"": "transactions with others", "in_": "payments received"}


def _burst_features() -> list[Feature]:
    return [
        Feature(
            f"timing_{side}burstiness_{days}d",
            "timing",
            f"Burstiness of the gaps between {text} ((sd - mean) / (sd + mean) of the gaps: "
            f"-1 evenly spaced, 0 random, towards 1 in bursts; at least 3 of them), {days} days",
            "ratio",
            f"{days}d",
            0,
            f"Burstiness of the {text}: {{value:+.2f}} (-1 evenly spaced, 0 random, "
            f"towards +1 in bursts; {days} days)",
        )
        for side, text in BURST_SIDES.items()
        for days in (BURST_DAYS, YEAR)
    ]


FEATURES = register(
    *_burst_features(),
    *(
        Feature(
            f"timing_active_days_{days}d",
            "timing",
            f"Days with at least one transaction with others, of the last {days} days",
            "count",
            f"{days}d",
            0,
            f"Active on {{value:,.0f}} of the last {days} days",
        )
        for days in (30, 90, YEAR)
    ),
    *(
        Feature(
            f"timing_active_day_share_{days}d",
            "timing",
            f"Share of the days with a transaction with others, from the first one seen in the "
            f"last {days} days to the profile date",
            "share",
            f"{days}d",
            0,
            f"Active on {{value:.0%}} of its days since its first transaction ({days} days)",
        )
        for days in (90, YEAR)
    ),
    Feature(
        "timing_longest_quiet_days_365d",
        "timing",
        "Longest spell without any transaction with others, between two of them or from the last "
        "one to the profile date, 365 days",
        "days",
        "365d",
        0,
        "Longest spell without a transaction: {value:,.0f} day[s] (365 days)",
    ),
    Feature(
        "timing_after_dormancy_sum_365d",
        "timing",
        f"Money moved with others (in and out) in the {AWAKE_DAYS} days after a spell of at "
        f"least {DORMANT:.0f} days without any transaction, 365 days",
        "EUR",
        "365d",
        0,
        f"{{value:,.0f}} EUR moved in the {AWAKE_DAYS} days after {DORMANT:.0f} days or more "
        "without a transaction (365 days)",
    ),
    Feature(
        "timing_after_dormancy_share_365d",
        "timing",
        f"Share of the year's money moved with others that moved in the {AWAKE_DAYS} days after "
        f"a spell of at least {DORMANT:.0f} days without any transaction, 365 days",
        "share",
        "365d",
        0,
        f"{{value:.0%}} of the year's money moved in the {AWAKE_DAYS} days after {DORMANT:.0f} "
        "days or more without a transaction",
    ),
    *(
        Feature(
            f"timing_{measure}_surge_{days}d",
            "timing",
            f"{text.capitalize()} in the last {days} days over the entity's own pace of the "
            f"last 365 days (1 = its usual pace; smoothed by {PRIOR:.0f} transactions spread "
            "over the year, so that the first payments of a new entity do not give an extreme "
            "ratio)",
            "ratio",
            f"{days}d",
            0,
            f"{text.capitalize()} in the last {days} days: {{value:.1f}} times its usual pace "
            "over the year",
        )
        for measure, text in (("count", "transactions"), ("amount", "money moved"))
        for days in SURGE_WINDOWS
    ),
    Feature(
        "timing_busiest_weekday_share_365d",
        "timing",
        "Share of the transactions with others made on the entity's busiest day of the week, "
        "365 days",
        "share",
        "365d",
        0,
        "{value:.0%} of its transactions fall on one day of the week (365 days)",
    ),
)


def _ordered(ctx: Context) -> pl.LazyFrame:
    """The legs with others in time order, each with what the features read of its place in
    its entity's sequence: the gaps (whole seconds) since the entity's previous leg and previous
    payment received (within the year, and within 90 days), whether it opens a new day, and
    whether it falls within AWAKE_DAYS of the end of a dormant spell (a gap of at least DORMANT
    days; the first leg of the year has no known gap before it and wakes nothing). One sort on
    time and shifts within each entity, no per-entity loop; legs at the same time may come in
    any order, which changes none of the sums the features take."""
    ent = "entity_id"
    ts, sec, age = pl.col("ts"), pl.col("ts").dt.epoch("s"), pl.col("age_days")
    gap = (sec - sec.shift(1)).over(ent)  # null on the entity's first leg
    first = gap.is_null()
    prev_recent = age.shift(1).over(ent) < BURST_DAYS
    inbound = pl.col("inbound")
    in_sec = pl.when(inbound).then(sec).shift(1).forward_fill().over(ent)
    in_recent = pl.when(inbound).then(age).shift(1).forward_fill().over(ent) < BURST_DAYS
    gap_in = pl.when(inbound).then(sec - in_sec)
    dormant = ((ts - ts.shift(1)).over(ent) >= pl.duration(days=DORMANT)).fill_null(False)
    start = first | dormant
    woke_at = pl.when(start).then(ts).forward_fill().over(ent)
    woke = pl.when(start).then(dormant).forward_fill().over(ent)
    day = age.floor()
    return (
        ctx.legs.filter(WITH_OTHERS)
        .select("entity_id", "txn_id", "ts", "amount", "cents", "inbound", "age_days")
        .sort("ts")
        .with_columns(
            gap.alias("gap"),
            pl.when(prev_recent).then(gap).alias("gap_recent"),
            gap_in.alias("gap_in"),
            pl.when(in_recent).then(gap_in).alias("gap_in_recent"),
            (first | (day != day.shift(1).over(ent))).alias("new_day"),
            (woke & (ts - woke_at < pl.duration(days=AWAKE_DAYS))).alias("awake"),
            day.alias("day"),
        )
    )


def _burstiness(gap: str) -> pl.Expr:
    """Goh-Barabasi burstiness (sd - mean) / (sd + mean) of the gaps in column ``gap``, from
    exact integer sums (so the same bits in any row order): null with fewer than two gaps or
    when they are all 0."""
    g = pl.col(gap)
    n = g.count().cast(pl.Float64)
    mean = g.sum().cast(pl.Float64) / n
    var = (g.pow(2).sum().cast(pl.Float64) / n - mean.pow(2)).clip(lower_bound=0.0)
    sd = var.sqrt()
    return pl.when(n >= 2).then(ratio(sd - mean, sd + mean))


def _surges() -> list[pl.Expr]:
    """The last 7 and 30 days over the year's pace: (x_w + p * w/365) / (x_365 + p) * 365/w,
    with p imagined transactions (of the entity's average amount) spread over the year."""
    count = pl.len().cast(pl.Float64)
    cents = pl.col("cents").sum().cast(pl.Float64)
    prior_c = PRIOR * cents / count
    out: list[pl.Expr] = []
    for days in SURGE_WINDOWS:
        share = days / YEAR
        recent_n = window(days).sum().cast(pl.Float64)
        recent_c = pl.when(window(days)).then(pl.col("cents")).sum().cast(pl.Float64)
        out += [
            ((recent_n + PRIOR * share) / (count + PRIOR) / share).alias(
                f"timing_count_surge_{days}d"
            ),
            ratio(recent_c + prior_c * share, cents + prior_c)
            .truediv(share)
            .alias(f"timing_amount_surge_{days}d"),
        ]
    return out


def _weekday_counts() -> list[pl.Expr]:
    """Legs per weekday (whole-column comparisons summed per entity: cheaper than a group-by
    per weekday)."""
    weekday = pl.col("ts").dt.weekday()
    return [(weekday == d).sum().alias(f"_d{d}") for d in range(1, 8)]


def _weekday_share() -> pl.Expr:
    """Share of the legs on the entity's busiest weekday."""
    busiest = pl.max_horizontal(*(pl.col(f"_d{d}") for d in range(1, 8))).cast(pl.Float64)
    return (busiest / pl.col("_n").cast(pl.Float64)).alias("timing_busiest_weekday_share_365d")


def _activity() -> list[pl.Expr]:
    """Active days per window, their share of the days since the first leg, the longest quiet
    spell, and the money moved after a dormant spell."""
    active = {d: (pl.col("new_day") & window(d)).sum().cast(pl.Float64) for d in (30, 90, YEAR)}
    first_day = pl.col("day").max() + 1  # day buckets from the oldest leg to as_of
    longest = pl.max_horizontal(
        pl.col("gap").max().cast(pl.Float64) / DAY_S, pl.col("age_days").min()
    )
    awake = pl.when(pl.col("awake")).then(pl.col("cents")).sum()
    return [
        *(v.alias(f"timing_active_days_{d}d") for d, v in active.items()),
        *(
            ratio(active[d], pl.min_horizontal(first_day, d)).alias(f"timing_active_day_share_{d}d")
            for d in (BURST_DAYS, YEAR)
        ),
        longest.alias("timing_longest_quiet_days_365d"),
        (awake / 100).alias("timing_after_dormancy_sum_365d"),
        ratio(awake.cast(pl.Float64), pl.col("cents").sum().cast(pl.Float64)).alias(
            "timing_after_dormancy_share_365d"
        ),
    ]


@cache
def _per_entity() -> tuple[tuple[pl.Expr, ...], tuple[pl.Expr, ...]]:
    """The per-entity aggregations, then the shares taken from them (built once per process,
    not per request)."""
    bursts = [
        _burstiness(gap).alias(f"timing_{side}burstiness_{days}d")
        for side in BURST_SIDES
        for days, gap in ((BURST_DAYS, f"gap_{side}recent"), (YEAR, f"gap_{side}".rstrip("_")))
    ]
    aggs = (*bursts, *_activity(), *_surges(), *_weekday_counts(), pl.len().alias("_n"))
    return aggs, (_weekday_share(),)


def compute(ctx: Context) -> pl.LazyFrame:
    aggs, shares = _per_entity()
    names = [f.name for f in FEATURES]
    return (
        _ordered(ctx)
        .group_by("entity_id")
        .agg(*aggs)
        .with_columns(*shares)
        .select("entity_id", *names)
    )


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """The timing family raises no red flag of its own."""
    return []


def rules() -> dict[str, pl.Expr]:
    """Dormant account reactivated: a large sum moved just after a dormant spell."""
    return {
        "dormant_reactivated": pl.col("timing_after_dormancy_sum_365d")
        >= thresholds().dormant_min_amount
    }
