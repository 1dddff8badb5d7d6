"""In-memory inputs for tests: federations (a CA, member keys and certificates, signed
directories) built with the same functions a central node uses (identity/ca.py,
core/directory.py), and enrolment requests built by hand so that any part can be forged."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding

from core import algorithms
from core.algorithms import SigningKey
from core.directory import sign_directory
from core.ids import Role, role_of
from core.invitation import Invitation, proof_message
from core.signing import ENROL_DOMAIN, PURPOSE_SIGNING, PURPOSE_TOKEN, key_id, raw_public, sign
from identity.ca import create_ca, issue_certificate, make_csr
from identity.keys import NodeKeys
from swf.v1 import directory_pb2 as pb
from swf.v1 import enrolment_pb2 as epb

# A fixed instant (2027-01-15) so that tests never read the clock.
NOW_MS = 1_800_000_000_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Member:
    node_id: str
    tls_key: ec.EllipticCurvePrivateKey
    certificate: bytes  # DER, issued by the federation's CA
    signing_key: SigningKey
    token_key: SigningKey

    def entry(self, *, revoked: bool = False) -> pb.NodeEntry:
        def public(purpose: str, key: SigningKey) -> pb.PublicKey:
            raw = raw_public(key)
            algorithm = algorithms.algorithm_of(key)
            return pb.PublicKey(
                key_id=key_id(self.node_id, purpose, raw, algorithm),
                algorithm=algorithms.as_pb(algorithm),
                public_key=raw,
            )

        central = role_of(self.node_id) is Role.CENTRAL
        return pb.NodeEntry(
            id=self.node_id,
            role=pb.ROLE_CENTRAL if central else pb.ROLE_PROVINCE,
            status=pb.NODE_STATUS_REVOKED if revoked else pb.NODE_STATUS_ACTIVE,
            peer_endpoint="127.0.0.1:7001",
            client_endpoint="127.0.0.1:7002",
            tls_certificate=self.certificate,
            signing_keys=[public(PURPOSE_SIGNING, self.signing_key)],
            token_keys=[public(PURPOSE_TOKEN, self.token_key)],
            enrolled_at_unix_ms=NOW_MS,
        )


class Federation:
    """A central node `federation` and its `provinces`, with their CA and directory key, all of
    the crypto profile `crypto` (ed25519 or sm2)."""

    def __init__(
        self, federation: str, provinces: Iterable[str] = (), *, crypto: str = "ed25519"
    ) -> None:
        self.id = federation
        self.profile = algorithms.profile(crypto)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_cert = create_ca(federation, self.ca_key, NOW_MS)
        self.directory_key = algorithms.generate(self.profile.key_algorithm)
        self.members = {n: self.issue(n) for n in (federation, *provinces)}

    @property
    def ca_der(self) -> bytes:
        return self.ca_cert.public_bytes(Encoding.DER)

    @property
    def directory_public(self) -> bytes:
        return raw_public(self.directory_key)

    def issue(self, node_id: str) -> Member:
        """A fresh key and a certificate for `node_id` from this CA (not listed anywhere)."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue_certificate(
            ca_key=self.ca_key,
            ca_cert=self.ca_cert,
            csr=make_csr(node_id, key, ["127.0.0.1"]),
            node_id=node_id,
            now_ms=NOW_MS,
        )
        return Member(
            node_id=node_id,
            tls_key=key,
            certificate=cert.public_bytes(Encoding.DER),
            signing_key=algorithms.generate(self.profile.key_algorithm),
            token_key=algorithms.generate(self.profile.key_algorithm),
        )

    def anchor(self, endpoint: str = "127.0.0.1:7001") -> pb.Anchor:
        return pb.Anchor(
            federation=self.id,
            ca_certificate=self.ca_der,
            directory_key=self.directory_public,
            endpoint=endpoint,
            **algorithms.declarations(self.profile),
        )

    def directory(
        self,
        *,
        version: int = 1,
        issued_ms: int = NOW_MS,
        validity_ms: int = HOUR_MS,
        revoked: Iterable[str] = (),
        trusts: Iterable[Federation] = (),
        extra: Iterable[Member] = (),
    ) -> pb.Directory:
        """The directory this federation's central would publish; `extra` entries are listed
        as they are, whoever issued them (to model a dishonest or broken directory)."""
        gone = set(revoked)
        entries = [m.entry(revoked=m.node_id in gone) for m in self.members.values()]
        entries += [m.entry() for m in extra]
        return pb.Directory(
            federation=self.id,
            version=version,
            issued_at_unix_ms=issued_ms,
            expires_at_unix_ms=issued_ms + validity_ms,
            nodes=entries,
            revocations=[
                pb.Revocation(
                    node_id=n,
                    revoked_at_unix_ms=issued_ms,
                    reason="test",
                    certificate_sha256=hashlib.sha256(self.members[n].certificate).digest(),
                )
                for n in sorted(gone)
            ],
            trusted_federations=[f.anchor() for f in trusts],
            ca_certificate=self.ca_der,
            directory_key=self.directory_public,
            **algorithms.declarations(self.profile),
        )

    def sign(self, directory: pb.Directory) -> pb.SignedDirectory:
        return sign_directory(directory, self.directory_key)


def fresh_keys() -> NodeKeys:
    """A province's keys before enrolment, in memory."""
    return NodeKeys(
        tls_key=ec.generate_private_key(ec.SECP256R1()),
        signing_key=Ed25519PrivateKey.generate(),
        token_key=Ed25519PrivateKey.generate(),
        tls_cert=None,
        ca_cert=None,
        directory_public=None,
    )


def enrol_request(
    invitation: Invitation,
    keys: NodeKeys,
    *,
    node_id: str | None = None,
    csr: bytes | None = None,
    signing_prover: SigningKey | None = None,
    token_prover: SigningKey | None = None,
    proof_secret_sha256: bytes | None = None,
    peer_endpoint: str = "127.0.0.1:7101",
) -> epb.EnrolRequest:
    """The request `swnode enroll` sends, built by hand so that a test can forge any part: the
    proofs can be made by other keys (`*_prover`) or for another invitation."""
    node_id = node_id or invitation.node_id
    message = proof_message(node_id, proof_secret_sha256 or invitation.secret_sha256)
    if csr is None:
        csr = make_csr(node_id, keys.tls_key, ["127.0.0.1"]).public_bytes(Encoding.DER)
    return epb.EnrolRequest(
        invitation=invitation.encode(),
        node_id=node_id,
        csr=csr,
        signing_key=raw_public(keys.signing_key),
        signing_key_proof=sign(signing_prover or keys.signing_key, ENROL_DOMAIN, message),
        token_key=raw_public(keys.token_key),
        token_key_proof=sign(token_prover or keys.token_key, ENROL_DOMAIN, message),
        peer_endpoint=peer_endpoint,
        client_endpoint="127.0.0.1:7102",
    )
