"""The world's accounts: the entities' own (bank, savings, exchange, wallet, transfer operator)
and the pools of counterparties they pay and are paid by (employers, shops, wallets, abroad).

Accounts are numbered in the order they are added, so the order of the steps below is part of
every world's identity, as is the order of the random draws.
"""

from __future__ import annotations

import numpy as np

from flowrisk.reference import jurisdictions
from flowrisk.synth.institutions import (
    BANKS,
    EXCHANGES,
    INSTITUTION,
    MTOS,
    RISKY_EXCHANGES,
    foreign_accounts,
    pick_bank,
)
from flowrisk.synth.world import COUNTRIES, COUNTRY, RISK_BIT, AccountBook, Arch, bank_account_type

__all__ = ["counterparty_pools", "own_accounts"]

FR = COUNTRY["FR"]
# destination countries of family remittances: high-risk and ordinary ones alike
REMITTANCE_COUNTRIES = (
    "MA",
    "DZ",
    "TN",
    "SN",
    "CI",
    "CM",
    "CD",
    "HT",
    "VN",
    "CN",
    "TR",
    "PT",
    "NG",
)
EU_PARTNERS = ["BE", "DE", "ES", "IT", "NL", "LU", "CH", "GB", "US", "PT"]
OFFSHORE = ["AE", "HK", "PA", "VG", "CY", "MT"]
# outside counterparties at French banks, in the order they are opened: name -> (accounts, how
# that count reads): "per_thousand" entities at banks drawn by market share, "fixed" likewise,
# "first_bank" for the state's pension fund and tax office (no draw)
DOMESTIC_POOLS: dict[str, tuple[int, str]] = {
    "employer_ext": (20, "per_thousand"),
    "pension": (4, "first_bank"),
    "merchant_ext": (40, "per_thousand"),
    "landlord_ext": (60, "per_thousand"),
    "utility": (12, "fixed"),
    "tax": (3, "first_bank"),
    "notary": (10, "per_thousand"),
    "dealer": (10, "per_thousand"),
    "jeweller": (3, "per_thousand"),
    "lender": (12, "fixed"),
    "acquirer": (6, "fixed"),
    "supplier_ext": (30, "per_thousand"),
    "client_ext": (30, "per_thousand"),
}
WALLET_POOLS = {
    "wallet_plain": 0,
    "wallet_mixer": RISK_BIT["mixer"],
    "wallet_darknet": RISK_BIT["darknet"],
    "wallet_sanctioned": RISK_BIT["sanctioned"],
    "wallet_gambling": RISK_BIT["gambling"],
}


def _bank_accounts(
    rng: np.random.Generator,
    book: AccountBook,
    is_company: np.ndarray,
    registration_day: np.ndarray,
    start_day: int,
) -> dict[str, np.ndarray]:
    """Everyone's main account; savings for half the persons; a second bank for some."""
    n = len(is_company)
    ent = np.arange(n, dtype=np.int64)
    opened_before = start_day - rng.integers(60, 20 * 365, n).astype(np.int32)
    opened = np.where(is_company, np.maximum(registration_day + 10, opened_before), opened_before)
    primary_bank = pick_bank(rng, n)
    primary = book.add(ent, bank_account_type(is_company), primary_bank, FR, opened)
    savings = np.full(n, -1, dtype=np.int64)
    has_sav = (~is_company) & (rng.random(n) < 0.5)
    savings[has_sav] = book.add(ent[has_sav], "savings", primary_bank[has_sav], FR, opened[has_sav])
    second = np.full(n, -1, dtype=np.int64)
    has_second = rng.random(n) < np.where(is_company, 0.25, 0.12)
    k = int(has_second.sum())
    second[has_second] = book.add(
        ent[has_second],
        bank_account_type(is_company[has_second]),
        pick_bank(rng, k),
        FR,
        opened[has_second] + rng.integers(0, 365, k).astype(np.int32),
    )
    return {"primary": primary, "savings": savings, "second": second}


