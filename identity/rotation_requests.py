"""A member's requests on the central's `Rotation` service, checked and handed to the authority
(docs/PROTOCOL.md §2.9): a new signing or token key with its proof of possession, a new TLS
certificate for a CSR."""

from __future__ import annotations

from core import key_lifetimes
from core.algorithms import as_pb, check_public_key
from core.errors import InvalidArgument, PermissionDenied
from core.key_lifetimes import RotationPlan
from core.signing import PURPOSE_SIGNING, PURPOSE_TOKEN, verifies
from identity.authority import Authority
from swf.v1 import directory_pb2 as pb
from swf.v1 import peer_pb2 as ppb

__all__ = ["renew_requested", "rotate_requested"]


async def rotate_requested(
    authority: Authority, node_id: str, request: ppb.RotateKeyRequest
) -> ppb.RotateKeyResponse:
    """A member's own request over the peer port (its TLS certificate already
    authenticated it as `node_id`): the new key's proof of possession, then the rotation."""
    purposes = {ppb.KEY_PURPOSE_SIGNING: PURPOSE_SIGNING, ppb.KEY_PURPOSE_TOKEN: PURPOSE_TOKEN}
    purpose = purposes.get(request.purpose)
    if purpose is None:
        raise InvalidArgument(
            "rotate.bad_purpose", "purpose: must be signing or token", field="purpose"
        )
    wanted = authority.profile.key_algorithm
    if (request.algorithm or pb.KEY_ALGORITHM_ED25519) != as_pb(wanted):
        raise InvalidArgument(
            "key.algorithm_mismatch",
            f"algorithm: federation {authority.federation} runs the "
            f"{authority.profile.name} profile; its keys are {wanted.name}",
            field="algorithm",
        )
    check_public_key(wanted, request.public_key, field="public_key")
    message = key_lifetimes.rotation_proof_message(node_id, purpose, request.public_key)
    if not verifies(
        request.public_key,
        request.proof,
        key_lifetimes.ROTATE_DOMAIN,
        message,
        algorithm=wanted,
    ):
        raise PermissionDenied(
            "rotate.bad_proof",
            "proof: the new key's proof of possession does not verify",
            field="proof",
        )
    default = authority.key_plan
    plan = RotationPlan(
        activation_ms=request.activation_ms or default.activation_ms,
        overlap_ms=request.overlap_ms or default.overlap_ms,
        lifetime_ms=request.lifetime_ms or default.lifetime_ms,
    )
    listed, retired_at, version = await authority.rotate_key(
        node_id, purpose, request.public_key, plan=plan, retire_now=request.retire_now
    )
    return ppb.RotateKeyResponse(
        key_id=listed.key_id,
        not_before_unix_ms=listed.not_before_unix_ms,
        old_retired_at_unix_ms=retired_at,
        directory_version=version,
    )


async def renew_requested(
    authority: Authority, node_id: str, request: ppb.RenewCertificateRequest
) -> ppb.RenewCertificateResponse:
    default = authority.key_plan
    plan = RotationPlan(
        activation_ms=request.activation_ms or default.activation_ms,
        overlap_ms=request.overlap_ms or default.overlap_ms,
        lifetime_ms=request.lifetime_ms,
    )
    der, until, version = await authority.renew_certificate(
        node_id, request.csr, plan=plan, retire_now=request.retire_now
    )
    return ppb.RenewCertificateResponse(
        tls_certificate=der,
        ca_certificate=authority.own_anchor().ca_certificate,
        directory_version=version,
        previous_until_unix_ms=until,
    )
