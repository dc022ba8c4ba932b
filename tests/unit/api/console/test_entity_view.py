"""The entity page's view-model on the trained session world: the explanation of the scorer,
every evidence id turned into its row with the counterparty named, the network with the
run's bands, the lookup history passed through, words in the page's language."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from flowrisk.api.console.entity_view import entity_view
from flowrisk.errors import EntityNotFound
from flowrisk.models.registry import Bundle
from flowrisk.models.scoring import DatasetSource, Loaded, score_frames
from flowrisk.reports.network import Score
from tests.conftest import TrainedWorld


def _loaded(t: TrainedWorld) -> Loaded:
    bundle = Bundle(
        model=t.model, baselines=t.baselines, uri="models:/flowrisk@champion", version="7"
    )
    return Loaded(bundle=bundle, loaded_at=datetime.now(UTC), metrics={})


def _flagged(source: DatasetSource, loaded: Loaded, t: TrainedWorld) -> str:
    """A laundering entity with a red flag backed by transactions."""
    for entity in t.labels.filter(pl.col("label") == 1)["entity_id"].head(40).to_list():
        row = score_frames(source.frames_for(entity), entity, t.as_of, loaded, True)
        if any(e.startswith("txn:") for f in row["red_flags"] for e in f["evidence"]):
            return str(entity)
    raise AssertionError("no flagged entity in the world")


def test_the_view_shows_the_scorers_explanation_with_named_evidence(
    trained_world: TrainedWorld,
) -> None:
    t = trained_world
    loaded = _loaded(t)
    source = DatasetSource(t.folder, t.as_of)
    entity = _flagged(source, loaded, t)
    frames = source.frames_for(entity)
    row = score_frames(frames, entity, t.as_of, loaded, True)
    history = [{"at": datetime(2026, 1, 2, tzinfo=UTC), "key_id": "k1", "status": 200}]
    view = entity_view(
        frames,
        entity,
        t.as_of,
        loaded,
        scores_of=lambda ids: {i: Score("critical", 99.0) for i in ids},
        history=history,
        locale="fr",
    )
    assert (view["band"], view["model_version"]) == (row["band"], "7")
    assert [f["text"] for f in view["flags"]] == [f["text"] for f in row["red_flags"]]
    assert [r["text"] for r in view["reasons"]] == [r["text"] for r in row["reasons"]]
    names = dict(t.frames["entities"].select("entity_id", "name").collect().iter_rows())
    for flag, shown in zip(row["red_flags"], view["flags"], strict=True):
        txns = {int(e.removeprefix("txn:")) for e in flag["evidence"] if e.startswith("txn:")}
        assert {r["id"] for r in shown["evidence"]["transactions"]} == txns
        for r in shown["evidence"]["transactions"]:
            party = r["party"]
            assert not party["link"] or party["name"] == (names[party["id"]] or party["id"])
            assert r["amount"].endswith("€")  # written the French way
    centre = view["network"].node(entity)
    assert (centre.band, centre.score) == (row["band"], pytest.approx(row["score"]))
    others = [n for n in view["network"].nodes if n.kind == "entity" and n.id != entity]
    assert others and all(n.band == "critical" for n in others)
    assert 'class="network"' in view["network_svg"] and "/ui/entities/" in view["network_svg"]
    assert view["flows_svg"].startswith("<svg") and view["transactions"] > 0
    assert view["history"] == history and view["w"]["flags"] == "Signaux d'alerte"


def test_an_unknown_entity_is_refused_by_name(trained_world: TrainedWorld) -> None:
    t = trained_world
    frames = {k: v.filter(pl.lit(False)) if k == "entities" else v for k, v in t.frames.items()}
    with pytest.raises(EntityNotFound, match="E-NOPE"):
        entity_view(frames, "E-NOPE", t.as_of, _loaded(t))
