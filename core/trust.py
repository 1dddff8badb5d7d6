"""What a node trusts right now, indexed for the lookups every request makes.

A `TrustView` is built once per directory change from the node's own verified directory and the
verified directories of the foreign federations that directory trusts. Every per-message question
(whose key is this, is this certificate a member's, is this node revoked) is a dict lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

from core.algorithms import Digest, KeyAlgorithm
from core.directory import is_current
from core.errors import PermissionDenied, Unauthenticated, Unavailable, quote
from core.ids import Role, federation_of, role_of
from core.key_lifetimes import UNBOUNDED, Lifetime
from swf.v1 import directory_pb2 as pb

__all__ = [
    "KeyRef",
    "TrustView",
    "ca_roots",
    "digest_of",
    "key_identifier",
    "listed_certificates",
]


@dataclass(frozen=True)
class KeyRef:
    """A public key as its federation's directory lists it: the algorithm the key declares
    (unset is v1's Ed25519; an unknown value stays as it is, and nothing verifies under it) and
    that federation's digest."""

    node_id: str
    key_id: str
    public_key: bytes
    algorithm: int = KeyAlgorithm.ED25519
    digest: Digest = Digest.SHA256
    # When the key may be used, and whether it was retired (PROTOCOL.md §2.9).
    life: Lifetime = UNBOUNDED

    @classmethod
    def listed(cls, node_id: str, key: pb.PublicKey, directory: pb.Directory) -> KeyRef:
        algorithm = key.algorithm or KeyAlgorithm.ED25519
        return cls(
            node_id,
            key.key_id,
            key.public_key,
            algorithm,
            digest_of(directory),
            Lifetime.of(key),
        )


def digest_of(directory: pb.Directory) -> Digest:
    """The digest a directory declares for its federation (`verify_directory` refused any value
    this node does not know)."""
    return Digest.SM3 if directory.digest == pb.DIGEST_ALGORITHM_SM3 else Digest.SHA256


def listed_certificates(node: pb.NodeEntry) -> tuple[bytes, ...]:
    """The TLS certificates (DER) the directory lists for `node`: exactly what it must present,
    as a caller to our peer port and as the server we call: `NodeEntry.tls_certificate`, and
    during a TLS rotation's overlap the previous ones it still presents (§2.9)."""
    current = (node.tls_certificate,) if node.tls_certificate else ()
    return current + tuple(node.previous_tls_certificates)


def ca_roots(directory: pb.Directory) -> list[bytes]:
    """The CA certificates (DER) a federation's directory lists: the current one, and during and
    after a CA rotation the next and the ones before, retired ones included (§2.9): a handshake
    with a retired CA's certificate passes, so that the refusal after it can say why."""
    found = [directory.ca_certificate, *(o.certificate for o in directory.other_ca_certificates)]
    return [d for d in found if d]


def key_identifier(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> bytes | None:
    """A certificate's subject (or authority) key identifier; None if it carries none."""
    try:
        value = cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    found = getattr(value, "key_identifier", None) or getattr(value, "digest", None)
    return found if isinstance(found, bytes) else None


@dataclass(frozen=True)
class _RetiredCa:
    certificate: x509.Certificate
    retired_at_ms: int


@dataclass(frozen=True)
class TrustView:
    self_id: str
    own: pb.Directory | None
    foreign: Mapping[str, pb.Directory] = field(default_factory=dict)
    _nodes: dict[str, pb.NodeEntry] = field(default_factory=dict, repr=False)
    _signing: dict[str, KeyRef] = field(default_factory=dict, repr=False)
    _token: dict[str, KeyRef] = field(default_factory=dict, repr=False)
    # (federation, SHA-256 of a certificate) that federation's directory revoked.
    _revoked_certs: frozenset[tuple[str, bytes]] = frozenset()
    # (federation, key identifier of a CA) → that CA, which its federation's directory retired.
    _retired_cas: dict[tuple[str, bytes], _RetiredCa] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls, self_id: str, own: pb.Directory | None, foreign: Mapping[str, pb.Directory] = {}
    ) -> TrustView:
        view = cls(self_id=self_id, own=own, foreign=dict(foreign))
        revoked: set[tuple[str, bytes]] = set()
        for directory in view.directories():
            for node in directory.nodes:
                # A federation's directory speaks for that federation's nodes only: a foreign
                # directory listing (or revoking) another federation's node must not displace it.
                if federation_of(node.id) != directory.federation:
                    continue
                view._nodes[node.id] = node
                for key in node.signing_keys:
                    view._signing[key.key_id] = KeyRef.listed(node.id, key, directory)
                for key in node.token_keys:
                    view._token[key.key_id] = KeyRef.listed(node.id, key, directory)
            revoked.update(
                (directory.federation, r.certificate_sha256) for r in directory.revocations
            )
            for other in directory.other_ca_certificates:
                if other.retired_at_unix_ms:
                    ca = x509.load_der_x509_certificate(other.certificate)
                    ski = key_identifier(ca, x509.SubjectKeyIdentifier)
                    if ski is not None:
                        retired = _RetiredCa(ca, other.retired_at_unix_ms)
                        view._retired_cas[(directory.federation, ski)] = retired
        object.__setattr__(view, "_revoked_certs", frozenset(revoked))
        return view

    def directories(self) -> Iterable[pb.Directory]:
        if self.own is not None:
            yield self.own
        yield from self.foreign.values()

    # -- state -------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self.own.version if self.own is not None else 0

    def valid(self, now_ms: int) -> bool:
        """The node's own directory is present and unexpired: it may carry traffic."""
        return self.own is not None and is_current(self.own, now_ms)

    def directory_of(self, federation: str) -> pb.Directory | None:
        if self.own is not None and self.own.federation == federation:
            return self.own
        return self.foreign.get(federation)

    def require_valid(self, now_ms: int) -> None:
        if not self.valid(now_ms):
            raise Unavailable(
                "directory.expired",
                f"node {self.self_id} has no valid federation directory; it refuses peer traffic "
                "until it fetches a fresh one from its central node",
            )

    # -- lookups -----------------------------------------------------------------------------

    def node(self, node_id: str) -> pb.NodeEntry | None:
        return self._nodes.get(node_id)

    def nodes(self) -> Iterable[pb.NodeEntry]:
        return self._nodes.values()

    def is_active(self, node_id: str) -> bool:
        node = self._nodes.get(node_id)
        return node is not None and node.status == pb.NODE_STATUS_ACTIVE

    def signing_key(self, key_id: str) -> KeyRef | None:
        return self._signing.get(key_id)

    def token_key(self, key_id: str) -> KeyRef | None:
        return self._token.get(key_id)

    def trusted_anchors(self) -> list[pb.Anchor]:
        return list(self.own.trusted_federations) if self.own is not None else []

    def ca_certificates(self) -> list[bytes]:
        """DER CA certificates whose holders may connect to the peer port: own and trusted, and
        during a CA rotation each federation's next and earlier CAs (§2.9)."""
        cas = ca_roots(self.own) if self.own is not None else []
        cas.extend(a.ca_certificate for a in self.trusted_anchors())
        for directory in self.foreign.values():
            cas.extend(ca_roots(directory))
        return list(dict.fromkeys(cas))

    def retired_ca_refusal(
        self, node_id: str, certificate: x509.Certificate, now_ms: int
    ) -> PermissionDenied | None:
        """`ca.retired` if `certificate` (of `node_id`) was issued by a CA its federation's
        directory retired by `now_ms`, else None."""
        if not self._retired_cas:
            return None
        issuer = key_identifier(certificate, x509.AuthorityKeyIdentifier)
        retired = self._retired_cas.get((federation_of(node_id), issuer or b""))
        if retired is None or now_ms < retired.retired_at_ms:
            return None
        try:
            certificate.verify_directly_issued_by(retired.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return None
        return PermissionDenied(
            "ca.retired",
            f"the certificate presented for {quote(node_id)} was issued by a CA of "
            f"{federation_of(node_id)} retired at {retired.retired_at_ms} (Unix ms); the node "
            "must renew it (swnode rotate --key tls)",
        )

    # -- peers -------------------------------------------------------------------------------

    def authenticate_peer(
        self, certificate_der: bytes, now_ms: int, *, retired_ca_ok: bool = False
    ) -> pb.NodeEntry:
        """The member behind a TLS client certificate, or a refusal that says why.

        The TLS handshake already proved the certificate chains to a trusted CA and that the peer
        holds its key; here the certificate must be *exactly* the one the member's federation
        lists for it, not from a retired CA, the member must be active, and that federation's
        directory current. `retired_ca_ok` lets a member whose listed certificate is a retired
        CA read the directory and ask for a new certificate (GetDirectory, RenewCertificate), and
        nothing else.
        """
        self.require_valid(now_ms)
        cert = x509.load_der_x509_certificate(certificate_der)
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        node_id = str(names[0].value) if names else ""
        digest = hashlib.sha256(certificate_der).digest()
        if (federation_of(node_id), digest) in self._revoked_certs:
            raise PermissionDenied(
                "peer.revoked", f"the certificate presented for {quote(node_id)} has been revoked"
            )
        node = self._nodes.get(node_id)
        if node is None:
            raise Unauthenticated(
                "peer.unknown",
                f"{quote(node_id)} is not a member of any federation this node trusts",
            )
        if node.status != pb.NODE_STATUS_ACTIVE:
            raise PermissionDenied("peer.revoked", f"node {node_id} has been revoked")
        retired = None if retired_ca_ok else self.retired_ca_refusal(node_id, cert, now_ms)
        if retired is not None:
            raise retired
        if certificate_der not in listed_certificates(node):
            raise Unauthenticated(
                "peer.certificate_mismatch",
                f"the certificate presented is not the one the directory lists for {node_id}",
            )
        directory = self.directory_of(federation_of(node_id))
        if directory is None or not is_current(directory, now_ms):
            raise Unavailable(
                "directory.expired",
                f"no current directory for federation {federation_of(node_id)}",
            )
        return node

    def authenticate_neighbour(self, certificate_der: bytes, now_ms: int) -> pb.NodeEntry:
        """A peer allowed to talk to this node directly (`Ping`, `Exchange`): an authenticated
        member of this node's federation, or, between federations, only central to central
        (PROTOCOL.md §2.6 step 7, §5.5)."""
        node = self.authenticate_peer(certificate_der, now_ms)
        same = federation_of(node.id) == federation_of(self.self_id)
        if not same and not (role_of(node.id) == role_of(self.self_id) == Role.CENTRAL):
            raise PermissionDenied(
                "peer.cross_border",
                f"{node.id} and {self.self_id} are of different federations; across the border "
                "only central nodes talk to each other",
            )
        return node

    def authenticate_directory_reader(self, certificate_der: bytes, now_ms: int) -> str:
        """Who may read this federation's directory: its own active members, and the central
        node of a trusted foreign federation (its certificate issued by that federation's
        anchored CA). The second case lets two centrals fetch each other's directory before
        either holds the other's."""
        cert = x509.load_der_x509_certificate(certificate_der)
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        node_id = str(names[0].value) if names else ""
        federation = federation_of(node_id)
        if self.own is not None and federation == self.own.federation:
            # A member whose listed certificate is a retired CA's still reads the directory,
            # which tells it to renew (§2.9).
            return self.authenticate_peer(certificate_der, now_ms, retired_ca_ok=True).id
        for anchor in self.trusted_anchors():
            if anchor.federation == federation and node_id == federation:
                # The anchor's CA, or one its federation's directory (verified with the
                # anchor's key) lists beside it during a CA rotation (§2.9).
                held = self.foreign.get(federation)
                cas = [anchor.ca_certificate, *(ca_roots(held) if held is not None else ())]
                if not any(_issued_by(cert, der) for der in cas):
                    raise Unauthenticated(
                        "peer.certificate_mismatch",
                        f"the certificate presented for {node_id} was not issued by the CA "
                        "in its federation's anchor",
                    )
                retired = self.retired_ca_refusal(node_id, cert, now_ms)
                if retired is not None:
                    raise retired
                return node_id
        raise Unauthenticated(
            "peer.unknown", f"{quote(node_id)} is not a member of any federation this node trusts"
        )


def _issued_by(cert: x509.Certificate, ca_der: bytes) -> bool:
    try:
        cert.verify_directly_issued_by(x509.load_der_x509_certificate(ca_der))
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
