"""Every random stream of a world, in one place: ``default_rng([seed, stage, ...])``.

The stage number keeps the stages apart; a typology's streams add its pinned stream id (from the
typology registry, never a position in a list), so adding a typology changes no other stream.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "inject_stream",
    "legit_stream",
    "population_stream",
    "reports_stream",
    "scheme_stream",
]

# Stage numbers: part of every world's identity, never renumbered.
POPULATION, SCHEMES, LEGIT, INJECT, REPORTS = range(5)


def population_stream(seed: int) -> np.random.Generator:
    """The honest population's attributes, accounts and relations."""
    return np.random.default_rng([seed, POPULATION])


def scheme_stream(seed: int, typology: int) -> np.random.Generator:
    """The planner of the typology with stream id ``typology``."""
    return np.random.default_rng([seed, SCHEMES, typology])


def legit_stream(seed: int, chunk: int) -> np.random.Generator:
    """Ordinary life of the entities of chunk number ``chunk``."""
    return np.random.default_rng([seed, LEGIT, chunk])


def inject_stream(seed: int, typology: int, chunk: int) -> np.random.Generator:
    """The injector of the typology with stream id ``typology`` in chunk number ``chunk``."""
    return np.random.default_rng([seed, INJECT, typology, chunk])


def reports_stream(seed: int) -> np.random.Generator:
    """Reports received about entities (suspicion and convergence, not the cash reports)."""
    return np.random.default_rng([seed, REPORTS])
