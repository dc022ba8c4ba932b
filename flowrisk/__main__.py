"""``python -m flowrisk`` runs the command line."""

from flowrisk.cli import app

app(prog_name="flowrisk")
