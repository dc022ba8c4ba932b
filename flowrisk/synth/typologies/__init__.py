"""Typology injectors: each typology has a planner (who, with which accounts, from when) and an
injector (the scheme's transactions for the members in one chunk of entities), registered once
in :data:`REGISTRY` with its pinned stream id and default parameters.

Both are pure functions of their inputs and a seeded generator; the planner may add accounts,
ownership links and adjust the member's own parameters (a front's supplier spending, say), which
is how the guilty keep a normal life beside their scheme (camouflage). The generator tags the
injector's transactions with the typology's stream id (the ground truth).
"""

from flowrisk.synth.typologies.registry import (
    DEFAULT_TYPOLOGIES,
    REGISTRY,
    Injector,
    Planner,
    Typology,
    TypologyRegistry,
)

__all__ = ["DEFAULT_TYPOLOGIES", "REGISTRY", "Injector", "Planner", "Typology", "TypologyRegistry"]
