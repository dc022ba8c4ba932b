"""The money network around one entity, as of a date: its counterparties by money (external
accounts and cash as nodes of their own), its owners, the companies it controls and its
relatives, up to two hops, bounded to the strongest neighbours of each hop. Pure: frames in,
a :class:`Network` out (drawn by :mod:`flowrisk.reports.network_svg`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import polars as pl

__all__ = ["CASH", "PER_HOP", "Edge", "Network", "Node", "Score", "build_network", "with_scores"]

CASH = "(cash)"  # the node standing for cash paid in or taken out
MONEY = "money"
PER_HOP = (14, 10)  # the neighbours kept at the first and second hop
WINDOW_DAYS = 365  # the money drawn: the year before ``as_of``, as the case report's facts


@dataclass(frozen=True)
class Score:
    """A band and 0-100 score a scored run gave an entity."""

    band: str
    score: float


@dataclass(frozen=True)
class Node:
    """One node: an entity (``kind`` entity, ``type`` person or company), an external account
    (``type`` its account type) or cash; ``hop`` 0 is the entity the network is drawn around."""

    id: str
    name: str
    type: str
    kind: str
    hop: int
    country: str | None = None
    tags: tuple[str, ...] = ()
    reports: int = 0
    band: str | None = None
    score: float | None = None


@dataclass(frozen=True)
class Edge:
    """A link between two nodes: money (``sent`` from source to target, ``received`` back, in
    ``count`` transactions) or a tie (``kind`` the ownership role, source the owner, or the
    person for ``relative``)."""

    source: str
    target: str
    kind: str
    sent: float = 0.0
    received: float = 0.0
    count: int = 0
    share_pct: float | None = None

    @property
    def amount(self) -> float:
        """Money both ways (0 for a tie)."""
        return self.sent + self.received


@dataclass(frozen=True)
class Network:
    """The graph around ``center`` as of ``as_of``; ``left_out[hop]`` says how many neighbours
    of that hop were not kept (the weakest by money)."""

    center: str
    as_of: datetime
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    left_out: dict[int, int] = field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        """The node of an id (KeyError when absent)."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)


def _window(frames: Mapping[str, pl.LazyFrame], as_of: datetime, days: int) -> pl.DataFrame:
    """The transactions of the ``days`` before ``as_of`` (nothing at or after it)."""
    start = as_of - timedelta(days=days)
    tx = frames["transactions"].filter((pl.col("ts") < as_of) & (pl.col("ts") >= start))
    return tx.select("txn_id", "src_account_id", "dst_account_id", "amount").collect()


def _touching(tx: pl.DataFrame, holders: pl.DataFrame, ids: Iterable[str]) -> pl.DataFrame:
    """The transactions with an account of ``ids`` (entities, or external accounts) on a side."""
    keep = list(ids)
    accounts = holders.filter(pl.col("holder").is_in(keep) | pl.col("account_id").is_in(keep))
    mine = accounts["account_id"].implode()
    return tx.filter(pl.col("src_account_id").is_in(mine) | pl.col("dst_account_id").is_in(mine))


def _pairs(tx: pl.DataFrame, holders: pl.DataFrame) -> pl.DataFrame:
    """Money between nodes: one row per ordered (src, dst) pair of node ids (an entity, an
    external account, or cash) with amount and count; transfers within a node are left out."""
    ends = [
        holders.select(
            pl.col("account_id").alias(f"{side}_account_id"),
            pl.col("holder").alias(f"{side}_holder"),
        )
        for side in ("src", "dst")
    ]
    joined = tx.join(ends[0], on="src_account_id", how="left").join(
        ends[1], on="dst_account_id", how="left"
    )
    node = {
        side: pl.when(pl.col(f"{side}_account_id").is_null())
        .then(pl.lit(CASH))
        .otherwise(pl.coalesce(f"{side}_holder", f"{side}_account_id"))
        for side in ("src", "dst")
    }
    return (
        joined.select(node["src"].alias("src"), node["dst"].alias("dst"), "amount")
        .filter(pl.col("src") != pl.col("dst"))
        .group_by("src", "dst")
        .agg(pl.col("amount").sum(), pl.len().alias("count"))
    )


