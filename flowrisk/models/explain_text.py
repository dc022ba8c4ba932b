"""The words of an explanation: feature values as an analyst reads them, a reason's text with its
baseline (sector median or honest peers), each distinct one rendered once, and an explanation as
lines of text for the terminal."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from flowrisk.features import Feature
from flowrisk.models.scorer import RiskModel, probability_text, score_text

__all__ = ["DECIMALS", "Texts", "format_value", "lower", "reason_lines"]

DECIMALS = 4  # contributions, values and baselines: 0.0001 or 0, never 1e-05 in JSON


def format_value(value: float, unit: str) -> str:
    """A feature value as an analyst reads it, by unit."""
    match unit:
        case "EUR":
            return f"{value:,.0f} EUR"
        case "share":
            return f"{value:.0%}"
        case "count":
            return f"{value:,.0f}"
        case "z":
            return f"{value:+.1f} sd"
        case "years":
            return f"{value:.1f} years"
        case "hours":
            return f"{value:,.0f} h"
        case "flag":
            return "yes" if value >= 0.5 else "no"
        case _:
            return f"{value:,.2f}"


def _statement(feature: Feature, value: float, sector: float | None) -> str:
    """What one value says, without the peers' baseline: the template (with the sector median
    when the feature has one and it is known)."""
    if feature.baseline and sector is not None and np.isfinite(sector):
        return feature.render(value, sector)
    if feature.baseline:  # sector unknown: say what the value is without the sector wording
        return f"{feature.description}: {format_value(value, feature.unit)}"
    return feature.render(value)


def _render(
    feature: Feature,
    value: float,
    kind: str,
    peers: tuple[float, float] | None,
    sector: float | None,
) -> tuple[str, float | None, str | None]:
    """Text, baseline and its kind for one feature value."""
    text = _statement(feature, value, sector)
    if feature.baseline and sector is not None and np.isfinite(sector):
        return text, round(sector, DECIMALS), "sector median"
    if peers is None:
        return f"{text} (no peer baseline in this model)", None, None
    return f"{text}{_peer_text(feature, kind, peers)}", round(peers[0], DECIMALS), "peer median"


@functools.cache
def _peer_text(feature: Feature, kind: str, peers: tuple[float, float]) -> str:
    """What a reason adds after its value: the honest peers' median and 90th percentile."""
    median, p90 = peers
    peer = "companies" if kind == "company" else "people"
    return (
        f"; honest {peer}: median {format_value(median, feature.unit)}, 90th percentile "
        f"{format_value(p90, feature.unit)}"
    )


def _exact(x: Any) -> Any:
    """A memo key for a number that tells 0.0 from -0.0 (they print differently)."""
    return (x, math.copysign(1.0, x)) if isinstance(x, float) else x


class Texts:
    """Reason texts with their baselines, each distinct (feature, value, entity type, sector
    value) rendered once per call of ``explain``: explaining a partition renders hundreds of
    thousands, many of them alike (counts, zeros, shares)."""

    def __init__(self, model: RiskModel, features: Sequence[Feature]) -> None:
        self.features = features
        self.peers = model.peers
        self.done: dict[Any, tuple[str, float | None, str | None]] = {}

    def __call__(
        self, j: int, value: float, kind: str, sector: Mapping[str, Any]
    ) -> tuple[str, float | None, str | None]:
        feature = self.features[j]
        known = sector.get(feature.baseline) if feature.baseline else None
        key = (j, _exact(value), kind, _exact(known))
        hit = self.done.get(key)
        if hit is None:
            peers = self.peers.get(kind, {}).get(feature.name)
            hit = self.done[key] = _render(feature, value, kind, peers, known)
        return hit


def lower(text: str) -> str:
    """A sentence continued after a semicolon: its first letter in lower case (not an
    acronym's)."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def reason_lines(explanation: Mapping[str, Any], evidence_shown: int = 5) -> Sequence[str]:
    """One entity's explanation as lines of text (terminal, logs)."""
    out = [
        f"{explanation['entity_id']}: score {score_text(explanation['score'])} "
        f"({explanation['band']}, probability {probability_text(explanation['probability'])}), "
        f"typologies: {', '.join(explanation['tags']) or 'none'}"
    ]
    for reason in explanation["reasons"]:
        sign = "+" if reason["direction"] == "raises" else "-"
        line = f"  {sign} [{reason['family']}] {reason['text']}"
        if reason["evidence"]:
            shown = ", ".join(reason["evidence"][:evidence_shown])
            more = len(reason["evidence"]) - evidence_shown
            line += f" (evidence: {shown}{f' and {more} more' if more > 0 else ''})"
        out.append(line)
    for flag in explanation["red_flags"]:
        out.append(f"  ! {flag['text']}")
    return out
