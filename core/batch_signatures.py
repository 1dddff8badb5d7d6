"""Batch signatures: one signature over the size and Merkle root of many items.

A sender seals a batch of headers (or a receiver a batch of receipt bodies) with one signature;
each item's `BatchSignature` carries the signature, its place in the tree and its audit path.
A verifier recomputes the root from the item and its path and checks the signature over that
root. `RootCache` remembers roots already checked, so the items of one batch cost one signature
check between them, while each still verifies alone. The signature's algorithm is the signing
key's and the tree's digest its federation's (Ed25519 and SHA-256, or SM2 and SM3): under SM2, whose
signatures cost more than Ed25519's, a batch still costs one signature between its items.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from core import merkle
from core.algorithms import Digest, KeyAlgorithm, SigningKey
from core.signing import BATCH_DOMAIN, sign, verifies
from core.trust import KeyRef
from swf.v1 import envelope_pb2 as pb

__all__ = ["RootCache", "seal", "signed_root", "verify_by", "verify_item"]


def signed_root(count: int, root: bytes) -> bytes:
    """What the batch signature covers: the tree size (8 bytes, big-endian) and its root."""
    return count.to_bytes(8, "big") + root


def seal(
    key: SigningKey,
    key_id: str,
    domain: bytes,
    items: Sequence[bytes],
    digest: Digest = Digest.SHA256,
) -> list[pb.BatchSignature]:
    """One BatchSignature per item, all under one signature over the tree of `items`."""
    leaves = [merkle.leaf_hash(domain, item, digest) for item in items]
    root, paths = merkle.build(leaves, digest)
    count = len(items)
    signature = sign(key, BATCH_DOMAIN, signed_root(count, root))
    return [
        pb.BatchSignature(
            signature=signature, leaf_index=i, leaf_count=count, path=paths[i], key_id=key_id
        )
        for i in range(count)
    ]


class RootCache:
    """Roots whose signature has been verified, per (key, signature): bounded, oldest out."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[int, bytes, bytes, bytes], None] = OrderedDict()

    def check(
        self,
        public_key: bytes,
        signature: bytes,
        message: bytes,
        algorithm: int = KeyAlgorithm.ED25519,
    ) -> bool:
        entry = (algorithm, public_key, signature, message)
        if entry in self._seen:
            self._seen.move_to_end(entry)
            return True
        if not verifies(public_key, signature, BATCH_DOMAIN, message, algorithm=algorithm):
            return False
        self._seen[entry] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


def verify_item(
    public_key: bytes,
    domain: bytes,
    item: bytes,
    sig: pb.BatchSignature,
    cache: RootCache | None = None,
    *,
    algorithm: int = KeyAlgorithm.ED25519,
    digest: Digest = Digest.SHA256,
) -> bool:
    """True if `item` is under a root that `public_key` signed (read as `algorithm`)."""
    root = merkle.root_from_path(
        merkle.leaf_hash(domain, item, digest),
        sig.leaf_index,
        sig.leaf_count,
        list(sig.path),
        digest,
    )
    if root is None:
        return False
    message = signed_root(sig.leaf_count, root)
    if cache is not None:
        return cache.check(public_key, sig.signature, message, algorithm)
    return verifies(public_key, sig.signature, BATCH_DOMAIN, message, algorithm=algorithm)


def verify_by(
    key: KeyRef, domain: bytes, item: bytes, sig: pb.BatchSignature, cache: RootCache | None = None
) -> bool:
    """`verify_item` with the algorithm `key` declares and its federation's digest."""
    return verify_item(
        key.public_key, domain, item, sig, cache, algorithm=key.algorithm, digest=key.digest
    )
