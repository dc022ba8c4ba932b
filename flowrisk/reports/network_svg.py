"""The money network drawn as one self-contained inline SVG: the entity in the centre, its
direct neighbours on an inner ring, the second hop on an outer ring next to the neighbour that
brings them in; node colour by band, shape by kind, edge width by money with the amount written
on it. Deterministic (same network, same SVG) and offline: no script, no font, no link outside
the console's own pages."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from urllib.parse import quote

from babel.numbers import format_compact_currency

from flowrisk.reports.network import CASH, MONEY, Edge, Network, Node

__all__ = ["BAND_COLOURS", "network_svg"]

WIDTH, HEIGHT = 1000, 700
CX, CY = 500, 320
RINGS = ((0.0, 0.0), (250.0, 165.0), (445.0, 272.0))  # (x radius, y radius) per hop
BAND_COLOURS = {
    "low": "#27ae60",
    "medium": "#f39c12",
    "high": "#e74c3c",
    "critical": "#7b241c",
}
UNSCORED = "#aab7b8"
TIE_STYLE = {
    "beneficial_owner": ("#1f618d", "6 3"),
    "director": ("#2e86c1", "2 3"),
    "shareholder": ("#5dade2", "6 3"),
    "relative": ("#7d3c98", "1 3"),
}
LABELLED_EDGES = 16  # money edges with their amount written on them (the strongest)
WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Money network of",
        "sent": "sent",
        "received": "received",
        "transactions": "transactions",
        "reports": "reports received",
        "person": "person",
        "company": "company",
        "account": "outside account",
        "cash": "cash",
        "unscored": "not scored",
        "money": "money (width: amount)",
        "beneficial_owner": "beneficial owner",
        "director": "director",
        "shareholder": "shareholder",
        "relative": "relative",
        "left_out": "not shown (weaker links)",
        "hop": "hop",
        "share": "share",
    },
    "fr": {
        "title": "Réseau financier de",
        "sent": "versé",
        "received": "reçu",
        "transactions": "opérations",
        "reports": "déclarations reçues",
        "person": "personne",
        "company": "société",
        "account": "compte extérieur",
        "cash": "espèces",
        "unscored": "non noté",
        "money": "flux (épaisseur : montant)",
        "beneficial_owner": "bénéficiaire effectif",
        "director": "dirigeant",
        "shareholder": "associé",
        "relative": "proche",
        "left_out": "non affichés (liens plus faibles)",
        "hop": "rang",
        "share": "part",
    },
}

Point = tuple[float, float]


def _words(locale: str) -> Mapping[str, str]:
    return WORDS.get(locale.split("_")[0].split("-")[0], WORDS["en"])


def _money(value: float, locale: str) -> str:
    """A short amount for a label (``€58K``, ``58 k €``)."""
    lang = locale if locale in WORDS else "en"
    return str(format_compact_currency(value, "EUR", locale=lang, fraction_digits=1))


def _on_ring(hop: int, degrees: float) -> Point:
    rx, ry = RINGS[min(hop, len(RINGS) - 1)]
    rad = math.radians(degrees)
    return round(CX + rx * math.cos(rad), 1), round(CY + ry * math.sin(rad), 1)


def _spread(wanted: Sequence[float], gap: float) -> list[float]:
    """Angles as close to ``wanted`` (sorted) as a minimum ``gap`` between neighbours allows."""
    out: list[float] = []
    for angle in wanted:
        out.append(max(angle, out[-1] + gap) if out else angle)
    drift = sum(o - w for o, w in zip(out, wanted, strict=True)) / max(len(out), 1)
    return [round(o - drift, 3) for o in out]  # pushed apart, then centred on where wanted


def _strength(edge: Edge) -> float:
    return math.inf if edge.kind != MONEY else edge.amount


def parents(network: Network) -> dict[str, str]:
    """Each outer node's strongest link to the inner ring (the neighbour that brings it in)."""
    hop = {n.id: n.hop for n in network.nodes}
    out: dict[str, tuple[float, str]] = {}
    for e in network.edges:  # strongest first within a kind: the first seen wins a draw
        for node, other in ((e.source, e.target), (e.target, e.source)):
            stronger = node not in out or _strength(e) > out[node][0]
            if hop[other] == 1 and hop[node] == 2 and stronger:
                out[node] = (_strength(e), other)
    return {node: other for node, (_, other) in out.items()}


