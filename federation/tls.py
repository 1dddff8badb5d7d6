"""TLS credentials for the three kinds of connection a node makes or takes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from core.trust import key_identifier

__all__ = [
    "TlsIdentity",
    "chain_for",
    "client_port_credentials",
    "peer_channel_credentials",
    "peer_port_credentials",
]


@dataclass(frozen=True)
class TlsIdentity:
    """What a node presents in TLS: its private key and its certificate chain (its own
    certificate, then its federation CA's), both PEM."""

    key_pem: bytes
    chain_pem: bytes

    @property
    def pair(self) -> tuple[bytes, bytes]:
        return self.key_pem, self.chain_pem


def chain_for(leaf: x509.Certificate, cas: Sequence[x509.Certificate]) -> bytes:
    """The chain a node presents (PEM): its certificate, then the one certifying its issuer.
    During a CA rotation that is the cross certificate when the leaf is the new CA's, so that a
    verifier holding only the old CA still builds a path (PROTOCOL.md §2.9); otherwise the CA
    itself. Key identifiers tell the CAs apart: they share a subject."""
    wanted = key_identifier(leaf, x509.AuthorityKeyIdentifier)
    matching = [c for c in cas if key_identifier(c, x509.SubjectKeyIdentifier) == wanted]
    # A cross certificate names another issuer key than its own; a self-signed CA names none.
    crossed = [
        c for c in matching if key_identifier(c, x509.AuthorityKeyIdentifier) not in (None, wanted)
    ]
    chosen = (crossed or matching or list(cas[:1]))[:1]
    return b"".join(c.public_bytes(Encoding.PEM) for c in (leaf, *chosen))


def _pem_bundle(ders: list[bytes]) -> bytes:
    return b"".join(x509.load_der_x509_certificate(d).public_bytes(Encoding.PEM) for d in ders)


Identity = TlsIdentity | Callable[[], TlsIdentity]


def _current(tls: Identity) -> TlsIdentity:
    return tls if isinstance(tls, TlsIdentity) else tls()


def client_port_credentials(tls: Identity) -> grpc.ServerCredentials:
    """Server-authenticated TLS: clients check the node's certificate, present none of their own.
    Given a callable, the identity is asked for at each handshake (a rotated TLS key)."""
    held: list[TlsIdentity] = [_current(tls)]

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        now = _current(tls)
        if now == held[0]:
            return None
        held[0] = now
        return grpc.ssl_server_certificate_configuration([now.pair])

    fetcher = cast(Callable[[], grpc.ServerCertificateConfiguration], fetch)
    return grpc.dynamic_ssl_server_credentials(
        grpc.ssl_server_certificate_configuration([held[0].pair]),
        fetcher,
        require_client_authentication=False,
    )


def peer_port_credentials(
    tls: Identity, trusted_cas: Callable[[], list[bytes]]
) -> grpc.ServerCredentials:
    """Mutual TLS. `trusted_cas` is asked at every handshake for the CA certificates (DER) of this
    federation and of the foreign federations it trusts; a client certificate from anyone else is
    refused in the handshake. Given a callable, the node's own identity is asked for likewise (a
    TLS rotation, PROTOCOL.md §2.9)."""
    current: list[bytes] = []
    held: list[TlsIdentity] = []

    def config() -> grpc.ServerCertificateConfiguration:
        current[:] = trusted_cas()
        held[:] = [_current(tls)]
        return grpc.ssl_server_certificate_configuration([held[0].pair], _pem_bundle(current))

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        return config() if trusted_cas() != current or _current(tls) != held[0] else None

    # The stubs say the fetcher must return a configuration; gRPC documents None as "no change".
    fetcher = cast(Callable[[], grpc.ServerCertificateConfiguration], fetch)
    return grpc.dynamic_ssl_server_credentials(
        config(), fetcher, require_client_authentication=True
    )


def peer_channel_credentials(
    tls: TlsIdentity, trusted_der: Sequence[bytes]
) -> grpc.ChannelCredentials:
    """For calls to a peer: present our certificate, and accept the server only if its
    certificate is one of `trusted_der` or chains to one of them.

    Calls to a node the directory lists pass that node's listed certificates
    (federation.channels.Route): the listed leaf itself is the only trust root, so the handshake
    succeeds only when the server presents exactly that certificate (gRPC's BoringSSL accepts a
    trusted leaf as a partial chain; the leaf is no CA, so nothing it signs is accepted). The name
    check (`<id>.swnode`) and the validity period still apply. Only the first fetch of a
    directory, before any is held, passes a federation CA instead.

    The check happens inside the handshake, before a byte of a request is written, which a check
    of the peer's certificate after the handshake cannot promise with grpc aio (a client call
    does not expose the server's certificate)."""
    return grpc.ssl_channel_credentials(
        root_certificates=_pem_bundle(list(trusted_der)),
        private_key=tls.key_pem,
        certificate_chain=tls.chain_pem,
    )
