"""Conditional directory polls (docs/PROTOCOL.md §2.7): a central tags each `DirectoryBundle` it
serves with a digest; a member echoes the digest of the bundle it holds, and while the bundle it
would get is the same, the answer is a short `not_modified` instead of the whole bundle again.

Nearly every poll finds nothing new, and a national directory runs to tens of kilobytes: without
this, every member's every poll makes the central serialize, sign over TLS and send it all, and
the member parse it all, only to find the bytes it holds.
"""

from __future__ import annotations

import hashlib

from swf.v1 import directory_pb2 as pb

__all__ = ["answer", "digest_of", "tag"]


def digest_of(bundle: pb.DirectoryBundle) -> bytes:
    """SHA-256 of the bundle's content (`own` and `foreign`), as serialized here. Opaque to the
    member, which only echoes it: a central in another language may tag its bundles otherwise."""
    return hashlib.sha256(_content(bundle).SerializeToString()).digest()


def tag(bundle: pb.DirectoryBundle) -> pb.DirectoryBundle:
    """The bundle as served whole: its content, and the digest of it."""
    tagged = _content(bundle)
    tagged.digest = digest_of(tagged)
    return tagged


def answer(tagged: pb.DirectoryBundle, have_digest: bytes) -> pb.DirectoryBundle:
    """What a central answers a caller that holds `have_digest` (empty: nothing, or a member that
    does not poll conditionally), when `tagged` (see `tag`) is what that caller would be given."""
    if have_digest and have_digest == tagged.digest:
        return pb.DirectoryBundle(digest=tagged.digest, not_modified=True)
    return tagged


def _content(bundle: pb.DirectoryBundle) -> pb.DirectoryBundle:
    content = pb.DirectoryBundle()
    content.CopyFrom(bundle)
    content.ClearField("digest")
    content.ClearField("not_modified")
    return content
