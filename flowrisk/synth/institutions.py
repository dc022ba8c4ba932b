"""The institutions of a world: French banks, crypto exchanges, money transfer operators, foreign
banks and self-hosted wallets, and the bank branches where cash is paid in or taken out."""

from __future__ import annotations

import numpy as np

from flowrisk.synth.world import COUNTRIES, COUNTRY, AccountBook

__all__ = [
    "BANKS",
    "EXCHANGES",
    "INSTITUTION",
    "INSTITUTIONS",
    "MTOS",
    "N_BRANCHES",
    "RISKY_EXCHANGES",
    "foreign_accounts",
    "pick_bank",
]

BANKS = tuple(f"FRBANK{i:02d}" for i in range(1, 13))
BANK_WEIGHTS = np.array([18, 15, 13, 11, 9, 8, 7, 6, 5, 4, 2, 2], dtype=float)
EXCHANGES = ("CEX-EU-01", "CEX-EU-02", "CEX-EU-03", "CEX-EU-04")
RISKY_EXCHANGES = ("CEX-OFF-01", "CEX-OFF-02")
MTOS = ("MTO-01", "MTO-02", "MTO-03")
FOREIGN_BANKS = tuple(f"BANK-{c}" for c in COUNTRIES if c != "FR")
INSTITUTIONS = (*BANKS, *EXCHANGES, *RISKY_EXCHANGES, *MTOS, *FOREIGN_BANKS, "UNHOSTED")
INSTITUTION = {name: i for i, name in enumerate(INSTITUTIONS)}
N_BRANCHES = 400


def pick_bank(rng: np.random.Generator, n: int) -> np.ndarray:
    """Institution codes of ``n`` French banks, drawn by market share."""
    picks = rng.choice(len(BANKS), size=n, p=BANK_WEIGHTS / BANK_WEIGHTS.sum())
    return (INSTITUTION[BANKS[0]] + picks).astype(np.int16)


def foreign_accounts(
    book: AccountBook, countries: list[str], per_country: int, opened: int, tags: int = 0
) -> np.ndarray:
    """External accounts in each of ``countries`` at that country's bank."""
    out = []
    for c in countries:
        inst = INSTITUTION[f"BANK-{c}"]
        out.append(book.add(-1, "external", inst, COUNTRY[c], opened, tags, n=per_country))
    return np.concatenate(out)
