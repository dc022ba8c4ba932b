"""Lookups read from memory (profiles and red flags prepared in the batch path at start-up):
parity with the feature path (same score, band, tags, reasons and red flags), the fall back
for another bundle, and the entity page's frames giving the whole dataset's facts and network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flowrisk.api.console.entity_view import page_frames
from flowrisk.errors import EntityNotFound
from flowrisk.models.lookups import LegIndex
from flowrisk.models.registry import Bundle
from flowrisk.models.scoring import DatasetSource, Loaded, score_frames
from flowrisk.reports.facts import entity_facts
from flowrisk.reports.network import build_network
from tests.conftest import TrainedWorld


def _loaded(t: TrainedWorld) -> Loaded:
    bundle = Bundle(model=t.model, baselines=t.baselines, uri="models:/flowrisk@c", version="3")
    return Loaded(bundle=bundle, loaded_at=datetime.now(UTC), metrics={})


@pytest.fixture(scope="module")
def prepared(trained_world: TrainedWorld) -> tuple[DatasetSource, Loaded]:
    source = DatasetSource(trained_world.folder, trained_world.as_of)
    loaded = _loaded(trained_world)
    worker = source.prepare(loaded, background=True)  # as the service starts
    assert worker is not None
    worker.join()
    assert source.prepared is not None and source.index is not None
    return source, loaded


def _sample(source: DatasetSource, loaded: Loaded) -> list[str]:
    """Entities with red flags, then entities of every band."""
    ready = source.prepared
    assert ready is not None
    scored = loaded.bundle.model.score(ready.profiles)
    out = ready.flags["entity_id"].unique(maintain_order=True).head(6).to_list()
    for band in ("low", "medium", "high", "critical"):
        out += scored.filter(pl.col("band").cast(pl.String) == band)["entity_id"].head(2).to_list()
    return list(dict.fromkeys(out))


@pytest.mark.slow
def test_a_prepared_lookup_equals_the_feature_path(prepared: tuple[DatasetSource, Loaded]) -> None:
    source, loaded = prepared
    sample = _sample(source, loaded)
    assert len(sample) >= 8
    flagged = 0
    for entity in sample:
        for explain in (True, False):
            fast = source.score(entity, loaded, explain)
            slow = score_frames(source.frames_for(entity), entity, source.as_of, loaded, explain)
            assert fast == slow, entity
            flagged += bool(explain and fast["red_flags"])
    assert flagged >= 1  # the red flags read from memory were compared, not only empty lists


@pytest.mark.slow
def test_another_bundle_or_an_unknown_entity_goes_through_the_feature_path(
    prepared: tuple[DatasetSource, Loaded], trained_world: TrainedWorld
) -> None:
    source, loaded = prepared
    other = _loaded(trained_world)  # reloaded: another bundle object, maybe other baselines
    ready = source.prepared
    assert ready is not None and not ready.serves(other.bundle, source.as_of)
    assert not ready.serves(loaded.bundle, datetime(2025, 6, 1, tzinfo=UTC))
    entity = _sample(source, loaded)[0]
    expected = score_frames(source.frames_for(entity), entity, source.as_of, other, True)
    assert source.score(entity, other, True) == expected
    with pytest.raises(EntityNotFound):
        source.score("NO-SUCH-ENTITY", loaded, True)


def _same_facts(near: dict[str, Any], whole: dict[str, Any]) -> None:
    assert near.keys() == whole.keys()
    for key, value in whole.items():
        if isinstance(value, pl.DataFrame):
            assert_frame_equal(near[key], value, check_row_order=False)
        else:
            assert near[key] == value, key


@pytest.mark.slow
def test_the_page_frames_give_the_whole_datasets_facts_and_network(
    prepared: tuple[DatasetSource, Loaded],
) -> None:
    source, loaded = prepared
    for entity in _sample(source, loaded)[::3]:
        near = page_frames(source, entity)
        assert near["transactions"].select(pl.len()).collect().item() < (
            source.frames["transactions"].select(pl.len()).collect().item()
        )
        _same_facts(
            entity_facts(near, entity, source.as_of),
            entity_facts(source.frames, entity, source.as_of),
        )
        whole = build_network(source.frames, entity, source.as_of)
        assert build_network(near, entity, source.as_of) == whole


def test_the_leg_index_finds_each_accounts_transactions_of_the_window() -> None:
    as_of = datetime(2025, 6, 1, tzinfo=UTC)
    ts = [datetime(2025, m, 2, tzinfo=UTC) for m in (1, 2, 3, 5, 6)] + [
        datetime(2023, 1, 1, tzinfo=UTC)
    ]
    tx = pl.DataFrame(
        {
            "txn_id": ["t0", "t1", "t2", "t3", "t4", "t5"],
            "ts": ts,
            "src_account_id": ["A", None, "B", "A", "A", "A"],
            "dst_account_id": ["B", "A", None, "C", "B", "C"],
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    index = LegIndex(tx, as_of)
    assert index.rows_of(["A"]).tolist() == [0, 1, 3]  # t4 is at as_of's month, t5 too old
    assert index.rows_of(["C", "B", "Z"]).tolist() == [0, 2, 3]
    assert index.rows_of(["Z"]).tolist() == [] and index.rows_of([]).tolist() == []
    assert index.take(np.array([3, 0], dtype=np.uint32))["txn_id"].to_list() == ["t3", "t0"]


@pytest.mark.slow
def test_the_api_and_the_page_read_the_prepared_lookups(
    prepared: tuple[DatasetSource, Loaded],
    trained_world: TrainedWorld,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from fastapi.testclient import TestClient

    from flowrisk.api import ApiConfig, create_app
    from flowrisk.api.service import ModelHolder
    from flowrisk.audit import Store
    from tests.unit.api.console.conftest import set_purpose, sign_in

    source, loaded = prepared
    plain = DatasetSource(trained_world.folder, trained_world.as_of)  # not prepared
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('lookups') / 'audit.db'}")
    holder = ModelHolder(loaded.bundle.uri, lambda uri: (loaded.bundle, {}), lambda _: None)
    key = store.create_key("analyst", "test analyst")[1]
    clients = []
    for dataset in (source, plain):
        app = create_app(ApiConfig(store=store, holder=holder, dataset=dataset))
        client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
        assert sign_in(client, key).status_code == 303 and set_purpose(client).status_code == 303
        clients.append(client)
    headers = {"X-API-Key": key, "X-Purpose": "case 2026-118"}
    for entity in _sample(source, loaded)[:3]:
        fast, slow = (c.get(f"/v1/entities/{entity}/score", headers=headers) for c in clients)
        assert fast.status_code == slow.status_code == 200
        assert fast.json() == slow.json()
        page = clients[0].get(f"/ui/entities/{entity}")
        assert page.status_code == 200 and fast.json()["band"] in page.text.lower()
    assert clients[0].get("/v1/entities/NOPE/score", headers=headers).status_code == 404
    admin = {"X-API-Key": store.create_key("admin", "test admin")[1]}
    before = source.preparing
    assert clients[0].post("/v1/model/reload", headers=admin).status_code == 200
    worker = source.preparing
    assert worker is not None and worker is not before
    worker.join()  # prepared again, for the reloaded model
    assert source.prepared is not None and source.prepared.serves(
        holder.current.bundle, source.as_of
    )
