"""Following federations' directory keys across their switches, offline (PROTOCOL.md §4.5).

A directory signed by key K that announces `next_directory_key` N is a link: K vouches for N. An
evidence file carries, besides the directories its node holds, the links that lead from each
federation's earlier directory keys to the one that signs its held copy, so that a verifier who
pinned an anchor before a switch still verifies what was sealed after it. Trust only runs
forwards: a directory signed by an earlier key is never trusted because a later key verifies,
so a directory key stolen after its retirement cannot forge anything for a newer anchor.

A directory offered for a federation, newer than every one verified for it, that no trusted key
verifies is a broken chain: the evidence claims a later state it cannot prove.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from core.algorithms import KeyAlgorithm
from core.anchor import anchor_key_algorithm
from core.directory import directory_key_algorithm, verify_directory
from core.errors import SwnodeError, Unauthenticated
from swf.v1 import directory_pb2 as dpb

__all__ = ["follow", "is_link", "link_key", "links_to_carry"]


@dataclass
class _Offered:
    federation: str
    version: int
    signed: dpb.SignedDirectory
    verified: dpb.Directory | None = None
    refused: str = ""


def is_link(directory: dpb.Directory) -> bool:
    """Whether `directory` announces a directory key other than the one that signed it."""
    return bool(directory.next_directory_key) and (
        directory.next_directory_key != directory.directory_key
    )


def link_key(raw: bytes) -> bytes | None:
    """The directory key that signed the serialized `SignedDirectory` `raw`, if it is a link
    (what a node keeps of it, by federation and key: storage.directories)."""
    parsed = _parse(raw)
    if parsed is None:
        return None
    directory = dpb.Directory.FromString(parsed.signed.directory)
    return directory.directory_key if is_link(directory) else None


def links_to_carry(held: Sequence[bytes], links: Sequence[bytes]) -> list[bytes]:
    """The kept `links` an evidence file carries beside the `held` directories: those signed by
    another key than the held copy of their federation (a switch happened since). Without a
    switch, none: the file is as it always was."""
    current: dict[str, bytes] = {}
    for raw in held:
        parsed = _parse(raw)
        if parsed is not None:
            directory = dpb.Directory.FromString(parsed.signed.directory)
            current[directory.federation] = directory.directory_key
    carried = []
    for raw in links:
        parsed = _parse(raw)
        if parsed is None or parsed.federation not in current:
            continue
        key = dpb.Directory.FromString(parsed.signed.directory).directory_key
        if key != current[parsed.federation]:
            carried.append((parsed.federation, parsed.version, raw))
    return [raw for _, _, raw in sorted(carried)]


def _parse(raw: bytes) -> _Offered | None:
    try:
        signed = dpb.SignedDirectory.FromString(raw)
        directory = dpb.Directory.FromString(signed.directory)
    except DecodeError:
        return None
    return _Offered(directory.federation, directory.version, signed)


def follow(offered: Sequence[bytes], anchor: dpb.Anchor) -> list[dpb.Directory]:
    """The directories among `offered` (serialized `SignedDirectory`) that verify from `anchor`,
    oldest first within each federation. Raises `evidence.no_directory` if none of the anchor's
    federation verifies (naming each offered and why it failed), `evidence.broken_chain` if a
    newer one than those verified does not."""
    items = [o for o in map(_parse, offered) if o is not None]
    # 1. The keys trusted per federation: the anchor's for its own, the anchors verified
    #    directories of other federations name for the others, and for each federation the
    #    next keys its own verified directories announce.
    trusted: dict[str, dict[bytes, KeyAlgorithm]] = {
        anchor.federation: {anchor.directory_key: anchor_key_algorithm(anchor)}
    }
    progress = True
    while progress:
        progress = False
        for item in items:
            if item.verified is not None:
                continue
            for key, algorithm in list(trusted.get(item.federation, {}).items()):
                try:
                    directory = verify_directory(
                        item.signed, directory_key=key, federation=item.federation,
                        algorithm=algorithm,
                    )  # fmt: skip
                except SwnodeError as exc:
                    item.refused = exc.reason
                    continue
                item.verified = directory
                progress = True
                if is_link(directory):
                    own = directory_key_algorithm(directory) or algorithm
                    trusted[item.federation].setdefault(directory.next_directory_key, own)
                for a in directory.trusted_federations:
                    if a.federation in (anchor.federation, item.federation):
                        continue  # the verifier's own anchor decides its federation's keys
                    trusted.setdefault(a.federation, {}).setdefault(
                        a.directory_key, anchor_key_algorithm(a)
                    )
                break
    # 2. Every federation's chain is whole: nothing newer than what verified is left over.
    newest: dict[str, int] = {}
    for item in items:
        if item.verified is not None:
            newest[item.federation] = max(newest.get(item.federation, 0), item.version)
    if anchor.federation not in newest:
        own_offered = sorted(
            (i for i in items if i.federation == anchor.federation), key=lambda i: i.version
        )
        why = "; ".join(f"version {i.version}: {i.refused or 'not verified'}" for i in own_offered)
        why = f" ({why})" if why else ""
        raise Unauthenticated(
            "evidence.no_directory",
            "directories: the evidence holds no directory that verifies with the anchor of "
            f"{anchor.federation}{why}",
        )
    for item in sorted(items, key=lambda i: (i.federation, i.version)):
        if item.verified is None and item.version > newest.get(item.federation, item.version):
            raise Unauthenticated(
                "evidence.broken_chain",
                f"directories: the directory of {item.federation} version {item.version} is "
                f"newer than version {newest[item.federation]} but verifies with no key that "
                f"an earlier directory announced ({item.refused or 'not verified'})",
            )
    verified = [i for i in items if i.verified is not None]
    verified.sort(key=lambda i: (i.federation, i.version))
    return [i.verified for i in verified if i.verified is not None]
