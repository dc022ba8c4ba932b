"""The feature catalog: every feature's name, family, meaning, unit, window, direction, the
reason template an analyst reads and the red flag whose evidence backs it; and the red flags
each family raises. Models record the feature set's name and version."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flowrisk.errors import InvalidParameter

__all__ = [
    "FAMILY_TYPOLOGY",
    "FEATURE_SET",
    "FEATURE_SET_VERSION",
    "Feature",
    "RedFlag",
    "catalog",
    "catalog_markdown",
    "check_evidence_links",
    "evidence_links",
    "feature_names",
    "red_flag_catalog",
]

FEATURE_SET = "v1"
FEATURE_SET_VERSION = "1.2.0"

# Each family points to the typology its features are evidence of.
FAMILY_TYPOLOGY = {
    "cash": "structuring",
    "flow": "mule",
    "geo": "high_risk_jurisdiction",
    "crypto": "crypto",
    "biz": "front_business",
    "wealth": "unexplained_wealth",
    "net": "layering",
    "reports": "multi_declarant",
    "amount": "structuring",
    "neighbourhood": "mule",
    "timing": "mule",
}


_NUMBER = re.compile(r"\[([^\[\]|]*)\|([^\[\]|]*)\]")  # [singular|plural] in a template


@dataclass(frozen=True)
class Feature:
    """One column of an entity profile.

    ``direction`` is +1 when a higher value is riskier, -1 when lower is riskier, 0 when neither.
    ``template`` is formatted with ``value`` (and ``baseline`` when the feature has one);
    ``[one|many]`` in it agrees with the value (``[s]`` is short for ``[|s]``), see ``render``.
    ``red_flag`` names the red flag whose evidence ids back a reason on this feature.
    """

    name: str
    family: str
    description: str
    unit: str
    window: str
    direction: int
    template: str
    baseline: str | None = None  # name of the fitted statistic the value is compared with
    red_flag: str | None = None  # the red flag whose evidence backs this feature's reasons

    @property
    def typology(self) -> str:
        return FAMILY_TYPOLOGY[self.family]

    def render(self, value: float, baseline: float | None = None) -> str:
        """The template with ``value`` (and ``baseline``), its nouns agreeing with the value:
        singular when the value reads as 1, e.g. '1 cash deposit', '3 cash deposits'."""
        one = f"{value:.0f}" in ("1", "-1")
        return _agreeing(self.template, one).format(value=value, baseline=baseline)


@functools.cache
def _agreeing(template: str, one: bool) -> str:
    """A template with its ``[one|many]`` and ``[s]`` resolved for a singular (``one``) or
    plural value: two variants per template, built once (explaining everyone renders millions)."""
    text = _NUMBER.sub(lambda m: m.group(1) if one else m.group(2), template)
    return text.replace("[s]", "" if one else "s")


@dataclass(frozen=True)
class RedFlag:
    """A deterministic fact a family checks on an entity's legs, shown beside the model's reasons
    with the ids of the rows behind it."""

    name: str
    family: str
    description: str


_CATALOG: list[Feature] = []
_FLAGS: list[RedFlag] = []


def register(*features: Feature) -> list[Feature]:
    """Add features to the catalog (called by each family module at import)."""
    for f in features:
        if not f.name.startswith(f.family + "_"):
            raise ValueError(f"{f.name}: a feature name starts with its family ({f.family}_)")
        if any(g.name == f.name for g in _CATALOG):
            raise ValueError(f"{f.name}: declared twice")
        _CATALOG.append(f)
    return list(features)


def register_flags(*flags: RedFlag) -> tuple[RedFlag, ...]:
    """Add red flags to the catalog (called by each family module at import)."""
    for flag in flags:
        if flag.family not in FAMILY_TYPOLOGY:
            raise ValueError(f"{flag.name}: unknown family {flag.family}")
        if any(g.name == flag.name for g in _FLAGS):
            raise ValueError(f"{flag.name}: declared twice")
        _FLAGS.append(flag)
    return flags


def red_flag_catalog() -> list[RedFlag]:
    """Every red flag the families raise, in the order the families declared them."""
    import flowrisk.features.families  # noqa: F401  (registers the families)

    return list(_FLAGS)


@functools.cache
def evidence_links() -> dict[str, str]:
    """Feature name -> the red flag whose evidence backs its reasons (checked against both
    catalogs, so a misspelt name fails here rather than silently losing evidence)."""
    links = {f.name: f.red_flag for f in catalog() if f.red_flag is not None}
    check_evidence_links(links, catalog(), red_flag_catalog())
    return links


def check_evidence_links(
    links: Mapping[str, str], features: Sequence[Feature], flags: Sequence[RedFlag]
) -> None:
    """Raise :class:`InvalidParameter` unless every key of ``links`` is a feature and every
    value a red flag of that feature's family."""
    family_of = {f.name: f.family for f in features}
    flag_family = {g.name: g.family for g in flags}
    for feature, flag in links.items():
        if feature not in family_of:
            raise InvalidParameter("red_flag", f"{feature} is not a feature of the catalog")
        if flag not in flag_family:
            raise InvalidParameter("red_flag", f"{feature}: no red flag is named {flag}")
        if flag_family[flag] != family_of[feature]:
            raise InvalidParameter(
                "red_flag", f"{feature}: {flag} belongs to {flag_family[flag]}, not its family"
            )


def catalog() -> list[Feature]:
    """Every feature of the current feature set, in profile column order."""
    import flowrisk.features.families  # noqa: F401  (registers the families)

    return list(_CATALOG)


def feature_names() -> list[str]:
    """Profile columns, in order."""
    return [f.name for f in catalog()]


def catalog_markdown() -> str:
    """The catalog as one Markdown table per family (the README embeds this text)."""
    lines: list[str] = []
    for family, typology in FAMILY_TYPOLOGY.items():
        feats = [f for f in catalog() if f.family == family]
        lines += [
            f"#### `{family}` — evidence of {typology.replace('_', ' ')}",
            "",
            "| feature | meaning | unit | window | riskier when |",
            "|---|---|---|---|---|",
        ]
        for f in feats:
            riskier = {1: "higher", -1: "lower", 0: "—"}[f.direction]
            lines.append(f"| `{f.name}` | {f.description} | {f.unit} | {f.window} | {riskier} |")
        lines.append("")
    return "\n".join(lines)
