"""Merkle trees: every leaf's audit path leads to the root, and nothing else does."""

from __future__ import annotations

import hashlib

import pytest

from core import merkle


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written the plainest way."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(
        b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:])
    ).digest()


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(b"test", str(i).encode()) for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100])
def test_every_path_leads_to_the_root(n: int) -> None:
    leaves = _leaves(n)
    root, paths = merkle.build(leaves)
    assert root == _reference_root(leaves)
    for i, leaf in enumerate(leaves):
        assert merkle.root_from_path(leaf, i, n, paths[i]) == root


def test_a_leaf_does_not_verify_at_another_index() -> None:
    leaves = _leaves(9)
    root, paths = merkle.build(leaves)
    assert merkle.root_from_path(leaves[3], 4, 9, paths[3]) != root
    assert merkle.root_from_path(leaves[3], 9, 9, paths[3]) is None
    # The tree size is bound by the batch signature, which covers it with the root.


def test_a_changed_sibling_or_leaf_changes_the_root() -> None:
    leaves = _leaves(6)
    root, paths = merkle.build(leaves)
    bad = list(paths[2])
    bad[0] = bytes(32)
    assert merkle.root_from_path(leaves[2], 2, 6, bad) != root
    other = merkle.leaf_hash(b"test", b"forged")
    assert merkle.root_from_path(other, 2, 6, paths[2]) != root


def test_paths_of_the_wrong_length_are_refused() -> None:
    leaves = _leaves(4)
    _, paths = merkle.build(leaves)
    assert merkle.root_from_path(leaves[0], 0, 4, paths[0][:1]) is None
    assert merkle.root_from_path(leaves[0], 0, 4, [*paths[0], bytes(32)]) is None
    assert merkle.root_from_path(leaves[0], 0, 4, [b"short", paths[0][1]]) is None


def test_leaves_are_domain_separated() -> None:
    assert merkle.leaf_hash(b"swnode/envelope/v1", b"x") != merkle.leaf_hash(
        b"swnode/receipt/v1", b"x"
    )


def test_an_empty_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one leaf"):
        merkle.build([])
