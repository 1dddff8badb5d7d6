"""Keys over time (PROTOCOL.md §2.9): validity, overlap, retirement, the signer's choice, and a
directory version that never goes back."""

from __future__ import annotations

import pytest

from core.errors import PermissionDenied, Unauthenticated
from core.key_lifetimes import (
    Lifetime,
    RotationPlan,
    ca_prunable,
    check_signed_before_retirement,
    check_usable,
    latest_certificate_end,
    next_directory_version,
    refusal,
    renewal_due,
    rotate,
    signing_choice,
)
from swf.v1 import directory_pb2 as pb

T = 1_800_000_000_000
MIN = 60_000


def key(name: str) -> pb.PublicKey:
    return pb.PublicKey(key_id=f"CN-GD/sig/{name}", public_key=name.encode() * 4)


def test_an_unbounded_key_is_always_usable() -> None:
    assert refusal(Lifetime(), 0) is None
    assert refusal(Lifetime(), T) is None


def test_a_key_is_refused_from_its_retirement_on_with_its_reason() -> None:
    life = Lifetime(retired_at=T)
    assert refusal(life, T - 1) is None
    with pytest.raises(PermissionDenied) as info:
        check_usable(life, T, what="signing key CN-GD/sig/a", skew_ms=5 * MIN)
    assert info.value.reason == "key.retired"
    assert "CN-GD/sig/a" in info.value.message


def test_lifetime_bounds_allow_skew_at_the_start_only() -> None:
    life = Lifetime(not_before=T, not_after=T + 10 * MIN)
    assert refusal(life, T - MIN, skew_ms=2 * MIN) is None
    with pytest.raises(Unauthenticated) as early:
        check_usable(life, T - 3 * MIN, what="k", skew_ms=2 * MIN)
    assert early.value.reason == "key.not_yet_valid"
    with pytest.raises(Unauthenticated) as late:
        check_usable(life, T + 10 * MIN, what="k", skew_ms=2 * MIN)
    assert late.value.reason == "key.expired"


def test_evidence_counts_what_a_key_signed_before_its_retirement() -> None:
    life = Lifetime(retired_at=T)
    check_signed_before_retirement(life, T - 1, what="k")
    with pytest.raises(PermissionDenied):
        check_signed_before_retirement(life, T + 1, what="k")


def test_rotation_overlaps_the_old_key_and_activates_the_new_one_later() -> None:
    plan = RotationPlan(activation_ms=2 * MIN, overlap_ms=10 * MIN, lifetime_ms=60 * MIN)
    keys = rotate([key("a")], key("b"), now_ms=T, plan=plan)
    old, new = keys
    assert old.retired_at_unix_ms == T + 12 * MIN
    assert new.not_before_unix_ms == T + 2 * MIN
    assert new.not_after_unix_ms == T + 62 * MIN
    held = {"CN-GD/sig/a", "CN-GD/sig/b"}
    # Until the new key is valid everywhere, the node signs with the old one; then the new.
    assert signing_choice(keys, held, T + MIN) == "CN-GD/sig/a"
    assert signing_choice(keys, held, T + 2 * MIN) == "CN-GD/sig/b"
    # Through the overlap both verify; after it, only the new.
    assert refusal(Lifetime.of(old), T + 11 * MIN) is None
    assert refusal(Lifetime.of(old), T + 12 * MIN) is not None


def test_rotation_now_retires_every_other_key_at_once_and_keeps_them_listed() -> None:
    plan = RotationPlan(activation_ms=2 * MIN, overlap_ms=10 * MIN)
    first = rotate([key("a")], key("b"), now_ms=T, plan=plan)
    second = rotate(first, key("c"), now_ms=T + MIN, plan=plan, retire_now=True)
    assert [k.key_id[-1] for k in second] == ["a", "b", "c"]
    assert all(k.retired_at_unix_ms == T + MIN for k in second[:2])
    assert second[2].not_before_unix_ms == T + MIN and second[2].retired_at_unix_ms == 0
    assert signing_choice(second, {"CN-GD/sig/c"}, T + MIN) == "CN-GD/sig/c"


def test_a_rotation_never_extends_an_earlier_retirement() -> None:
    plan = RotationPlan(activation_ms=0, overlap_ms=60 * MIN)
    now = rotate([key("a")], key("b"), now_ms=T, plan=plan, retire_now=True)
    later = rotate(now, key("c"), now_ms=T + MIN, plan=plan)
    assert later[0].retired_at_unix_ms == T


def test_a_rotation_needs_a_new_key() -> None:
    with pytest.raises(PermissionDenied) as info:
        rotate([key("a")], key("a"), now_ms=T, plan=RotationPlan(0, 0))
    assert info.value.reason == "key.reused"


def test_renewal_is_due_after_the_fraction_of_the_lifetime() -> None:
    life = Lifetime(not_before=T, not_after=T + 90 * MIN)
    assert not renewal_due(life, T, T + 59 * MIN, 2 / 3)
    assert renewal_due(life, T, T + 60 * MIN, 2 / 3)
    assert not renewal_due(Lifetime(), T, T + 10**9, 2 / 3)
    # A configured lifetime shortens a longer (or endless) one: minutes, to watch it happen.
    assert renewal_due(life, T, T + 2 * MIN, 2 / 3, cap_ms=3 * MIN)
    assert not renewal_due(Lifetime(), T, T + MIN, 2 / 3, cap_ms=3 * MIN)
    assert renewal_due(Lifetime(), T, T + 2 * MIN, 2 / 3, cap_ms=3 * MIN)


def test_a_restored_central_continues_above_what_members_saw() -> None:
    assert next_directory_version(5, 0) == 6
    assert next_directory_version(5, 9) == 10


def test_a_retired_ca_is_pruned_once_every_certificate_it_issued_has_expired() -> None:
    retired, lifetime, default, ca_end = 1_000_000, 120_000, 397 * 86_400_000, 10**13
    # Never while it is not retired; with a short lifetime, from its retirement + that lifetime.
    assert not ca_prunable(0, ca_end, lifetime, default, 10**12)
    assert not ca_prunable(retired, ca_end, lifetime, default, retired + lifetime - 1)
    assert ca_prunable(retired, ca_end, lifetime, default, retired + lifetime)
    # Without one, the default validity counts; nothing outlives the CA's own certificate.
    assert not ca_prunable(retired, ca_end, 0, default, retired + lifetime)
    assert ca_prunable(retired, ca_end, 0, default, retired + default)
    assert ca_prunable(retired, retired + 5, 0, default, retired + 5)
    assert latest_certificate_end(retired, lifetime, default) == retired + lifetime
