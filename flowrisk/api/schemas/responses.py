"""The response bodies of the service: explained scores, the loaded model, readiness and the
problem document of every error, each field described and exemplified for the API
documentation."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from flowrisk.api.schemas.fields import Band, example_of

__all__ = [
    "BatchResponse",
    "FieldError",
    "Health",
    "ModelInfo",
    "Problem",
    "Readiness",
    "Reason",
    "RedFlag",
    "ScoreResponse",
]

_EVIDENCE = ["txn:9000000002", "txn:9000000003"]


class Reason(BaseModel):
    """One reason for the score: a feature of the entity, its contribution and its baseline."""

    family: str = Field(description="Family of features the reason belongs to", examples=["cash"])
    typology: str = Field(
        description="Laundering typology the reason points to", examples=["structuring"]
    )
    feature: str = Field(description="Feature behind the reason", examples=["cash_deposit_sum_90d"])
    direction: Literal["raises", "lowers"] = Field(
        description="Whether the feature raises or lowers the score", examples=["raises"]
    )
    contribution: float = Field(
        description="Contribution to the model's log-odds (TreeSHAP)", examples=[1.7946]
    )
    value: float = Field(description="The entity's value of the feature", examples=[28200.0])
    baseline: float | None = Field(
        description="The same feature among comparable honest entities (null when none is known)",
        examples=[0.0],
    )
    baseline_kind: str | None = Field(
        description="What the baseline is: the median of the entity's peers or of its sector",
        examples=["peer median"],
    )
    text: str = Field(
        description="The reason in words, with its baseline",
        examples=[
            "28,200 EUR of cash deposited in 90 days; honest people: median 0 EUR, "
            "90th percentile 862 EUR"
        ],
    )
    evidence: list[str] = Field(
        description="Ids of the records behind the reason (`txn:<id>`, `asset:<id>`, "
        "`report:<id>`, ...)",
        examples=[_EVIDENCE],
    )
    merged: list[str] = Field(
        default_factory=list,
        description="features of reasons backed by the same red flag, merged into this one",
        examples=[["cash_deposit_sum_365d"]],
    )


class RedFlag(BaseModel):
    """A pattern of the catalogue of red flags found in the entity's records."""

    flag: str = Field(description="Name of the red flag", examples=["cash_just_under_cosi"])
    family: str = Field(description="Family of features it belongs to", examples=["cash"])
    text: str = Field(
        description="What was found, in words",
        examples=[
            "2 cash deposits in 1 month (2024-10) each totalling between 8,500 and 9,999 EUR, "
            "just under the 10,000 EUR monthly cash report"
        ],
    )
    evidence: list[str] = Field(description="Ids of the records found", examples=[_EVIDENCE])


class ScoreResponse(BaseModel):
    """The explained score of one entity."""

    entity_id: str = Field(description="The entity scored", examples=["EX-P1"])
    as_of: datetime = Field(
        description="The instant of the score (events strictly before it count)",
        examples=["2025-01-01T00:00:00Z"],
    )
    probability: float = Field(
        gt=0,
        lt=1,
        description="Calibrated probability of laundering, strictly increasing in the model's "
        "output and never 0 or 1 (bounded by what the validation data supports)",
        examples=[0.4556],
    )
    score: float = Field(
        ge=0,
        le=100,
        description="0-100, five decimals: the calibrated probability on a log-odds scale "
        "from the model's floor (0) to its ceiling (100); equal steps are equal factors of the "
        "odds. The band is set on this displayed score, so a higher score never has a lower band",
        examples=[58.51424],
    )
    band: Band = Field(description="Risk band of the score", examples=["medium"])
    tags: list[str] = Field(
        description="Typologies the entity resembles, strongest first",
        examples=[["structuring", "unexplained_wealth"]],
    )
    reasons: list[Reason] | None = Field(
        None,
        description="Absent when the request asked for no explanation",
        examples=[[example_of(Reason)]],
    )
    red_flags: list[RedFlag] | None = Field(
        None,
        description="Red flags found; absent when the request asked for no explanation",
        examples=[[example_of(RedFlag)]],
    )
    model_version: str | None = Field(
        description="Registered version of the model that scored", examples=["3"]
    )


class BatchResponse(BaseModel):
    """The explained scores of a batch, in the order of its items."""

    items: list[ScoreResponse] = Field(
        description="One score per item of the request", examples=[[example_of(ScoreResponse)]]
    )


class FieldError(BaseModel):
    """What is wrong with one field of a request."""

    field: str = Field(
        description="The field, as a dotted path into the request", examples=["entity.country"]
    )
    message: str = Field(
        description="The rule it breaks",
        examples=["Value error, is not an ISO 3166-1 alpha-2 country code"],
    )


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(
        "about:blank", description="URI of the kind of problem", examples=["about:blank"]
    )
    title: str = Field(description="Short summary of the problem", examples=["Invalid request"])
    status: int = Field(description="The HTTP status code", examples=[422])
    detail: str | None = Field(
        None,
        description="What went wrong in this request",
        examples=["entity.country: Value error, is not an ISO 3166-1 alpha-2 country code"],
    )
    instance: str | None = Field(
        None, description="The path of the request", examples=["/v1/scores"]
    )
    errors: list[FieldError] | None = Field(
        None,
        description="Each field of the request that is wrong (at most 50)",
        examples=[[example_of(FieldError)]],
    )


class ModelInfo(BaseModel):
    """The model the service scores with."""

    name: str = Field(description="Registered model name", examples=["flowrisk"])
    uri: str = Field(
        description="Model URI the service follows", examples=["models:/flowrisk@champion"]
    )
    version: str | None = Field(description="Registered version loaded", examples=["3"])
    alias: str | None = Field(
        description="Alias the URI names, null for a pinned version", examples=["champion"]
    )
    feature_set: str = Field(description="Feature set the model was trained on", examples=["v1"])
    feature_set_version: str = Field(description="Version of that feature set", examples=["1.2.0"])
    loaded_at: datetime = Field(
        description="When this version was loaded", examples=["2026-12-03T06:22:43Z"]
    )
    heldout_metrics: dict[str, float] = Field(
        description="Metrics of the training run on its held-out entities",
        examples=[{"pr_auc": 0.81, "recall_at_1pct": 0.42}],
    )


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"] = Field(description="Always `ok`", examples=["ok"])


class Readiness(BaseModel):
    """The service can score and audit."""

    status: Literal["ready"] = Field(description="Always `ready`", examples=["ready"])
    model_version: str | None = Field(
        description="Registered version of the model serving", examples=["3"]
    )
