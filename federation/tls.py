"""TLS credentials for the three kinds of connection a node makes or takes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


@dataclass(frozen=True)
class TlsIdentity:
    """What a node presents in TLS: its private key and its certificate chain (its own
    certificate, then its federation CA's), both PEM."""

    key_pem: bytes
    chain_pem: bytes

    @property
    def pair(self) -> tuple[bytes, bytes]:
        return self.key_pem, self.chain_pem


def _pem_bundle(ders: list[bytes]) -> bytes:
    return b"".join(x509.load_der_x509_certificate(d).public_bytes(Encoding.PEM) for d in ders)


def client_port_credentials(tls: TlsIdentity) -> grpc.ServerCredentials:
    """Server-authenticated TLS: clients check the node's certificate, present none of their own."""
    return grpc.ssl_server_credentials([tls.pair])


def peer_port_credentials(
    tls: TlsIdentity, trusted_cas: Callable[[], list[bytes]]
) -> grpc.ServerCredentials:
    """Mutual TLS. `trusted_cas` is asked at every handshake for the CA certificates (DER) of this
    federation and of the foreign federations it trusts; a client certificate from anyone else is
    refused in the handshake."""
    pair = tls.pair
    current: list[bytes] = []

    def config() -> grpc.ServerCertificateConfiguration:
        current[:] = trusted_cas()
        return grpc.ssl_server_certificate_configuration([pair], _pem_bundle(current))

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        return config() if trusted_cas() != current else None

    # The stubs say the fetcher must return a configuration; gRPC documents None as "no change".
    fetcher = cast(Callable[[], grpc.ServerCertificateConfiguration], fetch)
    return grpc.dynamic_ssl_server_credentials(
        config(), fetcher, require_client_authentication=True
    )


def peer_channel_credentials(tls: TlsIdentity, peer_ca_der: bytes) -> grpc.ChannelCredentials:
    """For calls to a peer: trust only the CA of the peer's own federation, present our cert."""
    return grpc.ssl_channel_credentials(
        root_certificates=_pem_bundle([peer_ca_der]),
        private_key=tls.key_pem,
        certificate_chain=tls.chain_pem,
    )
