from __future__ import annotations

import pytest

from core.backoff import Backoff


def test_waits_double_up_to_the_cap() -> None:
    b = Backoff(base_s=0.5, cap_s=8)
    assert [b.ceiling_s(n) for n in range(7)] == [0, 0.5, 1, 2, 4, 8, 8]
    assert b.ceiling_s(10_000) == 8


@pytest.mark.parametrize("rand", [0.0, 0.5, 0.999])
def test_jitter_stays_between_half_the_ceiling_and_the_ceiling(rand: float) -> None:
    b = Backoff(base_s=1, cap_s=60)
    for failures in range(1, 12):
        ceiling = b.ceiling_s(failures)
        assert ceiling / 2 <= b.delay_s(failures, rand) <= ceiling
    assert b.delay_s(0, rand) == 0