def _money_around(pairs: pl.DataFrame, ids: Iterable[str]) -> pl.DataFrame:
    """For each node of ``ids``, its counterparties: sent, received, count, total."""
    keep = list(ids)
    out = pairs.filter(pl.col("src").is_in(keep)).select(
        pl.col("src").alias("node"),
        pl.col("dst").alias("other"),
        pl.col("amount").alias("sent"),
        pl.lit(0.0).alias("received"),
        "count",
    )
    back = pairs.filter(pl.col("dst").is_in(keep)).select(
        pl.col("dst").alias("node"),
        pl.col("src").alias("other"),
        pl.lit(0.0).alias("sent"),
        pl.col("amount").alias("received"),
        "count",
    )
    return (
        pl.concat([out, back])
        .group_by("node", "other")
        .agg(pl.col("sent").sum(), pl.col("received").sum(), pl.col("count").sum())
        .with_columns((pl.col("sent") + pl.col("received")).alias("total"))
    )


def _ties(frames: Mapping[str, pl.LazyFrame], as_of: datetime) -> pl.DataFrame:
    """Ownership, control and family links known before ``as_of``."""
    if "ownership" not in frames:
        return pl.DataFrame(
            schema={"owner": pl.String, "owned": pl.String, "role": pl.String, "share": pl.Float64}
        )
    return (
        frames["ownership"]
        .filter(pl.col("since").is_null() | (pl.col("since") < as_of.date()))
        .select(
            pl.col("owner_entity_id").alias("owner"),
            pl.col("owned_entity_id").alias("owned"),
            pl.col("role").cast(pl.String),
            pl.col("share_pct").alias("share"),
        )
        .collect()
    )


def _ties_around(ties: pl.DataFrame, ids: Iterable[str]) -> pl.DataFrame:
    """Ties touching ``ids``, each with the node it leads to (``other``)."""
    keep = list(ids)
    return pl.concat(
        [
            ties.filter(pl.col("owner").is_in(keep)).with_columns(
                pl.col("owner").alias("node"), pl.col("owned").alias("other")
            ),
            ties.filter(pl.col("owned").is_in(keep)).with_columns(
                pl.col("owned").alias("node"), pl.col("owner").alias("other")
            ),
        ]
    ).unique(maintain_order=True)


def _strongest(money: pl.DataFrame, ties: pl.DataFrame, known: set[str], limit: int) -> list[str]:
    """The neighbours to keep at one hop, best first: tied entities, then counterparties by
    money moved (ids break ties, so the choice is deterministic); cash is always kept."""
    weight: dict[str, float] = {}
    for other in ties["other"].to_list():
        weight[other] = float("inf")
    for other, total in money.select("other", "total").iter_rows():
        # to the cent: a sum's last bits depend on the order of the rows, the ranking must not
        cents = round(total, 2)
        weight[other] = max(weight.get(other, 0.0), cents) if other != CASH else float("inf")
    ranked = sorted((i for i in weight if i not in known), key=lambda i: (-weight[i], i))
    return ranked[:limit]


def build_network(
    frames: Mapping[str, pl.LazyFrame],
    entity_id: str,
    as_of: datetime,
    *,
    per_hop: tuple[int, int] = PER_HOP,
    scores: Mapping[str, Score] | None = None,
    days: int = WINDOW_DAYS,
) -> Network:
    """The network around ``entity_id`` from a dataset's frames (a whole dataset, or the
    entity's neighbourhood from ``DatasetSource.frames_for``): nothing at or after ``as_of``,
    money of the ``days`` before it, at most ``per_hop[i]`` neighbours kept at hop ``i + 1``
    (``left_out`` counts the others), bands and scores from ``scores`` where it has them."""
    tx = _window(frames, as_of, days)
    holders = frames["accounts"].select("account_id", pl.col("entity_id").alias("holder")).collect()
    ties = _ties(frames, as_of)
    entities = {entity_id, *holders["holder"].drop_nulls(), *ties["owner"], *ties["owned"]}
    hops: list[list[str]] = [[entity_id]]
    known = {entity_id}
    left_out: dict[int, int] = {}
    seen: list[pl.DataFrame] = []
    for hop, limit in enumerate(per_hop, start=1):
        # cash and external accounts are leaves: everyone deals in cash, and an outside
        # account (a shop, an employer) would bring in strangers rather than links
        frontier = [n for n in hops[-1] if n in entities]
        seen.append(_touching(tx, holders, frontier))
        money = _money_around(_pairs(seen[-1], holders), frontier)
        tied = _ties_around(ties, frontier)
        candidates = (set(money["other"].to_list()) | set(tied["other"].to_list())) - known
        kept = _strongest(money, tied, known, limit)
        left_out[hop] = len(candidates) - len(kept)
        hops.append(kept)
        known.update(kept)
    nodes = _nodes(frames, hops, as_of)
    inner = {n for hop in hops[:-1] for n in hop}
    pairs = _pairs(pl.concat(seen).unique("txn_id"), holders)
    network = Network(entity_id, as_of, nodes, _edges(pairs, ties, known, inner), left_out)
    return with_scores(network, scores or {})


