"""`swnode rotate`: a new signing or token key for a node, listed beside the old one for an
overlap, then the old one retired (docs/PROTOCOL.md §2.9, OPERATIONS.md "Rotating keys").

It runs on the node folder beside the running node. The new private key is written first, as
`keys/<name>.next.key`; then the central lists it: a central rotating its own key does so
itself, a province asks its central over the peer port with its TLS certificate and the new
key's proof of possession. The running node takes the new key into use once its directory lists
it as valid (node/key_rotation.py); with `--now` at once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from core import algorithms
from core.anchor import anchor_fingerprint
from core.errors import FailedPrecondition, InvalidArgument
from core.grpc_status import from_rpc_error
from core.key_lifetimes import ROTATE_DOMAIN, RotationPlan, rotation_proof_message
from core.signing import (
    PURPOSE_DIRECTORY,
    PURPOSE_SIGNING,
    PURPOSE_TOKEN,
    fingerprint,
    key_id,
    sign,
)
from core.trust import TrustView
from federation.channels import PeerChannels, Route
from federation.directory_sync import load_trust
from identity import tokens
from identity.ca import make_csr
from identity.ca_rotation import forget_retired_keys, rotate_ca, save_client_bundle
from identity.keys import (
    KEY_DIR,
    ROTATING,
    NodeKeys,
    cert_pem,
    load_node_keys,
    next_key_path,
    next_tls_paths,
    private_pem,
    write_private,
    write_public,
)
from node.config import NodeConfig, load_config
from node.operator.admin import central, now_ms, open_db
from swf.v1 import directory_pb2 as pb
from swf.v1 import peer_pb2 as ppb
from swf.v1 import peer_pb2_grpc

__all__ = ["KINDS", "Rotated", "rotate"]

KINDS = {"signing": PURPOSE_SIGNING, "token": PURPOSE_TOKEN}
_PURPOSE_PB = {PURPOSE_SIGNING: ppb.KEY_PURPOSE_SIGNING, PURPOSE_TOKEN: ppb.KEY_PURPOSE_TOKEN}


@dataclass
class Context:
    config: NodeConfig
    keys: NodeKeys
    trust: TrustView


@asynccontextmanager
async def node_context(node_dir: Path) -> AsyncIterator[Context]:
    """The node's config, keys and the trust its held directories give."""
    config = load_config(node_dir)
    keys = load_node_keys(node_dir)
    if keys.directory_public is None:
        yield Context(config, keys, TrustView.build(config.id, None))
        return
    db = await open_db(config)
    try:
        trust = await load_trust(db, config.id, keys.directory_public, keys.profile.key_algorithm)
    finally:
        await db.close()
    yield Context(config, keys, trust)


@dataclass(frozen=True)
class Rotated:
    key_id: str
    not_before_unix_ms: int
    old_retired_at_unix_ms: int
    directory_version: int
    # A directory key or CA rotation: the fingerprint of the federation's anchor with the new
    # key or CA.
    anchor_fingerprint: str = ""
    # A CA rotation: the SHA-256 fingerprint of the new CA certificate.
    ca_fingerprint: str = ""


def plan_for(
    purpose: str,
    config: NodeConfig,
    *,
    overlap_s: float | None,
    activation_s: float | None,
) -> RotationPlan:
    """The overlap of a rotation: the new key published two poll intervals before it is used
    (every node's directory lists it by then), the old accepted `overlap_s` after, and a token
    key's never less than the longest token lifetime (tokens it issued stay valid to expiry)."""
    overlap = config.key_overlap_s if overlap_s is None else overlap_s
    if purpose == PURPOSE_TOKEN:
        overlap = max(overlap, tokens.MAX_LIFETIME_S + 60)
    activation = 2 * config.poll_interval_s if activation_s is None else activation_s
    if overlap < 0 or activation < 0:
        raise InvalidArgument(
            "duration.malformed", "overlap: durations must not be negative", field="overlap"
        )
    return RotationPlan(
        activation_ms=int(activation * 1000),
        overlap_ms=int(overlap * 1000),
        lifetime_ms=int(config.key_lifetime_s * 1000),
    )


