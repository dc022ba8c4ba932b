"""The lifecycle's rules, pure: every move allowed or refused with the rule named."""

from __future__ import annotations

import pytest

from flowrisk.cases.lifecycle import (
    CLOSED,
    REASONS,
    STATUSES,
    TRANSITIONS,
    check_dispose,
    check_transition,
    reason_for,
)
from flowrisk.errors import InvalidParameter


def test_every_status_has_its_moves_and_closed_ones_have_none() -> None:
    assert set(TRANSITIONS) == set(STATUSES)
    assert all(TRANSITIONS[s] == () for s in CLOSED)
    assert all(t not in CLOSED for moves in TRANSITIONS.values() for t in moves)


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_a_move_is_allowed_exactly_when_the_table_says(current: str, target: str) -> None:
    if target in TRANSITIONS[current]:
        check_transition("C-2026-0001", current, target)
        return
    with pytest.raises(InvalidParameter) as caught:
        check_transition("C-2026-0001", current, target)
    message = str(caught.value)
    assert message.startswith("status: ") and "C-2026-0001" in message
    if current in CLOSED:
        assert "closed" in message
    elif target in CLOSED:
        assert "dispose" in message and "reason code" in message
    else:
        assert f"from {current} to {target}" in message


def test_unknown_status_and_reason_are_named() -> None:
    with pytest.raises(InvalidParameter, match="status: must be one of open"):
        check_transition("C-1", "open", "closed")
    with pytest.raises(InvalidParameter, match="reason_code: must be one of confirmed_suspicious"):
        reason_for("looks_fine")


def test_reasons_close_as_reported_or_dismissed_with_their_labels() -> None:
    assert reason_for("confirmed_suspicious").closes_as == "reported"
    assert reason_for("confirmed_suspicious").label == 1
    dismissing = [r for r in REASONS.values() if r.closes_as == "dismissed"]
    assert {r.label for r in dismissing} == {0, None}
    assert reason_for("duplicate").label is None  # says nothing about the entity
    assert {r.closes_as for r in REASONS.values()} == set(CLOSED)


def test_a_closed_case_cannot_be_disposed_of_again() -> None:
    check_dispose("C-1", "escalated")
    with pytest.raises(InvalidParameter, match="already closed"):
        check_dispose("C-1", "dismissed")
