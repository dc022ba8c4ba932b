"""Small inline SVG charts for pages and reports (no script, no font, nothing fetched):
money in and out per month."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from babel.numbers import format_compact_currency

__all__ = ["monthly_flows_svg"]

WIDTH, HEIGHT, PAD = 720, 220, 66
IN_COLOUR, OUT_COLOUR = "#1e8449", "#b03a2e"
WORDS = {"en": ("in", "out"), "fr": ("entrées", "sorties")}


def _short(value: float, locale: str) -> str:
    lang = locale if locale in WORDS else "en"
    return str(format_compact_currency(value, "EUR", locale=lang, fraction_digits=1))


def monthly_flows_svg(months: Sequence[tuple[str, float, float]], locale: str = "en") -> str:
    """Bars of money received (above the axis) and paid (below) per month, from
    ``(month "YYYY-MM", received, paid)`` rows in month order; an empty string for none."""
    if not months:
        return ""
    words = WORDS.get(locale, WORDS["en"])
    top = max(max(r, p) for _, r, p in months) or 1.0
    mid = HEIGHT / 2
    half = mid - 26
    slot = (WIDTH - PAD - 8) / len(months)
    bar = max(min(slot * 0.6, 34.0), 2.0)
    parts = [
        f'<line x1="{PAD}" y1="{mid}" x2="{WIDTH - 4}" y2="{mid}" stroke="#85929e"/>',
        f'<text x="{PAD - 4}" y="{mid - half + 4}" class="tick">{escape(_short(top, locale))}'
        "</text>",
        f'<text x="{PAD - 4}" y="{mid + half + 4}" class="tick">−{escape(_short(top, locale))}'
        "</text>",
    ]
    for i, (month, received, paid) in enumerate(months):
        x = round(PAD + slot * i + (slot - bar) / 2, 1)
        up, down = round(half * received / top, 1), round(half * paid / top, 1)
        tip = f"{month}: {words[0]} {_short(received, locale)}, {words[1]} {_short(paid, locale)}"
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<rect x="{x}" y="{mid - up}" width="{bar:.1f}" height="{up}" fill="{IN_COLOUR}"/>'
            f'<rect x="{x}" y="{mid}" width="{bar:.1f}" height="{down}" fill="{OUT_COLOUR}"/></g>'
        )
        if len(months) <= 14 or i % 2 == 0:
            label = escape(month[2:])
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 4}" class="month">{label}</text>'
            )
    legend = (
        f'<rect x="{WIDTH - 150}" y="4" width="10" height="10" fill="{IN_COLOUR}"/>'
        f'<text x="{WIDTH - 136}" y="13">{escape(words[0])}</text>'
        f'<rect x="{WIDTH - 80}" y="4" width="10" height="10" fill="{OUT_COLOUR}"/>'
        f'<text x="{WIDTH - 66}" y="13">{escape(words[1])}</text>'
    )
    style = (
        "text{font:11px system-ui,sans-serif;fill:#1c2833}.tick{text-anchor:end}"
        ".month{text-anchor:middle;fill:#566573}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="flows" role="img"><style>{style}</style>{"".join(parts)}{legend}</svg>'
    )
