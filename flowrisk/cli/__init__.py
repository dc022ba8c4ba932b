"""The ``flowrisk`` command: one module per command group, each command parsing its options,
calling one service (``flowrisk.pipeline`` or a stage's public function) and printing the result.
Errors become one ``error:`` line and an exit code (0 ok, 1 failure, 2 bad arguments or input).
"""

# registration order is the order of the help's panels: the main job first
from flowrisk.cli import world  # noqa: I001
from flowrisk.cli import data, imports, models, scoring, service
from flowrisk.cli import audit, cases
from flowrisk.cli._app import app

__all__ = [
    "app",
    "audit",
    "cases",
    "data",
    "imports",
    "main",
    "models",
    "scoring",
    "service",
    "world",
]


def main() -> None:  # pragma: no cover - console entry point
    app()
