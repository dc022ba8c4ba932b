"""The entity case report: one self-contained HTML page an analyst can attach to a case file
(score, band, reasons with their evidence tables, a contribution chart, monthly flows by channel,
counterparties and owners). Charts are inline SVG rendered offline; no script, no network."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl

from flowrisk.features import entity_legs
from flowrisk.models import plots
from flowrisk.models.scorer import probability_text, score_text

__all__ = ["case_report", "entity_facts"]

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:980px;color:#1c2833;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d5d8dc;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:13px}
th,td{border-bottom:1px solid #eaecee;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.band{display:inline-block;padding:.1rem .6rem;border-radius:1rem;color:#fff;font-weight:600}
.low{background:#27ae60}.medium{background:#f39c12}.high{background:#e74c3c}
.critical{background:#7b241c}.muted{color:#707b7c}.flag{color:#922b21}
details{margin:.3rem 0 .8rem}summary{cursor:pointer;color:#1f618d}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()
) -> str:
    if not rows:
        return '<p class="muted">None.</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _monthly_flows(legs: pl.DataFrame) -> pl.DataFrame:
    """Net money per month and channel with others (in positive, out negative)."""
    return (
        legs.filter(~pl.col("is_self"))
        .with_columns(
            pl.col("ts").dt.strftime("%Y-%m").alias("month"),
            pl.when(pl.col("inbound")).then(pl.col("amount")).otherwise(-pl.col("amount")),
        )
        .group_by("month", pl.col("channel").cast(pl.String))
        .agg(pl.col("amount").sum().round(2))
        .sort("month", "channel")
    )


def _counterparties(legs: pl.DataFrame, top: int = 15) -> pl.DataFrame:
    """The ``top`` counterparties by money moved, with what went each way."""
    return (
        legs.filter(~pl.col("is_self"))
        .group_by(pl.col("cp_account").fill_null("(cash)"))
        .agg(
            pl.col("cp_entity").first(),
            pl.col("cp_country").first(),
            pl.col("cp_tags").first().cast(pl.List(pl.String)).list.join(", "),
            pl.col("amount").filter(pl.col("inbound")).sum().alias("received"),
            pl.col("amount").filter(~pl.col("inbound")).sum().alias("paid"),
            pl.len().alias("transactions"),
        )
        .with_columns((pl.col("received") + pl.col("paid")).alias("total"))
        .sort("total", "cp_account", descending=[True, False])
        .head(top)
    )


def _rows_of(frames: Mapping[str, pl.LazyFrame], table: str, where: pl.Expr) -> pl.DataFrame:
    """The rows of ``table`` where ``where`` holds (an empty frame when the dataset lacks it)."""
    return frames[table].filter(where).collect() if table in frames else pl.DataFrame()


def entity_facts(
    frames: Mapping[str, pl.LazyFrame], entity_id: str, as_of: datetime
) -> dict[str, Any]:
    """What the report shows besides the explanation: the entity's row, its transactions (legs)
    of the year before ``as_of``, monthly flows by channel, counterparties, owners and what it
    owns, and the rows behind evidence ids."""
    entity = frames["entities"].filter(pl.col("entity_id") == entity_id).collect()
    # common-subplan elimination panics on the cached legs collected alone (Polars 2.1)
    no_cse = pl.QueryOptFlags(comm_subplan_elim=False)
    legs = entity_legs(frames, as_of, [entity_id]).collect(optimizations=no_cse)
    legs = legs.sort("ts", "txn_id")
    mine = pl.col("entity_id") == entity_id
    linked = (pl.col("owner_entity_id") == entity_id) | (pl.col("owned_entity_id") == entity_id)
    return {
        "entity": entity.row(0, named=True) if entity.height else {"entity_id": entity_id},
        "legs": legs,
        "flows": _monthly_flows(legs),
        "counterparties": _counterparties(legs),
        "ownership": _rows_of(frames, "ownership", linked),
        "assets": _rows_of(frames, "assets", mine),
        "reports": _rows_of(frames, "reports", mine),
    }


def _by_kind(ids: Sequence[str]) -> dict[str, list[str]]:
    """Evidence ids (``kind:key``) grouped by kind."""
    kinds: dict[str, list[str]] = {}
    for item in ids:
        kind, _, key = item.partition(":")
        kinds.setdefault(kind, []).append(key)
    return kinds


def _transactions_table(keys: Sequence[str], legs: pl.DataFrame) -> str:
    rows = legs.filter(pl.col("txn_id").is_in([int(k) for k in keys])).sort("ts")
    return _table(
        ["transaction", "date", "direction", "amount EUR", "channel", "counterparty", "country"],
        [
            [
                r["txn_id"],
                r["ts"].strftime("%Y-%m-%d %H:%M"),
                "in" if r["inbound"] else "out",
                f"{r['amount']:,.2f}",
                r["channel"],
                r["cp_entity"] or r["cp_account"] or "(cash)",
                r["cp_country"] or "",
            ]
            for r in rows.iter_rows(named=True)
        ],
        numeric=[3],
    )


def _assets_table(keys: Sequence[str], assets: pl.DataFrame) -> str:
    rows = assets.filter(pl.col("asset_id").is_in(keys))
    return _table(
        ["asset", "type", "acquired", "value EUR", "paid by"],
        [
            [
                r["asset_id"],
                r["asset_type"],
                r["acquired_at"],
                f"{r['value']:,.0f}",
                r["payment_method"],
            ]
            for r in rows.iter_rows(named=True)
        ],
        numeric=[3],
    )


def _reports_table(keys: Sequence[str], reports: pl.DataFrame) -> str:
    rows = reports.filter(pl.col("report_id").is_in(keys))
    return _table(
        ["report", "declarant", "date", "category"],
        [
            [r["report_id"], r["declarant_id"], r["reported_at"].date(), r["category"]]
            for r in rows.iter_rows(named=True)
        ],
    )


def _evidence_table(ids: Sequence[str], facts: Mapping[str, Any]) -> str:
    """The rows behind evidence ids: transactions, assets, reports."""
    kinds = _by_kind(ids)
    parts = []
    if "txn" in kinds:
        parts.append(_transactions_table(kinds["txn"], facts["legs"]))
    if "asset" in kinds and facts["assets"].height:
        parts.append(_assets_table(kinds["asset"], facts["assets"]))
    if "report" in kinds and facts["reports"].height:
        parts.append(_reports_table(kinds["report"], facts["reports"]))
    return "".join(parts)


def _evidence_details(ids: Sequence[str], facts: Mapping[str, Any]) -> str:
    """A folded evidence table (nothing when there is no evidence)."""
    if not ids:
        return ""
    return (
        f"<details><summary>{len(ids)} evidence item{'' if len(ids) == 1 else 's'}</summary>"
        f"{_evidence_table(ids, facts)}</details>"
    )


def _who(entity: Mapping[str, Any]) -> str:
    """One line on the entity: type, country, sector, declared money, PEP status."""
    kind = entity.get("entity_type") or ""
    money = (
        f"declared revenue {entity['declared_revenue']:,.0f} EUR"
        if kind == "company" and entity.get("declared_revenue") is not None
        else f"declared income {entity['declared_income']:,.0f} EUR"
        if entity.get("declared_income") is not None
        else ""
    )
    return ", ".join(
        _e(x)
        for x in (
            kind,
            entity.get("country"),
            f"sector {entity['sector_code']}" if entity.get("sector_code") else None,
            money,
            "politically exposed" if entity.get("is_pep") else None,
        )
        if x
    )


def _reason_table(reasons: Sequence[Mapping[str, Any]], facts: Mapping[str, Any]) -> str:
    rows = []
    for r in reasons:
        sign = "▲" if r["direction"] == "raises" else "▼"
        rows.append(
            f"<tr><td>{sign}</td><td>{_e(r['family'])}</td><td>{_e(r['text'])}"
            f"{_evidence_details(r['evidence'], facts)}</td>"
            f'<td class="num">{r["contribution"]:+.2f}</td></tr>'
        )
    if not rows:
        return '<p class="muted">No reasons.</p>'
    return (
        "<table><thead><tr><th></th><th>family</th><th>reason</th><th>log-odds</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _flag_list(flags: Sequence[Mapping[str, Any]], facts: Mapping[str, Any]) -> str:
    items = "".join(
        f'<li class="flag">{_e(f["text"])}{_evidence_details(f["evidence"], facts)}</li>'
        for f in flags
    )
    return f"<ul>{items}</ul>" if items else '<p class="muted">No deterministic red flag.</p>'


def _counterparty_table(cps: pl.DataFrame) -> str:
    return _table(
        ["account", "entity", "country", "tags", "received EUR", "paid EUR", "transactions"],
        [
            [
                r["cp_account"],
                r["cp_entity"] or "",
                r["cp_country"] or "",
                r["cp_tags"] or "",
                f"{r['received']:,.0f}",
                f"{r['paid']:,.0f}",
                r["transactions"],
            ]
            for r in cps.iter_rows(named=True)
        ],
        numeric=[4, 5, 6],
    )


def _ownership_table(owners: pl.DataFrame) -> str:
    if not owners.height:
        return '<p class="muted">No ownership link.</p>'
    return _table(list(owners.columns), [list(r) for r in owners.iter_rows()])


def case_report(
    explanation: Mapping[str, Any],
    facts: Mapping[str, Any],
    *,
    as_of: datetime,
    model: str,
) -> str:
    """The HTML page for one explained entity (``explanation`` is a row of ``explain``)."""
    entity = facts["entity"]
    band = _e(str(explanation["band"]))
    entity_id = _e(explanation["entity_id"])
    reasons = explanation["reasons"]
    contribution = plots.to_svg(plots.contribution_chart(reasons)) if reasons else ""
    flows = facts["flows"]
    flow_chart = plots.to_svg(plots.monthly_flows(flows.to_dicts())) if flows.height else ""
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    tags = _e(", ".join(explanation["tags"]) or "none")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>flowrisk case report: {entity_id}</title>
<style>{STYLE}</style></head><body>
<h1>{_e(entity.get("name") or explanation["entity_id"])}
<span class="muted">({entity_id})</span></h1>
<p>{_who(entity)}</p>
<p><span class="band {band}">{band}</span>
&nbsp;score <b>{score_text(explanation["score"])}</b>/100 (calibrated probability
{probability_text(explanation["probability"])}); typologies: <b>{tags}</b></p>
<p class="muted">As of {as_of.date()} (events strictly before); model {_e(model)};
generated {generated}. A score is a reason to look, not a finding.</p>
<h2>Red flags</h2>
{_flag_list(explanation["red_flags"], facts)}
<h2>Reasons</h2>
{_reason_table(reasons, facts)}
{contribution}
<h2>Monthly flows</h2>
{flow_chart or '<p class="muted">No transactions in the year before.</p>'}
<h2>Main counterparties (year before)</h2>
{_counterparty_table(facts["counterparties"])}
<h2>Owners and holdings</h2>
{_ownership_table(facts["ownership"])}
</body></html>
"""
