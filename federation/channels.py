"""One gRPC channel per peer, made on first use and replaced when the peer's endpoint or CA
changes in the directory. Channels multiplex every call and stream to that peer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc

from core.errors import Unavailable
from core.ids import federation_of, tls_name
from core.trust import TrustView
from federation.tls import TlsIdentity, peer_channel_credentials
from swf.v1 import peer_pb2_grpc

KEEPALIVE = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # A peer that was down is tried again within 2 s of coming back, not after gRPC's default
    # of up to two minutes of backoff; delivery keeps its own, persisted backoff (outbox).
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]


@dataclass(frozen=True)
class Route:
    node_id: str
    endpoint: str
    ca_der: bytes


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
    def __init__(self, tls: TlsIdentity, *, max_message_bytes: int) -> None:
        self._tls = tls
        self._options = KEEPALIVE + message_size_options(max_message_bytes)
        self._channels: dict[str, tuple[Route, grpc.aio.Channel]] = {}
        self._closing: list[grpc.aio.Channel] = []

    def route_to(self, trust: TrustView, node_id: str) -> Route:
        node = trust.node(node_id)
        directory = trust.directory_of(federation_of(node_id))
        if node is None or directory is None:
            raise Unavailable("peer.unknown", f"{node_id} is not in any directory this node holds")
        return Route(node_id, node.peer_endpoint, directory.ca_certificate)

    def channel(self, route: Route) -> grpc.aio.Channel:
        held = self._channels.get(route.node_id)
        if held is not None and held[0] == route:
            return held[1]
        if held is not None:
            self._closing.append(held[1])  # closed at shutdown; calls on it finish on their own
        channel = grpc.aio.secure_channel(
            route.endpoint,
            peer_channel_credentials(self._tls, route.ca_der),
            options=[("grpc.ssl_target_name_override", tls_name(route.node_id)), *self._options],
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
