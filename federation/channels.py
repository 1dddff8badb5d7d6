"""One gRPC channel per peer, made on first use and replaced when the peer's endpoint or listed
certificate changes in the directory. Channels multiplex every call and stream to that peer.

A channel to a node the directory lists trusts only the certificates listed for that node
(`Route.pinned`): a server that presents anything else, such as a node's old certificate after
it re-enrolled on new keys, fails the handshake and gets nothing, and the caller refuses the
call locally with `peer.certificate_mismatch` (`certificate_mismatch`). Only a directory fetch
from a central this node holds no directory for yet trusts a federation CA (`Route.bootstrap`):
the directory it brings is verified by its signature anyway, and from then on the central's
listed certificate is pinned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from core.errors import Unauthenticated, Unavailable
from core.ids import federation_of, tls_name
from core.signing import fingerprint
from core.trust import TrustView, listed_certificates
from federation.tls import TlsIdentity, peer_channel_credentials
from swf.v1 import peer_pb2_grpc

__all__ = [
    "SERVER_KEEPALIVE",
    "PeerChannels",
    "Route",
    "certificate_mismatch",
    "is_certificate_refused",
    "message_size_options",
]

KEEPALIVE = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # A channel with no call for two minutes lets its connection go (and its keepalives with
    # it): a province probes each of its dozens of neighbours every few minutes, and would
    # otherwise keep a connection to every one alive for nothing (docs/PERFORMANCE.md).
    ("grpc.client_idle_timeout_ms", 120_000),
    # A peer that was down is tried again within 2 s of coming back, not after gRPC's default
    # of up to two minutes of backoff; delivery keeps its own, persisted backoff (outbox).
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


@dataclass(frozen=True)
class Route:
    """Where a peer is and what its server must present: `trusted` (DER) are the certificates
    the directory lists for it when `pinned`, else the CA its certificate must chain to."""

    node_id: str
    endpoint: str
    trusted: tuple[bytes, ...]
    pinned: bool

    @classmethod
    def to_listed(cls, trust: TrustView, node_id: str, endpoint: str | None = None) -> Route:
        """Pinned to the certificates `trust` lists for `node_id`, at its listed endpoint (or
        `endpoint`, as configured for a central)."""
        node = trust.node(node_id)
        if node is None or trust.directory_of(federation_of(node_id)) is None:
            raise Unavailable("peer.unknown", f"{node_id} is not in any directory this node holds")
        certificates = listed_certificates(node)
        if not certificates:
            raise Unavailable(
                "peer.unknown", f"the directory lists no TLS certificate for {node_id}"
            )
        return cls(node_id, endpoint or node.peer_endpoint, certificates, pinned=True)

    @classmethod
    def bootstrap(cls, node_id: str, endpoint: str, ca_der: bytes | Sequence[bytes]) -> Route:
        """Trusting any certificate for `node_id` from the CA `ca_der` (or any of several, during
        a CA rotation, §2.9): only to fetch a directory, whose signature is then checked with
        the key this node already trusts."""
        cas = (ca_der,) if isinstance(ca_der, bytes) else tuple(dict.fromkeys(ca_der))
        return cls(node_id, endpoint, cas, pinned=False)

    def fingerprints(self) -> str:
        return ", ".join(f"SHA-256 {fingerprint(c)}" for c in self.trusted)


def is_certificate_refused(exc: grpc.aio.AioRpcError) -> bool:
    """The call failed because the server's certificate did not verify against the channel's
    roots. gRPC gives no status of its own for it (the call ends UNAVAILABLE, as when nobody
    answers), so the handshake error BoringSSL reports in the details is what tells."""
    if exc.code() != grpc.StatusCode.UNAVAILABLE:
        return False
    text = f"{exc.details() or ''} {exc.debug_error_string() or ''}"
    return "CERTIFICATE_VERIFY_FAILED" in text


def certificate_mismatch(route: Route | None, exc: grpc.aio.AioRpcError) -> Unauthenticated | None:
    """`peer.certificate_mismatch` when a call on a pinned route failed because the server
    presented another certificate than the directory lists, else None (the caller then reads
    the peer's own refusal from the status, `core.grpc_status.from_rpc_error`)."""
    if route is None or not route.pinned or not is_certificate_refused(exc):
        return None
    return Unauthenticated(
        "peer.certificate_mismatch",
        f"{route.node_id} at {route.endpoint} did not present the TLS certificate the "
        f"directory lists for it (expected {route.fingerprints()}); nothing was sent. "
        f"If {route.node_id} re-enrolled, a server with its old certificate still answers "
        "at that address",
    )


# What a server accepts from callers' keepalive pings: callers ping every 20 s, even between
# calls, so the server must not count that as abuse (gRPC's default minimum is 5 minutes).
SERVER_KEEPALIVE = [
    # A port another process already listens on is an error, not a share: two nodes that
    # picked the same port must not split each other's connections.
    ("grpc.so_reuseport", 0),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
]


def message_size_options(max_message_bytes: int) -> list[tuple[str, int]]:
    # Room for the envelope's header and signature around the largest payload.
    limit = max_message_bytes + 64 * 1024
    return [
        ("grpc.max_send_message_length", limit),
        ("grpc.max_receive_message_length", limit),
    ]


class PeerChannels:
    def __init__(
        self,
        tls: TlsIdentity,
        *,
        max_message_bytes: int,
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
    ) -> None:
        """`interceptors` wrap every call on every channel (the node's tracing, which
        carries the caller's trace context to the peer)."""
        self._tls = tls
        self._interceptors = list(interceptors)
        self._options = KEEPALIVE + message_size_options(max_message_bytes)
        self._channels: dict[str, tuple[Route, grpc.aio.Channel]] = {}
        self._closing: list[grpc.aio.Channel] = []

    def use_identity(self, tls: TlsIdentity) -> None:
        """Present `tls` from now on (a TLS rotation): the channels held are replaced as they
        are next asked for; calls on the old ones finish on their own."""
        self._tls = tls
        self._closing.extend(channel for _, channel in self._channels.values())
        self._channels.clear()

    def route_to(self, trust: TrustView, node_id: str) -> Route:
        return Route.to_listed(trust, node_id)

    def mismatch(self, node_id: str, exc: grpc.aio.AioRpcError) -> Unauthenticated | None:
        """`certificate_mismatch` for a call on the channel this node holds for `node_id`."""
        held = self._channels.get(node_id)
        return certificate_mismatch(held[0] if held else None, exc)

    def channel(self, route: Route) -> grpc.aio.Channel:
        held = self._channels.get(route.node_id)
        if held is not None and held[0] == route:
            return held[1]
        if held is not None:
            self._closing.append(held[1])  # closed at shutdown; calls on it finish on their own
        channel = grpc.aio.secure_channel(
            route.endpoint,
            peer_channel_credentials(self._tls, route.trusted),
            options=[("grpc.ssl_target_name_override", tls_name(route.node_id)), *self._options],
            interceptors=self._interceptors or None,
        )
        self._channels[route.node_id] = (route, channel)
        return channel

    async def ready(self, route: Route, timeout_s: float) -> grpc.aio.Channel:
        """The peer's channel once connected: a channel still waiting out a failed attempt
        would fail a call at once, though the peer may be back by now."""
        channel = self.channel(route)
        if channel.get_state(try_to_connect=True) != grpc.ChannelConnectivity.READY:
            try:
                await asyncio.wait_for(channel.channel_ready(), timeout_s)
            except TimeoutError:
                raise Unavailable(
                    "peer.unreachable",
                    f"{route.node_id} at {route.endpoint}: no connection within {timeout_s:g} s",
                ) from None
        return channel

    def stub(self, route: Route) -> peer_pb2_grpc.PeerAsyncStub:
        return peer_pb2_grpc.PeerStub(self.channel(route))

    async def close(self) -> None:
        for _, channel in self._channels.values():
            await channel.close(None)
        for channel in self._closing:
            await channel.close(None)
        self._channels.clear()
        self._closing.clear()
