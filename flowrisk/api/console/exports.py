"""A case's files from its console page: the case report as PDF (``/ui/cases/{id}/report.pdf``,
with the money network drawn) and the goAML suspicious-transaction report
(``/ui/cases/{id}/goaml.xml``, built as ``flowrisk cases export`` builds it and validated
against the shipped XSD). Each download leaves one audit row, committed before the file is
sent; a refusal leaves one too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import Response

from flowrisk.api.console.auth import (
    ConsoleRefused,
    ConsoleUser,
    PurposeSet,
    Viewer,
    audit_row,
    audit_view,
)
from flowrisk.api.console.cases import case_store
from flowrisk.api.console.entity import _scores_of
from flowrisk.api.console.pages import SECURITY_HEADERS
from flowrisk.api.service import ApiConfig
from flowrisk.cases import Case
from flowrisk.errors import ConfigError, EntityNotFound, InvalidParameter, ModelNotFound
from flowrisk.models.scoring import Loaded, score_frames
from flowrisk.reports.case import case_report, case_report_pdf, report_network
from flowrisk.reports.facts import entity_facts
from flowrisk.reports.goaml import goaml_xml, validate_goaml
from flowrisk.reports.goaml_build import case_goaml, reporting_entity

__all__ = ["router"]

router = APIRouter(tags=["console"], include_in_schema=False)
TITLES = {404: "Not found", 422: "Report refused", 503: "Service unavailable"}


@dataclass(frozen=True)
class Explained:
    """A case with its entity explained on the service's dataset by the served model."""

    case: Case
    row: dict[str, Any]
    facts: dict[str, Any]
    frames: dict[str, pl.LazyFrame]
    as_of: datetime
    loaded: Loaded


def _refuse(
    request: Request, user: ConsoleUser, status: int, why: str, entity_id: str | None = None
) -> NoReturn:
    """The refusal's audit row, then the refusal as an HTML page."""
    audit_row(request, user, status=status, entity_id=entity_id, action="export refused")
    raise ConsoleRefused(status, TITLES[status], why)


def _explained(request: Request, user: ConsoleUser, case_id: str) -> Explained:
    """The case and its entity explained, or a refusal (audited) saying why not."""
    try:
        case = case_store(request).get(case_id)
    except InvalidParameter as exc:
        _refuse(request, user, 404, str(exc))
    config: ApiConfig = request.app.state.config
    if config.dataset is None:
        _refuse(request, user, 404, "the service was started without a dataset", case.entity_id)
    try:
        frames = config.dataset.frames_for(case.entity_id)
        loaded = config.holder.current
    except EntityNotFound as exc:
        _refuse(request, user, 404, str(exc), case.entity_id)
    except ModelNotFound as exc:
        _refuse(request, user, 503, str(exc), case.entity_id)
    as_of = config.dataset.as_of
    row = score_frames(frames, case.entity_id, as_of, loaded, True)
    facts = entity_facts(frames, case.entity_id, as_of)
    return Explained(case, row, facts, frames, as_of, loaded)


def _file(content: bytes, media_type: str, filename: str) -> Response:
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type=media_type, headers=headers)


def _safe(case_id: str) -> str:
    """The case id as a file name part (ids are ``C-2026-0001``; anything else replaced)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in case_id)


@router.get("/ui/cases/{case_id}/report.pdf")
def case_pdf(request: Request, user: Viewer, _: PurposeSet, case_id: str) -> Response:
    """The case report of the case's entity as PDF, the case as its reference, in the user's
    language, with the money network drawn."""
    x = _explained(request, user, case_id)
    network = report_network(x.frames, x.row, x.as_of, user.locale, _scores_of(request))
    bundle = x.loaded.bundle
    page = case_report(
        x.row,
        x.facts,
        as_of=x.as_of,
        model=f"{bundle.uri} (version {bundle.version})",
        locale=user.locale,
        case_reference=x.case.id,
        analyst=user.label or user.key_id,
        network_svg=network,
    )
    pdf = case_report_pdf(page)
    audit_view(request, user, entity_id=x.case.entity_id, action="export pdf", detail=x.case.id)
    return _file(pdf, "application/pdf", f"{_safe(x.case.id)}-report.pdf")


@router.get("/ui/cases/{case_id}/goaml.xml")
def case_goaml_xml(request: Request, user: Viewer, _: PurposeSet, case_id: str) -> Response:
    """The case's goAML suspicious-transaction report, validated against the shipped XSD."""
    config: ApiConfig = request.app.state.config
    try:
        rentity = reporting_entity(config.reporting_entity_id)
    except ConfigError as exc:
        _refuse(request, user, 503, str(exc))
    x = _explained(request, user, case_id)
    xml = goaml_xml(case_goaml(x.row, x.facts, x.case, reporting_entity=rentity))
    try:
        validate_goaml(xml)
    except InvalidParameter as exc:
        _refuse(request, user, 422, str(exc), x.case.entity_id)
    audit_view(request, user, entity_id=x.case.entity_id, action="export goaml", detail=x.case.id)
    return _file(xml, "application/xml", f"{_safe(x.case.id)}-goaml.xml")
