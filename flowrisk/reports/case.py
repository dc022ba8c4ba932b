"""The entity case report: one self-contained HTML page an analyst can attach to a case file,
on screen and printed (score, band, reasons in contribution order with every evidence row,
a contribution chart in analyst words, monthly flows, named counterparties, owners, holdings
and companies sharing an owner, the money network when drawn), and the same page as PDF.
Charts are inline SVG rendered offline; no script, no network."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl

from flowrisk.models import plots
from flowrisk.models.scorer import probability_text, score_text
from flowrisk.reports.chart import contribution_svg, in_contribution_order
from flowrisk.reports.facts import entity_facts
from flowrisk.reports.locale import check_locale, day, money, number, t, when
from flowrisk.reports.network import Score, build_network, with_scores
from flowrisk.reports.network_svg import network_svg as draw_network
from flowrisk.reports.tables import (
    counterparty_table,
    e,
    evidence_block,
    named,
    ownership_table,
    siblings_table,
)

__all__ = ["case_report", "case_report_pdf", "entity_facts", "report_network"]

SHARED_OWNERS = "net_shared_owner_companies"  # the reason whose companies are listed under it
# the reasons table keeps its columns on an A4 page however wide its evidence tables are
COLUMNS = (
    '<colgroup><col style="width:3%"><col style="width:13%"><col style="width:73%">'
    '<col style="width:11%"></colgroup>'
)
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:980px;color:#1c2833;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d5d8dc;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:13px}
th,td{border-bottom:1px solid #eaecee;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f6f7}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
.band{display:inline-block;padding:.1rem .6rem;border-radius:1rem;color:#fff;font-weight:600}
.low{background:#27ae60}.medium{background:#f39c12}.high{background:#e74c3c}
.critical{background:#7b241c}.muted{color:#707b7c}.flag{color:#922b21}
.companies{margin:.2rem 0;color:#1f618d}
.case{width:auto;margin:.6rem 0}.case th{background:none;padding-left:0;font-weight:600}
.evidence{margin:.3rem 0 .8rem;color:#1c2833}.evidence .count{margin:.2rem 0;color:#1f618d}
table.reasons{table-layout:fixed}svg{max-width:100%;height:auto}
.evidence td:nth-child(2){white-space:nowrap}
@page{size:A4;margin:18mm 14mm 20mm;
@top-left{content:"@header@";font:9px system-ui,sans-serif;color:#707b7c}
@bottom-right{content:"@page@ " counter(page) " @of@ " counter(pages);
font:9px system-ui,sans-serif;color:#707b7c}}
@media print{body{margin:0;max-width:none;padding:0;font-size:11px}
table{font-size:10px}h2{break-after:avoid}tr,.contribution{break-inside:avoid}
thead{display:table-header-group}
.band,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _css_string(text: str) -> str:
    """``text`` safe inside a double-quoted CSS string."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ")


def _who(entity: Mapping[str, Any], locale: str) -> str:
    """One line on the entity: type, country, sector, declared money, PEP status."""
    kind = entity.get("entity_type") or ""
    if kind == "company" and entity.get("declared_revenue") is not None:
        declared = t("declared_revenue", locale, amount=money(entity["declared_revenue"], locale))
    elif entity.get("declared_income") is not None:
        declared = t("declared_income", locale, amount=money(entity["declared_income"], locale))
    else:
        declared = ""
    parts = (
        t(f"entity.{kind}", locale) if kind else None,
        entity.get("country"),
        t("sector", locale, code=entity["sector_code"]) if entity.get("sector_code") else None,
        declared,
        t("pep", locale) if entity.get("is_pep") else None,
    )
    return ", ".join(e(x) for x in parts if x)


