"""Scores from payloads: ``POST /v1/scores`` (one entity) and ``POST /v1/scores:batch``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowrisk.api.deps import AnalystKey, Audited, AuditNote, Config, Explain, ScoreBody, json_body
from flowrisk.api.problems import ApiProblem, responses
from flowrisk.api.purpose import CheckedPurpose, purpose_openapi
from flowrisk.api.schemas import BatchRequest, BatchResponse, ScoreRequest, ScoreResponse
from flowrisk.api.service import ApiConfig, payload_frames
from flowrisk.models.scoring import score_frames

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["scores"])


def score_request(
    config: ApiConfig, note: AuditNote, body: ScoreRequest, explain: bool
) -> dict[str, Any]:
    """One payload's score, within the transactions limit; the note names the entity first,
    so that a refusal is audited against it."""
    note.entity_id = body.entity.entity_id
    if len(body.transactions) > config.max_transactions:
        raise ApiProblem(
            413,
            "Request too large",
            f"{len(body.transactions):,} transactions; at most "
            f"{config.max_transactions:,} per entity",
            field="transactions",
        )
    frames = payload_frames(body)
    return score_frames(frames, body.entity.entity_id, body.as_of, config.holder.current, explain)


@router.post(
    "/scores",
    response_model=ScoreResponse,
    responses=responses(400, 401, 403, 413, 422, 503),
    openapi_extra={**json_body(ScoreRequest), **purpose_openapi()},
    summary="Score one entity from a payload",
)
def score(
    _: AnalystKey,
    __: CheckedPurpose,
    body: ScoreBody,
    config: Config,
    note: Audited,
    explain: Explain = True,
) -> dict[str, Any]:
    """Score one entity from a full payload (entity, accounts, transactions and optionally
    assets, ownership and reports) as of ``as_of``. The ``X-Purpose`` header (a case
    reference) is required and recorded."""
    result = score_request(config, note, body, explain)
    note.results = [result]
    return result


@router.post(
    "/scores:batch",
    response_model=BatchResponse,
    responses=responses(400, 401, 403, 413, 422, 503),
    openapi_extra=purpose_openapi(),
    summary="Score several entities",
)
def score_batch(
    _: AnalystKey,
    __: CheckedPurpose,
    body: BatchRequest,
    config: Config,
    note: Audited,
    explain: Explain = True,
) -> dict[str, Any]:
    """Score several entities, each with its own payload; the ``X-Purpose`` header is
    required and recorded against each."""
    if len(body.items) > config.batch_max:
        raise ApiProblem(
            413,
            "Request too large",
            f"{len(body.items):,} entities; at most {config.batch_max:,} per batch",
            field="items",
        )
    seen: set[str] = set()
    for i, item in enumerate(body.items):
        if item.entity.entity_id in seen:
            raise ApiProblem(
                400,
                "Bad request",
                f"entity {item.entity.entity_id} is in the batch twice",
                field=f"items[{i}].entity.entity_id",
            )
        seen.add(item.entity.entity_id)
    results = [score_request(config, note, item, explain) for item in body.items]
    note.results = results
    return {"items": results}
