"""The feature catalog: every feature's name, family, meaning, unit, window, direction and the
reason template an analyst reads. Models record the feature set's name and version."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FAMILY_TYPOLOGY",
    "FEATURE_SET",
    "FEATURE_SET_VERSION",
    "Feature",
    "catalog",
    "catalog_markdown",
    "feature_names",
]

FEATURE_SET = "v1"
FEATURE_SET_VERSION = "1.0.0"

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
}


@dataclass(frozen=True)
class Feature:
    """One column of an entity profile.

    ``direction`` is +1 when a higher value is riskier, -1 when lower is riskier, 0 when neither.
    ``template`` is formatted with ``value`` (and ``baseline`` when the feature has one).
    """

    name: str
    family: str
    description: str
    unit: str
    window: str
    direction: int
    template: str
    baseline: str | None = None  # name of the fitted statistic the value is compared with

    @property
    def typology(self) -> str:
        return FAMILY_TYPOLOGY[self.family]


_CATALOG: list[Feature] = []


def register(*features: Feature) -> list[Feature]:
    """Add features to the catalog (called by each family module at import)."""
    for f in features:
        if not f.name.startswith(f.family + "_"):
            raise ValueError(f"{f.name}: a feature name starts with its family ({f.family}_)")
        if any(g.name == f.name for g in _CATALOG):
            raise ValueError(f"{f.name}: declared twice")
        _CATALOG.append(f)
    return list(features)


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
