"""The failed-login policy (identity/lockout.py): answered at once for the first few failures,
then slowed one step more per failure up to a cap, then locked for a while."""

from __future__ import annotations

import pytest

from identity.lockout import LockoutPolicy, RateLimit

NOW = 1_800_000_000_000


def test_the_default_policy() -> None:
    policy = LockoutPolicy()
    assert [policy.delay_s(n) for n in range(12)] == [
        0.0,  # no failure yet
        0.0,
        0.0,
        0.0,  # three failures are free
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
        5.0,  # capped
        5.0,
        5.0,
    ]
    assert [policy.locked_until_ms(n, NOW) for n in range(10)] == [None] * 10
    assert policy.locked_until_ms(10, NOW) == NOW + 15 * 60 * 1000
    assert policy.locked_until_ms(11, NOW) == NOW + 15 * 60 * 1000


def test_the_worst_case_for_a_guesser() -> None:
    """What an attacker gets from the default policy: ten guesses, then a quarter of an hour
    of nothing; the ten take at least the sum of the delays."""
    policy = LockoutPolicy()
    assert (
        sum(policy.delay_s(n) for n in range(1, policy.lock_after + 1)) == 1 + 2 + 3 + 4 + 5 + 5 + 5
    )


@pytest.mark.parametrize(
    ("policy", "delays", "locked_at"),
    [
        (
            LockoutPolicy(free_failures=0, delay_step_s=0.5, max_delay_s=1.0, lock_after=3),
            [0.5, 1.0, 1.0],
            3,
        ),
        (
            LockoutPolicy(free_failures=2, delay_step_s=0.1, max_delay_s=10, lock_after=4),
            [0, 0, 0.1, 0.2],
            4,
        ),
        (LockoutPolicy(free_failures=5, lock_after=2), [0, 0], 2),
    ],
)
def test_small_policies(policy: LockoutPolicy, delays: list[float], locked_at: int) -> None:
    assert [policy.delay_s(n) for n in range(1, len(delays) + 1)] == pytest.approx(delays)
    assert policy.locked_until_ms(locked_at - 1, NOW) is None
    assert policy.locked_until_ms(locked_at, NOW) == NOW + int(policy.lock_s * 1000)


def test_lock_time_in_milliseconds() -> None:
    assert LockoutPolicy(lock_after=1, lock_s=2.5).locked_until_ms(1, NOW) == NOW + 2500


def test_the_policy_is_a_value() -> None:
    assert LockoutPolicy() == LockoutPolicy()
    with pytest.raises(AttributeError):
        LockoutPolicy().lock_after = 1  # type: ignore[misc]


def test_a_source_is_limited_in_a_sliding_window() -> None:
    """Twenty failures an hour by default, however they are spread, and nothing but time
    takes one back: the next is allowed once the oldest has left the window."""
    window = LockoutPolicy().source
    assert (window.limit, window.window_ms) == (20, 3600_000)
    earlier = [NOW + n * 1000 for n in range(19)]
    assert window.refused_until_ms(earlier, NOW + 19_000) is None
    earlier.append(NOW + 19_000)
    assert window.refused_until_ms(earlier, NOW + 20_000) == NOW + 3600_000
    assert window.refused_until_ms(earlier, NOW + 3600_000) is None
    # More than the limit (attempts made at once): allowed when enough have left.
    assert window.refused_until_ms([*earlier, NOW + 20_000], NOW + 21_000) == NOW + 3601_000


def test_a_rate_limit_ignores_what_has_left_the_window() -> None:
    limit = RateLimit(limit=2, window_s=10)
    assert limit.refused_until_ms([NOW - 10_000, NOW - 20_000, NOW - 1], NOW) is None
    assert limit.refused_until_ms([NOW - 2, NOW - 1], NOW) == NOW - 2 + 10_000
    assert limit.refused_until_ms([NOW - 1, NOW - 2], NOW) == NOW - 2 + 10_000
    assert limit.in_window([NOW - 10_000, NOW - 9_999], NOW) == [NOW - 9_999]
