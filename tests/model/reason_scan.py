"""A reader's checks on explanations, independent of how the explainer builds them: no reason
contradicts its own baseline, no two reasons of an entity carry the same evidence, counts agree
with their nouns, and no number is written in scientific notation (text or JSON fields)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flowrisk.features import catalog

__all__ = ["INTERACTION", "scan", "scan_entity"]

INTERACTION = "in combination with"
# the plural nouns the catalog's templates and the red flags' texts count
_NOUNS = (
    "accounts|assets|branches|companies|counterparties|countries|declarants|deposits|directors|"
    "entities|institutions|months|owners|payees|payers|payments|remittances|reports|times|"
    "transactions|transfers|wallets"
)
_ONE_PLURAL = re.compile(rf"(?<![\d.,+-])\b1 (?:[a-z-]+ ){{0,2}}?({_NOUNS})\b")
_ONE_DIFFERENT = re.compile(r"(?<![\d.,+-])\b1 different\b")
_SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")
_DIRECTION = {f.name: f.direction for f in catalog()}
_UNIT = {f.name: f.unit for f in catalog()}


def _reference(reason: Mapping[str, Any]) -> float | None:
    """The number the value is compared with: the printed baseline, or 0 for a z-score against
    the sector (its baseline is the sector's level, not a z)."""
    if reason["baseline"] is None:
        return None
    if reason["baseline_kind"] == "sector median" and _UNIT[reason["feature"]] == "z":
        return 0.0
    return float(reason["baseline"])


def _wording(text: str) -> list[str]:
    """Counting and notation problems of one sentence."""
    out = []
    if "(s)" in text:
        out.append(f"plural left open: {text!r}")
    for match in _ONE_PLURAL.finditer(text):
        out.append(f"one with a plural noun ({match.group(0)!r}): {text!r}")
    if _ONE_DIFFERENT.search(text):
        out.append(f"'1 different': {text!r}")
    if _SCIENTIFIC.search(text):
        out.append(f"scientific notation: {text!r}")
    return out


def _contradiction(reason: Mapping[str, Any]) -> str | None:
    """A reason whose direction disagrees with the side of its baseline the value sits on and
    that does not say it works only in combination with another feature."""
    direction = _DIRECTION[reason["feature"]]
    reference = _reference(reason)
    if direction == 0 or reference is None:
        return None
    gap = direction * (float(reason["value"]) - reference)  # > 0: on the risky side
    if reason["direction"] == "raises" and gap > 0:
        return None
    if reason["direction"] == "lowers" and gap <= 0:
        return None
    if INTERACTION in reason["text"]:
        partner = reason["text"].split(INTERACTION, 1)[1].strip(" :;,.")
        if partner:
            return None
        return f"names no partner: {reason['text']!r}"
    side = "honest" if gap <= 0 else "risky"
    return f"{reason['direction']} the score from the {side} side: {reason['text']!r}"


def scan_entity(explanation: Mapping[str, Any]) -> list[str]:
    """Every problem of one entity's explanation (``EXPLANATION_SCHEMA`` row), as sentences."""
    who = explanation["entity_id"]
    out = []
    seen: dict[str, str] = {}
    for reason in explanation["reasons"]:
        bad = _contradiction(reason)
        if bad is not None:
            out.append(f"{who}: {reason['feature']} {bad}")
        out.extend(f"{who}: {p}" for p in _wording(reason["text"]))
        for key in ("contribution", "value", "baseline"):
            if reason[key] is not None and _SCIENTIFIC.search(json.dumps(reason[key])):
                out.append(f"{who}: {reason['feature']} {key} {json.dumps(reason[key])}")
        for item in reason["evidence"]:
            if item in seen:
                out.append(
                    f"{who}: {item} is evidence of both {seen[item]} and {reason['feature']}"
                )
            seen.setdefault(item, reason["feature"])
    for flag in explanation["red_flags"]:
        out.extend(f"{who}: {p}" for p in _wording(flag["text"]))
    return out


def scan(explanations: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every problem of every explanation."""
    return [p for row in explanations for p in scan_entity(row)]
