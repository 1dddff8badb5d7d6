"""Keeping the node's directories fresh, verified, and on disk.

A province polls its central node's peer port for the federation's directory bundle; a central
re-signs its own directory when half its validity has passed and fetches each trusted foreign
federation's directory from that federation's central. Every directory is verified before it is
stored (signature with the key already trusted, federation, no rollback); the node's trust view is
always rebuilt from what storage holds, so a restart resumes with the last good copy, and an
expired copy makes the node fail closed until a fresh one arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import grpc
from google.protobuf.message import DecodeError

from core import directory as dirs
from core.algorithms import KeyAlgorithm
from core.anchor import anchor_key_algorithm
from core.errors import SwnodeError
from core.grpc_status import from_rpc_error
from core.ids import federation_of
from core.signing import fingerprint
from core.trust import TrustView, ca_roots
from federation.channels import PeerChannels, Route, certificate_mismatch
from federation.directory_notices import DirectoryNotices, notice_is_news
from storage.database import Database
from storage.directories import HeldDirectory
from swf.v1 import directory_pb2 as pb
from swf.v1 import peer_pb2, peer_pb2_grpc

__all__ = ["DirectorySync", "load_trust"]

log = logging.getLogger("swnode.directory")


class DirectorySync:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        directory_key: bytes,
        own_ca_der: bytes,
        directory_key_algorithm: KeyAlgorithm = KeyAlgorithm.ED25519,
        channels: PeerChannels,
        clock_ms: Callable[[], int],
        refresh: Callable[[], Awaitable[bool]] | None = None,
        central_peer_endpoint: str | None = None,
        on_change: Callable[[TrustView], None] = lambda _: None,
        on_directory_key: Callable[[bytes], None] = lambda _: None,
        on_foreign_key: Callable[[str, bytes, bytes], Awaitable[object]] | None = None,
    ) -> None:
        self.node_id = node_id
        self.federation = federation_of(node_id)
        self._db = db
        self._directory_key = directory_key
        # The own federation's profile, which this node's keys are of (PROTOCOL.md §0.9).
        self._algorithm = directory_key_algorithm
        self._own_ca_der = own_ca_der
        self._channels = channels
        self._clock_ms = clock_ms
        # A central re-signs its own directory when due (identity.authority.Authority).
        self._refresh = refresh
        self._central_peer_endpoint = central_peer_endpoint
        self._on_change = on_change
        # A directory key rotation (PROTOCOL.md §2.9): a member follows its federation's new
        # key; a central, a trusted federation's (its anchor follows).
        self._on_directory_key = on_directory_key
        self._on_foreign_key = on_foreign_key
        self._previous_key = b""
        self.trust = TrustView.build(node_id, None)
        self.last_error: str | None = None
        self.last_success_ms: int | None = None
        self.foreign_errors: dict[str, str] = {}
        # The signed bytes last verified and stored, by federation: a poll that brings the same
        # bytes again (nearly every poll) is not verified, stored and reloaded again.
        self._accepted: dict[str, bytes] = {}
        # The digest of the last bundle fetched from each federation's central and stored: sent
        # back with the next poll, so that an unchanged directory comes back as `not_modified`
        # rather than whole (PROTOCOL.md §2.7). Kept in memory only: a restart fetches it whole.
        self._digests: dict[str, bytes] = {}
        self.not_modified = 0
        self._loaded: tuple[frozenset[tuple[str, bytes]], bytes, bytes] | None = None
        # A central notifies whom a change concerns (PROTOCOL.md §2.10); a notice to this node
        # sets `_wake`, and the next poll comes at once.
        self._notices = (
            DirectoryNotices(node_id=node_id, channels=channels) if refresh is not None else None
        )
        self._wake = asyncio.Event()
        self._stubs: dict[str, tuple[grpc.aio.Channel, peer_pb2_grpc.PeerAsyncStub]] = {}

    # -- from storage ------------------------------------------------------------------------

    async def load(self) -> TrustView:
        """Rebuild the trust view from the copies held in storage, unless they are the bytes it
        was last built from (a central looks at every poll, for what other processes stored)."""
        held = await self._db.directories.held()
        stamp = (
            frozenset((f, h.signed) for f, h in held.items()),
            self._directory_key,
            self._previous_key,
        )
        if stamp == self._loaded:
            return self.trust
        trust = await load_trust(
            self._db,
            self.node_id,
            self._directory_key,
            self._algorithm,
            also=self._previous_key,
            held=held,
        )
        self._loaded = stamp
        changed = _versions(trust) != _versions(self.trust)
        before, self.trust = self.trust, trust
        if changed:
            self._on_change(trust)
            if self._notices is not None and before.own is not None:
                self._notices.changed(before, trust)
        return trust

    def notice(self, notice: peer_pb2.DirectoryNotice) -> bool:
        """A central's notice that a directory changed (PROTOCOL.md §2.10): poll at once if it
        names a version this node does not hold; whether it does."""
        news = notice_is_news(self.trust, notice)
        if news:
            self._wake.set()
        return news

    def use_directory_key(self, directory_key: bytes) -> None:
        """Verify the own federation's directory with `directory_key` from now on (the one
        before still verifies what it signed, while the stored copy is its)."""
        self._previous_key = self._directory_key
        self._directory_key = directory_key

    # -- from the network --------------------------------------------------------------------

    async def accept_bundle(self, bundle: pb.DirectoryBundle) -> bool:
        """Verify and store a bundle from this federation's central node; whether anything new
        was stored. Raises (and stores nothing of the own directory) on a bad signature, wrong
        federation or rollback."""
        now_ms = self._clock_ms()
        raw = bundle.own.SerializeToString()
        changed = False
        trusted = list(self.trust.trusted_anchors())
        if raw != self._accepted.get(self.federation):
            own = dirs.verify_directory(
                bundle.own,
                directory_key=self._directory_key,
                federation=self.federation,
                held_version=self.trust.version,
                algorithm=self._algorithm,
                announced=self.trust.own.next_directory_key if self.trust.own else b"",
            )
            if own.directory_key != self._directory_key:
                log.info("the directory of %s is signed by its new key now", self.federation)
                self.use_directory_key(own.directory_key)
                self._on_directory_key(own.directory_key)
            await self._db.directories.hold(self.federation, own.version, raw, now_ms)
            self._accepted[self.federation] = raw
            trusted, changed = list(own.trusted_federations), True
        anchors = {a.federation: a for a in trusted}
        for signed in bundle.foreign:
            changed = await self._accept_foreign(signed, anchors, now_ms) or changed
        return changed

    async def _accept_foreign(
        self, signed: pb.SignedDirectory, anchors: dict[str, pb.Anchor], now_ms: int
    ) -> bool:
        try:
            claimed = pb.Directory.FromString(signed.directory).federation
        except DecodeError:
            log.warning("ignoring a foreign directory that does not parse")
            return False
        anchor = anchors.get(claimed)
        if anchor is None:
            log.warning("ignoring a directory of %r: that federation is not trusted", claimed)
            return False
        raw = signed.SerializeToString()
        if raw == self._accepted.get(claimed) and claimed in self.trust.foreign:
            return False
        held = self.trust.foreign.get(claimed)
        try:
            directory = dirs.verify_directory(
                signed,
                directory_key=anchor.directory_key,
                federation=anchor.federation,
                held_version=held.version if held is not None else 0,
                ca_certificate=anchor.ca_certificate,
                algorithm=anchor_key_algorithm(anchor),
                announced=held.next_directory_key if held is not None else b"",
            )
        except SwnodeError as exc:
            self.foreign_errors[claimed] = str(exc)
            log.error("refusing the directory offered for %s: %s", claimed, exc)
            return False
        self.foreign_errors.pop(claimed, None)
        await self._db.directories.hold(claimed, directory.version, raw, now_ms)
        self._accepted[claimed] = raw
        moved = (directory.directory_key, directory.ca_certificate)
        if moved != (anchor.directory_key, anchor.ca_certificate) and self._on_foreign_key:
            # A directory key or CA rotation of that federation (§2.9): its anchor follows.
            if directory.ca_certificate != anchor.ca_certificate:
                log.warning(
                    "%s issues from its new CA now, SHA-256 %s; its anchor follows",
                    claimed,
                    fingerprint(directory.ca_certificate),
                )
            if directory.directory_key != anchor.directory_key:
                log.info("%s signs its directory with its new key; its anchor follows", claimed)
            await self._on_foreign_key(claimed, *moved)
        return True

    def _central_route(self, central: str, endpoint: str, ca_der: bytes) -> Route:
        """Pinned to the certificate the held directory lists for `central`; trusting its
        federation's CA only while no directory listing it is held (the first fetch after
        enrolment, or of a newly trusted federation)."""
        if self.trust.node(central) is not None:
            return Route.to_listed(self.trust, central, endpoint)
        return Route.bootstrap(central, endpoint, ca_der)

    def _stub(self, route: Route) -> peer_pb2_grpc.PeerAsyncStub:
        """The stub on the channel held for `route`, made again only with a new channel (a
        stub's making is most of what an unchanged poll costs the caller)."""
        channel = self._channels.channel(route)
        held = self._stubs.get(route.node_id)
        if held is None or held[0] is not channel:
            held = self._stubs[route.node_id] = (channel, peer_pb2_grpc.PeerStub(channel))
        return held[1]

    async def _fetch(
        self, route: Route, have_digest: bytes = b"", *, again: bool = True
    ) -> pb.DirectoryBundle:
        stub = self._stub(route)
        request = peer_pb2.GetDirectoryRequest(
            have_version=self.trust.version, have_digest=have_digest
        )
        try:
            bundle: pb.DirectoryBundle = await stub.GetDirectory(request, timeout=10)
        except grpc.aio.AioRpcError as exc:
            mismatch = certificate_mismatch(route, exc)
            if mismatch is not None and again:
                # The central presents a certificate the held directory does not list yet (it
                # renewed while this node could not fetch, as in a CA rotation, §2.9): fetch
                # once trusting its federation's CAs, as a first fetch does; what comes is
                # verified by its signature all the same (§0.6).
                return await self._fetch(self._by_ca(route), have_digest, again=False)
            raise mismatch or from_rpc_error(exc, default_reason="directory.unreachable") from exc
        return bundle

    def _by_ca(self, route: Route) -> Route:
        """`route` trusting the CAs of its central's federation instead of a listed certificate."""
        central = route.node_id
        held = self.trust.directory_of(central)
        cas = ca_roots(held) if held is not None else []
        cas += [a.ca_certificate for a in self.trust.trusted_anchors() if a.federation == central]
        cas += [self._own_ca_der] if central == self.federation else []
        return Route.bootstrap(central, route.endpoint, cas)

    async def poll_once(self) -> None:
        if self._refresh is not None:
            await self._refresh()
            await self.load()
            await self._poll_foreign()
            await self.load()
        else:
            if self._central_peer_endpoint is None:
                raise SwnodeError("node.not_enrolled", "this node has not enrolled")
            route = self._central_route(
                self.federation, self._central_peer_endpoint, self._own_ca_der
            )
            held = self._digests.get(self.federation, b"") if self.trust.own is not None else b""
            bundle = await self._fetch(route, held)
            if bundle.not_modified and held:
                self.not_modified += 1
            else:
                self._digests.pop(self.federation, None)
                if await self.accept_bundle(bundle) or self.trust.own is None:
                    await self.load()
                if self.trust.own is not None:
                    self._digests[self.federation] = bundle.digest
        self.last_success_ms = self._clock_ms()
        self.last_error = None

    async def _poll_foreign(self) -> None:
        """A central fetches each trusted federation's directory from that federation's central."""
        now_ms = self._clock_ms()
        for anchor in self.trust.trusted_anchors():
            held = self.trust.foreign.get(anchor.federation)
            endpoint = anchor.endpoint
            if held is not None:
                for node in held.nodes:
                    if node.id == anchor.federation and node.peer_endpoint:
                        endpoint = node.peer_endpoint
            digest = self._digests.get(anchor.federation, b"") if held is not None else b""
            try:
                route = self._central_route(anchor.federation, endpoint, anchor.ca_certificate)
                bundle = await self._fetch(route, digest)
            except SwnodeError as exc:
                self.foreign_errors[anchor.federation] = str(exc)
                log.warning("cannot fetch the directory of %s: %s", anchor.federation, exc)
                continue
            if bundle.not_modified and digest:
                self.not_modified += 1
                continue
            self._digests.pop(anchor.federation, None)
            if await self._accept_foreign(bundle.own, {anchor.federation: anchor}, now_ms) or (
                bundle.own.SerializeToString() == self._accepted.get(anchor.federation)
            ):
                self._digests[anchor.federation] = bundle.digest

    async def run(self, interval_s: float) -> None:
        while True:
            self._wake.clear()
            try:
                await self.poll_once()
            except SwnodeError as exc:
                self.last_error = str(exc)
                log.warning("directory poll failed: %s", exc)
            except Exception as exc:
                self.last_error = f"internal error: {exc!r}"
                log.exception("directory poll failed")
            if not self.trust.valid(self._clock_ms()):
                log.error(
                    "no valid directory for %s: refusing peer traffic until a fresh one arrives",
                    self.federation,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval_s)


def _versions(trust: TrustView) -> tuple[int, tuple[tuple[str, int], ...]]:
    return trust.version, tuple(sorted((f, d.version) for f, d in trust.foreign.items()))


async def load_trust(
    db: Database,
    node_id: str,
    directory_key: bytes,
    algorithm: KeyAlgorithm = KeyAlgorithm.ED25519,
    *,
    also: bytes = b"",
    held: dict[str, HeldDirectory] | None = None,
) -> TrustView:
    """The trust view the directories held in storage (or `held`, just read from it) give, each
    re-verified on the way in (the own one with `directory_key`, or `also`: the key before a
    rotation)."""
    federation = federation_of(node_id)
    held = await db.directories.held() if held is None else held
    own = None
    if federation in held:
        try:
            own = dirs.verify_directory(
                pb.SignedDirectory.FromString(held[federation].signed),
                directory_key=directory_key,
                federation=federation,
                algorithm=algorithm,
                announced=also,
            )
        except SwnodeError as exc:
            log.error("the stored directory of %s does not verify: %s", federation, exc)
    foreign: dict[str, pb.Directory] = {}
    for anchor in own.trusted_federations if own is not None else ():
        copy = held.get(anchor.federation)
        if copy is None:
            continue
        try:
            foreign[anchor.federation] = dirs.verify_directory(
                pb.SignedDirectory.FromString(copy.signed),
                directory_key=anchor.directory_key,
                federation=anchor.federation,
                ca_certificate=anchor.ca_certificate,
                algorithm=anchor_key_algorithm(anchor),
            )
        except SwnodeError as exc:
            log.error("the stored directory of %s does not verify: %s", anchor.federation, exc)
    return TrustView.build(node_id, own, foreign)
