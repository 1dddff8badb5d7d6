"""Signing and verifying a federation's directory (design §4, docs/PROTOCOL.md §2).

The directory is signed as bytes: the serialized `Directory` travels unchanged inside a
`SignedDirectory`, and a verifier checks the signature over exactly those bytes before parsing them,
with the algorithm its anchor (or the federation's own profile) declares for the directory key.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from core.algorithms import KeyAlgorithm, SigningKey
from core.errors import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    quote,
)
from core.signing import DIRECTORY_DOMAIN, sign, verifies
from swf.v1 import directory_pb2 as pb

__all__ = [
    "directory_key_algorithm",
    "is_current",
    "needs_refresh",
    "same_content",
    "sign_directory",
    "verify_directory",
]


def sign_directory(directory: pb.Directory, key: SigningKey) -> pb.SignedDirectory:
    body = directory.SerializeToString(deterministic=True)
    return pb.SignedDirectory(directory=body, signature=sign(key, DIRECTORY_DOMAIN, body))


def verify_directory(
    signed: pb.SignedDirectory,
    *,
    directory_key: bytes,
    federation: str,
    held_version: int = 0,
    ca_certificate: bytes | None = None,
    algorithm: KeyAlgorithm = KeyAlgorithm.ED25519,
    announced: bytes = b"",
) -> pb.Directory:
    """Return the directory inside `signed` if it is authentic, for `federation`, and not older
    than `held_version`. Expiry is a separate question (`is_current`): a node keeps an expired copy
    to report on, but must not use it for traffic. `algorithm` is the directory key's, as the
    anchor (or the own profile) declares it. `announced` is the next directory key a directory
    already verified announced (§2.9): a directory it signs is accepted too, and names it."""
    # 1. The signature over the exact bytes carried, with the directory key we already trust
    #    (or the next one it announced).
    key = directory_key
    if not verifies(
        directory_key, signed.signature, DIRECTORY_DOMAIN, signed.directory, algorithm=algorithm
    ):
        key = announced
    if key is not directory_key and not (
        announced
        and verifies(
            announced, signed.signature, DIRECTORY_DOMAIN, signed.directory, algorithm=algorithm
        )
    ):
        raise Unauthenticated(
            "directory.bad_signature",
            f"the directory offered for federation {federation} is not signed by its directory key",
        )
    # 2. Only now parse.
    directory = pb.Directory()
    try:
        directory.ParseFromString(signed.directory)
    except DecodeError as exc:
        raise InvalidArgument("directory.malformed", "the signed directory does not parse") from exc
    # 3. It is the directory of the federation we asked about, and names the key that signed it.
    if directory.federation != federation:
        raise PermissionDenied(
            "directory.wrong_federation",
            f"expected the directory of {federation}, got one for {quote(directory.federation)}",
        )
    if directory.directory_key != key:
        raise PermissionDenied(
            "directory.wrong_key", "the directory names a different key than the one that signed it"
        )
    # 3b. It declares the directory key's algorithm as the anchor does, and a digest this node
    #     knows (§0.9).
    if directory_key_algorithm(directory) is not algorithm:
        raise PermissionDenied(
            "key.algorithm_mismatch",
            f"the directory of {federation} declares its key as algorithm "
            f"{directory.directory_key_algorithm}, but its anchor declares {algorithm.name}",
        )
    if directory.digest not in (pb.DIGEST_ALGORITHM_SHA256, pb.DIGEST_ALGORITHM_SM3):
        raise Unauthenticated(
            "key.unsupported_algorithm",
            f"the directory of {federation} declares digest {directory.digest}, unknown here",
        )
    # During a CA rotation (§2.9) the anchor's CA may be the next one announced, or the one
    # before: the directory, signed by the anchor's key, says which CA it moved to.
    listed = {directory.ca_certificate, *(o.certificate for o in directory.other_ca_certificates)}
    if ca_certificate is not None and ca_certificate not in listed:
        raise PermissionDenied(
            "directory.wrong_ca",
            f"the directory of {federation} names another CA than the one in its anchor",
        )
    # 4. Never go back in time: a lower version than the one held is a rollback.
    if directory.version < held_version:
        raise FailedPrecondition(
            "directory.rollback",
            f"directory version {directory.version} of {federation} is older than version "
            f"{held_version} already held; refusing to roll back",
        )
    return directory


def directory_key_algorithm(directory: pb.Directory) -> KeyAlgorithm | None:
    """The algorithm a directory declares for its own key: unset is v1's Ed25519; None for a
    value this node does not know."""
    value = int(directory.directory_key_algorithm)
    if value == pb.KEY_ALGORITHM_UNSPECIFIED:
        return KeyAlgorithm.ED25519
    return KeyAlgorithm(value) if value in (KeyAlgorithm.ED25519, KeyAlgorithm.SM2) else None


def is_current(directory: pb.Directory, now_ms: int) -> bool:
    return (
        directory.issued_at_unix_ms <= now_ms + 5 * 60_000 and now_ms < directory.expires_at_unix_ms
    )


def needs_refresh(directory: pb.Directory, now_ms: int) -> bool:
    """A central re-signs once half of its directory's validity has passed."""
    lifetime = directory.expires_at_unix_ms - directory.issued_at_unix_ms
    return now_ms >= directory.issued_at_unix_ms + lifetime // 2


def same_content(a: pb.Directory, b: pb.Directory) -> bool:
    """True if two directories list the same nodes, revocations and anchors (times aside)."""

    def strip(d: pb.Directory) -> bytes:
        c = pb.Directory()
        c.CopyFrom(d)
        c.version = 0
        c.issued_at_unix_ms = 0
        c.expires_at_unix_ms = 0
        return c.SerializeToString(deterministic=True)

    return strip(a) == strip(b)
