"""The federation CA over time: the central's CAs, which one issues at an instant, and what its
directory says of the others (docs/PROTOCOL.md §2.9, `swnode rotate --key ca`).

A rotation adds a CA; nothing is moved or renamed, so that no crash halfway leaves a key without
its certificate. `keys/ca.history.json` lists every CA, oldest first: its certificate, its key
file, the cross certificate by which the CA before certifies it, from when it issues, and when it
retires. A central that never rotated has no such file; its one CA is `ca.key` with the first
certificate of `ca.crt`. Which CA issues, and what the directory lists, are functions of the
history and the instant they are asked about; the private key of a retired CA is deleted, and
the CA itself leaves the history once every certificate it could have issued has expired.

Every node's `keys/ca.crt` holds the CAs its clients trust for the federation: the current one
first, then the others not retired, then the cross certificates (`client_bundle`); the chain a
node presents is chosen from it (federation.tls.chain_for).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from core.errors import FailedPrecondition
from identity.ca import CaHistory, FederationCa, create_ca, cross_certify
from identity.keys import HISTORY, load_history, private_pem, write_private, write_public
from swf.v1 import directory_pb2 as pb

__all__ = [
    "client_bundle",
    "forget_retired_keys",
    "prune_cas",
    "rotate_ca",
    "save_client_bundle",
]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _save(key_dir: Path, history: CaHistory) -> None:
    entries = [
        {
            "certificate": _b64(ca.der),
            "key_file": ca.key_file,
            "cross_certificate": _b64(ca.cross.public_bytes(Encoding.DER)) if ca.cross else "",
            "active_from_unix_ms": ca.active_from_ms,
            "retired_at_unix_ms": ca.retired_at_ms,
        }
        for ca in history.cas
    ]
    write_public(key_dir / HISTORY, json.dumps({"cas": entries}, indent=2).encode())


def rotate_ca(
    key_dir: Path,
    federation: str,
    *,
    now_ms: int,
    activation_ms: int,
    overlap_ms: int,
    retire_now: bool = False,
) -> tuple[CaHistory, FederationCa]:
    """Add a new CA, cross-certified by the one issuing now: it issues from `now +
    activation` (at once with `retire_now`), and every CA before retires `overlap` after that
    (at once with `retire_now`, a suspected compromise)."""
    history = load_history(key_dir)
    if history is None:
        raise FailedPrecondition(
            "authority.not_central", "this node holds no federation CA; run this at the central"
        )
    waiting = history.pending(now_ms)
    if waiting is not None:
        raise FailedPrecondition(
            "rotate.pending",
            f"a rotation of the CA is already pending ({waiting.key_file}); wait until the "
            "central issues from it",
        )
    old = history.issuing(now_ms)
    if old.key is None:
        raise FailedPrecondition("authority.no_ca_key", f"{old.key_file}: the CA's key is missing")
    starts = now_ms if retire_now else now_ms + activation_ms
    retires = now_ms if retire_now else starts + overlap_ms
    key = ec.generate_private_key(ec.SECP256R1())
    cert = create_ca(federation, key, now_ms)
    cross = cross_certify(old_key=old.key, old_cert=old.certificate, new_cert=cert, now_ms=now_ms)
    # The next free number: a pruned CA leaves a gap, and a name is never used twice.
    taken = {ca.key_file for ca in history.cas}
    n = len(history.cas)
    while f"ca.{n}.key" in taken or (key_dir / f"ca.{n}.key").exists():
        n += 1
    key_file = f"ca.{n}.key"
    write_private(key_dir / key_file, private_pem(key))
    before = tuple(
        replace(ca, retired_at_ms=retires)
        if not ca.retired_at_ms or ca.retired_at_ms > retires
        else ca
        for ca in history.cas
    )
    new = FederationCa(cert, key_file, key, cross, starts, 0)
    history = CaHistory((*before, new))
    _save(key_dir, history)
    return history, new


def forget_retired_keys(key_dir: Path, history: CaHistory, now_ms: int) -> CaHistory:
    """Delete the private key of every CA retired by `now_ms`: nothing is issued from it any
    more, and after a compromise it must not be at hand."""
    kept = []
    for ca in history.cas:
        if ca.key is not None and ca.retired_at_ms and ca.retired_at_ms <= now_ms:
            (key_dir / ca.key_file).unlink(missing_ok=True)
            ca = replace(ca, key=None)
        kept.append(ca)
    return CaHistory(tuple(kept))


def prune_cas(
    key_dir: Path, history: CaHistory, prunable: Callable[[FederationCa], bool]
) -> CaHistory:
    """Drop from the history (and keys/) every CA `prunable` says every certificate of has
    expired (core.key_lifetimes.ca_prunable): the directory stops listing it, so peers stop
    trusting it and every node's keys/ca.crt follows. The CA issuing now is always kept."""
    kept = tuple(ca for ca in history.cas if not (ca.retired_at_ms and prunable(ca)))
    if len(kept) == len(history.cas):
        return history
    for ca in history.cas:
        if ca not in kept:
            (key_dir / ca.key_file).unlink(missing_ok=True)
    pruned = CaHistory(kept)
    _save(key_dir, pruned)
    return pruned


def client_bundle(directory: pb.Directory, now_ms: int) -> list[bytes]:
    """The CA certificates (DER) a client of this federation trusts at `now_ms`: the current
    one first, the others not retired, then the cross certificates. A cross certificate stays
    after the CA that issued it retired: it certifies the current CA's key, and a node that
    presents it reaches a peer that holds only the retired CA yet (one stopped through the
    rotation), which can then fetch the directory and renew."""
    others = list(directory.other_ca_certificates)
    found = [directory.ca_certificate]
    found += [
        o.certificate
        for o in others
        if not (o.retired_at_unix_ms and o.retired_at_unix_ms <= now_ms)
    ]
    found += [o.cross_certificate for o in others if o.cross_certificate]
    return list(dict.fromkeys(d for d in found if d))


def save_client_bundle(key_dir: Path, ders: Sequence[bytes]) -> bool:
    """Write `keys/ca.crt` as `ders` (PEM) unless it holds them already; whether it wrote."""
    pem = b"".join(x509.load_der_x509_certificate(d).public_bytes(Encoding.PEM) for d in ders)
    path = key_dir / "ca.crt"
    if path.exists() and path.read_bytes() == pem:
        return False
    write_public(path, pem)
    return True
