"""Entities of the dataset the service was started on: ``GET /v1/entities/{entity_id}/score``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from flowrisk.api.deps import AnalystKey, Audited, Config, Explain
from flowrisk.api.problems import ApiProblem, responses
from flowrisk.api.purpose import CheckedPurpose, purpose_openapi
from flowrisk.api.schemas import ScoreResponse

__all__ = ["router"]

router = APIRouter(prefix="/v1/entities", tags=["scores"])

# printable: a NUL or another control character in an id is refused (422) before any lookup
EntityId = Annotated[
    str,
    PathParam(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Id of an entity of the dataset the service was started on",
        examples=["E00000042"],
    ),
]


@router.get(
    "/{entity_id}/score",
    response_model=ScoreResponse,
    responses=responses(400, 401, 403, 404, 422, 503),
    openapi_extra=purpose_openapi(),
    summary="Score an entity of the served dataset",
)
def entity_score(
    entity_id: EntityId,
    _: AnalystKey,
    __: CheckedPurpose,
    config: Config,
    note: Audited,
    explain: Explain = True,
) -> dict[str, Any]:
    """Score an entity of the dataset the service was started on (``--dataset``). The
    ``X-Purpose`` header (a case reference) is required and recorded."""
    note.entity_id = entity_id
    if config.dataset is None:
        raise ApiProblem(404, "Not found", "the service was started without a dataset")
    result = config.dataset.score(entity_id, config.holder.current, explain)
    note.results = [result]
    return result
