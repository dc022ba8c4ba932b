"""Crypto-assets: fiat on- and off-ramps, exposure to risk-tagged wallets, stablecoin hops; the
risky-wallet red flag and rule on the same tagged legs."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import polars as pl

from flowrisk.features.catalog import Feature, RedFlag, register, register_flags
from flowrisk.features.context import Context, ratio, total
from flowrisk.features.evidence import counted, eur, flag_rows, txn_ids
from flowrisk.features.legs import CASH_DEPOSIT
from flowrisk.reference import thresholds

__all__ = ["FEATURES", "RISKY", "RISKY_WALLETS", "compute", "red_flags", "rules"]

(RISKY_WALLETS,) = register_flags(
    RedFlag(
        "risky_wallets",
        "crypto",
        "Transfers with wallets tagged mixer, darknet or sanctioned",
    ),
)

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
        "{value:.0f} transfer[s] with mixer, darknet or sanctioned wallets",
        red_flag=RISKY_WALLETS.name,
    ),
    Feature(
        "crypto_risky_2hop_365d",
        "crypto",
        "Transfers with accounts that themselves dealt "
        "with mixer, darknet or sanctioned wallets (two hops), 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} transfer[s] one step away from mixer, darknet or sanctioned wallets",
    ),
    Feature(
        "crypto_gambling_hops_365d",
        "crypto",
        "Transfers with gambling wallets or high-risk exchanges, 365 days",
        "count",
        "365d",
        1,
        "{value:.0f} transfer[s] with gambling wallets or offshore exchanges",
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
        "{value:.0f} time[s] cash went into crypto within 3 days",
    ),
)

RISKY = ["mixer", "darknet", "sanctioned"]
GAMBLING = ["gambling", "high_risk_exchange"]
CRYPTO_TYPES = ["crypto_exchange", "crypto_wallet"]
BANK_TYPES = ["current", "savings", "business"]


def _tagged(tags: pl.Expr, names: list[str]) -> pl.Expr:
    return tags.cast(pl.List(pl.String)).list.set_intersection(names).list.len().fill_null(0) > 0


def _risky() -> pl.Expr:
    """A leg whose counterparty wallet is tagged mixer, darknet or sanctioned."""
    return _tagged(pl.col("cp_tags"), RISKY)


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
        _risky().sum().alias("crypto_risky_hops_365d"),
        _tagged(pl.col("cp_tags"), GAMBLING).sum().alias("crypto_gambling_hops_365d"),
        ratio(
            total(crypto & pl.col("currency_original").is_in(["USDT", "USDC"])),
            total(crypto),
        ).alias("crypto_stablecoin_share_365d"),
    )


def compute(ctx: Context) -> pl.LazyFrame:
    per_entity = ctx.legs.group_by("entity_id").agg(*_per_entity())
    return per_entity.join(_two_hops(ctx), on="entity_id", how="left").join(
        _cash_then_crypto(ctx), on="entity_id", how="left"
    )


def _two_hops(ctx: Context) -> pl.LazyFrame:
    """Transfers with counterparties that themselves sent to or received from risky wallets."""
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
    return (
        ctx.legs.filter(~pl.col("is_self") | pl.col("own_type").is_in(BANK_TYPES))
        .join(relays, on="cp_account", how="semi")
        .group_by("entity_id")
        .agg(pl.len().alias("crypto_risky_2hop_365d"))
    )


def _cash_then_crypto(ctx: Context) -> pl.LazyFrame:
    """Moves into crypto within 3 days of a cash deposit."""
    onramp, _ = _ramps()
    return (
        ctx.legs.filter(onramp | CASH_DEPOSIT)
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


def red_flags(ctx: Context) -> list[pl.LazyFrame]:
    """Transfers with risky wallets: the legs ``crypto_risky_hops_365d`` counts."""
    crypto = (
        ctx.legs.filter(_risky())
        .group_by("entity_id")
        .agg(pl.len().alias("n"), total().alias("total"), txn_ids().alias("evidence"))
    )
    text = pl.format(
        "{} ({}) with mixer, darknet or sanctioned wallets",
        counted("n", "transfer", "transfers"),
        eur("total"),
    )
    return [flag_rows(crypto, RISKY_WALLETS, text)]


def rules() -> dict[str, pl.Expr]:
    """Mixer and darknet monitoring scenario, on profile columns."""
    return {"mixer_or_darknet": pl.col("crypto_risky_hops_365d") >= thresholds().rule_risky_hops}
