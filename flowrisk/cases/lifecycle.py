"""The rules of a case's life, pure: its statuses, the moves allowed between them, and the
reason codes a disposition takes (each reason closes the case one way and says what label,
if any, the decision gives the entity for training).

    open ──► in_review ──► escalated
      ▲          │  ▲          │
      └──────────┘  └──────────┘       any of the three ──dispose──► reported | dismissed

A status that closes a case (reported, dismissed) is reached only by a disposition with a
reason code; a closed case changes no more (a new case is opened instead)."""

from __future__ import annotations

from dataclasses import dataclass

from flowrisk.errors import InvalidParameter

__all__ = [
    "CLOSED",
    "EVENT_KINDS",
    "OPEN_STATUSES",
    "REASONS",
    "STATUSES",
    "TRANSITIONS",
    "Reason",
    "check_dispose",
    "check_transition",
    "reason_for",
]

STATUSES = ("open", "in_review", "escalated", "reported", "dismissed")
OPEN_STATUSES = ("open", "in_review", "escalated")
CLOSED = ("reported", "dismissed")
# the moves ``set_status`` makes; closing a case is ``dispose``'s job
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_review", "escalated"),
    "in_review": ("open", "escalated"),
    "escalated": ("in_review",),
    "reported": (),
    "dismissed": (),
}
EVENT_KINDS = ("opened", "note", "status", "assignment", "disposition")


@dataclass(frozen=True)
class Reason:
    """A disposition's reason code: the status it closes the case with, the training label
    it gives the entity (None: the decision says nothing about the entity) and its wording."""

    code: str
    closes_as: str
    label: int | None
    text: str


REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason("confirmed_suspicious", "reported", 1, "confirmed suspicious, reported"),
        Reason("insufficient_evidence", "dismissed", 0, "insufficient evidence"),
        Reason("explained_by_documents", "dismissed", 0, "explained by documents"),
        Reason("false_positive", "dismissed", 0, "false positive"),
        Reason("duplicate", "dismissed", None, "duplicate of another case"),
    )
}


def reason_for(code: str, name: str = "reason_code") -> Reason:
    """The reason of ``code``, or ``InvalidParameter`` naming ``name`` and the codes allowed."""
    reason = REASONS.get(code)
    if reason is None:
        raise InvalidParameter(name, f"must be one of {', '.join(REASONS)}, got {code!r}")
    return reason


def check_transition(case_id: str, current: str, target: str) -> None:
    """Refuse a status change the lifecycle does not allow, naming the rule broken."""
    if target not in STATUSES:
        raise InvalidParameter("status", f"must be one of {', '.join(STATUSES)}, got {target!r}")
    if current in CLOSED:
        raise InvalidParameter(
            "status", f"case {case_id} is closed ({current}): a closed case changes no more"
        )
    if target in CLOSED:
        raise InvalidParameter(
            "status",
            f"{target} closes a case: dispose of case {case_id} with a reason code instead",
        )
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(TRANSITIONS[current])
        raise InvalidParameter(
            "status", f"case {case_id} cannot go from {current} to {target} (allowed: {allowed})"
        )


def check_dispose(case_id: str, current: str) -> None:
    """Refuse the disposition of a case already closed."""
    if current in CLOSED:
        raise InvalidParameter(
            "reason_code", f"case {case_id} is already closed ({current}): it changes no more"
        )