def layout(network: Network) -> dict[str, Point]:
    """Where each node sits: the centre, the inner ring in the network's order (strongest
    first, from the top clockwise), the outer ring next to each node's strongest inner
    neighbour."""
    hops = [[n for n in network.nodes if n.hop == h] for h in range(3)]
    places: dict[str, Point] = {network.center: (CX, CY)}
    inner: dict[str, float] = {}
    for i, node in enumerate(hops[1]):
        inner[node.id] = -90.0 + 360.0 * i / max(len(hops[1]), 1)
        places[node.id] = _on_ring(1, inner[node.id])
    parent = parents(network)
    wanted = sorted((inner[parent[n.id]] if n.id in parent else 0.0, n.id) for n in hops[2])
    gap = min(360.0 / max(len(wanted), 1), 24.0)
    angles = _spread([a for a, _ in wanted], gap)
    if angles and angles[-1] - angles[0] > 360.0 - gap:  # would come round onto the first
        angles = [angles[0] + 360.0 * i / len(angles) for i in range(len(angles))]
    for angle, (_, node_id) in zip(angles, wanted, strict=True):
        places[node_id] = _on_ring(2, angle)
    return places


def _colour(node: Node) -> str:
    if node.kind == "cash":
        return "#f7dc6f"
    if node.kind == "account":
        return "#eaecee"
    return BAND_COLOURS.get(node.band or "", UNSCORED)


def _shape(node: Node, at: Point, centre: bool) -> str:
    x, y = at
    r = 26 if centre else 17
    fill = _colour(node)
    stroke = "#922b21" if node.tags else "#1c2833"
    width = 3 if centre or node.tags else 1.2
    paint = f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"'
    if node.type == "company":
        return f'<rect x="{x - r}" y="{y - r}" width="{2 * r}" height="{2 * r}" rx="5" {paint}/>'
    if node.kind == "account":
        pts = f"{x},{y - r} {x + r},{y} {x},{y + r} {x - r},{y}"
        return f'<polygon points="{pts}" {paint}/>'
    if node.kind == "cash":
        return (
            f'<rect x="{x - r}" y="{y - r * 0.7:.1f}" width="{2 * r}" height="{1.4 * r:.1f}" '
            f'rx="3" {paint}/><text x="{x}" y="{y + 5}" class="glyph">€</text>'
        )
    return f'<circle cx="{x}" cy="{y}" r="{r}" {paint}/>'


def _short(text: str, size: int = 24) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _node_title(node: Node, words: Mapping[str, str]) -> str:
    kind = words.get(node.type if node.kind == "entity" else node.kind, node.type)
    bits = [node.name, node.id, kind, node.country or ""]
    if node.band:
        bits.append(f"{node.band} {node.score:.1f}" if node.score is not None else node.band)
    if node.tags:
        bits.append(", ".join(node.tags))
    if node.reports:
        bits.append(f"{node.reports} {words['reports']}")
    return " · ".join(b for b in bits if b)


def _haloed(x: float, y: float, klass: str, text: str) -> str:
    """A text with a white outline behind it, readable over the lines it crosses: the outline
    is a copy of its own (PDF renderers ignore ``paint-order``), hidden from screen readers."""
    where = f'x="{x}" y="{y}"'
    return (
        f'<text {where} class="{klass} halo" aria-hidden="true">{escape(text)}</text>'
        f'<text {where} class="{klass}">{escape(text)}</text>'
    )


