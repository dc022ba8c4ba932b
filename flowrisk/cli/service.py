"""The scoring service's command: ``serve``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from flowrisk.api.logs import LogLevel
from flowrisk.cli._app import app, console, err_console, exits
from flowrisk.cli.scoring import ModelOption
from flowrisk.errors import AuditChainBroken, DatasetNotFound, InvalidParameter

__all__ = ["PANEL", "serve"]

PANEL = "The scoring service"
FACTORY = "flowrisk.api.app:app_from_environment"
PROTOCOL = "flowrisk.api.limits:CappedH11Protocol"
# how long uvicorn's supervisor waits for a worker's answer before killing it as hung (uvicorn's
# default, 5 s, killed workers still loading the model and the dataset on a busy machine, over
# and over, so that two workers served as one)
WORKER_HEALTHCHECK_SECONDS = 120


@app.command(rich_help_panel=PANEL)
@exits
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    dataset: Annotated[
        Path | None, typer.Option(help="Dataset for GET /v1/entities/{id}/score.")
    ] = None,
    model: ModelOption = None,
    scores: Annotated[
        Path | None,
        typer.Option(
            help="A `flowrisk score --out` folder: the console's alert queue (at /ui/queue)."
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (each loads the model).")
    ] = 1,
    log_level: Annotated[
        LogLevel, typer.Option(help="Least severe log line written (JSON on stderr).")
    ] = "info",
    allow_broken_audit: Annotated[
        bool,
        typer.Option(
            "--allow-broken-audit",
            help="Serve even when the audit trail's hash chain is broken (logged).",
        ),
    ] = False,
) -> None:
    """Serve the scoring API with uvicorn (keys: `flowrisk keys create`). The audit trail's
    chain is checked first: a broken one refuses to start (exit 1) unless
    --allow-broken-audit."""
    import uvicorn

    from flowrisk.api import app_from_settings
    from flowrisk.api.limits import server_header_cap
    from flowrisk.api.logs import log_config
    from flowrisk.config import get_settings

    settings = get_settings()
    broken = _check_audit_chain(settings.audit_url, settings.audit_timeout_seconds)
    if broken is not None and not allow_broken_audit:
        raise AuditChainBroken(
            broken.row_id, f"{broken}; refusing to serve (--allow-broken-audit to serve anyway)"
        )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": PROTOCOL,
        "h11_max_incomplete_event_size": server_header_cap(settings.api_max_header_bytes),
        "log_config": log_config(log_level),
        "log_level": log_level,
        "access_log": False,  # one JSON line per request comes from flowrisk.api.logs
    }
    _check_scores(scores)
    if workers == 1:
        api = app_from_settings(dataset, model, scores)
        _announce(host, port, workers, broken)
        uvicorn.run(api, **options)
        return
    _check_model(dataset, model)  # once here: a worker that cannot start would be restarted
    if dataset is not None:
        os.environ["FLOWRISK_SERVE_DATASET"] = str(dataset.resolve())
    if model is not None:
        os.environ["FLOWRISK_SERVE_MODEL"] = model
    if scores is not None:
        os.environ["FLOWRISK_SERVE_SCORES"] = str(scores.resolve())
    _announce(host, port, workers, broken)
    uvicorn.run(
        FACTORY,
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        **options,
    )


def _check_audit_chain(url: str, timeout: float) -> AuditChainBroken | None:
    """The audit trail's first break, or None when its chain is whole."""
    from flowrisk.audit import Store

    try:
        Store(url, timeout=timeout).check_chain()
    except AuditChainBroken as exc:
        return exc
    return None


def _check_model(dataset: Path | None, model: str | None) -> None:
    """Load the model once, as each worker will, and look for the dataset folder: what cannot
    be loaded is one error line here, not a traceback from every worker."""
    from flowrisk.api.app import registry_loader
    from flowrisk.models.registry import model_uri

    if dataset is not None and not dataset.is_dir():
        raise DatasetNotFound(f"{dataset}: no such dataset folder")
    registry_loader(model or model_uri())


def _check_scores(scores: Path | None) -> None:
    """A scoring output for the queue must be a finished run (its run.json written last)."""
    if scores is not None and not (scores / "run.json").is_file():
        raise InvalidParameter(
            "--scores", f"{scores}: no run.json, so not a finished `flowrisk score` output"
        )


def _announce(host: str, port: int, workers: int, broken: AuditChainBroken | None) -> None:
    """Where the service listens (stdout); a broken audit chain served anyway (stderr)."""
    if broken is not None:
        err_console.print(f"warning: serving on a broken audit trail: {broken}", highlight=False)
    plural = "s" if workers > 1 else ""
    console.print(
        f"flowrisk API on http://{host}:{port} (docs at /docs, console at /ui, "
        f"{workers} worker{plural})",
        highlight=False,
    )
