"""The state-table helper (core/states.py) and the tables built with it: terminal statuses are
left by nothing, a forbidden transition is a typed refusal, and storage's SQL spells statuses
from the same enums."""

from __future__ import annotations

import enum

import pytest

from core import certificate_status, declaration_status, outbox_status, sharing
from core.errors import FailedPrecondition
from core.states import ForbiddenTransition, StateTable
from storage.status_sql import listed, literal

TABLES: list[StateTable[enum.Enum, object]] = [
    outbox_status.TABLE,  # type: ignore[list-item]
    declaration_status.TABLE,  # type: ignore[list-item]
    declaration_status.REVIEWS,  # type: ignore[list-item]
    declaration_status.WORK,  # type: ignore[list-item]
    certificate_status.TABLE,  # type: ignore[list-item]
    sharing.GRANTS,  # type: ignore[list-item]
]


class Light(enum.StrEnum):
    RED = "red"
    GREEN = "green"
    OFF = "off"


def _refusal(state: Light, transition: str, target: Light) -> ForbiddenTransition:
    return ForbiddenTransition(
        "light.bad", f"{state} cannot {transition} to {target}", state=state, transition=transition
    )


LIGHTS = StateTable(
    "light",
    {
        "go": (frozenset({Light.RED}), Light.GREEN),
        "stop": (frozenset({Light.GREEN}), Light.RED),
        "off": (frozenset({Light.RED, Light.GREEN}), Light.OFF),
    },
    frozenset({Light.OFF}),
    _refusal,
)


def test_next_and_check_follow_the_table() -> None:
    assert LIGHTS.next(Light.RED, "go") is Light.GREEN
    assert LIGHTS.next(Light.GREEN, "go") is None
    assert LIGHTS.check(Light.GREEN, "stop") is Light.RED
    assert LIGHTS.sources("off") == {Light.RED, Light.GREEN}
    assert LIGHTS.target("off") is Light.OFF
    assert list(LIGHTS) == ["go", "stop", "off"]


def test_a_forbidden_transition_is_a_typed_failed_precondition() -> None:
    with pytest.raises(ForbiddenTransition) as refused:
        LIGHTS.check(Light.OFF, "go")
    assert isinstance(refused.value, FailedPrecondition)
    assert refused.value.reason == "light.bad"
    assert refused.value.message == "off cannot go to green"
    assert refused.value.state is Light.OFF
    assert refused.value.transition == "go"


def test_a_table_whose_terminal_status_is_left_is_not_built() -> None:
    with pytest.raises(ValueError, match="leaves terminal"):
        StateTable(
            "bad", {"go": (frozenset({Light.OFF}), Light.RED)}, frozenset({Light.OFF}), _refusal
        )


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_no_transition_of_any_machine_leaves_a_terminal_status(
    table: StateTable[enum.Enum, object],
) -> None:
    for transition in table:
        assert not table.sources(transition) & table.terminal


def test_a_work_item_is_claimed_once_and_held_while_inspected() -> None:
    W, R = declaration_status.WorkStatus, declaration_status.Review
    assert declaration_status.WORK.next(W.OPEN, "claim") is W.CLAIMED
    assert declaration_status.WORK.next(W.CLAIMED, "claim") is None
    assert declaration_status.work_after(W.CLAIMED, R.INSPECTION) is W.CLAIMED
    assert declaration_status.work_after(W.OPEN, R.ACCEPTED) is W.DECIDED
    with pytest.raises(ForbiddenTransition):
        declaration_status.work_after(W.DECIDED, R.ACCEPTED)


def test_storage_spells_statuses_from_the_enums() -> None:
    S = outbox_status.Status
    assert literal(S.QUEUED) == "'queued'"
    assert listed(S.QUEUED, S.FAILED) == "('queued', 'failed')"
