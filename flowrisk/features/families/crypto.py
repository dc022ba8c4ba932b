"""Crypto-assets: fiat on- and off-ramps, exposure to risk-tagged wallets, stablecoin hops."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, register
from flowrisk.features.context import Context, ratio, total

FEATURES = register(
    Feature(
        "crypto_onramp_sum_365d",
        "crypto",
        "Money moved from bank accounts to crypto exchanges or wallets, 365 days",
        "EUR",
        "365d",
        1,
        "{value:,.0f} EUR moved into crypto-assets in a year",
    ),
    Feature(
        "crypto_offramp_sum_365d",
        "crypto",
        "Money coming back from crypto exchanges or wallets to bank accounts, 365 days",
        "EUR",
        "365d",
        1,
        "{value:,.0f} EUR cashed out of crypto-assets in a year",
    ),
    Feature(
        "crypto_risky_hops_365d",
        "crypto",
        "Transfers with wallets tagged mixer, darknet or sanctioned (one hop), 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} transfers with mixer, darknet or sanctioned wallets",
    ),
    Feature(
        "crypto_risky_2hop_365d",
        "crypto",
        "Transfers with accounts that themselves dealt "
        "with mixer, darknet or sanctioned wallets (two hops), 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} transfers one step away from mixer, darknet or sanctioned wallets",
    ),
    Feature(
        "crypto_gambling_hops_365d",
        "crypto",
        "Transfers with gambling wallets or high-risk exchanges, 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} transfers with gambling wallets or offshore exchanges",
    ),
    Feature(
        "crypto_stablecoin_share_365d",
        "crypto",
        "Share of crypto transfers (EUR) in stablecoins (USDT, USDC), 365 days",
        "share",
        "365d",
        1,
        "{value:.0%} of crypto transfers are in stablecoins",
    ),
    Feature(
        "crypto_cash_to_crypto_count_365d",
        "crypto",
        "Moves into crypto within 3 days of a cash deposit, 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} times cash went into crypto within 3 days",
    ),
)

RISKY = ["mixer", "darknet", "sanctioned"]
GAMBLING = ["gambling", "high_risk_exchange"]
CRYPTO_TYPES = ["crypto_exchange", "crypto_wallet"]
BANK_TYPES = ["current", "savings", "business"]


def _tagged(tags: pl.Expr, names: list[str]) -> pl.Expr:
    return tags.cast(pl.List(pl.String)).list.set_intersection(names).list.len().fill_null(0) > 0


@cache
def _ramps() -> tuple[pl.Expr, pl.Expr]:
    """On-ramp (bank to crypto) and off-ramp (crypto to bank) legs."""
    bank_and_crypto = pl.col("own_type").is_in(BANK_TYPES) & pl.col("cp_type").is_in(CRYPTO_TYPES)
    return ~pl.col("inbound") & bank_and_crypto, pl.col("inbound") & bank_and_crypto


@cache
def _per_entity() -> tuple[pl.Expr, ...]:
    """The per-entity aggregations (expressions are immutable: built once, not per request)."""
    onramp, offramp = _ramps()
    crypto = pl.col("channel") == "crypto"
    return (
        total(onramp).alias("crypto_onramp_sum_365d"),
        total(offramp).alias("crypto_offramp_sum_365d"),
        _tagged(pl.col("cp_tags"), RISKY).sum().alias("crypto_risky_hops_365d"),
        _tagged(pl.col("cp_tags"), GAMBLING).sum().alias("crypto_gambling_hops_365d"),
        ratio(
            total(crypto & pl.col("currency_original").is_in(["USDT", "USDC"])),
            total(crypto),
        ).alias("crypto_stablecoin_share_365d"),
    )


def compute(ctx: Context) -> pl.LazyFrame:
    onramp, _ = _ramps()
    per_entity = ctx.legs.group_by("entity_id").agg(*_per_entity())
    # two hops: counterparties that themselves sent to or received from risky wallets
    tx = ctx.transactions
    risky_accounts = (
        ctx.frames["accounts"].filter(_tagged(pl.col("risk_tags"), RISKY)).select("account_id")
    )
    relays = (
        pl.concat(
            [
                tx.join(risky_accounts, left_on="dst_account_id", right_on="account_id").select(
                    pl.col("src_account_id").alias("cp_account")
                ),
                tx.join(risky_accounts, left_on="src_account_id", right_on="account_id").select(
                    pl.col("dst_account_id").alias("cp_account")
                ),
            ]
        )
        .drop_nulls()
        .unique()
    )
    two_hop = (
        ctx.legs.filter(~pl.col("is_self") | pl.col("own_type").is_in(BANK_TYPES))
        .join(relays, on="cp_account", how="semi")
        .group_by("entity_id")
        .agg(pl.len().alias("crypto_risky_2hop_365d"))
    )
    cash_then_crypto = (
        ctx.legs.filter(
            onramp
            | (pl.col("inbound") & (pl.col("channel") == "cash") & pl.col("cp_account").is_null())
        )
        .sort("entity_id", "ts", "txn_id")
        .with_columns(
            pl.when(pl.col("channel") == "cash")
            .then(pl.col("ts"))
            .forward_fill()
            .over("entity_id")
            .alias("last_cash")
        )
        .filter(onramp & ((pl.col("ts") - pl.col("last_cash")) <= timedelta(days=3)))
        .group_by("entity_id")
        .agg(pl.len().alias("crypto_cash_to_crypto_count_365d"))
    )
    return per_entity.join(two_hop, on="entity_id", how="left").join(
        cash_then_crypto, on="entity_id", how="left"
    )
