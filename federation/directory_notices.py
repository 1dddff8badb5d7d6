"""A central's notices that a directory it serves changed (docs/PROTOCOL.md §2.10).

Members and trusting centrals poll a central's directory at their interval; a notice makes them
poll at once, so that an enrolment or a revocation reaches every node in about one round trip
rather than one poll interval (two, through a trusting central), and the interval can be long.
A notice carries nothing to trust — the callee fetches and verifies as at any poll — so it is
sent once, in the background, and a callee that misses it still polls at its interval.
"""

from __future__ import annotations

import asyncio
import logging

import grpc

from core.errors import SwnodeError
from core.ids import federation_of
from core.trust import TrustView
from federation.channels import PeerChannels, Route
from swf.v1 import directory_pb2 as pb
from swf.v1 import peer_pb2

__all__ = ["DirectoryNotices", "notice_is_news"]

log = logging.getLogger("swnode.directory")

TIMEOUT_S = 5.0


def notice_is_news(trust: TrustView, notice: peer_pb2.DirectoryNotice) -> bool:
    """Whether a notice names a version above the one `trust` holds of that federation."""
    if notice.federation == federation_of(trust.self_id):
        return notice.version > trust.version
    held = trust.foreign.get(notice.federation)
    return held is None or notice.version > held.version


class DirectoryNotices:
    """Sends a central's notices; `send` returns at once, the calls run as tasks of their own."""

    def __init__(self, *, node_id: str, channels: PeerChannels) -> None:
        self._node_id = node_id
        self._channels = channels
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0

    def changed(self, before: TrustView, after: TrustView) -> None:
        """Notify whom a change from `before` to `after` concerns: every active member of the
        own federation of any change of the bundle they are served; the centrals of trusted
        federations of a new own directory (they are served it alone)."""
        federation = federation_of(after.self_id)
        notices: list[tuple[Route, peer_pb2.DirectoryNotice]] = []
        own = peer_pb2.DirectoryNotice(federation=federation, version=after.version)
        if after.version > before.version:
            for anchor in after.trusted_anchors():
                route = _foreign_central(after, anchor)
                if route is not None:
                    notices.append((route, own))
        changed = [own] if after.version > before.version else []
        for fed, directory in sorted(after.foreign.items()):
            held = before.foreign.get(fed)
            if held is None or directory.version > held.version:
                changed.append(peer_pb2.DirectoryNotice(federation=fed, version=directory.version))
        if changed:  # one notice per member, of the own directory if it changed
            notices.extend((route, changed[0]) for route in _members(after, self._node_id))
        for route, notice in notices:
            task = asyncio.create_task(self._notify(route, notice), name="directory-notice")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _notify(self, route: Route, notice: peer_pb2.DirectoryNotice) -> None:
        try:
            await self._channels.stub(route).NotifyDirectory(
                notice, timeout=TIMEOUT_S, wait_for_ready=True
            )
            self.sent += 1
        except grpc.aio.AioRpcError as exc:
            # A node down, or of a version without notices: it polls at its interval.
            log.info("no directory notice to %s: %s", route.node_id, exc.code().name)
        except SwnodeError as exc:
            log.info("no directory notice to %s: %s", route.node_id, exc)


def _foreign_central(trust: TrustView, anchor: pb.Anchor) -> Route | None:
    """The route to a trusted federation's central, as its directory lists it (none while this
    central holds no directory of that federation: it polls at its interval)."""
    central = anchor.federation
    held = trust.foreign.get(central)
    node = trust.node(central)
    if held is None or node is None or node.role != pb.ROLE_CENTRAL:
        return None
    try:
        return Route.to_listed(trust, central)
    except SwnodeError:
        return None


def _members(trust: TrustView, self_id: str) -> list[Route]:
    """Routes to the active members of the own federation but this node."""
    routes = []
    for node in trust.nodes():
        if node.id == self_id or federation_of(node.id) != federation_of(self_id):
            continue
        if node.status != pb.NODE_STATUS_ACTIVE or not node.peer_endpoint:
            continue
        try:
            routes.append(Route.to_listed(trust, node.id))
        except SwnodeError:
            continue
    return routes
