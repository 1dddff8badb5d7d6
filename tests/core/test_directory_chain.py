"""Evidence across a directory key switch (PROTOCOL.md §4.5): an anchor pinned before the switch
verifies what was sealed after it through the chain of links the evidence carries, the new anchor
verifies what was sealed before, and a broken link is refused with a reason naming it."""

from __future__ import annotations

import dataclasses

import pytest

from core import algorithms, directory_chain, evidence
from core.errors import SwnodeError
from core.signing import raw_public
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb
from tests.core.test_receipts import envelope, receipt
from tests.factories import Federation


@pytest.fixture
def cn() -> Federation:
    return Federation("CN", ["CN-GD"])


@pytest.fixture
def sg() -> Federation:
    return Federation("SG")


def link(fed: Federation, version: int, trusts: list[Federation]) -> tuple[bytes, dpb.Anchor]:
    """A directory announcing a fresh next key, signed by the current one; the federation then
    switches to the new key. Returns the signed link and the anchor from before the switch."""
    before = fed.anchor()
    new_key = algorithms.generate(fed.profile.key_algorithm)
    directory = fed.directory(version=version, trusts=trusts)
    directory.next_directory_key = raw_public(new_key)
    signed = fed.sign(directory).SerializeToString()
    fed.directory_key = new_key
    return signed, before


def rotate_member_key(fed: Federation, node_id: str) -> None:
    member = fed.members[node_id]
    fed.members[node_id] = dataclasses.replace(
        member, signing_key=algorithms.generate(fed.profile.key_algorithm)
    )


def exported(cn: Federation, sg: Federation, version: int, links: list[bytes]) -> pb.Evidence:
    """Evidence of a message CN-GD seals now, as a node holding both federations' directories
    exports it: the held copies, then the links that lead to their keys."""
    env = envelope(cn)
    given = [
        receipt(cn, "CN", env, pb.RECEIPT_KIND_HOP),
        receipt(sg, "SG", env, pb.RECEIPT_KIND_DELIVERY),
    ]
    held = [cn.sign(cn.directory(version=version, trusts=[sg])), sg.sign(sg.directory(trusts=[cn]))]
    ev = evidence.build(env, given, held)
    ev.directories.extend(
        directory_chain.links_to_carry([d.SerializeToString() for d in held], links)
    )
    return ev


def test_the_old_anchor_verifies_evidence_sealed_after_a_switch(
    cn: Federation, sg: Federation
) -> None:
    signed_link, old_anchor = link(cn, 2, [sg])
    rotate_member_key(cn, "CN-GD")  # sealed with a key only the new key's directory lists
    ev = exported(cn, sg, 3, [signed_link])
    result = evidence.verify(ev, old_anchor)
    assert result.delivered and result.sender == "CN-GD"
    assert ("CN", 2) in result.directories and ("CN", 3) in result.directories
    # The new anchor verifies it too, with the directory its key signed.
    assert evidence.verify(ev, cn.anchor()).delivered
    # Without the link the old anchor proves nothing.
    bare = pb.Evidence()
    bare.CopyFrom(ev)
    del bare.directories[2:]
    with pytest.raises(SwnodeError) as refused:
        evidence.verify(bare, old_anchor)
    assert refused.value.reason == "evidence.no_directory"


def test_the_new_anchor_verifies_evidence_sealed_before_a_switch(
    cn: Federation, sg: Federation
) -> None:
    env = envelope(cn)  # sealed before, with the key every directory lists
    given = [receipt(sg, "SG", env, pb.RECEIPT_KIND_DELIVERY)]
    signed_link, _ = link(cn, 2, [sg])
    held = [cn.sign(cn.directory(version=3, trusts=[sg])), sg.sign(sg.directory(trusts=[cn]))]
    ev = evidence.build(env, given, held)
    ev.directories.extend(
        directory_chain.links_to_carry([d.SerializeToString() for d in held], [signed_link])
    )
    result = evidence.verify(ev, cn.anchor())
    assert result.delivered
    assert ("CN", 2) not in result.directories  # trust never runs backwards, to the old key


def test_evidence_without_a_switch_carries_nothing_more(cn: Federation, sg: Federation) -> None:
    # During the announcement the held copy is itself the newest link: nothing is added.
    announcing = cn.directory(version=2, trusts=[sg])
    announcing.next_directory_key = raw_public(algorithms.generate(cn.profile.key_algorithm))
    held = cn.sign(announcing).SerializeToString()
    assert directory_chain.links_to_carry([held], [held]) == []
    assert directory_chain.link_key(held) == cn.directory_public
    assert directory_chain.link_key(cn.sign(cn.directory()).SerializeToString()) is None


def test_two_switches_chain_and_a_tampered_link_is_named(cn: Federation, sg: Federation) -> None:
    first, oldest_anchor = link(cn, 2, [sg])
    second, _ = link(cn, 4, [sg])
    rotate_member_key(cn, "CN-GD")
    ev = exported(cn, sg, 6, [first, second])
    result = evidence.verify(ev, oldest_anchor)
    assert [v for f, v in result.directories if f == "CN"] == [2, 4, 6]

    # The middle link altered (another next key, say): its signature no longer holds.
    tampered = pb.Evidence()
    tampered.CopyFrom(ev)
    index = list(ev.directories).index(second)
    signed = dpb.SignedDirectory.FromString(second)
    body = dpb.Directory.FromString(signed.directory)
    body.next_directory_key = raw_public(algorithms.generate(cn.profile.key_algorithm))
    signed.directory = body.SerializeToString()
    tampered.directories[index] = signed.SerializeToString()
    with pytest.raises(SwnodeError) as broken:
        evidence.verify(tampered, oldest_anchor)
    assert broken.value.reason == "evidence.broken_chain"
    assert "CN version 4" in str(broken.value) and "directory.bad_signature" in str(broken.value)

    # The first link altered: nothing verifies with the oldest anchor, and the reason says why.
    tampered.CopyFrom(ev)
    tampered.directories[list(ev.directories).index(first)] = first[:-1] + bytes([first[-1] ^ 1])
    with pytest.raises(SwnodeError) as none:
        evidence.verify(tampered, oldest_anchor)
    assert none.value.reason == "evidence.no_directory"
    assert "directory.bad_signature" in str(none.value)


def test_a_directory_forged_after_a_link_is_a_broken_chain(cn: Federation, sg: Federation) -> None:
    signed_link, old_anchor = link(cn, 2, [sg])
    cn.directory_key = algorithms.generate(cn.profile.key_algorithm)  # not the announced one
    rotate_member_key(cn, "CN-GD")
    ev = exported(cn, sg, 3, [signed_link])
    with pytest.raises(SwnodeError) as broken:
        evidence.verify(ev, old_anchor)
    assert broken.value.reason == "evidence.broken_chain"
    assert "CN version 3" in str(broken.value)
