"""Ordinary financial life, drawn for a slice of entities: pay, rent, spending, savings, trade,
money between people, freelance work, life's bursts and companies' customers.

Every function is vectorised over the entities of the slice and the months of the period and
returns :class:`~flowrisk.synth.world.Txns` batches; rates are per entity and month. The order
of the steps in :func:`legit_transactions` is the order of the draws (part of a world's
identity).
"""

from __future__ import annotations

import numpy as np

from flowrisk.synth.flows.companies import company_flows, group_flows
from flowrisk.synth.flows.income import person_income
from flowrisk.synth.flows.purchases import asset_purchases
from flowrisk.synth.flows.specials import person_specials
from flowrisk.synth.flows.spending import person_spending
from flowrisk.synth.flows.timing import events, when
from flowrisk.synth.flows.variety import honest_variety
from flowrisk.synth.world import Txns, World

__all__ = ["events", "legit_transactions", "when"]


def legit_transactions(rng: np.random.Generator, world: World, lo: int, hi: int) -> Txns:
    """All ordinary transactions of entities ``lo..hi-1``."""
    ents = np.arange(lo, hi, dtype=np.int64)
    persons = ents[~world.is_company[ents]]
    batches = [
        *person_income(rng, world, persons),
        *person_spending(rng, world, persons),
        *person_specials(rng, world, persons),
        *asset_purchases(rng, world, lo, hi),
        *company_flows(rng, world, ents),
        *group_flows(rng, world, ents),
        *honest_variety(rng, world, ents),
    ]
    return Txns.concat(batches)
