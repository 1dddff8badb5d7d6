"""Keys over time: which listed key is valid at an instant, how a rotation overlaps the old key
with the new one, and when it retires (docs/PROTOCOL.md §2.9).

A directory may list several keys of one purpose for a node: the current one and, during a
rotation's overlap, the previous ones. Each has a lifetime (`not_before`, `not_after`; 0 is
unbounded) and, once rotated out, a `retired_at`. A retired key stays listed, so that evidence it
signed before its retirement verifies offline (§4.5); from `retired_at` on, nothing signed with it
is accepted. Everything here is a pure function of the keys and the instant it is handed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from core.errors import PermissionDenied, SwnodeError, Unauthenticated
from swf.v1 import directory_pb2 as pb

__all__ = [
    "ROTATE_DOMAIN",
    "UNBOUNDED",
    "Lifetime",
    "RotationPlan",
    "check_signed_before_retirement",
    "check_usable",
    "next_directory_version",
    "refusal",
    "renewal_due",
    "rotate",
    "rotation_proof_message",
    "signing_choice",
]


@dataclass(frozen=True)
class Lifetime:
    """The validity of a listed key, Unix milliseconds; 0 is unbounded (or, for `retired_at`,
    not retired)."""

    not_before: int = 0
    not_after: int = 0
    retired_at: int = 0

    @classmethod
    def of(cls, key: pb.PublicKey) -> Lifetime:
        return cls(key.not_before_unix_ms, key.not_after_unix_ms, key.retired_at_unix_ms)


UNBOUNDED = Lifetime()


def refusal(life: Lifetime, at_ms: int, skew_ms: int = 0) -> SwnodeError | None:
    """Why a key of lifetime `life` must not be accepted for something signed (or used) at
    `at_ms`; None if it may. A retirement is exact (no skew: after a compromise not a millisecond
    more); the start of the lifetime allows `skew_ms` for clocks ahead."""
    if life.retired_at and at_ms >= life.retired_at:
        return PermissionDenied(
            "key.retired",
            f"the key was retired at {_when(life.retired_at)}; nothing it signs is accepted",
        )
    if life.not_before and at_ms + skew_ms < life.not_before:
        return Unauthenticated(
            "key.not_yet_valid", f"the key is valid only from {_when(life.not_before)}"
        )
    if life.not_after and at_ms >= life.not_after:
        return Unauthenticated("key.expired", f"the key expired at {_when(life.not_after)}")
    return None


def _when(unix_ms: int) -> str:
    return f"{unix_ms} (Unix ms)"


def check_usable(life: Lifetime, at_ms: int, *, what: str, skew_ms: int = 0) -> None:
    """Raise the refusal of `refusal`, naming `what` (e.g. "signing key CN-GD/sig/…")."""
    found = refusal(life, at_ms, skew_ms)
    if found is not None:
        found.message = f"{what}: {found.message}"
        found.args = (found.message,)
        raise found


def check_signed_before_retirement(life: Lifetime, signed_at_ms: int, *, what: str) -> None:
    """Offline evidence (§4.5): what a key signed counts if the key was valid when it signed,
    judged by the signed time the evidence itself carries."""
    check_usable(life, signed_at_ms, what=what, skew_ms=5 * 60_000)


@dataclass(frozen=True)
class RotationPlan:
    """How long a rotation overlaps: the new key is published `activation_ms` before it is used
    (so every peer's directory lists it first), and the old key stays accepted `overlap_ms`
    after that."""

    activation_ms: int
    overlap_ms: int
    lifetime_ms: int = 0  # 0: the new key has no end of life


def rotate(
    keys: Sequence[pb.PublicKey],
    new: pb.PublicKey,
    *,
    now_ms: int,
    plan: RotationPlan,
    retire_now: bool = False,
) -> list[pb.PublicKey]:
    """The keys of one purpose after `new` replaces the listed ones: the new key valid from
    `now + activation` (at once with `retire_now`); every key not yet retired retires at the end
    of the overlap, or at once with `retire_now` (a suspected compromise). Keys retired before
    stay as they are, and the list never shrinks: retired keys remain for evidence."""
    if any(k.key_id == new.key_id for k in keys):
        raise PermissionDenied(
            "key.reused", f"key {new.key_id} is already listed; a rotation needs a new key"
        )
    starts = now_ms if retire_now else now_ms + plan.activation_ms
    retire = now_ms if retire_now else starts + plan.overlap_ms
    out = []
    for key in keys:
        updated = pb.PublicKey()
        updated.CopyFrom(key)
        if not key.retired_at_unix_ms or key.retired_at_unix_ms > retire:
            updated.retired_at_unix_ms = retire
        out.append(updated)
    fresh = pb.PublicKey()
    fresh.CopyFrom(new)
    fresh.not_before_unix_ms = starts
    fresh.not_after_unix_ms = starts + plan.lifetime_ms if plan.lifetime_ms else 0
    fresh.retired_at_unix_ms = 0
    out.append(fresh)
    return out


def signing_choice(
    listed: Sequence[pb.PublicKey], held: Collection[str], now_ms: int
) -> str | None:
    """The key this node signs with at `now_ms`: of its keys the directory lists and whose
    private half it holds, the usable one that became valid last; None if none is usable."""
    usable = [k for k in listed if k.key_id in held and refusal(Lifetime.of(k), now_ms) is None]
    if not usable:
        return None
    return max(usable, key=lambda k: k.not_before_unix_ms).key_id


def renewal_due(
    life: Lifetime, issued_at_ms: int, now_ms: int, fraction: float, cap_ms: int = 0
) -> bool:
    """A key or certificate is renewed once `fraction` of its lifetime (from its `not_before`,
    or `issued_at_ms`, to its `not_after`) has passed. `cap_ms` (node.toml `[keys] lifetime_s`)
    shortens a longer lifetime; one with no end at all is never due."""
    start = life.not_before or issued_at_ms
    ends = [e for e in (life.not_after, start + cap_ms if cap_ms else 0) if e]
    if not ends:
        return False
    return now_ms >= start + int((min(ends) - start) * fraction)


def next_directory_version(latest_published: int, highest_seen: int) -> int:
    """The version a central signs next: above every version it published and every version a
    member reported holding, so that a central restored from an old backup never publishes a
    version its members would refuse as a rollback (§2.3 step 6)."""
    return max(latest_published, highest_seen) + 1


ROTATE_DOMAIN = b"swnode/rotate/v1"


def rotation_proof_message(node_id: str, purpose: str, public_key: bytes) -> bytes:
    """What the new key signs (domain `swnode/rotate/v1`) to prove its holder asked for it:
    `node_id || 0x00 || purpose || 0x00 || public_key` (§2.9)."""
    return node_id.encode() + b"\x00" + purpose.encode() + b"\x00" + public_key


def latest_certificate_end(issued_at_ms: int, lifetime_ms: int, default_ms: int) -> int:
    """The latest a certificate issued at `issued_at_ms` may end: the central's certificate
    lifetime (`[keys] lifetime_s`) when set, else the default validity, both counted from the
    issue (a later start, after an activation delay, does not lengthen it)."""
    return issued_at_ms + (lifetime_ms or default_ms)


def ca_prunable(
    retired_at_ms: int, ca_not_after_ms: int, lifetime_ms: int, default_ms: int, now_ms: int
) -> bool:
    """Whether a retired CA may leave the directory, the nodes' keys/ca.crt and the central's
    CA history (§2.9): once every certificate it could have issued has expired. It issued
    nothing after its retirement, and nothing that outlives its own certificate."""
    if not retired_at_ms:
        return False
    last = min(ca_not_after_ms, latest_certificate_end(retired_at_ms, lifetime_ms, default_ms))
    return now_ms >= last