def _companies(reason: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    """Under the reason on shared owners, the companies it counts, named."""
    features = {reason["feature"], *(reason.get("merged") or [])}
    if SHARED_OWNERS not in features or not facts["siblings"].height:
        return ""
    names = facts["names"]
    companies = sorted({named(c, names) for c in facts["siblings"]["company"]})
    return f'<p class="companies">{e(", ".join(companies))}</p>'


def _signed(value: float, locale: str) -> str:
    """A contribution with its sign, in the reader's decimals: +1.52, −0,23."""
    return ("+" if value >= 0 else "−") + number(abs(value), locale, 2)


def _reason_table(
    reasons: Sequence[Mapping[str, Any]], facts: Mapping[str, Any], locale: str
) -> str:
    if not reasons:
        return f'<p class="muted">{e(t("no_reason", locale))}</p>'
    rows = "".join(
        f"<tr><td>{'▲' if r['direction'] == 'raises' else '▼'}</td><td>{e(r['family'])}</td>"
        f"<td>{e(r['text'])}{_companies(r, facts)}"
        f"{evidence_block(r['evidence'], facts, locale)}</td>"
        f'<td class="num">{_signed(r["contribution"], locale)}</td></tr>'
        for r in in_contribution_order(reasons)
    )
    head = "".join(
        f"<th>{e(t(k, locale))}</th>" for k in ("col.family", "col.reason", "col.contribution")
    )
    return (
        f'<table class="reasons">{COLUMNS}<thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _flag_list(flags: Sequence[Mapping[str, Any]], facts: Mapping[str, Any], locale: str) -> str:
    items = "".join(
        f'<li><span class="flag">{e(f["text"])}</span>'
        f"{evidence_block(f['evidence'], facts, locale)}</li>"
        for f in flags
    )
    return f"<ul>{items}</ul>" if items else f'<p class="muted">{e(t("no_flag", locale))}</p>'


def _case_table(rows: Sequence[tuple[str, str | None]], locale: str) -> str:
    """The case file's header: reference, analyst, generated at, as of, model."""
    body = "".join(
        f"<tr><th>{e(t(k, locale))}</th><td>{e(v)}</td></tr>" for k, v in rows if v is not None
    )
    return f'<table class="case"><tbody>{body}</tbody></table>'


def _score_line(explanation: Mapping[str, Any], locale: str) -> str:
    band = str(explanation["band"])
    score, probability = (
        score_text(explanation["score"]),
        probability_text(explanation["probability"]),
    )
    if locale == "fr":
        score, probability = score.replace(".", ","), probability.replace(".", ",")
    tags = e(", ".join(x.replace("_", " ") for x in explanation["tags"]) or t("none", locale))
    return (
        f'<p><span class="band {e(band)}">{e(t("band." + band, locale))}</span>\n'
        f"&nbsp;{t('score', locale)} <b>{score}</b>/100 ({e(t('probability', locale))}\n"
        f"{probability}); {e(t('typologies', locale))}: <b>{tags}</b></p>"
    )


def _flow_chart(flows: pl.DataFrame, locale: str) -> str:
    """Money in and out per month by channel, titled in ``locale`` (empty without flows)."""
    if not flows.height:
        return ""
    chart = plots.monthly_flows(flows.to_dicts()).properties(title=t("flows.chart", locale))
    return plots.to_svg(chart)


def report_network(
    frames: Mapping[str, pl.LazyFrame],
    explanation: Mapping[str, Any],
    as_of: datetime,
    locale: str = "en",
    scores_of: Callable[[list[str]], Mapping[str, Score]] | None = None,
) -> str:
    """The money network around the explained entity as an inline SVG for the printed report
    (no links): the entity's own band and score, the other entities' from ``scores_of`` (a
    scored run's bands of some entity ids) when given."""
    entity_id = str(explanation["entity_id"])
    network = build_network(frames, entity_id, as_of)
    others = [n.id for n in network.nodes if n.kind == "entity" and n.id != entity_id]
    scores = dict(scores_of(others)) if scores_of and others else {}
    scores[entity_id] = Score(str(explanation["band"]), float(explanation["score"]))
    return draw_network(with_scores(network, scores), locale, link_prefix=None)


def case_report(
    explanation: Mapping[str, Any],
    facts: Mapping[str, Any],
    *,
    as_of: datetime,
    model: str,
    locale: str = "en",
    case_reference: str | None = None,
    analyst: str | None = None,
    generated_at: datetime | None = None,
    zone: str | None = None,
    network_svg: str | None = None,
) -> str:
    """The HTML page for one explained entity (``explanation`` is a row of ``explain``), in
    ``locale``; ``case_reference`` (the purpose), ``analyst`` and the generation time head it,
    ``network_svg`` (an inline SVG of the money network) is drawn when given."""
    check_locale(locale)
    entity = facts["entity"]
    entity_id = e(explanation["entity_id"])
    title = entity.get("name") or explanation["entity_id"]
    reasons = explanation["reasons"]
    flows = facts["flows"]
    flow_chart = _flow_chart(flows, locale)
    generated = when(generated_at or datetime.now(UTC), locale, zone)
    header = " · ".join(x for x in (case_reference, f"{title} ({explanation['entity_id']})") if x)
    style = (
        STYLE.replace("@page@", _css_string(t("page", locale)))
        .replace("@of@", _css_string(t("page_of", locale)))
        .replace("@header@", _css_string(header))
    )
    case = _case_table(
        [
            ("case_reference", case_reference),
            ("analyst", analyst),
            ("generated", generated),
            ("model", model),
        ],
        locale,
    )
    network = f"<h2>{e(t('network', locale))}</h2>{network_svg}" if network_svg is not None else ""
    return f"""<!doctype html>
<html lang="{locale}"><head><meta charset="utf-8">
<title>flowrisk {e(t("title", locale).lower())}: {entity_id}</title>
<style>{style}</style></head><body>
<h1>{e(title)}
<span class="muted">({entity_id})</span></h1>
<p>{_who(entity, locale)}</p>
{_score_line(explanation, locale)}
{case}
<p class="muted">{e(t("as_of", locale, date=day(as_of.date(), locale)))}.
{e(t("caveat", locale))}</p>
<h2>{e(t("red_flags", locale))}</h2>
{_flag_list(explanation["red_flags"], facts, locale)}
<h2>{e(t("reasons", locale))}</h2>
{_reason_table(reasons, facts, locale)}
{contribution_svg(reasons, locale)}
{network}
<h2>{e(t("flows", locale))}</h2>
{flow_chart or f'<p class="muted">{e(t("no_flows", locale))}</p>'}
<h2>{e(t("counterparties", locale))}</h2>
{counterparty_table(facts, locale)}
<h2>{e(t("owners", locale))}</h2>
{ownership_table(facts, locale)}
<h3>{e(t("shared_owners", locale))}</h3>
{siblings_table(facts, locale)}
</body></html>
"""


def case_report_pdf(html: str) -> bytes:
    """The case report page as PDF (A4, page numbers, every evidence table printed), rendered
    offline by WeasyPrint: the page holds no reference to fetch."""
    import weasyprint

    def no_fetch(url: str) -> dict[str, Any]:
        raise ValueError(f"a case report fetches nothing ({url})")

    return bytes(weasyprint.HTML(string=html, url_fetcher=no_fetch).write_pdf())
