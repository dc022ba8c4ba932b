"""The drawing of the money network: one well-formed, deterministic SVG with every node on it,
links to the console only where asked, bands as colours, amounts and names written, words in
the analyst's language."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flowrisk.reports.network import Score, build_network
from flowrisk.reports.network_svg import BAND_COLOURS, network_svg
from tests.unit.reports.frames import AS_OF, tiny_frames

NS = "{http://www.w3.org/2000/svg}"
# E0 pays E1 (a person), E2 and an outside account, takes cash in, is owned by E7; E1 pays E3
TXNS = [
    (-20, 0, 2, 48_000.0),
    (-18, 0, 4, 1_200.0),
    (-15, 0, 16, 700.0),
    (-12, None, 1, 9_900.0),
    (-10, 2, 6, 30_000.0),
    (5, 0, 8, 1_000_000.0),  # after as_of: never drawn
]
TIES = [(7, 0, "beneficial_owner", -400), (3, 1, "relative", -100)]


def _network():  # type: ignore[no-untyped-def]
    return build_network(
        tiny_frames(TXNS, TIES),
        "E0",
        AS_OF,
        scores={"E0": Score("critical", 97.1), "E1": Score("low", 3.0)},
    )


def test_the_drawing_is_well_formed_deterministic_and_shows_every_node() -> None:
    net = _network()
    svg = network_svg(net)
    assert svg == network_svg(_network())
    root = ET.fromstring(svg)
    drawn = {g.get("data-id") for g in root.iter(f"{NS}g") if g.get("data-id")}
    assert drawn == {n.id for n in net.nodes}
    assert "E4" not in drawn  # the payment after as_of brings nobody in
    labels = "".join(t.text or "" for t in root.iter(f"{NS}text"))
    assert "Name E0" in labels and "Name E7" in labels
    assert "€48K" in labels  # the amount written on the strongest edge
    assert BAND_COLOURS["critical"] in svg and BAND_COLOURS["low"] in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_entity_nodes_link_to_their_page_only_when_asked() -> None:
    net = _network()
    root = ET.fromstring(network_svg(net))
    links = sorted(a.get("href") or "" for a in root.iter(f"{NS}a"))
    entities = sorted(f"/ui/entities/{n.id}" for n in net.nodes if n.kind == "entity")
    assert links == entities and len(links) < len(net.nodes)  # cash and accounts: no page
    printed = ET.fromstring(network_svg(net, link_prefix=None))
    assert not list(printed.iter(f"{NS}a"))


def test_words_and_amounts_follow_the_locale() -> None:
    fr = network_svg(_network(), "fr").replace("\u202f", " ").replace("\xa0", " ")
    assert "bénéficiaire effectif" in fr and "48 k €" in fr and "espèces" in fr
    en = network_svg(_network(), "en")
    assert "beneficial owner" in en and "not shown" in en
