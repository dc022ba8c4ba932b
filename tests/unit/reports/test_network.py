"""The money network around an entity: its invariants (nothing from ``as_of`` on, every edge
between two nodes, bounded size, row order changes nothing), its amounts against a count made
by hand, and the neighbourhood read path agreeing with the whole dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowrisk.models.scoring import DatasetSource
from flowrisk.reports.network import CASH, MONEY, Edge, Network, Node, Score, build_network
from tests.unit.reports.frames import ACCOUNT_IDS, ACCOUNTS, AS_OF, ENTITIES, tiny_frames

account = st.one_of(st.none(), st.integers(0, len(ACCOUNT_IDS) - 1))
txn = st.tuples(
    st.integers(-400, 30),
    account,
    account,
    st.floats(1, 1e6, allow_nan=False, allow_subnormal=False).map(lambda x: round(x, 2)),
).filter(lambda t: t[1] is not None or t[2] is not None)
tie = st.tuples(
    st.integers(0, len(ENTITIES) - 1),
    st.integers(0, len(ENTITIES) - 1),
    st.sampled_from(["beneficial_owner", "director", "shareholder", "relative"]),
    st.integers(-900, 60),
).filter(lambda t: t[0] != t[1])
worlds = st.tuples(st.lists(txn, max_size=60), st.lists(tie, max_size=8, unique_by=lambda t: t[:3]))
limits = st.tuples(st.integers(1, 6), st.integers(0, 6))


def _ends_are_nodes(net: Network) -> None:
    ids = [n.id for n in net.nodes]
    assert len(ids) == len(set(ids))
    assert net.nodes[0].id == net.center and net.nodes[0].hop == 0
    for e in net.edges:
        assert e.source in ids and e.target in ids and e.source != e.target


@settings(max_examples=60, deadline=None)
@given(worlds, limits, st.integers(0, len(ENTITIES) - 1))
def test_network_invariants(world: tuple, per_hop: tuple[int, int], who: int) -> None:
    txns, ties = world
    frames = tiny_frames(txns, ties)
    centre = ENTITIES[who]
    net = build_network(frames, centre, AS_OF, per_hop=per_hop)
    _ends_are_nodes(net)
    # bounded: at most per_hop[i] nodes at hop i + 1
    for hop, limit in enumerate(per_hop, start=1):
        assert sum(n.hop == hop for n in net.nodes) <= limit
        assert net.left_out[hop] >= 0
    # nothing from as_of on: the same network when those rows are gone
    before = [t for t in txns if t[0] < 0]
    known = [t for t in ties if t[3] < 0]
    assert build_network(tiny_frames(before, known), centre, AS_OF, per_hop=per_hop) == net
    # row order changes nothing
    assert build_network(tiny_frames(txns[::-1], ties[::-1]), centre, AS_OF, per_hop=per_hop) == net


def _holder(index: int | None) -> str:
    if index is None:
        return CASH
    account, entity = ACCOUNTS[index]
    return entity or account


@settings(max_examples=60, deadline=None)
@given(worlds, st.integers(0, len(ENTITIES) - 1))
def test_first_hop_money_is_what_moved_in_the_year_before(world: tuple, who: int) -> None:
    txns, ties = world
    centre = ENTITIES[who]
    net = build_network(tiny_frames(txns, ties), centre, AS_OF, per_hop=(50, 0))
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    for day, s, t, amount in txns:
        a, b = _holder(s), _holder(t)
        if not -365 <= day < 0 or a == b:
            continue
        if a == centre:
            sent[b] = sent.get(b, 0.0) + amount
        if b == centre:
            got[a] = got.get(a, 0.0) + amount
    tied = {
        ENTITIES[o if ENTITIES[d] == centre else d]
        for o, d, _, s in ties
        if s < 0 and centre in (ENTITIES[o], ENTITIES[d])
    }
    assert {n.id for n in net.nodes if n.hop == 1} == set(sent) | set(got) | tied
    assert net.left_out[1] == 0
    for e in net.edges:
        if e.kind == MONEY and centre in (e.source, e.target):
            other = e.target if e.source == centre else e.source
            out, back = (e.sent, e.received) if e.source == centre else (e.received, e.sent)
            assert out == pytest.approx(sent.get(other, 0.0), abs=0.02)
            assert back == pytest.approx(got.get(other, 0.0), abs=0.02)


def test_the_strongest_neighbours_are_kept_and_the_others_counted() -> None:
    # E0 pays E1..E5 rising amounts; cash is always kept; the owner tie outranks money
    txns = [(-10, 0, 2 * i, 100.0 * i) for i in range(1, 6)] + [(-5, None, 0, 10.0)]
    net = build_network(
        tiny_frames(txns, [(7, 0, "beneficial_owner", -100)]), "E0", AS_OF, per_hop=(4, 0)
    )
    assert [n.id for n in net.nodes if n.hop == 1] == [CASH, "E7", "E5", "E4"]
    assert net.left_out == {1: 3, 2: 0}
    owner = [e for e in net.edges if e.kind == "beneficial_owner"]
    assert owner and owner[0].source == "E7" and owner[0].target == "E0"


def test_scores_name_bands_and_nodes_carry_names() -> None:
    net = build_network(
        tiny_frames([(-3, 0, 2, 50.0)], []), "E0", AS_OF, scores={"E1": Score("high", 80.5)}
    )
    e1 = net.node("E1")
    assert (e1.band, e1.score, e1.name, e1.type, e1.kind) == (
        "high",
        80.5,
        "Name E1",
        "person",
        "entity",
    )
    assert net.node("E0").band is None


def _first_hop(net: Network) -> tuple[list[Node], list[Edge], int]:
    """The centre, its kept neighbours and the links between them."""
    near = [n for n in net.nodes if n.hop <= 1]
    ids = {n.id for n in near}
    edges = [
        e for e in net.edges if net.center in (e.source, e.target) and {e.source, e.target} <= ids
    ]
    return near, edges, net.left_out[1]


def test_the_neighbourhood_read_path_gives_the_first_hop_of_the_whole_dataset(
    small_world_dir: Path,
) -> None:
    source = DatasetSource(small_world_dir)
    ids = source.frames["entities"].select("entity_id").head(40).collect()["entity_id"].to_list()
    for entity in ids[::8]:
        whole = build_network(source.frames, entity, source.as_of)
        near = build_network(source.frames_for(entity), entity, source.as_of)
        assert _first_hop(near) == _first_hop(whole)
        _ends_are_nodes(near)
