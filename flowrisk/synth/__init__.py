"""Synthetic world generator: a legitimate population with injected laundering typologies.

>>> from flowrisk.synth import WorldParams, generate_world
>>> manifest = generate_world(WorldParams(entities=2_000, seed=7), "world/")  # doctest: +SKIP
"""

from flowrisk.synth.generate import generate_world, iter_transactions, plan_world
from flowrisk.synth.params import GENERATOR_VERSION, TypologyParams, WorldParams
from flowrisk.synth.typologies import DEFAULT_TYPOLOGIES, REGISTRY, Typology, TypologyRegistry

__all__ = [
    "DEFAULT_TYPOLOGIES",
    "GENERATOR_VERSION",
    "REGISTRY",
    "Typology",
    "TypologyParams",
    "TypologyRegistry",
    "WorldParams",
    "generate_world",
    "iter_transactions",
    "plan_world",
]
