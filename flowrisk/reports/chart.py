"""The contribution chart of a case report as inline SVG, in analyst words: each bar is named by
the feature catalog's description with its value formatted for the reader (never ``3.747e+04``),
red when it raises the score, blue when it lowers it, biggest first."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from flowrisk.features import catalog
from flowrisk.reports.locale import money, number, t

__all__ = ["contribution_svg", "in_contribution_order", "reason_label", "value_text"]

BAR_HEIGHT = 22
LABEL_WIDTH = 450
BAR_WIDTH = 260
LABEL_CHARS = 62  # characters of a label that fit its column; the bar's tooltip holds all
COLOURS = {"raises": "#c0392b", "lowers": "#2e86c1"}


def in_contribution_order(reasons: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Reasons that raise the score first, each side by the size of its contribution."""
    return sorted(reasons, key=lambda r: (r["direction"] != "raises", -abs(r["contribution"])))


def value_text(value: float, unit: str, locale: str) -> str:
    """A feature value as an analyst reads it in ``locale``, by unit."""
    match unit:
        case "EUR":
            return money(value, locale)
        case "share":
            return f"{number(value * 100, locale)} %"
        case "count":
            return number(value, locale)
        case "z":
            sign = "+" if value >= 0 else "−"
            return t("unit.sd", locale, value=sign + number(abs(value), locale, 1))
        case "years":
            return t("unit.years", locale, value=number(value, locale, 1))
        case "hours":
            return t("unit.hours", locale, value=number(value, locale))
        case "flag":
            return t("yes" if value >= 0.5 else "no", locale)
        case _:
            return number(value, locale, 2)


def reason_label(reason: Mapping[str, Any], locale: str) -> str:
    """The catalog's description of a reason's feature and its value, e.g. 'Other companies
    sharing an owner with the entity: 4'."""
    features = {f.name: f for f in catalog()}
    feature = features.get(str(reason["feature"]))
    if feature is None:
        return f"{reason['feature']}: {number(float(reason['value']), locale, 2)}"
    return f"{feature.description}: {value_text(float(reason['value']), feature.unit, locale)}"


def _bar(i: int, reason: Mapping[str, Any], scale: float, locale: str) -> str:
    y = 30 + i * BAR_HEIGHT
    c = float(reason["contribution"])
    width = max(abs(c) * scale, 1.0)
    full = reason_label(reason, locale)
    short = full if len(full) <= LABEL_CHARS else full[: LABEL_CHARS - 1] + "…"
    label, title = html.escape(short), html.escape(full)
    amount = ("+" if c >= 0 else "−") + number(abs(c), locale, 2)
    colour = COLOURS.get(str(reason["direction"]), COLOURS["raises"])
    return (
        f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{label}</text>'
        f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width:.1f}" height="{BAR_HEIGHT - 6}" '
        f'fill="{colour}"><title>{title}</title></rect>'
        f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}">{amount}</text>'
    )


def contribution_svg(reasons: Sequence[Mapping[str, Any]], locale: str) -> str:
    """The reasons as horizontal bars of their contribution (log-odds), with a legend."""
    ordered = in_contribution_order(reasons)
    if not ordered:
        return ""
    top = max(abs(float(r["contribution"])) for r in ordered) or 1.0
    scale = (BAR_WIDTH - 50) / top
    bars = "".join(_bar(i, r, scale, locale) for i, r in enumerate(ordered))
    height = 30 + len(ordered) * BAR_HEIGHT + 30
    legend_y = height - 10
    legend = "".join(
        f'<rect x="{LABEL_WIDTH + k * 150}" y="{legend_y - 10}" width="10" height="10" '
        f'fill="{COLOURS[d]}"/><text x="{LABEL_WIDTH + k * 150 + 14}" y="{legend_y}">'
        f"{html.escape(t('chart.' + d, locale))}</text>"
        for k, d in enumerate(("raises", "lowers"))
    )
    title = html.escape(t("chart.title", locale))
    return (
        f'<svg class="contribution" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {LABEL_WIDTH + BAR_WIDTH + 40} {height}" '
        f'width="{LABEL_WIDTH + BAR_WIDTH + 40}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="12" fill="#1c2833">'
        f'<text x="0" y="16" font-size="14" font-weight="600">{title}</text>'
        f"{bars}{legend}</svg>"
    )
