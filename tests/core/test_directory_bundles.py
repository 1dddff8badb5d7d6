"""Conditional directory polls (PROTOCOL.md §2.7): an echoed digest of the same bundle is
answered `not_modified` and nothing else; anything else gets the whole bundle, tagged."""

from __future__ import annotations

from core.directory_bundles import answer as tagged_answer
from core.directory_bundles import digest_of, tag
from swf.v1 import directory_pb2 as pb
from tests.factories import Federation

CN, SG = Federation("CN", ["CN-GD"]), Federation("SG")


def answer(bundle: pb.DirectoryBundle, have_digest: bytes) -> pb.DirectoryBundle:
    return tagged_answer(tag(bundle), have_digest)


def bundle(version: int, *, foreign: bool = True) -> pb.DirectoryBundle:
    own = CN.sign(CN.directory(version=version, trusts=[SG]))
    return pb.DirectoryBundle(own=own, foreign=[SG.sign(SG.directory())] if foreign else [])


def test_a_caller_without_a_digest_gets_the_whole_bundle_tagged() -> None:
    served = answer(bundle(3), b"")
    assert not served.not_modified
    assert served.own == bundle(3).own and list(served.foreign) == list(bundle(3).foreign)
    assert served.digest == digest_of(bundle(3)) and len(served.digest) == 32


def test_the_digest_it_was_given_is_answered_not_modified_without_a_directory() -> None:
    digest = answer(bundle(3), b"").digest
    served = answer(bundle(3), digest)
    assert served.not_modified and served.digest == digest
    assert not served.HasField("own") and not served.foreign
    assert len(served.SerializeToString()) < 40


def test_a_new_version_or_another_foreign_set_is_answered_whole() -> None:
    held = answer(bundle(3), b"").digest
    newer = answer(bundle(4), held)
    assert not newer.not_modified and newer.own == bundle(4).own and newer.digest != held
    fewer = answer(bundle(3, foreign=False), held)
    assert not fewer.not_modified and not fewer.foreign and fewer.digest != held


def test_a_digest_of_some_other_bytes_is_answered_whole() -> None:
    served = answer(bundle(3), b"\x00" * 32)
    assert not served.not_modified and served.own == bundle(3).own


def test_the_tag_covers_the_content_only() -> None:
    tagged = answer(bundle(3), b"")
    assert digest_of(tagged) == tagged.digest  # a bundle as served digests as it was tagged
    assert digest_of(pb.DirectoryBundle()) != digest_of(bundle(3))
