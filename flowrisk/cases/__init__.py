"""The cases room: what analysts decide about an alert or an entity. Cases and their
append-only timelines live in the service's database (Alembic migrations shipped here), every
change is audited, and closed cases become training labels (:mod:`flowrisk.cases.feedback`)."""

from flowrisk.cases.lifecycle import REASONS, STATUSES, TRANSITIONS, Reason
from flowrisk.cases.store import Actor, Alert, Case, CaseEvent, CaseStore

__all__ = [
    "REASONS",
    "STATUSES",
    "TRANSITIONS",
    "Actor",
    "Alert",
    "Case",
    "CaseEvent",
    "CaseStore",
    "Reason",
]