def _node(node: Node, at: Point, words: Mapping[str, str], link: str | None, centre: bool) -> str:
    x, y = at
    label = "" if node.id == CASH else _short(node.name)
    if node.kind == "account" and node.country:
        label = f"{label} · {node.country}"
    klass = "node centre" if centre else "node"
    lx = min(max(x, 80.0), WIDTH - 80.0)  # a label stays inside the drawing
    title = f"<title>{escape(_node_title(node, words))}</title>"
    name = _haloed(lx, y + (42 if centre else 31), "label big" if centre else "label", label)
    body = title + _shape(node, at, centre) + name
    if node.reports:
        body += (
            f'<circle cx="{x + 15}" cy="{y - 15}" r="8" fill="#922b21"/>'
            f'<text x="{x + 15}" y="{y - 11.5}" class="badge">{node.reports}</text>'
        )
    group = f'<g class="{klass}" data-id="{escape(node.id)}">{body}</g>'
    if link is None or node.kind != "entity":
        return group
    return f'<a href="{escape(link + quote(node.id, safe=""))}">{group}</a>'


def _width(amount: float, top: float) -> float:
    return round(1.0 + 7.0 * math.log1p(amount) / math.log1p(top), 2) if top > 0 else 1.0


def _edge(
    edge: Edge, places: Mapping[str, Point], top: float, label: str | None, faint: bool
) -> str:
    (x1, y1), (x2, y2) = places[edge.source], places[edge.target]
    if faint:  # a side link: drawn, not stressed
        return (
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#566573" '
            f'stroke-opacity=".2" stroke-width="1"/>'
        )
    if edge.kind != MONEY:
        colour, dash = TIE_STYLE.get(edge.kind, ("#566573", "4 3"))
        return (
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" '
            f'stroke-width="2.2" stroke-dasharray="{dash}"/>'
        )
    if edge.received > edge.sent:  # drawn the way most of the money went
        (x1, y1), (x2, y2) = (x2, y2), (x1, y1)
    x2, y2 = _short_of((x1, y1), (x2, y2), 30 if (x2, y2) == (CX, CY) else 21)
    line = (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#566573" stroke-opacity=".55" '
        f'stroke-width="{_width(edge.amount, top)}" marker-end="url(#arrow)"/>'
    )
    if label is None:
        return line
    mx, my = round((x1 + x2) / 2, 1), round((y1 + y2) / 2, 1)
    return line + _haloed(mx, my, "amount", label)


def _short_of(start: Point, end: Point, by: float) -> Point:
    """``end`` moved ``by`` towards ``start`` (an arrow then stops at the node's edge)."""
    dx, dy = start[0] - end[0], start[1] - end[1]
    length = math.hypot(dx, dy)
    if length <= by:
        return end
    return round(end[0] + dx * by / length, 1), round(end[1] + dy * by / length, 1)


def _edge_title(edge: Edge, network: Network, words: Mapping[str, str], locale: str) -> str:
    a, b = network.node(edge.source).name, network.node(edge.target).name
    if edge.kind != MONEY:
        share = f" ({words['share']} {edge.share_pct:g} %)" if edge.share_pct else ""
        return f"{a} → {b}: {words.get(edge.kind, edge.kind)}{share}"
    return (
        f"{a} → {b}: {words['sent']} {_money(edge.sent, locale)}; {b} → {a}: "
        f"{words['sent']} {_money(edge.received, locale)}; {edge.count} {words['transactions']}"
    )


