"""Charts of a training run, rendered offline (Altair specs, PNG through vl-convert): what a data
scientist looks at before promoting a model. Builders are pure; ``write_charts`` is the edge."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flowrisk.errors import InvalidParameter

__all__ = [
    "calibration_curve",
    "contribution_chart",
    "feature_importance",
    "monthly_flows",
    "pr_curve",
    "recall_per_typology",
    "shap_summary",
    "to_svg",
    "write_charts",
]

WIDTH = 520
LABEL_LIMIT = 320  # pixels of a feature name before Vega-Lite cuts it with an ellipsis
MISSING = "#bbbbbb"


def _alt() -> Any:
    import altair as alt

    alt.data_transformers.disable_max_rows()
    return alt


def pr_curve(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], points: int = 400) -> Any:
    """Precision against recall for each model (name -> labels, scores), PR-AUC in the legend;
    each curve is thinned to about ``points`` points so the spec stays small."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    alt = _alt()
    rows = []
    for name, (y, scores) in curves.items():
        precision, recall, _ = precision_recall_curve(y, scores)
        keep = np.unique(np.linspace(0, len(recall) - 1, min(points, len(recall))).astype(int))
        label = f"{name} (PR-AUC {average_precision_score(y, scores):.3f})"
        rows += [
            {"model": label, "recall": float(r), "precision": float(p)}
            for r, p in zip(recall[keep], precision[keep], strict=True)
        ]
    return (
        alt.Chart(alt.Data(values=rows), title="Precision and recall on held-out entities")
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("recall:Q", title="recall (share of laundering entities alerted)"),
            y=alt.Y("precision:Q", title="precision (share of alerts that are laundering)"),
            color=alt.Color("model:N", title=None, legend=alt.Legend(orient="bottom")),
        )
        .properties(width=WIDTH, height=340)
    )


# bin edges, as quantiles of the held-out probabilities: twelve bins, the last six among the
# top 3% so that the rare high scores get bins of their own
QUANTILES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 1.0)


def calibration_curve(
    y: np.ndarray, probabilities: np.ndarray, quantiles: Sequence[float] = QUANTILES
) -> Any:
    """Reliability diagram on bins cut at quantiles of the predicted probability, finer at the
    top: laundering is rare, so equal-width bins would put almost every entity in the first.
    Bins are cut by rank, so ties never merge them: ``len(quantiles) - 1`` bins whenever there
    are at least as many entities."""
    alt = _alt()
    order = np.argsort(probabilities, kind="stable")
    cuts = np.unique((np.asarray(quantiles) * len(order)).round().astype(int))
    groups = [order[a:b] for a, b in itertools.pairwise(cuts) if b > a]
    rows = [
        {
            "predicted": float(probabilities[g].mean()),
            "observed": float(y[g].mean()),
            "entities": len(g),
        }
        for g in groups
    ]
    top = max(max(r["predicted"] for r in rows), max(r["observed"] for r in rows), 1e-3)
    scale = alt.Scale(domain=[0, top * 1.05])
    diagonal = (
        alt.Chart(alt.Data(values=[{"p": 0.0}, {"p": top * 1.05}]))
        .mark_line(color="gray", strokeDash=[4, 4])
        .encode(x=alt.X("p:Q", scale=scale), y=alt.Y("p:Q", scale=scale))
    )
    line = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("predicted:Q", title="mean predicted probability", scale=scale),
        y=alt.Y("observed:Q", title="observed share of laundering entities", scale=scale),
    )
    chart = alt.layer(
        diagonal,
        line.mark_line(),
        line.mark_circle(opacity=1).encode(
            size=alt.Size(
                "entities:Q",
                title="entities in bin",
                scale=alt.Scale(zero=False, range=[30, 400]),  # the small top bins stay visible
            ),
            tooltip=["predicted:Q", "observed:Q", "entities:Q"],
        ),
        title=f"Calibration ({len(rows)} bins, finer among the highest scores)",
    )
    return chart.properties(width=WIDTH, height=int(WIDTH * 0.7))


def feature_importance(names: Sequence[str], gain: np.ndarray, top: int = 20) -> Any:
    """The ``top`` features by share of the model's total split gain."""
    alt = _alt()
    share = np.asarray(gain, dtype=np.float64) / max(float(np.sum(gain)), 1e-12)
    order = np.argsort(-share, kind="stable")[:top]
    rows = [{"feature": names[i], "share": float(share[i])} for i in order]
    return (
        alt.Chart(alt.Data(values=rows), title=f"Top {len(rows)} features by gain")
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title="share of total gain", axis=alt.Axis(format="%")),
            y=alt.Y("feature:N", sort=None, title="feature", axis=alt.Axis(labelLimit=LABEL_LIMIT)),
        )
        .properties(width=WIDTH - 200, height=16 * len(rows))
    )


