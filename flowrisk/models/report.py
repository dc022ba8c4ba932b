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
    flows = (
        legs.filter(~pl.col("is_self"))
        .with_columns(
            pl.col("ts").dt.strftime("%Y-%m").alias("month"),
            pl.when(pl.col("inbound")).then(pl.col("amount")).otherwise(-pl.col("amount")),
        )
        .group_by("month", pl.col("channel").cast(pl.String))
        .agg(pl.col("amount").sum().round(2))
        .sort("month", "channel")
    )
    counterparties = (
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
        .head(15)
    )
    ownership = frames.get("ownership")
    links = (
        ownership.filter(
            (pl.col("owner_entity_id") == entity_id) | (pl.col("owned_entity_id") == entity_id)
        ).collect()
        if ownership is not None
        else pl.DataFrame()
    )
    return {
        "entity": entity.row(0, named=True) if entity.height else {"entity_id": entity_id},
        "legs": legs,
        "flows": flows,
        "counterparties": counterparties,
        "ownership": links,
        "assets": frames["assets"].filter(pl.col("entity_id") == entity_id).collect()
        if "assets" in frames
        else pl.DataFrame(),
        "reports": frames["reports"].filter(pl.col("entity_id") == entity_id).collect()
        if "reports" in frames
        else pl.DataFrame(),
    }


def _evidence_table(ids: Sequence[str], facts: Mapping[str, Any]) -> str:
    """The rows behind evidence ids: transactions, assets, reports."""
    kinds: dict[str, list[str]] = {}
    for item in ids:
        kind, _, key = item.partition(":")
        kinds.setdefault(kind, []).append(key)
    parts = []
    if "txn" in kinds:
        wanted = [int(k) for k in kinds["txn"]]
        legs = facts["legs"].filter(pl.col("txn_id").is_in(wanted)).sort("ts")
        parts.append(
            _table(
                [
                    "transaction",
                    "date",
                    "direction",
                    "amount EUR",
                    "channel",
                    "counterparty",
                    "country",
                ],
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
                    for r in legs.iter_rows(named=True)
                ],
                numeric=[3],
            )
        )
    if "asset" in kinds and facts["assets"].height:
        assets = facts["assets"].filter(pl.col("asset_id").is_in(kinds["asset"]))
        parts.append(
            _table(
                ["asset", "type", "acquired", "value EUR", "paid by"],
                [
                    [
                        r["asset_id"],
                        r["asset_type"],
                        r["acquired_at"],
                        f"{r['value']:,.0f}",
                        r["payment_method"],
                    ]
                    for r in assets.iter_rows(named=True)
                ],
                numeric=[3],
            )
        )
    if "report" in kinds and facts["reports"].height:
        reports = facts["reports"].filter(pl.col("report_id").is_in(kinds["report"]))
        parts.append(
            _table(
                ["report", "declarant", "date", "category"],
                [
                    [r["report_id"], r["declarant_id"], r["reported_at"].date(), r["category"]]
                    for r in reports.iter_rows(named=True)
                ],
            )
        )
    return "".join(parts)


def case_report(
    explanation: Mapping[str, Any],
    facts: Mapping[str, Any],
    *,
    as_of: datetime,
    model: str,
) -> str:
    """The HTML page for one explained entity (``explanation`` is a row of ``explain``)."""
    entity = facts["entity"]
    band = str(explanation["band"])
    kind = entity.get("entity_type") or ""
    money = (
        f"declared revenue {entity['declared_revenue']:,.0f} EUR"
        if kind == "company" and entity.get("declared_revenue") is not None
        else f"declared income {entity['declared_income']:,.0f} EUR"
        if entity.get("declared_income") is not None
        else ""
    )
    who = ", ".join(
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
    reasons = explanation["reasons"]
    reason_rows = []
    for r in reasons:
        evidence = ""
        if r["evidence"]:
            evidence = (
                f"<details><summary>{len(r['evidence'])} evidence item(s)</summary>"
                f"{_evidence_table(r['evidence'], facts)}</details>"
            )
        sign = "▲" if r["direction"] == "raises" else "▼"
        reason_rows.append(
            f"<tr><td>{sign}</td><td>{_e(r['family'])}</td><td>{_e(r['text'])}{evidence}</td>"
            f'<td class="num">{r["contribution"]:+.2f}</td></tr>'
        )
    reason_table = (
        "<table><thead><tr><th></th><th>family</th><th>reason</th><th>log-odds</th></tr>"
        f"</thead><tbody>{''.join(reason_rows)}</tbody></table>"
        if reason_rows
        else '<p class="muted">No reasons.</p>'
    )
    flags = "".join(
        f'<li class="flag">{_e(f["text"])}'
        + (
            f"<details><summary>{len(f['evidence'])} evidence item(s)</summary>"
            f"{_evidence_table(f['evidence'], facts)}</details>"
            if f["evidence"]
            else ""
        )
        + "</li>"
        for f in explanation["red_flags"]
    )
    contribution = plots.to_svg(plots.contribution_chart(reasons)) if reasons else ""
    flows = facts["flows"]
    flow_chart = plots.to_svg(plots.monthly_flows(flows.to_dicts())) if flows.height else ""
    cps = facts["counterparties"]
    owners = facts["ownership"]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    tags = _e(", ".join(explanation["tags"]) or "none")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>flowrisk case report: {_e(explanation["entity_id"])}</title>
<style>{STYLE}</style></head><body>
<h1>{_e(entity.get("name") or explanation["entity_id"])}
<span class="muted">({_e(explanation["entity_id"])})</span></h1>
<p>{who}</p>
<p><span class="band {_e(band)}">{_e(band)}</span>
&nbsp;score <b>{explanation["score"]:.1f}</b>/100 (calibrated probability
{explanation["probability"]:.3f}); typologies: <b>{tags}</b></p>
<p class="muted">As of {as_of.date()} (events strictly before); model {_e(model)};
generated {generated}. A score is a reason to look, not a finding.</p>
<h2>Red flags</h2>
{f"<ul>{flags}</ul>" if flags else '<p class="muted">No deterministic red flag.</p>'}
<h2>Reasons</h2>
{reason_table}
{contribution}
<h2>Monthly flows</h2>
{flow_chart or '<p class="muted">No transactions in the year before.</p>'}
<h2>Main counterparties (year before)</h2>
{
        _table(
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
    }
<h2>Owners and holdings</h2>
{
        _table(
            list(owners.columns),
            [list(r) for r in owners.iter_rows()],
        )
        if owners.height
        else '<p class="muted">No ownership link.</p>'
    }
</body></html>
"""
