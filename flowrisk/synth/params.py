"""Parameters of a synthetic world: size, period, seed and one prevalence/intensity per typology.

The typologies' defaults live in their registry entries (:mod:`flowrisk.synth.typologies`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from flowrisk.errors import InvalidParameter
from flowrisk.schema import SHORT_WINDOW_TYPOLOGIES, TYPOLOGIES

__all__ = [
    "GENERATOR_VERSION",
    "WORLD_SHAPES",
    "TypologyParams",
    "WorldParams",
    "default_typologies",
]

GENERATOR_VERSION = "1.3.0"
MAX_ENTITIES = 20_000_000
MAX_MONTHS = 120
# ``full``: every table of the data model; ``edge-list``: only amounts, times and counterparties
# (no cash, crypto, sectors, owners, assets or reports), with the short-window typologies only.
WORLD_SHAPES = ("full", "edge-list")


@dataclass(frozen=True)
class TypologyParams:
    """How common a typology is (share of all entities labelled with it) and how strong.

    ``intensity`` scales the signature: 1.0 is the default; 0.5 makes the scheme half as marked
    (fewer structured deposits, cash share closer to the sector, wealth closer to income); 2.0
    makes it more marked.
    """

    prevalence: float
    intensity: float = 1.0


def default_typologies() -> dict[str, TypologyParams]:
    """Every registered typology at its default prevalence and intensity (a fresh dict)."""
    # imported here: the registry imports the injectors, which import the world's model
    from flowrisk.synth.typologies.registry import REGISTRY

    return REGISTRY.defaults()


@dataclass(frozen=True)
class WorldParams:
    """Everything that determines a world; the same params give byte-identical files.

    ``chunk_entities`` sets how many entities' flows are held in memory at once; it is part of
    the world's identity (a different chunk size draws different random streams). ``shape`` is
    one of :data:`WORLD_SHAPES`; build an edge-list world with :meth:`edge_list`.
    """

    entities: int = 10_000
    months: int = 12
    seed: int = 42
    start: date = date(2025, 1, 1)
    company_share: float = 0.12
    camouflage: bool = True
    chunk_entities: int = 25_000
    typologies: Mapping[str, TypologyParams] = field(default_factory=default_typologies)
    shape: str = "full"

    @classmethod
    def edge_list(cls, **kwargs: Any) -> WorldParams:
        """A world reduced to a plain transaction edge list, with each short-window typology at
        ``SHORT_WINDOW_PREVALENCE`` unless ``typologies`` is given."""
        from flowrisk.synth.typologies.registry import SHORT_WINDOW_PREVALENCE

        on = TypologyParams(SHORT_WINDOW_PREVALENCE)
        kwargs.setdefault("typologies", dict.fromkeys(SHORT_WINDOW_TYPOLOGIES, on))
        return cls(shape="edge-list", **kwargs)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`InvalidParameter` naming the first parameter out of range."""
        if not isinstance(self.entities, int) or not 100 <= self.entities <= MAX_ENTITIES:
            raise InvalidParameter(
                "entities", f"must be an integer in [100, {MAX_ENTITIES:,}], got {self.entities}"
            )
        if not isinstance(self.months, int) or not 1 <= self.months <= MAX_MONTHS:
            raise InvalidParameter("months", f"must be in [1, {MAX_MONTHS}], got {self.months}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidParameter("seed", f"must be a non-negative integer, got {self.seed}")
        if not 0.01 <= self.company_share <= 0.5:
            raise InvalidParameter(
                "company_share", f"must be in [0.01, 0.5], got {self.company_share}"
            )
        if self.chunk_entities < 1_000:
            raise InvalidParameter("chunk_entities", "must be at least 1,000")
        unknown = sorted(set(self.typologies) - set(TYPOLOGIES))
        if unknown:
            raise InvalidParameter(
                "typology", f"unknown {unknown[0]!r}; known: {', '.join(TYPOLOGIES)}"
            )
        for name, tp in self.typologies.items():
            if not (math.isfinite(tp.prevalence) and 0.0 <= tp.prevalence <= 0.05):
                raise InvalidParameter(
                    f"prevalence[{name}]", f"must be in [0, 0.05], got {tp.prevalence}"
                )
            if not (math.isfinite(tp.intensity) and 0.1 <= tp.intensity <= 5.0):
                raise InvalidParameter(
                    f"intensity[{name}]", f"must be in [0.1, 5], got {tp.intensity}"
                )
        self._validate_shape()
        total = sum(tp.prevalence for tp in self.typologies.values())
        if total > 0.2:
            raise InvalidParameter("prevalence", f"sum over typologies must be <= 0.2, got {total}")

    def _validate_shape(self) -> None:
        """An edge-list world carries only short-window typologies."""
        if self.shape not in WORLD_SHAPES:
            raise InvalidParameter(
                "shape", f"must be one of {', '.join(WORLD_SHAPES)}, got {self.shape!r}"
            )
        if self.shape == "edge-list":
            other = [n for n, tp in self.typologies.items() if n not in SHORT_WINDOW_TYPOLOGIES]
            if any(self.typologies[n].prevalence > 0 for n in other):
                raise InvalidParameter(
                    "typology",
                    f"an edge-list world carries only short-window typologies "
                    f"({', '.join(SHORT_WINDOW_TYPOLOGIES)}), not {other[0]!r}",
                )

    def with_overrides(
        self,
        *,
        only: Iterable[str] | None = None,
        prevalence: Mapping[str, float] | None = None,
        intensity: Mapping[str, float] | None = None,
    ) -> WorldParams:
        """A copy keeping only the ``only`` typologies and with prevalences/intensities replaced
        (an edge-list world keeps only its short-window typologies when ``only`` is not given)."""
        if only is not None:
            chosen = list(only)
        elif self.shape == "edge-list":
            chosen = [n for n in self.typologies if n in SHORT_WINDOW_TYPOLOGIES]
        else:
            chosen = list(self.typologies)
        for name in [*chosen, *(prevalence or {}), *(intensity or {})]:
            if name not in TYPOLOGIES:
                raise InvalidParameter(
                    "typology", f"unknown {name!r}; known: {', '.join(TYPOLOGIES)}"
                )
        typologies = {}
        defaults = default_typologies()
        for name in chosen:
            base = self.typologies.get(name, defaults[name])
            typologies[name] = TypologyParams(
                prevalence=(prevalence or {}).get(name, base.prevalence),
                intensity=(intensity or {}).get(name, base.intensity),
            )
        return replace(self, typologies=typologies)

    def intensity(self, typology: str) -> float:
        """Intensity knob of ``typology`` (1.0 when it is not injected)."""
        tp = self.typologies.get(typology)
        return tp.intensity if tp is not None else 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description for the manifest."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        out["typologies"] = {k: asdict(v) for k, v in sorted(self.typologies.items())}
        return out
