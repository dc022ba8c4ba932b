"""The scoring service's command: ``serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowrisk.cli._app import app, console, exits
from flowrisk.cli.scoring import ModelOption

__all__ = ["PANEL", "serve"]

PANEL = "The scoring service"


@app.command(rich_help_panel=PANEL)
@exits
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    dataset: Annotated[
        Path | None, typer.Option(help="Dataset for GET /v1/entities/{id}/score.")
    ] = None,
    model: ModelOption = None,
) -> None:
    """Serve the scoring API with uvicorn (keys: `flowrisk keys create`)."""
    import uvicorn

    from flowrisk.api import app_from_settings

    api = app_from_settings(dataset, model)
    console.print(f"flowrisk API on http://{host}:{port} (docs at /docs)", highlight=False)
    uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False)
