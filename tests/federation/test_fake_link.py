"""The exchange over a faulty link: whatever the link loses, repeats or reorders, every message
ends delivered exactly once — stored once by the receiver, settled once by the sender.

The sender's window (federation/window.py) and the receiver's plan (federation/inbound_plan.py)
are the code the real nodes run; only the link and the toy stores around them are fakes
(fake_link.py). The real-node tests of the same faults are in tests/integration.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.federation.fake_link import Fault, Link, network, run

COUNT = 12


def assert_exactly_once(link: Link) -> None:
    ids = {f"m{i:03}" for i in range(COUNT)}
    assert set(link.receiver.stored) == ids
    assert set(link.receiver.stored.values()) == {1}
    assert set(link.sender.delivered) == ids
    assert set(link.sender.delivered.values()) == {1}
    assert link.done()


def test_a_clean_link_delivers_everything_once_without_retries() -> None:
    link = network(COUNT)
    run(link, {})
    assert_exactly_once(link)
    assert link.sender.retried == 0
    assert link.sender.resets == 0


def test_a_lost_ack_is_sent_again_and_answered_with_the_first_receipt() -> None:
    link = network(COUNT)
    run(link, {3: [Fault.DROP_ACK]})
    assert_exactly_once(link)
    # The frame whose ack was lost went again; the receiver had stored it already.
    assert link.sender.resets + link.sender.retried > 0


def test_a_lost_frame_is_sent_again() -> None:
    link = network(COUNT)
    run(link, {2: [Fault.DROP_FRAME]})
    assert_exactly_once(link)


def test_a_duplicated_frame_is_stored_once() -> None:
    link = network(COUNT)
    run(link, {1: [Fault.DUPLICATE_FRAME], 4: [Fault.DUPLICATE_FRAME]})
    assert_exactly_once(link)


def test_acks_in_another_order_settle_nothing_wrongly() -> None:
    # Acks are positional (§5.2): an ack frame answering a later frame is matched with the
    # oldest; the receipts it carries are for other messages, fail the sender's check, and
    # those messages go again.
    link = network(COUNT)
    run(link, {3: [Fault.DELAY_ACK], 5: [Fault.DELAY_FRAME]})
    assert_exactly_once(link)
    assert link.sender.retried + link.sender.resets > 0


def test_a_peer_that_resets_mid_window_gets_the_window_again() -> None:
    link = network(COUNT)
    steps = 0
    while link.sender.window.in_flight < 4:  # frames out, some unanswered
        link.step(steps)
        steps += 1
    link.apply(Fault.RESET)
    assert link.sender.window.in_flight == 0
    run(link, {})
    assert_exactly_once(link)
    assert link.sender.resets == 1


def test_resets_in_a_row_lose_nothing() -> None:
    link = network(COUNT)
    run(link, {n: [Fault.RESET] for n in range(1, 12, 2)})
    assert_exactly_once(link)


faults = st.dictionaries(
    st.integers(min_value=0, max_value=60),
    st.lists(st.sampled_from(Fault), min_size=1, max_size=3),
    max_size=30,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=faults, window=st.integers(min_value=1, max_value=8))
def test_any_fault_schedule_delivers_everything_exactly_once(
    schedule: dict[int, list[Fault]], window: int
) -> None:
    link = network(COUNT, window=window)
    run(link, schedule)
    assert_exactly_once(link)
