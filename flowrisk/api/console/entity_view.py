"""What the console's entity page shows, as plain values for its template: the explained
score (``score_frames``), the facts the case report shows (``entity_facts``) with every
evidence id turned into its row (transactions, assets, reports, counterparties named), the
monthly flows and the money network as inline SVG, and the lookup history when given."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from flowrisk.api.console.strings import words
from flowrisk.models.scorer import probability_text, score_text
from flowrisk.models.scoring import DatasetSource, Loaded, score_frames
from flowrisk.reports.charts import monthly_flows_svg
from flowrisk.reports.facts import entity_facts
from flowrisk.reports.locale import day, when
from flowrisk.reports.locale import money as locale_money
from flowrisk.reports.network import PER_HOP, Score, build_network, with_scores
from flowrisk.reports.network_svg import network_svg

__all__ = ["ScoresOf", "entity_view", "page_frames"]

ScoresOf = Callable[[list[str]], Mapping[str, Score]]
"""The band and score a registered run gave each of some entity ids (those it scored)."""


def _money(value: float | None, locale: str) -> str:
    """An amount in euros as the reader writes it (``27 843,00 €``); nothing when unknown."""
    return "" if value is None else locale_money(value, locale)


def _day(value: date | None, locale: str) -> str:
    """A calendar day (or a moment's) as the reader writes it; nothing when unknown."""
    if value is None:
        return ""
    return day(value.date() if isinstance(value, datetime) else value, locale)


def _names(frames: Mapping[str, pl.LazyFrame], ids: Sequence[str]) -> dict[str, str]:
    """Entity id → name for ``ids`` (the id itself where the dataset has no name)."""
    wanted = sorted({i for i in ids if i})
    rows = (
        frames["entities"]
        .filter(pl.col("entity_id").is_in(wanted))
        .select("entity_id", pl.col("name").fill_null(pl.col("entity_id")))
        .collect()
    )
    return dict(rows.iter_rows())


def _party(entity: str | None, account: str | None, names: Mapping[str, str]) -> dict[str, Any]:
    """A counterparty as the page names it: an entity (with a link), an account, or cash."""
    if entity:
        return {"id": entity, "name": names.get(entity, entity), "link": True}
    return {"id": account or "", "name": account or "cash", "link": False}


def _transactions(
    keys: Sequence[str], facts: Mapping[str, Any], names: Mapping[str, str], locale: str
) -> list[dict[str, Any]]:
    legs: pl.DataFrame = facts["legs"]
    rows = legs.filter(pl.col("txn_id").is_in([int(k) for k in keys])).sort("ts", "txn_id")
    return [
        {
            "id": r["txn_id"],
            "when": when(r["ts"], locale),
            "direction": "in" if r["inbound"] else "out",
            "amount": _money(r["amount"], locale),
            "channel": str(r["channel"]),
            "party": _party(r["cp_entity"], r["cp_account"], names),
            "country": r["cp_country"] or "",
        }
        for r in rows.iter_rows(named=True)
    ]


def _evidence(
    ids: Sequence[str], facts: Mapping[str, Any], names: Mapping[str, str], locale: str
) -> dict[str, Any]:
    """The rows behind evidence ids (``txn:``, ``asset:``, ``report:``), by kind."""
    kinds: dict[str, list[str]] = {}
    for item in ids:
        kind, _, key = item.partition(":")
        kinds.setdefault(kind, []).append(key)
    assets: pl.DataFrame = facts["assets"]
    reports: pl.DataFrame = facts["reports"]
    out: dict[str, Any] = {"count": len(ids), "transactions": [], "assets": [], "reports": []}
    if "txn" in kinds:
        out["transactions"] = _transactions(kinds["txn"], facts, names, locale)
    if "asset" in kinds and assets.height:
        out["assets"] = [
            {
                "id": r["asset_id"],
                "type": str(r["asset_type"]),
                "when": _day(r["acquired_at"], locale),
                "value": _money(r["value"], locale),
                "paid_by": str(r["payment_method"] or ""),
            }
            for r in assets.filter(pl.col("asset_id").is_in(kinds["asset"])).iter_rows(named=True)
        ]
    if "report" in kinds and reports.height:
        chosen = reports.filter(pl.col("report_id").is_in(kinds["report"]))
        out["reports"] = _report_rows(chosen, locale)
    return out


def _report_rows(reports: pl.DataFrame, locale: str) -> list[dict[str, Any]]:
    return [
        {
            "id": r["report_id"],
            "declarant": r["declarant_id"],
            "when": when(r["reported_at"], locale),
            "category": str(r["category"] or ""),
        }
        for r in reports.sort("reported_at").iter_rows(named=True)
    ]


def _monthly(legs: pl.DataFrame) -> list[tuple[str, float, float]]:
    """(month, received, paid) with others, month by month."""
    if legs.is_empty():
        return []
    by_month = (
        legs.filter(~pl.col("is_self"))
        .group_by(pl.col("ts").dt.strftime("%Y-%m").alias("month"))
        .agg(
            pl.col("amount").filter(pl.col("inbound")).sum().alias("received"),
            pl.col("amount").filter(~pl.col("inbound")).sum().alias("paid"),
        )
        .sort("month")
    )
    return [(m, float(r), float(p)) for m, r, p in by_month.iter_rows()]


def _counterparties(
    facts: Mapping[str, Any], names: Mapping[str, str], locale: str
) -> list[dict[str, Any]]:
    return [
        {
            "party": _party(
                r["cp_entity"], None if r["cp_account"] == "(cash)" else r["cp_account"], names
            ),
            "country": r["cp_country"] or "",
            "tags": r["cp_tags"] or "",
            "received": _money(r["received"], locale),
            "paid": _money(r["paid"], locale),
            "count": r["transactions"],
        }
        for r in facts["counterparties"].iter_rows(named=True)
    ]


def _ties(
    entity_id: str, facts: Mapping[str, Any], names: Mapping[str, str], locale: str
) -> list[dict[str, Any]]:
    """Ownership, control and family links, each from the entity's side."""
    out = []
    for r in (
        facts["ownership"].sort("role", "owner_entity_id", "owned_entity_id").iter_rows(named=True)
    ):
        owner = r["owner_entity_id"] == entity_id
        other = r["owned_entity_id"] if owner else r["owner_entity_id"]
        out.append(
            {
                "role": str(r["role"]),
                "owner": owner,
                "party": _party(other, None, names),
                "share": r.get("share_pct"),
                "since": _day(r.get("since"), locale),
            }
        )
    return out


def page_frames(source: DatasetSource, entity_id: str) -> dict[str, pl.LazyFrame]:
    """What the page's facts and network read, from a prepared source's index: the entity's
    transactions and those of the neighbours its network keeps at the first hop (which only
    its own transactions and ties decide), so that facts and network are the whole dataset's.
    From a source not prepared, the entity's neighbourhood (``frames_for``)."""
    first = source.frames_of([entity_id])
    if first is None:
        return source.frames_for(entity_id)
    ring = build_network(first, entity_id, source.as_of, per_hop=(PER_HOP[0], 0))
    near = [n.id for n in ring.nodes if n.kind == "entity" and n.id in source.entities]
    frames = source.frames_of(near)
    assert frames is not None  # prepared above
    return frames


def entity_view(
    frames: Mapping[str, pl.LazyFrame],
    entity_id: str,
    as_of: datetime,
    loaded: Loaded,
    *,
    explained: Mapping[str, Any] | None = None,
    scores_of: ScoresOf | None = None,
    history: list[dict[str, Any]] | None = None,
    locale: str = "en",
) -> dict[str, Any]:
    """The entity page's context from the entity's frames (raises ``EntityNotFound`` for an
    unknown id); ``explained`` is the entity's explained score when the caller has it (read
    from memory, ``DatasetSource.score``), else it is scored from ``frames``; ``scores_of``
    names the bands of the network's other entities, ``history`` (supervisors only) the audit
    rows of lookups of this entity."""
    if explained is None:
        explained = score_frames(frames, entity_id, as_of, loaded, True)
    facts = entity_facts(frames, entity_id, as_of)
    network = build_network(frames, entity_id, as_of)
    others = [n.id for n in network.nodes if n.kind == "entity" and n.id != entity_id]
    scores = dict(scores_of(others)) if scores_of and others else {}
    scores[entity_id] = Score(explained["band"], float(explained["score"]))
    network = with_scores(network, scores)
    legs: pl.DataFrame = facts["legs"]
    linked = [*legs["cp_entity"].drop_nulls().unique().to_list()]
    linked += facts["ownership"]["owner_entity_id"].to_list() if facts["ownership"].height else []
    linked += facts["ownership"]["owned_entity_id"].to_list() if facts["ownership"].height else []
    names = _names(frames, linked)
    evidence = lambda ids: _evidence(ids, facts, names, locale)  # noqa: E731
    return {
        "entity": facts["entity"],
        "entity_id": entity_id,
        "as_of": _day(as_of, locale),
        "score": score_text(explained["score"]),
        "probability": probability_text(explained["probability"]),
        "band": explained["band"],
        "tags": list(explained["tags"]),
        "model_version": explained.get("model_version") or "",
        "declared": _money(
            facts["entity"].get("declared_revenue") or facts["entity"].get("declared_income"),
            locale,
        ),
        "flags": [
            {"text": f["text"], "evidence": evidence(f["evidence"])}
            for f in explained["red_flags"] or []
        ],
        "reasons": [
            {
                "family": r["family"],
                "text": r["text"],
                "raises": r["direction"] == "raises",
                "contribution": f"{r['contribution']:+.2f}",
                "evidence": evidence(r["evidence"]),
            }
            for r in explained["reasons"] or []
        ],
        "network": network,
        "network_svg": network_svg(network, locale),
        "flows_svg": monthly_flows_svg(_monthly(legs), locale),
        "transactions": legs.filter(~pl.col("is_self")).height,
        "counterparties": _counterparties(facts, names, locale),
        "ties": _ties(entity_id, facts, names, locale),
        "reports": _report_rows(facts["reports"], locale) if facts["reports"].height else [],
        "history": history,
        "w": words(locale),
    }
