"""Timing: when an entity moves money, not how much. How bursty the gaps between its
transactions are, on how many days it is active, the longest quiet spell of its year and the
money moved just after a dormant spell, how the last 7 and 30 days compare with its own year, and
how concentrated its transactions are on one hour of the day, at night or on one weekday. Every
dataset carries times, so these features hold on data flowrisk did not generate.

Read on the legs with others (sent and received; a transfer between the entity's own accounts is
not activity), strictly before the profile date, in one group-by over the legs. Exact and
deterministic: gaps are taken between sorted times, spreads added up in sorted order and money in
whole cents, so a result never depends on the order rows reach the aggregation. Hour features are
null for an entity whose every timestamp falls at midnight (data without a time of day, such as
day-step simulators): that is read from the timestamps, not set by a switch."""

from __future__ import annotations

from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, RedFlag, register, register_flags
from flowrisk.features.context import Context, exact_mean, ratio, window
from flowrisk.features.evidence import eur, flag_rows, txn_ids
from flowrisk.features.legs import INFLOW, WITH_OTHERS
from flowrisk.reference import thresholds

__all__ = ["DORMANT_THEN_ACTIVE", "FEATURES", "compute", "red_flags", "rules"]

YEAR = 365
DAY_US = 86_400_000_000  # microseconds in a day
AWAKE_DAYS = 30  # the money moved within this many days after a dormant spell counts
NIGHT = (22, 6)  # night hours (UTC): from 22:00 to 06:00
DORMANT = thresholds().dormancy_min_days
PRIOR = thresholds().surge_prior_events
SURGE_WINDOWS = (7, 30)
BURST_SIDES = {"": ("transactions with others", WITH_OTHERS), "in_": ("payments received", INFLOW)}

