"""Sealing undelivered messages again when the node's signing key changes (core.reseal).

A message sealed with a key that was then retired (at once, with `swnode rotate --now`) would be
refused by every peer with `key.retired`. The resealer swaps such envelopes for ones sealed with
the current key, under the same message id, and wakes their queues: when the node starts, when
it takes a new signing key into use, and when a peer refuses one of its messages with
`key.retired` (the message went dead; it is queued again). The recipient dedupes by id and a
receipt for an earlier sealing still counts, so each message is delivered once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from core.envelope import Sealed
from core.key_lifetimes import Lifetime
from core.reseal import Candidate, Decision, decide, draft_again
from core.signer import Signer
from core.trust import TrustView
from federation.delivery import Answered
from storage.database import Database
from storage.reseals import ResealRow
from swf.v1 import envelope_pb2 as pb

__all__ = ["Queues", "Resealer", "Sealing"]

log = logging.getLogger("swnode.reseal")

_PAGE = 200  # rows read, and sealed again, per transaction
_AGAIN_S = 1.0  # how soon messages in flight at a look are looked at again


class Sealing(Protocol):
    """What the resealer reads of the running node, each time: the signer in use, the trust
    view, and the clock."""

    @property
    def signer(self) -> Signer: ...

    @property
    def trust(self) -> TrustView: ...

    def clock_ms(self) -> int: ...


class Queues(Protocol):
    """The delivery queues (federation.delivery.Delivery): told of work, and telling of acks."""

    listeners: list[Callable[[Answered], None]]

    def notify(self, peer: str) -> None: ...


def _kept_id() -> str:
    raise AssertionError("a message sealed again keeps its id")


class Resealer:
    def __init__(self, node_id: str, db: Database, node: Sealing, delivery: Queues) -> None:
        self._node_id = node_id
        self._db = db
        self._node = node
        self._notify = delivery.notify
        delivery.listeners.append(self.answered)
        self._due = asyncio.Event()
        self._all = True  # at start: the key may have changed while the node was stopped
        self._ids: set[str] = set()
        # Sealed with a retired key but in flight at the last look: looked at again shortly.
        self.in_flight: set[str] = set()
        self._unlisted = 0  # looks in a row that found the key in use not listed yet
        self._due.set()

    def key_changed(self) -> None:
        """The node signs with another key now: look at everything undelivered."""
        self._all = True
        self._due.set()

    def answered(self, answered: Answered) -> None:
        """A delivery listener: messages a peer refused for good may have been refused for a
        retired key."""
        if answered.dead:
            self._ids.update(answered.dead)
            self._due.set()

    async def run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            everything, self._all = self._all, False
            ids, self._ids = self._ids, set()
            try:
                await self.reseal(None if everything else sorted(ids))
            except Exception:
                log.exception("resealing failed")
            loop = asyncio.get_running_loop()
            if self.in_flight:  # their attempts end soon (answered, or failed to connect)
                loop.call_later(_AGAIN_S, self._look_again)
            if self._unlisted:  # the directory lists the new key within a poll or two
                loop.call_later(min(60.0, _AGAIN_S * 2 ** min(self._unlisted, 6)), self.key_changed)

    def _look_again(self) -> None:
        self._ids.update(self.in_flight)
        self._due.set()

    async def reseal(self, message_ids: Sequence[str] | None = None) -> int:
        """Seal again what the rule says (all candidates, or only `message_ids`); how many."""
        now_ms = self._node.clock_ms()
        signer = self._node.signer
        me = self._node.trust.node(self._node_id)
        lives = {k.key_id: Lifetime.of(k) for k in me.signing_keys} if me is not None else {}
        if signer.key_id not in lives:
            # The key file changed before this node's copy of the directory lists the key
            # (`rotate --now` puts it in place at once): look again soon.
            self._unlisted += 1
            return 0
        self._unlisted = 0
        done = 0
        hops: set[str] = set()
        after = 0
        while True:  # a page at a time: a long backlog is not read into memory at once
            rows = await self._db.reseals.candidates(
                self._node_id, now_ms, after_seq=after, limit=_PAGE, message_ids=message_ids
            )
            if not rows:
                break
            after = rows[-1].seq
            for row in rows:
                self.in_flight.discard(row.message_id)
            again = [(r, s) for r in rows if (s := self._sealed_again(r, signer, lives, now_ms))]
            if not again:
                continue
            async with self._db.transaction() as tx:
                for row, new in again:
                    if await self._db.reseals.reseal_txn(
                        tx,
                        row.message_id,
                        row.header_sha256,
                        new.envelope.SerializeToString(),
                        new.header_sha256,
                        now_ms,
                    ):
                        done += 1
                        hops.add(row.next_hop)
        for hop in sorted(hops):
            self._notify(hop)
        if done:
            log.warning(
                "sealed %d undelivered messages again with the signing key %s (the key they were "
                "sealed with is retired)",
                done,
                signer.key_id,
            )
        return done

    def _sealed_again(
        self, row: ResealRow, signer: Signer, lives: dict[str, Lifetime], now_ms: int
    ) -> Sealed | None:
        """`row`'s message sealed with `signer` if the rule says so (core.reseal)."""
        old = pb.Envelope.FromString(row.envelope)
        sealed_key = old.signature.key_id
        candidate = Candidate(
            self._node_id, row.status, row.last_error, row.expires_at_unix_ms, sealed_key
        )
        decision = decide(
            candidate,
            self_id=self._node_id,
            current_key_id=signer.key_id,
            current=lives.get(signer.key_id),
            sealed=lives.get(sealed_key),
            now_ms=now_ms,
        )
        if decision is Decision.LATER:
            self.in_flight.add(row.message_id)
        if decision is not Decision.RESEAL:
            return None
        (new,) = signer.seal_envelopes(
            [draft_again(old)],
            now_ms=now_ms,
            ttl_ms=row.expires_at_unix_ms - now_ms,  # the same expiry
            new_id=_kept_id,
        )
        return new