async def rotate(
    node_dir: Path,
    kind: str,
    *,
    retire_now: bool = False,
    overlap_s: float | None = None,
    activation_s: float | None = None,
) -> Rotated:
    if kind == "directory":
        if retire_now:
            raise InvalidArgument(
                "rotate.no_now",
                "now: the directory key is not retired at once: an announcement signed by a "
                "compromised key proves nothing; form the federation anew (OPERATIONS.md, "
                "section 11)",
                field="now",
            )
        return await _rotate_directory(node_dir)
    if kind == "ca":
        return await _rotate_ca(
            node_dir, retire_now=retire_now, overlap_s=overlap_s, activation_s=activation_s
        )
    if kind == "tls":
        return await _rotate_tls(
            node_dir, retire_now=retire_now, overlap_s=overlap_s, activation_s=activation_s
        )
    purpose = KINDS.get(kind)
    if purpose is None:
        raise InvalidArgument(
            "rotate.bad_purpose", f"key: {kind!r} is not signing or token", field="key"
        )
    pending = next_key_path(node_dir, purpose)
    if pending.exists():
        raise FailedPrecondition(
            "rotate.pending",
            f"a rotation of the {kind} key is already pending ({pending.name}); wait until the "
            "running node takes it into use",
        )
    async with node_context(node_dir) as ctx:
        config, keys = ctx.config, ctx.keys
        if not keys.enrolled:
            raise FailedPrecondition("node.not_enrolled", "the node is not enrolled yet")
        plan = plan_for(purpose, config, overlap_s=overlap_s, activation_s=activation_s)
        algorithm = keys.profile.key_algorithm
        new = algorithms.generate(algorithm)
        public = algorithms.public_bytes(new)
        write_private(pending, private_pem(new))
        try:
            if config.is_central:
                async with central(node_dir) as (_, authority):
                    listed, retired_at, version = await authority.rotate_key(
                        config.id, purpose, public, plan=plan, retire_now=retire_now
                    )
                result = Rotated(listed.key_id, listed.not_before_unix_ms, retired_at, version)
            else:
                result = await _ask_central(ctx, purpose, new, plan, retire_now)
        except BaseException:
            pending.unlink(missing_ok=True)
            raise
    if retire_now:
        # Valid at once: sign with it from now on (the running node sees the file change).
        os.replace(pending, node_dir / KEY_DIR / ROTATING[purpose])
    assert result.key_id == key_id(config.id, purpose, public, algorithm)
    return result


async def _rotate_directory(node_dir: Path) -> Rotated:
    """A central's new directory key: written beside the current one and announced in a
    directory the current one signs; the running central signs with it four poll intervals
    later (node/key_rotation.py), and every member and trusting central follows (§2.9)."""
    config = load_config(node_dir)
    pending = node_dir / KEY_DIR / "directory.next.key"
    if pending.exists():
        raise FailedPrecondition(
            "rotate.pending",
            "a rotation of the directory key is already pending (directory.next.key); wait "
            "until the running central signs with it",
        )
    keys = load_node_keys(node_dir)
    if not config.is_central or keys.directory_key is None:
        raise FailedPrecondition(
            "authority.not_central",
            f"{node_dir}: {config.id} is a province node; run this on the central node's folder",
        )
    algorithm = keys.profile.key_algorithm
    new = algorithms.generate(algorithm)
    public = algorithms.public_bytes(new)
    write_private(pending, private_pem(new))
    try:
        async with central(node_dir) as (_, authority):
            signed = await authority.publish()
            anchor = authority.own_anchor()
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    anchor.directory_key = public
    starts = int(pending.stat().st_mtime * 1000) + int(4 * config.poll_interval_s * 1000)
    return Rotated(
        key_id(config.id, PURPOSE_DIRECTORY, public, algorithm),
        starts,
        starts,
        pb.Directory.FromString(signed.directory).version,
        anchor_fingerprint(anchor),
    )


async def _rotate_ca(
    node_dir: Path,
    *,
    retire_now: bool,
    overlap_s: float | None,
    activation_s: float | None,
) -> Rotated:
    """A new federation CA, cross-certified by the current one and announced in a directory the
    current directory key signs; the central issues from it after the activation delay (four
    poll intervals, as for a directory key: trusting centrals must have fetched the
    announcement), and the CA before retires at the end of the overlap (§2.9)."""
    config = load_config(node_dir)
    if not config.is_central:
        raise FailedPrecondition(
            "authority.not_central",
            f"{node_dir}: {config.id} is a province node; run this on the central node's folder",
        )
    plan = plan_for(PURPOSE_SIGNING, config, overlap_s=overlap_s, activation_s=activation_s)
    activation_ms = (
        int(4 * config.poll_interval_s * 1000) if activation_s is None else plan.activation_ms
    )
    async with central(node_dir) as (_, authority):
        history, new = rotate_ca(
            node_dir / KEY_DIR,
            config.federation,
            now_ms=now_ms(),
            activation_ms=activation_ms,
            overlap_ms=plan.overlap_ms,
            retire_now=retire_now,
        )
        if retire_now:  # the compromised key must not stay at hand
            history = forget_retired_keys(node_dir / KEY_DIR, history, new.active_from_ms)
        authority.use_ca_history(history)
        signed = await authority.publish()
        anchor = authority.own_anchor()
    anchor.ca_certificate = new.der
    retires = history.cas[-2].retired_at_ms
    return Rotated(
        f"{config.id}/ca/{fingerprint(new.der)[:16]}",
        new.active_from_ms,
        retires,
        pb.Directory.FromString(signed.directory).version,
        anchor_fingerprint(anchor),
        fingerprint(new.der),
    )