(DORMANT_THEN_ACTIVE,) = register_flags(
    RedFlag(
        "dormant_then_active",
        "timing",
        f"At least {thresholds().dormant_min_amount:,.0f} EUR moved in the {AWAKE_DAYS} days "
        f"after {DORMANT:.0f} days or more without any transaction (dormant account woken up)",
    ),
)


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
        for side, (text, _) in BURST_SIDES.items()
        for days in (90, YEAR)
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
        "Longest spell without a transaction: {value:,.0f} days (365 days)",
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
        red_flag=DORMANT_THEN_ACTIVE.name,
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
        red_flag=DORMANT_THEN_ACTIVE.name,
    ),
    *(
        Feature(
            f"timing_{measure}_surge_{days}d",
            "timing",
            f"{text.capitalize()} in the last {days} days over the entity's own pace of the "
            f"last 365 days (1 = its usual pace; smoothed by {PRIOR:.0f} transactions spread "
            "over the year so that a new entity does not explode)",
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
        "timing_busiest_hour_share_365d",
        "timing",
        "Share of the transactions with others made in the entity's busiest hour of the day "
        "(UTC; none when the timestamps carry no time of day), 365 days",
        "share",
        "365d",
        0,
        "{value:.0%} of its transactions fall in one hour of the day (UTC, 365 days)",
    ),
    Feature(
        "timing_night_share_365d",
        "timing",
        f"Share of the transactions with others made at night ({NIGHT[0]:02d}:00-"
        f"{NIGHT[1]:02d}:00 UTC; none when the timestamps carry no time of day), 365 days",
        "share",
        "365d",
        0,
        f"{{value:.0%}} of its transactions at night ({NIGHT[0]:02d}:00-{NIGHT[1]:02d}:00 UTC, "
        "365 days)",
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


def _days(duration: pl.Expr) -> pl.Expr:
    """A duration in days (exact microseconds over a constant)."""
    return duration.dt.total_microseconds().cast(pl.Float64) / DAY_US


def _burstiness(mask: pl.Expr) -> pl.Expr:
    """Goh-Barabasi burstiness (sd - mean) / (sd + mean) of the gaps between the times of the
    legs in ``mask``: null with fewer than three of them or when they all share one time."""
    t = pl.col("ts").filter(mask)
    n = t.len()
    mean = ratio(_days(t.max() - t.min()), (n - 1).cast(pl.Float64))  # exact: span / gaps
    gaps = _days(t.sort().diff().drop_nulls())
    sd = exact_mean((gaps - mean).pow(2)).sqrt()
    return pl.when(n >= 3).then(ratio(sd - mean, sd + mean))


def _after_dormancy() -> pl.Expr:
    """Per leg with others, in time order: True when it falls within AWAKE_DAYS of the end of
    a dormant spell (a gap of at least DORMANT days since the previous leg). The first leg of
    the year has no known gap before it and wakes nothing."""
    t = pl.col("ts").filter(WITH_OTHERS).sort()
    woke = pl.when(_days(t.diff()) >= DORMANT).then(t).forward_fill()
    return _days(t - woke) < AWAKE_DAYS


def _in_time_order(values: pl.Expr) -> pl.Expr:
    """``values`` of the legs with others sorted by their time (ties in any order: callers
    only add them up under conditions on the time)."""
    return values.filter(WITH_OTHERS).sort_by(pl.col("ts").filter(WITH_OTHERS))


def _surges() -> list[pl.Expr]:
    """The last 7 and 30 days over the year's pace: (x_w + p * w/365) / (x_365 + p) * 365/w,
    with p imagined transactions (of the entity's average amount) spread over the year; null
    without any transaction with others in the year."""
    count = WITH_OTHERS.sum().cast(pl.Float64)
    cents = pl.col("cents").filter(WITH_OTHERS).sum().cast(pl.Float64)
    out: list[pl.Expr] = []
    for days in SURGE_WINDOWS:
        share = days / YEAR
        recent_n = (WITH_OTHERS & window(days)).sum().cast(pl.Float64)
        recent_c = pl.col("cents").filter(WITH_OTHERS & window(days)).sum().cast(pl.Float64)
        prior_c = PRIOR * ratio(cents, count)
        out += [
            pl.when(count > 0)
            .then((recent_n + PRIOR * share) / (count + PRIOR) / share)
            .alias(f"timing_count_surge_{days}d"),
            ratio(recent_c + prior_c * share, cents + prior_c)
            .truediv(share)
            .alias(f"timing_amount_surge_{days}d"),
        ]
    return out


def _hours_and_weekdays() -> list[pl.Expr]:
    """Concentration on one hour (when the entity's timestamps carry times of day), at night,
    and on one weekday."""
    ts = pl.col("ts").filter(WITH_OTHERS)
    timed = (ts.dt.epoch("us") % DAY_US != 0).any()
    hour = ts.dt.hour()
    n = ts.len().cast(pl.Float64)
    night = ((hour >= NIGHT[0]) | (hour < NIGHT[1])).sum().cast(pl.Float64)
    return [
        pl.when(timed)
        .then(ratio(hour.unique_counts().max().cast(pl.Float64), n))
        .alias("timing_busiest_hour_share_365d"),
        pl.when(timed).then(ratio(night, n)).alias("timing_night_share_365d"),
        ratio(ts.dt.weekday().unique_counts().max().cast(pl.Float64), n).alias(
            "timing_busiest_weekday_share_365d"
        ),
    ]


def _activity() -> list[pl.Expr]:
    """Active days per window, their share of the days since the first leg, the longest quiet
    spell, and the money moved after a dormant spell."""
    day = pl.col("age_days").floor()
    first_day = day.filter(WITH_OTHERS).max() + 1  # day buckets from the oldest leg to as_of
    active = {
        d: day.filter(WITH_OTHERS & window(d)).n_unique().cast(pl.Float64) for d in (30, 90, YEAR)
    }
    t = pl.col("ts").filter(WITH_OTHERS).sort()
    longest = pl.max_horizontal(_days(t.diff()).max(), pl.col("age_days").filter(WITH_OTHERS).min())
    awake = _in_time_order(pl.col("cents")).filter(_after_dormancy()).sum()
    moved = pl.col("cents").filter(WITH_OTHERS).sum()
    return [
        *(v.alias(f"timing_active_days_{d}d") for d, v in active.items()),
        *(
            ratio(active[d], pl.min_horizontal(first_day, d)).alias(f"timing_active_day_share_{d}d")
            for d in (90, YEAR)
        ),
        longest.alias("timing_longest_quiet_days_365d"),
        (awake / 100).alias("timing_after_dormancy_sum_365d"),
        ratio(awake.cast(pl.Float64), moved.cast(pl.Float64)).alias(
            "timing_after_dormancy_share_365d"
        ),
    ]


@cache
def _per_entity() -> tuple[pl.Expr, ...]:
    """The per-entity aggregations (built once per process, not per request)."""
    bursts = [
        _burstiness(mask & window(days)).alias(f"timing_{side}burstiness_{days}d")
        for side, (_, mask) in BURST_SIDES.items()
        for days in (90, YEAR)
    ]
    return (*bursts, *_activity(), *_surges(), *_hours_and_weekdays())


def compute(ctx: Context) -> pl.LazyFrame:
    return ctx.legs.group_by("entity_id").agg(*_per_entity())


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """Dormant then active: at least the cut-off moved with others in the days after a
    dormant spell; the evidence is those transactions, largest first."""
    t = thresholds()
    woken = (
        ctx.legs.filter(WITH_OTHERS)
        .sort("entity_id", "ts", "txn_id", "inbound")
        .with_columns(
            pl.when(_days(pl.col("ts").diff()) >= DORMANT)
            .then(pl.col("ts"))
            .forward_fill()
            .over("entity_id")
            .alias("woke")
        )
    )
    awake = _days(pl.col("ts") - pl.col("woke")) < AWAKE_DAYS
    hits = (
        woken.group_by("entity_id")
        .agg(
            (pl.col("cents").filter(awake).sum() / 100).alias("moved"),
            txn_ids(awake).alias("evidence"),
        )
        .filter(pl.col("moved") >= t.dormant_min_amount)
    )
    text = pl.format(
        f"{{}} moved in the {AWAKE_DAYS} days after {DORMANT:.0f} days or more without a "
        "transaction",
        eur("moved"),
    )
    return [flag_rows(hits, DORMANT_THEN_ACTIVE, text)]


def rules() -> dict[str, pl.Expr]:
    """Dormant account reactivated: the red flag's condition on the profile."""
    return {
        "dormant_reactivated": pl.col("timing_after_dormancy_sum_365d")
        >= thresholds().dormant_min_amount
    }
