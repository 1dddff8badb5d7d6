"""Merkle trees of the RFC 9162 (Certificate Transparency 2.0) shape, for batch signatures.

One signature covers the root of a tree whose leaves are the items of a batch; each item carries
its audit path, so it verifies alone. Leaves are domain-separated by the kind of item:

    leaf(domain, data) = H(0x00 || domain || 0x00 || data)
    node(left, right)  = H(0x01 || left || right)

H is the signer federation's digest: SHA-256, or SM3 in the sm2 profile (32 bytes either way).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.algorithms import Digest, digest

__all__ = ["build", "leaf_hash", "root_from_path"]


def leaf_hash(domain: bytes, data: bytes, h: Digest = Digest.SHA256) -> bytes:
    return digest(h, b"\x00" + domain + b"\x00" + data)


def _node(left: bytes, right: bytes, h: Digest) -> bytes:
    return digest(h, b"\x01" + left + right)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def build(leaves: Sequence[bytes], h: Digest = Digest.SHA256) -> tuple[bytes, list[list[bytes]]]:
    """The root of the tree over `leaves` (leaf hashes) and the audit path of every leaf."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    if len(leaves) == 1:
        return leaves[0], [[]]
    k = _split(len(leaves))
    left_root, left_paths = build(leaves[:k], h)
    right_root, right_paths = build(leaves[k:], h)
    for path in left_paths:
        path.append(right_root)
    for path in right_paths:
        path.append(left_root)
    return _node(left_root, right_root, h), left_paths + right_paths


def root_from_path(
    leaf: bytes, index: int, count: int, path: Sequence[bytes], h: Digest = Digest.SHA256
) -> bytes | None:
    """The root that `path` proves `leaf` (at `index` of `count`) is under, or None if the path
    cannot be one (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < count:
        return None
    fn, sn, r = index, count - 1, leaf
    for p in path:
        if len(p) != 32 or sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r, h)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p, h)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
