"""Entities of the dataset the service was started on: ``GET /v1/entities/{entity_id}/score``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from flowrisk.api.deps import PURPOSE, AnalystKey, Audited, Config, Explain, Purpose
from flowrisk.api.problems import ApiProblem, responses
from flowrisk.api.schemas import ScoreResponse
from flowrisk.models.scoring import score_frames

__all__ = ["router"]

router = APIRouter(prefix="/v1/entities", tags=["scores"])

EntityId = Annotated[str, PathParam(min_length=1, max_length=64)]


@router.get(
    "/{entity_id}/score",
    response_model=ScoreResponse,
    responses=responses(400, 401, 403, 404, 422, 503),
)
def entity_score(
    entity_id: EntityId,
    _: AnalystKey,
    config: Config,
    note: Audited,
    purpose: Purpose = None,
    explain: Explain = True,
) -> dict[str, Any]:
    """Score an entity of the dataset the service was started on (``--dataset``). The
    ``X-Purpose`` header (a case reference) is required and recorded."""
    note.entity_id = entity_id
    if not purpose or not purpose.strip():
        raise ApiProblem(
            400,
            "Purpose required",
            f"entity lookups need a {PURPOSE} header (case reference)",
            field=PURPOSE,
        )
    if config.dataset is None:
        raise ApiProblem(404, "Not found", "the service was started without a dataset")
    frames = config.dataset.frames_for(entity_id)
    result = score_frames(frames, entity_id, config.dataset.as_of, config.holder.current, explain)
    note.results = [result]
    return result