def _crypto_and_transfer_accounts(
    rng: np.random.Generator, book: AccountBook, arch: np.ndarray, start_day: int
) -> dict[str, np.ndarray]:
    """Exchange accounts and wallets of crypto hobbyists; transfer operators of remitters."""
    n = len(arch)
    exchange, wallet, mto = (np.full(n, -1, dtype=np.int64) for _ in range(3))
    hob = np.flatnonzero(arch == Arch.CRYPTO_HOBBYIST)
    exchange[hob] = book.add(
        hob,
        "crypto_exchange",
        INSTITUTION[EXCHANGES[0]] + rng.integers(0, len(EXCHANGES), len(hob)),
        FR,
        start_day - rng.integers(30, 6 * 365, len(hob)),
    )
    has_wallet = hob[rng.random(len(hob)) < 0.6]
    wallet[has_wallet] = book.add(
        has_wallet,
        "crypto_wallet",
        INSTITUTION["UNHOSTED"],
        FR,
        start_day - rng.integers(30, 6 * 365, len(has_wallet)),
    )
    rem = np.flatnonzero(arch == Arch.REMITTER)
    uses_mto = rem[rng.random(len(rem)) < 0.5]
    mto[uses_mto] = book.add(
        uses_mto,
        "current",
        INSTITUTION[MTOS[0]] + rng.integers(0, len(MTOS), len(uses_mto)),
        FR,
        start_day - rng.integers(30, 5 * 365, len(uses_mto)),
    )
    return {"exchange": exchange, "wallet": wallet, "mto": mto}


def own_accounts(
    rng: np.random.Generator,
    book: AccountBook,
    is_company: np.ndarray,
    arch: np.ndarray,
    registration_day: np.ndarray,
    start_day: int,
) -> dict[str, np.ndarray]:
    """Each entity's accounts by kind (primary, savings, second, exchange, wallet, mto); -1 is
    none."""
    banks = _bank_accounts(rng, book, is_company, registration_day, start_day)
    return {**banks, **_crypto_and_transfer_accounts(rng, book, arch, start_day)}


def _domestic_pools(
    rng: np.random.Generator, book: AccountBook, scale: int, old: int
) -> dict[str, np.ndarray]:
    """Outside counterparties at French banks, then the exchanges' hot wallets."""
    pools: dict[str, np.ndarray] = {}
    for name, (count, kind) in DOMESTIC_POOLS.items():
        if kind == "first_bank":
            pools[name] = book.add(-1, "external", INSTITUTION[BANKS[0]], FR, old, n=count)
        else:
            n = count * scale if kind == "per_thousand" else count
            pools[name] = book.add(-1, "external", pick_bank(rng, n), FR, old)
    hot = INSTITUTION[EXCHANGES[0]] + np.arange(len(EXCHANGES))
    pools["exchange_hot"] = book.add(-1, "external", hot, FR, old)
    return pools


def _foreign_and_crypto_pools(book: AccountBook, scale: int, old: int) -> dict[str, np.ndarray]:
    """Accounts abroad (family, partners, watched countries, offshore), wallets and offshore
    exchanges with their risk tags."""
    per = max(2, scale)
    hr_hubs = sorted(c for c in COUNTRIES if c in jurisdictions().watched)
    pools = {
        "family_abroad": foreign_accounts(book, list(REMITTANCE_COUNTRIES), 8 * per, old),
        "foreign_partner": foreign_accounts(book, EU_PARTNERS, 4 * per, old),
        "foreign_risky_partner": foreign_accounts(book, hr_hubs, 2 * per, old),
        "offshore_company": foreign_accounts(book, OFFSHORE, 2 * per, old),
    }
    for name, tag in WALLET_POOLS.items():
        count = (40 if tag == 0 else 6) * per
        pools[name] = book.add(-1, "crypto_wallet", INSTITUTION["UNHOSTED"], FR, old, tag, n=count)
    pools["exchange_risky"] = book.add(
        -1,
        "crypto_exchange",
        INSTITUTION[RISKY_EXCHANGES[0]] + np.arange(2),
        COUNTRY["HK"],
        old,
        RISK_BIT["high_risk_exchange"],
    )
    return pools


def counterparty_pools(
    rng: np.random.Generator,
    book: AccountBook,
    start_day: int,
    primary: np.ndarray,
    arch: np.ndarray,
) -> dict[str, np.ndarray]:
    """Pools of accounts to draw counterparties from: outside ones, then the world's own shops,
    companies, suppliers and persons (falling back on outside ones in a world without them)."""
    n = len(arch)
    scale = max(1, n // 1_000)
    old = start_day - 3_650
    pools = _domestic_pools(rng, book, scale, old)
    pools.update(_foreign_and_crypto_pools(book, scale, old))
    shops = primary[arch == Arch.CASH_BUSINESS]
    companies = primary[arch >= Arch.CASH_BUSINESS]
    ordinary = primary[arch == Arch.ORDINARY_COMPANY]
    pools["shop"] = shops if len(shops) else pools["merchant_ext"]
    pools["company"] = companies if len(companies) else pools["client_ext"]
    pools["supplier_company"] = ordinary if len(ordinary) else pools["supplier_ext"]
    pools["person"] = primary[arch < Arch.CASH_BUSINESS]
    return pools
