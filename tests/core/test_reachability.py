"""Which neighbours are Pinged: new ones and those with messages pending; the rest left idle."""

from __future__ import annotations

from core.reachability import IDLE, condition, split_due


def test_a_neighbour_that_never_answered_is_asked_even_with_nothing_to_send() -> None:
    assert split_due(["CN-SH"], answered=set(), with_work=set()) == (["CN-SH"], [])


def test_a_neighbour_that_answered_is_asked_again_only_with_messages_pending() -> None:
    ask, idle = split_due(["CN-SH", "CN-GD"], answered={"CN-SH", "CN-GD"}, with_work={"CN-GD"})
    assert (ask, idle) == (["CN-GD"], ["CN-SH"])


def test_an_idle_neighbour_is_named_so_not_up_nor_down() -> None:
    assert condition(None) == IDLE == "not probed (idle)"
    assert (condition(True), condition(False)) == ("reachable", "unreachable")
