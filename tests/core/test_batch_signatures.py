"""Batch signatures: one signature per batch, each item verifiable on its own."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import batch_signatures as batch
from core.signing import raw_public

DOMAIN = b"swnode/test/v1"


def test_each_item_verifies_alone_under_one_signature() -> None:
    key = Ed25519PrivateKey.generate()
    items = [f"item {i}".encode() for i in range(5)]
    sigs = batch.seal(key, "CN/sig/x", DOMAIN, items)
    assert len({s.signature for s in sigs}) == 1
    assert all(s.key_id == "CN/sig/x" and s.leaf_count == 5 for s in sigs)
    for item, sig in zip(items, sigs, strict=True):
        assert batch.verify_item(raw_public(key), DOMAIN, item, sig)


def test_an_item_does_not_verify_with_another_items_place_or_key_or_domain() -> None:
    key = Ed25519PrivateKey.generate()
    items = [b"a", b"b", b"c"]
    sigs = batch.seal(key, "k", DOMAIN, items)
    assert not batch.verify_item(raw_public(key), DOMAIN, b"a", sigs[1])
    assert not batch.verify_item(raw_public(key), DOMAIN, b"a!", sigs[0])
    assert not batch.verify_item(raw_public(Ed25519PrivateKey.generate()), DOMAIN, b"a", sigs[0])
    assert not batch.verify_item(raw_public(key), b"swnode/other/v1", b"a", sigs[0])


def test_a_changed_leaf_count_breaks_the_signature() -> None:
    key = Ed25519PrivateKey.generate()
    items = [bytes([i]) for i in range(9)]
    sigs = batch.seal(key, "k", DOMAIN, items)
    changed = type(sigs[3])()
    changed.CopyFrom(sigs[3])
    changed.leaf_count = 10  # the same path still leads to the same root for this leaf
    assert batch.verify_item(raw_public(key), DOMAIN, items[3], sigs[3])
    assert not batch.verify_item(raw_public(key), DOMAIN, items[3], changed)


def test_the_root_cache_remembers_only_roots_that_verified() -> None:
    key = Ed25519PrivateKey.generate()
    sigs = batch.seal(key, "k", DOMAIN, [b"a", b"b"])
    cache = batch.RootCache(size=4)
    assert batch.verify_item(raw_public(key), DOMAIN, b"a", sigs[0], cache)
    assert batch.verify_item(raw_public(key), DOMAIN, b"b", sigs[1], cache)
    forged = type(sigs[0])()
    forged.CopyFrom(sigs[0])
    forged.signature = bytes(64)
    assert not batch.verify_item(raw_public(key), DOMAIN, b"a", forged, cache)
    assert not batch.verify_item(raw_public(key), DOMAIN, b"a", forged, cache)