async def _rotate_tls(
    node_dir: Path,
    *,
    retire_now: bool,
    overlap_s: float | None,
    activation_s: float | None,
) -> Rotated:
    """A new TLS key and a certificate for it from the federation CA (the CSR's signature proves
    possession), listed beside the old certificate for the overlap."""
    key_path, cert_path = next_tls_paths(node_dir)
    if key_path.exists() or cert_path.exists():
        raise FailedPrecondition(
            "rotate.pending",
            f"a rotation of the TLS key is already pending ({key_path.name}); wait until the "
            "running node presents it",
        )
    async with node_context(node_dir) as ctx:
        config, keys = ctx.config, ctx.keys
        if not keys.enrolled:
            raise FailedPrecondition("node.not_enrolled", "the node is not enrolled yet")
        plan = plan_for(PURPOSE_SIGNING, config, overlap_s=overlap_s, activation_s=activation_s)
        new = ec.generate_private_key(ec.SECP256R1())
        csr = make_csr(config.id, new, [config.host, config.advertise_host])
        csr_der = csr.public_bytes(Encoding.DER)
        write_private(key_path, private_pem(new))
        try:
            if config.is_central:
                async with central(node_dir) as (_, authority):
                    der, until, version = await authority.renew_certificate(
                        config.id, csr_der, plan=plan, retire_now=retire_now
                    )
            else:
                answer = await _call_central(
                    ctx,
                    lambda stub: stub.RenewCertificate(
                        ppb.RenewCertificateRequest(
                            csr=csr_der,
                            retire_now=retire_now,
                            overlap_ms=plan.overlap_ms,
                            activation_ms=plan.activation_ms,
                            lifetime_ms=plan.lifetime_ms,
                        ),
                        timeout=30,
                    ),
                )
                assert isinstance(answer, ppb.RenewCertificateResponse)
                # The CA it was issued from comes first in keys/ca.crt from now on (§2.9).
                held = [c.public_bytes(Encoding.DER) for c in keys.ca_bundle]
                save_client_bundle(
                    node_dir / KEY_DIR,
                    [d for d in dict.fromkeys([answer.ca_certificate, *held]) if d],
                )
                der, until, version = (
                    answer.tls_certificate,
                    answer.previous_until_unix_ms,
                    answer.directory_version,
                )
        except BaseException:
            key_path.unlink(missing_ok=True)
            raise
        cert = x509.load_der_x509_certificate(der)
        write_public(cert_path, cert_pem(cert))
    if retire_now:
        # The old certificate is no longer listed: present the new one at once.
        os.replace(key_path, node_dir / KEY_DIR / "tls.key")
        os.replace(cert_path, node_dir / KEY_DIR / "tls.crt")
    return Rotated(
        f"{config.id}/tls/{hashlib.sha256(der).hexdigest()[:16]}",
        int(cert.not_valid_before_utc.timestamp() * 1000),
        until,
        version,
    )


async def _call_central(ctx: Context, call: Callable[[peer_pb2_grpc.RotationStub], Any]) -> Any:
    """One `Rotation` call to this node's central over the peer port, as this node."""
    config, keys = ctx.config, ctx.keys
    channels = PeerChannels(keys.tls_identity(), max_message_bytes=config.max_message_bytes)
    try:
        route = Route.to_listed(ctx.trust, config.federation, config.central_peer_endpoint)
        return await call(peer_pb2_grpc.RotationStub(channels.channel(route)))
    except grpc.aio.AioRpcError as exc:
        error = from_rpc_error(exc, default_reason="rotate.refused")
        error.message = f"the central refused the rotation: {error.message}"
        raise error from exc
    finally:
        await channels.close()


async def _ask_central(
    ctx: Context, purpose: str, new: algorithms.SigningKey, plan: RotationPlan, retire_now: bool
) -> Rotated:
    config, keys = ctx.config, ctx.keys
    public = algorithms.public_bytes(new)
    request = ppb.RotateKeyRequest(
        purpose=_PURPOSE_PB[purpose],
        algorithm=algorithms.as_pb(keys.profile.key_algorithm),
        public_key=public,
        proof=sign(new, ROTATE_DOMAIN, rotation_proof_message(config.id, purpose, public)),
        retire_now=retire_now,
        overlap_ms=plan.overlap_ms,
        activation_ms=plan.activation_ms,
        lifetime_ms=plan.lifetime_ms,
    )
    answer = await _call_central(ctx, lambda stub: stub.RotateKey(request, timeout=30))
    assert isinstance(answer, ppb.RotateKeyResponse)
    return Rotated(
        answer.key_id,
        answer.not_before_unix_ms,
        answer.old_retired_at_unix_ms,
        answer.directory_version,
    )
