"""Predicates on transaction legs (each transaction seen from an entity-held side), shared by the
features, red flags and rules of every family: one definition of a cash deposit, an inflow and
the rest, so that a flag's evidence is the very rows its family's features count."""

from __future__ import annotations

import polars as pl

__all__ = ["CASH_DEPOSIT", "CASH_WITHDRAWAL", "INFLOW", "OUTFLOW", "WITH_OTHERS"]

_CASH_DESK = (pl.col("channel") == "cash") & pl.col("cp_account").is_null()

# cash paid in at a branch or ATM: a cash leg with no account on the other side
CASH_DEPOSIT = pl.col("inbound") & _CASH_DESK
# cash taken out at a branch or ATM
CASH_WITHDRAWAL = ~pl.col("inbound") & _CASH_DESK
# a leg with someone else (not between two accounts of the same entity)
WITH_OTHERS = ~pl.col("is_self")
# money received from, or sent to, someone else
INFLOW = pl.col("inbound") & WITH_OTHERS
OUTFLOW = ~pl.col("inbound") & WITH_OTHERS
