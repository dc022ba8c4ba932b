"""Typology injectors: each typology has a planner (who, with which accounts, from when) and an
injector (the scheme's transactions for the members in one chunk of entities).

Both are pure functions of their inputs and a seeded generator; the planner may add accounts,
ownership links and adjust the member's own parameters (a front's supplier spending, say), which
is how the guilty keep a normal life beside their scheme (camouflage).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowrisk.schema import TYPOLOGIES
from flowrisk.synth.typologies.cash import (
    inject_front_business,
    inject_structuring,
    plan_front_business,
    plan_structuring,
)
from flowrisk.synth.typologies.crypto import inject_crypto, plan_crypto
from flowrisk.synth.typologies.networks import (
    inject_high_risk_jurisdiction,
    inject_layering,
    inject_mule,
    plan_high_risk_jurisdiction,
    plan_layering,
    plan_mule,
)
from flowrisk.synth.typologies.reports import inject_multi_declarant, plan_multi_declarant
from flowrisk.synth.typologies.wealth import inject_unexplained_wealth, plan_unexplained_wealth
from flowrisk.synth.world import AccountBook, SchemePlan, Txns, World

__all__ = ["INJECTORS", "PLANNERS"]

Planner = Callable[[np.random.Generator, World, AccountBook, int, np.ndarray], SchemePlan]
Injector = Callable[[np.random.Generator, World, SchemePlan, int, int], list[Txns]]

PLANNERS: dict[str, Planner] = {
    "front_business": plan_front_business,
    "layering": plan_layering,
    "structuring": plan_structuring,
    "unexplained_wealth": plan_unexplained_wealth,
    "crypto": plan_crypto,
    "mule": plan_mule,
    "high_risk_jurisdiction": plan_high_risk_jurisdiction,
    "multi_declarant": plan_multi_declarant,
}
INJECTORS: dict[str, Injector] = {
    "front_business": inject_front_business,
    "layering": inject_layering,
    "structuring": inject_structuring,
    "unexplained_wealth": inject_unexplained_wealth,
    "crypto": inject_crypto,
    "mule": inject_mule,
    "high_risk_jurisdiction": inject_high_risk_jurisdiction,
    "multi_declarant": inject_multi_declarant,
}
assert set(PLANNERS) == set(INJECTORS) == set(TYPOLOGIES)