STYLE = (
    "text{font:12px system-ui,-apple-system,Segoe UI,Roboto,sans-serif;fill:#1c2833}"
    ".label{text-anchor:middle}"
    ".big{font-weight:700;font-size:14px}"
    ".amount{text-anchor:middle;font-size:11px;fill:#4d5656}"
    ".halo{stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    ".badge{text-anchor:middle;font-size:10px;font-weight:700;fill:#fff}"
    ".glyph{text-anchor:middle;font-size:14px;font-weight:700}"
    "a .node:hover circle,a .node:hover rect,a .node:hover polygon{stroke-width:3}"
    ".legend text{font-size:11px}"
)


def _legend(network: Network, words: Mapping[str, str]) -> str:
    """Bands, shapes, link kinds and how many neighbours were left out, along the bottom."""
    y = HEIGHT - 46
    items = [
        f'<circle cx="{12 + 92 * i}" cy="{y}" r="7" fill="{c}"/>'
        f'<text x="{24 + 92 * i}" y="{y + 4}">{escape(b)}</text>'
        for i, (b, c) in enumerate([*BAND_COLOURS.items(), (words["unscored"], UNSCORED)])
    ]
    x = 470
    for i, (kind, (colour, dash)) in enumerate(TIE_STYLE.items()):
        lx = x + 150 * (i % 2)
        ly = y - 6 + 14 * (i // 2)
        items.append(
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 22}" y2="{ly}" stroke="{colour}" '
            f'stroke-width="2.2" stroke-dasharray="{dash}"/>'
            f'<text x="{lx + 27}" y="{ly + 4}">{escape(words[kind])}</text>'
        )
    items.append(
        f'<line x1="772" y1="{y}" x2="798" y2="{y}" stroke="#566573" stroke-width="4" '
        f'marker-end="url(#arrow)"/><text x="804" y="{y + 4}">{escape(words["money"])}</text>'
    )
    shapes = (
        f'<circle cx="12" cy="{y + 26}" r="7" fill="{UNSCORED}"/>'
        f'<text x="24" y="{y + 30}">{escape(words["person"])}</text>'
        f'<rect x="97" y="{y + 19}" width="14" height="14" rx="2" fill="{UNSCORED}"/>'
        f'<text x="116" y="{y + 30}">{escape(words["company"])}</text>'
        f'<polygon points="196,{y + 18} 204,{y + 26} 196,{y + 34} 188,{y + 26}" fill="#eaecee" '
        f'stroke="#1c2833"/><text x="210" y="{y + 30}">{escape(words["account"])}</text>'
        f'<rect x="326" y="{y + 20}" width="16" height="12" rx="2" fill="#f7dc6f" '
        f'stroke="#1c2833"/><text x="348" y="{y + 30}">{escape(words["cash"])}</text>'
    )
    hidden = ", ".join(
        f"{words['hop']} {hop}: {count}" for hop, count in sorted(network.left_out.items())
    )
    note = f'<text x="470" y="{y + 36}">{escape(words["left_out"])} — {escape(hidden)}</text>'
    return f'<g class="legend">{"".join(items)}{shapes}{note}</g>'


def _is_main(edge: Edge, centre: str, parent: Mapping[str, str]) -> bool:
    """A link to the centre, or the one that brings an outer node in."""
    ends = (edge.source, edge.target)
    return centre in ends or any(parent.get(a) == b for a, b in (ends, ends[::-1]))


def network_svg(
    network: Network, locale: str = "en", link_prefix: str | None = "/ui/entities/"
) -> str:
    """The network as an inline ``<svg>`` element; each entity node links to
    ``link_prefix`` + its id (no links when ``link_prefix`` is None, as in a printed report)."""
    words = _words(locale)
    places = layout(network)
    money = [e for e in network.edges if e.kind == MONEY]
    top = max((e.amount for e in money), default=0.0)
    parent = parents(network)
    main = [e for e in network.edges if _is_main(e, network.center, parent)]
    labelled = {id(e) for e in sorted(main, key=lambda e: -e.amount)[:LABELLED_EDGES]}
    lines = []
    for edge in sorted(network.edges, key=lambda e: id(e) in {id(m) for m in main}):
        label = _money(edge.amount, locale) if id(edge) in labelled and edge in money else None
        title = escape(_edge_title(edge, network, words, locale))
        faint = edge not in main
        lines.append(f"<g><title>{title}</title>{_edge(edge, places, top, label, faint)}</g>")
    nodes = [
        _node(n, places[n.id], words, link_prefix, n.id == network.center)
        for n in sorted(network.nodes, key=lambda n: -n.hop)
    ]
    centre = network.node(network.center)
    caption = f"{words['title']} {centre.name} ({centre.id})"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="network" role="img" aria-label="{escape(caption)}">'
        f"<title>{escape(caption)}</title><style>{STYLE}</style>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0L10,5L0,10z" fill="#566573"/></marker></defs>'
        f'<g class="edges">{"".join(lines)}</g><g class="nodes">{"".join(nodes)}</g>'
        f"{_legend(network, words)}</svg>"
    )
