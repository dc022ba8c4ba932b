"""The tables of a case report: the rows behind evidence ids (transactions, assets, reports),
counterparties, owners and holdings, companies sharing an owner; every entity named, every
amount and date written for the reader's locale."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from flowrisk.reports.locale import day, money, number, t, when

__all__ = [
    "counterparty_table",
    "e",
    "evidence_block",
    "named",
    "ownership_table",
    "siblings_table",
    "table",
]


def e(value: Any) -> str:
    """``value`` as HTML text (nothing for None)."""
    return html.escape("" if value is None else str(value))


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()
) -> str:
    """A plain HTML table; columns listed in ``numeric`` are right-aligned."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{e(v)}</td>' if i in numeric else f"<td>{e(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def named(entity_id: str | None, names: Mapping[str, str]) -> str:
    """An entity as 'Name (id)', or its id alone when the dataset gives it no name."""
    if not entity_id:
        return ""
    name = names.get(entity_id)
    return f"{name} ({entity_id})" if name else entity_id


def _counterparty(row: Mapping[str, Any], names: Mapping[str, str], locale: str) -> str:
    """Who is on the other side of a leg: a named entity, an external account, or cash."""
    if row.get("cp_entity"):
        return named(row["cp_entity"], names)
    if row.get("cp_account"):
        return t("external_account", locale, account=row["cp_account"])
    return t("cash", locale)


def _transactions(keys: Sequence[str], facts: Mapping[str, Any], locale: str) -> str:
    legs: pl.DataFrame = facts["legs"]
    rows = legs.filter(pl.col("txn_id").is_in([int(k) for k in keys])).sort("ts", "txn_id")
    headers = ["transaction", "date", "direction", "amount", "channel", "counterparty", "country"]
    return table(
        [t(f"col.{h}", locale) for h in headers],
        [
            [
                r["txn_id"],
                when(r["ts"], locale),
                t("direction.in" if r["inbound"] else "direction.out", locale),
                money(r["amount"], locale),
                t(f"channel.{r['channel']}", locale),
                _counterparty(r, facts["names"], locale),
                r["cp_country"] or "",
            ]
            for r in rows.iter_rows(named=True)
        ],
        numeric=[3],
    )


def _assets(keys: Sequence[str], assets: pl.DataFrame, locale: str) -> str:
    rows = assets.filter(pl.col("asset_id").is_in(keys))
    return table(
        [t(f"col.{h}", locale) for h in ("asset", "type", "acquired", "value", "paid_by")],
        [
            [
                r["asset_id"],
                r["asset_type"],
                day(r["acquired_at"], locale),
                money(r["value"], locale),
                r["payment_method"] or "",
            ]
            for r in rows.iter_rows(named=True)
        ],
        numeric=[3],
    )


def _reports(keys: Sequence[str], reports: pl.DataFrame, locale: str) -> str:
    rows = reports.filter(pl.col("report_id").is_in(keys))
    return table(
        [t(f"col.{h}", locale) for h in ("report", "declarant", "date", "category")],
        [
            [r["report_id"], r["declarant_id"], day(r["reported_at"].date(), locale), r["category"]]
            for r in rows.iter_rows(named=True)
        ],
    )


def evidence_block(ids: Sequence[str], facts: Mapping[str, Any], locale: str) -> str:
    """Every row behind evidence ids (``kind:key``), always shown: a printed page keeps them."""
    if not ids:
        return ""
    kinds: dict[str, list[str]] = {}
    for item in ids:
        kind, _, key = item.partition(":")
        kinds.setdefault(kind, []).append(key)
    parts = []
    if "txn" in kinds:
        parts.append(_transactions(kinds["txn"], facts, locale))
    if "asset" in kinds and facts["assets"].height:
        parts.append(_assets(kinds["asset"], facts["assets"], locale))
    if "report" in kinds and facts["reports"].height:
        parts.append(_reports(kinds["report"], facts["reports"], locale))
    count = t("evidence.one" if len(ids) == 1 else "evidence.many", locale, n=len(ids))
    return f'<div class="evidence"><p class="count">{e(count)}</p>{"".join(parts)}</div>'


def counterparty_table(facts: Mapping[str, Any], locale: str) -> str:
    """The main counterparties, named (an account outside the dataset is said to be one)."""
    cps: pl.DataFrame = facts["counterparties"]
    headers = ["name", "account", "country", "tags", "received", "paid", "transactions"]
    return table(
        [t(f"col.{h}", locale) for h in headers],
        [
            [
                _counterparty(r, facts["names"], locale),
                r["cp_account"] or "",
                r["cp_country"] or "",
                r["cp_tags"] or "",
                money(r["received"], locale),
                money(r["paid"], locale),
                number(r["transactions"], locale),
            ]
            for r in cps.iter_rows(named=True)
        ],
        numeric=[4, 5, 6],
    )


def ownership_table(facts: Mapping[str, Any], locale: str) -> str:
    """Owners of the entity and what it owns (or its relatives), as named, readable rows."""
    owners: pl.DataFrame = facts["ownership"]
    if not owners.height:
        return f'<p class="muted">{e(t("no_ownership", locale))}</p>'
    names = facts["names"]
    rows = owners.sort("role", "owner_entity_id", "owned_entity_id").iter_rows(named=True)
    return table(
        [t(f"col.{h}", locale) for h in ("owner", "owned", "role", "share", "since")],
        [
            [
                named(r["owner_entity_id"], names),
                named(r["owned_entity_id"], names),
                t(f"role.{r['role']}", locale),
                "" if r.get("share_pct") is None else f"{number(r['share_pct'], locale, 1)} %",
                "" if r.get("since") is None else day(r["since"], locale),
            ]
            for r in rows
        ],
        numeric=[3],
    )


def siblings_table(facts: Mapping[str, Any], locale: str) -> str:
    """The companies behind 'shares owners with N other companies', each with its owner."""
    siblings: pl.DataFrame = facts["siblings"]
    if not siblings.height:
        return f'<p class="muted">{e(t("no_shared_owners", locale))}</p>'
    names = facts["names"]
    return table(
        [t("col.company", locale), t("col.through", locale)],
        [
            [named(r["company"], names), named(r["owner"], names)]
            for r in siblings.iter_rows(named=True)
        ],
    )
