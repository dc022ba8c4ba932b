"""World parameters: validation names the parameter; overrides replace what they say."""

from __future__ import annotations

import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.schema import TYPOLOGIES
from flowrisk.synth import DEFAULT_TYPOLOGIES, TypologyParams, WorldParams


def test_defaults_cover_every_typology() -> None:
    assert set(DEFAULT_TYPOLOGIES) == set(TYPOLOGIES)
    assert set(WorldParams().typologies) == set(TYPOLOGIES)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"entities": -5}, "entities"),
        ({"entities": 10}, "entities"),
        ({"months": 0}, "months"),
        ({"seed": -1}, "seed"),
        ({"company_share": 0.9}, "company_share"),
        ({"chunk_entities": 10}, "chunk_entities"),
        ({"typologies": {"smuggling": TypologyParams(0.01)}}, "typology"),
        ({"typologies": {"mule": TypologyParams(0.5)}}, "prevalence[mule]"),
        ({"typologies": {"mule": TypologyParams(float("nan"))}}, "prevalence[mule]"),
        ({"typologies": {"mule": TypologyParams(0.01, intensity=0)}}, "intensity[mule]"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict, name: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        WorldParams(**kwargs)
    assert info.value.name == name


def test_overrides() -> None:
    p = WorldParams().with_overrides(
        only=["mule", "crypto"], prevalence={"mule": 0.01}, intensity={"crypto": 2.0}
    )
    assert set(p.typologies) == {"mule", "crypto"}
    assert p.typologies["mule"].prevalence == 0.01
    assert p.typologies["crypto"].intensity == 2.0
    assert p.intensity("structuring") == 1.0
    with pytest.raises(InvalidParameter, match="unknown 'smurfing'"):
        WorldParams().with_overrides(prevalence={"smurfing": 0.01})


def test_to_dict_is_json_ready() -> None:
    import json

    d = WorldParams(entities=500).to_dict()
    assert json.loads(json.dumps(d))["entities"] == 500
    assert d["start"] == "2025-01-01"


def test_an_edge_list_world_carries_only_short_window_typologies() -> None:
    from flowrisk.schema import SHORT_WINDOW_TYPOLOGIES

    p = WorldParams.edge_list(entities=500)
    assert p.shape == "edge-list"
    assert set(p.typologies) == set(SHORT_WINDOW_TYPOLOGIES)
    assert set(p.with_overrides(prevalence={"cycle": 0.01}).typologies) == set(p.typologies)
    with pytest.raises(InvalidParameter, match="short-window") as info:
        WorldParams(shape="edge-list")
    assert info.value.name == "typology"
    with pytest.raises(InvalidParameter, match="short-window"):
        p.with_overrides(only=["structuring"])
    with pytest.raises(InvalidParameter) as info:
        WorldParams(shape="graph")
    assert info.value.name == "shape"
