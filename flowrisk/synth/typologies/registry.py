"""The typology registry: one entry per typology the generator injects.

An entry holds the typology's name (one of :data:`flowrisk.schema.TYPOLOGIES`), its pinned
stream id, its planner, its injector and its default parameters. The stream id seeds the
typology's random streams, codes its ground-truth transactions and prefixes its scheme ids; it
is pinned (never derived from a position), so adding a typology changes no other typology's
draws. Entries are planned in registry order (a planner sees the members chosen before it):
add a typology at the end, with the next unused stream id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from flowrisk.schema import SHORT_WINDOW_TYPOLOGIES, TYPOLOGIES
from flowrisk.synth.params import TypologyParams
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
from flowrisk.synth.typologies.short_window import inject_short_window, plan_short_window
from flowrisk.synth.typologies.wealth import inject_unexplained_wealth, plan_unexplained_wealth
from flowrisk.synth.world import AccountBook, SchemePlan, Txns, World

__all__ = [
    "DEFAULT_TYPOLOGIES",
    "REGISTRY",
    "SHORT_WINDOW_PREVALENCE",
    "Injector",
    "Planner",
    "Typology",
    "TypologyRegistry",
]

Planner = Callable[[np.random.Generator, World, AccountBook, int, np.ndarray], SchemePlan]
Injector = Callable[[np.random.Generator, World, SchemePlan, int, int], list[Txns]]
SHORT_WINDOW_PREVALENCE = 0.003  # each short-window typology in an edge-list world
# On in the full world at a low prevalence: each scheme repeats its pattern over its life and
# its members are labelled while active, so a point-in-time feature can see what the label says.
SHORT_WINDOW_DEFAULT = TypologyParams(0.001)
MAX_STREAM = 127  # ground-truth codes are stored as int8


@dataclass(frozen=True)
class Typology:
    """One injectable typology: who takes part (planner), what they do (injector), how often."""

    name: str
    stream: int
    plan: Planner
    inject: Injector
    defaults: TypologyParams


class TypologyRegistry:
    """The typologies in planning order, looked up by name or by stream id."""

    def __init__(self, entries: Iterable[Typology]) -> None:
        self.entries = tuple(entries)
        self._by_name = {t.name: t for t in self.entries}
        self._by_stream = {t.stream: t for t in self.entries}
        if len(self._by_name) < len(self.entries):
            raise ValueError("typology registry: a name appears twice")
        if len(self._by_stream) < len(self.entries):
            raise ValueError("typology registry: a stream id is used twice")
        for t in self.entries:
            if not 0 <= t.stream <= MAX_STREAM:
                raise ValueError(f"typology registry: {t.name} stream {t.stream} not in 0..127")

    def __iter__(self) -> Iterator[Typology]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Typology:
        return self._by_name[name]

    def name_of(self, stream: int) -> str:
        """The name of the typology whose stream id is ``stream``."""
        return self._by_stream[int(stream)].name

    def defaults(self) -> dict[str, TypologyParams]:
        """Default parameters of every typology, in the order of the names' vocabulary."""
        order = [n for n in TYPOLOGIES if n in self._by_name]
        order += [t.name for t in self.entries if t.name not in TYPOLOGIES]
        return {n: self._by_name[n].defaults for n in order}

    def vocabulary_codes(self) -> np.ndarray:
        """Position in :data:`TYPOLOGIES` (the label enum's code) of each stream id; -1 if none."""
        codes = np.full(MAX_STREAM + 1, -1, dtype=np.int8)
        for t in self.entries:
            if t.name in TYPOLOGIES:
                codes[t.stream] = TYPOLOGIES.index(t.name)
        return codes

    def check_covers(self, names: Iterable[str]) -> None:
        """Raise when the registry does not hold exactly the typologies ``names``."""
        want, have = set(names), set(self._by_name)
        if want != have:
            raise ValueError(
                f"typology registry and vocabulary differ: missing {sorted(want - have)}, "
                f"unknown {sorted(have - want)}"
            )


REGISTRY = TypologyRegistry(
    [
        Typology(
            "front_business", 1, plan_front_business, inject_front_business, TypologyParams(0.004)
        ),
        Typology("layering", 6, plan_layering, inject_layering, TypologyParams(0.004)),
        Typology("structuring", 0, plan_structuring, inject_structuring, TypologyParams(0.006)),
        Typology(
            "unexplained_wealth",
            2,
            plan_unexplained_wealth,
            inject_unexplained_wealth,
            TypologyParams(0.004),
        ),
        Typology("crypto", 3, plan_crypto, inject_crypto, TypologyParams(0.003)),
        Typology("mule", 4, plan_mule, inject_mule, TypologyParams(0.005)),
        Typology(
            "high_risk_jurisdiction",
            5,
            plan_high_risk_jurisdiction,
            inject_high_risk_jurisdiction,
            TypologyParams(0.003),
        ),
        Typology(
            "multi_declarant",
            7,
            plan_multi_declarant,
            inject_multi_declarant,
            TypologyParams(0.002),
        ),
        *(
            Typology(
                name,
                8 + i,
                plan_short_window(name),
                inject_short_window(name),
                SHORT_WINDOW_DEFAULT,
            )
            for i, name in enumerate(SHORT_WINDOW_TYPOLOGIES)
        ),
    ]
)
REGISTRY.check_covers(TYPOLOGIES)

DEFAULT_TYPOLOGIES: dict[str, TypologyParams] = REGISTRY.defaults()