def with_scores(network: Network, scores: Mapping[str, Score]) -> Network:
    """The network with the band and score of each entity node ``scores`` has (a scored
    run's, looked up once the nodes are known)."""
    nodes = tuple(
        replace(n, band=scores[n.id].band, score=scores[n.id].score)
        if n.kind == "entity" and n.id in scores
        else n
        for n in network.nodes
    )
    return replace(network, nodes=nodes)


def _edges(
    pairs: pl.DataFrame, ties: pl.DataFrame, known: set[str], inner: set[str]
) -> tuple[Edge, ...]:
    """The money edges and ties between kept nodes of which one end is inside the last hop
    (links between two nodes of the outer ring are left out), in a fixed order."""
    ends = list(known)
    near = list(inner)
    both = pl.col("src").is_in(ends) & pl.col("dst").is_in(ends)
    inside = pairs.filter(both & (pl.col("src").is_in(near) | pl.col("dst").is_in(near)))
    flows: dict[tuple[str, str], list[float]] = {}
    for src, dst, amount, count in inside.iter_rows():
        a, b = sorted((src, dst))
        slot = flows.setdefault((a, b), [0.0, 0.0, 0.0])
        slot[0 if src == a else 1] += amount
        slot[2] += count
    edges = [
        Edge(a, b, MONEY, round(s, 2), round(r, 2), int(c)) for (a, b), (s, r, c) in flows.items()
    ]
    links = ties.filter(
        pl.col("owner").is_in(ends)
        & pl.col("owned").is_in(ends)
        & (pl.col("owner").is_in(near) | pl.col("owned").is_in(near))
    )
    for owner, owned, role, share in links.iter_rows():
        edges.append(Edge(owner, owned, role, share_pct=share))
    return tuple(
        sorted(edges, key=lambda e: (e.kind != MONEY, -e.amount, e.source, e.target, e.kind))
    )


def _nodes(
    frames: Mapping[str, pl.LazyFrame],
    hops: list[list[str]],
    as_of: datetime,
) -> tuple[Node, ...]:
    """The kept nodes with what is known of them (name, type, country, tags, reports)."""
    ids = [i for hop in hops for i in hop]
    people = frames["entities"].filter(pl.col("entity_id").is_in(ids)).collect()
    accounts = frames["accounts"].filter(pl.col("account_id").is_in(ids)).collect()
    reports: dict[str, int] = {}
    if "reports" in frames:
        counted = (
            frames["reports"]
            .filter(pl.col("entity_id").is_in(ids) & (pl.col("reported_at") < as_of))
            .group_by("entity_id")
            .len()
            .collect()
        )
        reports = dict(counted.iter_rows())
    entity_rows = {r["entity_id"]: r for r in people.iter_rows(named=True)}
    account_rows = {r["account_id"]: r for r in accounts.iter_rows(named=True)}
    out = []
    for hop, members in enumerate(hops):
        for i in members:
            out.append(_node(i, hop, entity_rows, account_rows, reports.get(i, 0)))
    return tuple(out)


def _node(
    node_id: str,
    hop: int,
    entities: Mapping[str, Mapping[str, object]],
    accounts: Mapping[str, Mapping[str, object]],
    reports: int,
) -> Node:
    """One node from the entity or account row behind its id."""
    if node_id == CASH:
        return Node(CASH, "cash", "cash", "cash", hop)
    if node_id in entities:
        row = entities[node_id]
        return Node(
            node_id,
            str(row.get("name") or node_id),
            str(row["entity_type"]),
            "entity",
            hop,
            country=_text(row.get("country")),
            reports=reports,
        )
    row = accounts.get(node_id, {})
    tags = row.get("risk_tags") or []
    return Node(
        node_id,
        node_id,
        str(row.get("account_type") or "external"),
        "account",
        hop,
        country=_text(row.get("country")),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
