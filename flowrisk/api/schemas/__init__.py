"""Request and response models of the scoring service. Requests enforce the data contracts'
rules (``fields``); every field of both carries a description and an example for the API
documentation (``/docs``, ``/redoc``), and the examples compose into valid documents."""

from flowrisk.api.schemas.requests import (
    AccountIn,
    AssetIn,
    BatchRequest,
    EntityIn,
    OwnershipIn,
    ReportIn,
    ScoreRequest,
    TransactionIn,
)
from flowrisk.api.schemas.responses import (
    BatchResponse,
    FieldError,
    Health,
    ModelInfo,
    Problem,
    Readiness,
    Reason,
    RedFlag,
    ScoreResponse,
)

__all__ = [
    "AccountIn",
    "AssetIn",
    "BatchRequest",
    "BatchResponse",
    "EntityIn",
    "FieldError",
    "Health",
    "ModelInfo",
    "OwnershipIn",
    "Problem",
    "Readiness",
    "Reason",
    "RedFlag",
    "ReportIn",
    "ScoreRequest",
    "ScoreResponse",
    "TransactionIn",
]
