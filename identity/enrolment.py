"""The enrolling side: a province node joins its federation with an invitation.

1. Fetch the central's TLS certificate and compare its SHA-256 with the pin in the invitation.
2. Open a TLS channel that trusts only that certificate, so nothing else can answer.
3. Send a CSR (proves the TLS key) and proofs for the signing and token keys, bound to this
   invitation.
4. Check what comes back: a CA certificate that issued our certificate for our key, and a
   directory signed by the key it names, which lists us.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf.message import DecodeError

from core import directory as dirs
from core.algorithms import KeyAlgorithm, as_pb
from core.errors import FailedPrecondition, PermissionDenied, Unavailable
from core.grpc_status import from_rpc_error
from core.ids import federation_of, tls_name
from core.invitation import Invitation, proof_message
from core.signing import ENROL_DOMAIN, fingerprint, raw_public, sign
from identity.ca import make_csr
from identity.keys import NodeKeys
from swf.v1 import directory_pb2 as pb
from swf.v1 import enrolment_pb2 as epb
from swf.v1 import enrolment_pb2_grpc as egrpc

__all__ = ["Enrolled", "enrol", "fetch_pinned_certificate"]


@dataclass(frozen=True)
class Enrolled:
    tls_cert: x509.Certificate
    ca_cert: x509.Certificate
    directory_key: bytes
    bundle: pb.DirectoryBundle
    directory: pb.Directory
    central_peer_endpoint: str


def fetch_pinned_certificate(central: str, pin: str, timeout_s: float = 10.0) -> bytes:
    """The central's certificate (PEM), if its SHA-256 is `pin`; else a refusal."""
    host, _, port = central.rpartition(":")
    try:
        pem = ssl.get_server_certificate((host, int(port)), timeout=timeout_s)
    except (OSError, ValueError) as exc:
        raise Unavailable(
            "enrol.unreachable", f"central: cannot reach {central}: {exc}", field="central"
        ) from exc
    der = ssl.PEM_cert_to_DER_cert(pem)
    if fingerprint(der) != pin:
        raise PermissionDenied(
            "enrol.pin_mismatch",
            f"central: the node at {central} presented a certificate with fingerprint "
            f"{fingerprint(der)}, not the {pin} in the invitation; not enrolling",
            field="central",
        )
    return pem.encode()


async def enrol(
    *,
    node_id: str,
    invitation_text: str,
    central: str,
    keys: NodeKeys,
    hosts: list[str],
    peer_endpoint: str,
    client_endpoint: str,
) -> Enrolled:
    invitation = Invitation.parse(invitation_text)
    if invitation.node_id != node_id:
        raise PermissionDenied(
            "invitation.wrong_node",
            f"token: this invitation is for {invitation.node_id}, but this node is {node_id}",
            field="token",
        )
    # 1-2. Pin.
    pinned = fetch_pinned_certificate(central, invitation.pin)
    federation = federation_of(node_id)
    credentials = grpc.ssl_channel_credentials(root_certificates=pinned)
    # 3. Prove possession.
    message = proof_message(node_id, invitation.secret_sha256)
    request = epb.EnrolRequest(
        invitation=invitation.encode(),
        node_id=node_id,
        csr=make_csr(node_id, keys.tls_key, hosts).public_bytes(Encoding.DER),
        signing_key=raw_public(keys.signing_key),
        signing_key_proof=sign(keys.signing_key, ENROL_DOMAIN, message),
        token_key=raw_public(keys.token_key),
        token_key_proof=sign(keys.token_key, ENROL_DOMAIN, message),
        peer_endpoint=peer_endpoint,
        client_endpoint=client_endpoint,
        **_declared(keys),
    )
    async with grpc.aio.secure_channel(
        central, credentials, options=[("grpc.ssl_target_name_override", tls_name(federation))]
    ) as channel:
        try:
            response: epb.EnrolResponse = await egrpc.EnrolmentStub(channel).Enrol(
                request, timeout=30
            )
        except grpc.aio.AioRpcError as exc:
            raise _refusal(exc) from exc
    # 4. Check what came back: our key certified by the CA, and a directory signed by the key
    #    it names (trusted because it came over the pinned channel) that lists this node with
    #    exactly the certificate and keys it just proved.
    try:
        ca_cert = x509.load_der_x509_certificate(response.ca_certificate)
        tls_cert = x509.load_der_x509_certificate(response.tls_certificate)
        tls_cert.verify_directly_issued_by(ca_cert)
        unverified = pb.Directory.FromString(response.directory.own.directory)
    except (ValueError, TypeError, InvalidSignature, DecodeError) as exc:
        raise FailedPrecondition(
            "enrol.bad_response", f"the central's answer does not check out: {exc}"
        ) from exc
    if tls_cert.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    ) != keys.tls_key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo):
        raise FailedPrecondition(
            "enrol.bad_response", "the central issued a certificate for another key"
        )
    directory = dirs.verify_directory(
        response.directory.own,
        directory_key=unverified.directory_key,
        federation=federation,
        ca_certificate=response.ca_certificate,
        algorithm=keys.profile.key_algorithm,
    )
    entry = next((n for n in directory.nodes if n.id == node_id), None)
    if (
        entry is None
        or entry.tls_certificate != response.tls_certificate
        or [k.public_key for k in entry.signing_keys] != [raw_public(keys.signing_key)]
        or [k.public_key for k in entry.token_keys] != [raw_public(keys.token_key)]
    ):
        raise FailedPrecondition(
            "enrol.bad_response",
            "the central's directory does not list this node with its certificate and keys",
        )
    return Enrolled(
        tls_cert=tls_cert,
        ca_cert=ca_cert,
        directory_key=directory.directory_key,
        bundle=response.directory,
        directory=directory,
        central_peer_endpoint=response.central_peer_endpoint,
    )


def _declared(keys: NodeKeys) -> dict[str, Any]:
    """The keys' algorithms, declared only where they are not v1's Ed25519 (whose request bytes
    stay as they were)."""
    algorithm = keys.profile.key_algorithm
    if algorithm is KeyAlgorithm.ED25519:
        return {}
    return {"signing_key_algorithm": as_pb(algorithm), "token_key_algorithm": as_pb(algorithm)}


def _refusal(exc: grpc.aio.AioRpcError) -> Exception:
    error = from_rpc_error(exc, default_reason="enrol.refused")
    error.message = f"the central refused: {error.message}"
    return error
