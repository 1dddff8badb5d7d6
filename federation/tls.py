"""TLS credentials for the three kinds of connection a node makes or takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from identity.keys import NodeKeys, cert_pem, private_pem


def _pem_bundle(ders: list[bytes]) -> bytes:
    return b"".join(x509.load_der_x509_certificate(d).public_bytes(Encoding.PEM) for d in ders)


def _chain(keys: NodeKeys) -> tuple[bytes, bytes]:
    assert keys.tls_cert is not None and keys.ca_cert is not None
    return private_pem(keys.tls_key), cert_pem(keys.tls_cert) + cert_pem(keys.ca_cert)


def client_port_credentials(keys: NodeKeys) -> grpc.ServerCredentials:
    """Server-authenticated TLS: clients check the node's certificate, present none of their own."""
    return grpc.ssl_server_credentials([_chain(keys)])


def peer_port_credentials(
    keys: NodeKeys, trusted_cas: Callable[[], list[bytes]]
) -> grpc.ServerCredentials:
    """Mutual TLS. `trusted_cas` is asked at every handshake for the CA certificates (DER) of this
    federation and of the foreign federations it trusts; a client certificate from anyone else is
    refused in the handshake."""
    pair = _chain(keys)
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


def peer_channel_credentials(keys: NodeKeys, peer_ca_der: bytes) -> grpc.ChannelCredentials:
    """For calls to a peer: trust only the CA of the peer's own federation, present our cert."""
    key, chain = _chain(keys)
    return grpc.ssl_channel_credentials(
        root_certificates=_pem_bundle([peer_ca_der]), private_key=key, certificate_chain=chain
    )
