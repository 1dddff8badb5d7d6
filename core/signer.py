"""The node's signer: its signing key and the key id derived from it, in one object.

What a node seals — the envelopes it sends (docs/PROTOCOL.md §3.5) and the receipts it gives
(§4.3) — is signed by the same key, named by the same key id (§0.5). The outbox and the inbound
side share one `Signer`, so neither reaches into the other for the key, and a later key
rotation has one place to change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core import envelope, receipts
from core.algorithms import Digest, SigningKey, profile_of
from core.envelope import Draft, Sealed
from core.signing import PURPOSE_SIGNING, key_id, raw_public
from swf.v1 import envelope_pb2 as pb

__all__ = ["Signer"]


@dataclass(frozen=True)
class Signer:
    node_id: str
    key: SigningKey
    key_id: str
    # The federation's digest, of the key's profile: SHA-256 (Ed25519) or SM3 (SM2).
    digest: Digest = Digest.SHA256

    @classmethod
    def of(cls, node_id: str, key: SigningKey) -> Signer:
        """The signer for `node_id`'s signing key, with its key id (§0.5) and its profile's
        digest (§0.9)."""
        profile = profile_of(key)
        kid = key_id(node_id, PURPOSE_SIGNING, raw_public(key), profile.key_algorithm)
        return cls(node_id, key, kid, profile.digest)

    def seal_envelopes(
        self,
        drafts: Sequence[Draft],
        *,
        now_ms: int,
        ttl_ms: int,
        new_id: Callable[[], str],
    ) -> list[Sealed]:
        """Envelopes from this node for `drafts`, under one batch signature (§3.5)."""
        return envelope.seal(
            drafts,
            sender=self.node_id,
            key=self.key,
            key_id=self.key_id,
            now_ms=now_ms,
            ttl_ms=ttl_ms,
            new_id=new_id,
            hash_with=self.digest,
        )

    def seal_receipts(self, bodies: Sequence[pb.ReceiptBody]) -> list[pb.Receipt]:
        """Receipts for `bodies` (whose `key_id` is this signer's), as one batch (§4.3)."""
        return receipts.seal(bodies, self.key, self.key_id, self.digest)