def shap_summary(
    names: Sequence[str],
    contributions: np.ndarray,
    values: np.ndarray,
    top: int = 15,
    max_points: int = 2000,
) -> Any:
    """SHAP summary: for the ``top`` features by mean |contribution|, each entity's contribution
    (log-odds) coloured by where its value ranks in the column, low blue to high red, missing
    grey; rows are subsampled (seeded) to ``max_points``, and each feature's points travel as
    one row of arrays flattened by Vega-Lite, which keeps the spec small and quick to validate."""
    alt = _alt()
    rng = np.random.default_rng(0)
    rows_idx = rng.permutation(len(contributions))[:max_points]
    contrib = np.asarray(contributions)[rows_idx]
    vals = np.asarray(values, dtype=np.float64)[rows_idx]
    order = np.argsort(-np.abs(contrib).mean(axis=0), kind="stable")[:top]
    rows = []
    for i in order:
        column = vals[:, i]
        known = ~np.isnan(column)
        rank = np.full(len(column), np.nan)
        if known.any():
            ranks = np.argsort(np.argsort(column[known], kind="stable"), kind="stable")
            rank[known] = ranks / max(known.sum() - 1, 1)
        rows.append(
            {
                "feature": names[i],
                "contribution": contrib[:, i].round(4).tolist(),
                "value_rank": [None if np.isnan(r) else round(float(r), 3) for r in rank],
                "jitter": rng.uniform(-0.35, 0.35, len(column)).round(3).tolist(),
            }
        )
    return (
        alt.Chart(alt.Data(values=rows), title="SHAP summary: what pushed held-out scores")
        .transform_flatten(["contribution", "value_rank", "jitter"])
        .mark_circle(size=9, opacity=0.6)
        .encode(
            x=alt.X("contribution:Q", title="contribution to the score (log-odds)"),
            y=alt.Y(
                "feature:N",
                sort=[names[i] for i in order],
                title="feature",
                axis=alt.Axis(labelLimit=LABEL_LIMIT),
            ),
            yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-0.5, 0.5])),
            color=alt.Color(
                "value_rank:Q",
                title=["feature value (rank)", "grey: missing"],
                scale=alt.Scale(range=["#008bfb", "#ff0052"]),
                legend=alt.Legend(format="%"),
            ),
        )
        .properties(width=WIDTH - 120, height=24 * len(order))
        .configure_scale(invalid={"color": {"value": MISSING}})  # missing values drawn grey
    )


def recall_per_typology(recall: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Any:
    """Recall at a 1% alert budget per typology, one bar per model (model -> typology ->
    positives and recall); a zero recall is labelled, not just invisible."""
    alt = _alt()
    typologies = sorted({t for per in recall.values() for t in per})
    positives = {t: v["positives"] for per in recall.values() for t, v in per.items()}
    rows = [
        {
            "typology": f"{t} ({positives[t]})",
            "model": model,
            "recall": float(per.get(t, {}).get("recall_at_1pct", 0.0)),
        }
        for model, per in recall.items()
        for t in typologies
    ]
    base = alt.Chart(alt.Data(values=rows)).encode(
        y=alt.Y("typology:N", title="typology (held-out positives)"),
        yOffset="model:N",
        x=alt.X("recall:Q", title="recall at a 1% alert budget", scale=alt.Scale(domain=[0, 1])),
    )
    color = alt.Color("model:N", legend=alt.Legend(orient="bottom"))
    bars = base.mark_bar().encode(color=color, tooltip=["typology:N", "model:N", "recall:Q"])
    labels = base.mark_text(align="left", dx=3, fontSize=9).encode(
        text=alt.Text("recall:Q", format=".2f"), color=color
    )
    return alt.layer(bars, labels, title="Recall per typology").properties(
        width=WIDTH - 140, height=18 * len(rows) + 10
    )


def write_charts(
    charts: Mapping[str, Any], folder: Path, formats: Sequence[str] = ("png",)
) -> list[Path]:
    """Render each chart to ``folder/<name>.<format>`` (PNG at twice the size, or SVG)."""
    import vl_convert as vlc

    unknown = set(formats) - {"png", "svg"}
    if unknown:
        raise InvalidParameter("formats", f"unknown {sorted(unknown)}; use png or svg")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, chart in charts.items():
        spec = chart.to_json()
        for fmt in formats:
            path = folder / f"{name}.{fmt}"
            if fmt == "png":
                path.write_bytes(vlc.vegalite_to_png(spec, scale=2))
            else:
                path.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
            paths.append(path)
    return paths


def contribution_chart(reasons: Sequence[Mapping[str, Any]]) -> Any:
    """One entity's reasons as bars of their contribution (log-odds): red raises, blue lowers."""
    alt = _alt()
    rows = [
        {
            "reason": f"{r['feature']} = {r['value']:,.4g}",
            "family": r["family"],
            "contribution": r["contribution"],
            "direction": r["direction"],
        }
        for r in reasons
    ]
    return (
        alt.Chart(alt.Data(values=rows), title="What moved this score")
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q", title="contribution to the score (log-odds)"),
            y=alt.Y("reason:N", sort=None, title=None),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(domain=["raises", "lowers"], range=["#c0392b", "#2e86c1"]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=["family:N", "contribution:Q"],
        )
        .properties(width=WIDTH - 180, height=22 * max(len(rows), 1))
    )


def monthly_flows(flows: Sequence[Mapping[str, Any]]) -> Any:
    """Money in (above zero) and out (below) per month, stacked by channel; rows carry
    ``month`` (YYYY-MM), ``channel`` and ``amount`` (EUR, negative for money out)."""
    alt = _alt()
    return (
        alt.Chart(alt.Data(values=list(flows)), title="Monthly flows by channel (out below zero)")
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("sum(amount):Q", title="EUR", axis=alt.Axis(format="~s")),
            color=alt.Color("channel:N", legend=alt.Legend(orient="bottom", title=None)),
        )
        .properties(width=WIDTH, height=260)
    )


def to_svg(chart: Any) -> str:
    """A chart as inline SVG text (for self-contained HTML)."""
    import vl_convert as vlc

    return str(vlc.vegalite_to_svg(chart.to_json()))
