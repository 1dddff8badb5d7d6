"""The fixed inputs every vector is made from: Ed25519 seeds, times, message ids and two small
signed directories. Ed25519 is deterministic, so the same inputs give the same bytes anywhere."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import envelope, signing
from core.directory import sign_directory
from core.envelope import Draft, Sealed
from swf.v1 import directory_pb2 as dpb

NOW_MS = 1_800_000_000_000  # 2027-01-15T08:00:00Z, as in PROTOCOL.md §7.0
TTL_MS = 86_400_000
MAX_MESSAGE_BYTES = 4_194_304
CLOCK_SKEW_MS = 300_000
DOCUMENT_TYPE = "swnode.test.note"

# One seed per key: 32 times the byte. 01-03 are those of PROTOCOL.md §7.0.
SEEDS = {
    "CN-GD": 0x01,
    "CN-SH": 0x02,
    "CN/dir": 0x03,
    "SG": 0x04,
    "SG/dir": 0x05,
    "CN": 0x06,
    "CN-ZJ": 0x07,  # revoked
    "CN-HB": 0x08,  # lists one document type only
    "CN-BJ": 0x09,  # in no directory
    "SG-01": 0x0A,  # a province of SG (peer vectors only)
}
CN_NODES = ("CN", "CN-GD", "CN-HB", "CN-SH", "CN-ZJ")
PLACEHOLDER_CA = bytes.fromhex("3003020100")  # not a certificate: stands for one


def seed(name: str) -> bytes:
    return bytes([SEEDS[name]]) * 32


def key(name: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed(name))


def public(name: str) -> bytes:
    return signing.raw_public(key(name))


def kid(node_id: str) -> str:
    return signing.key_id(node_id, signing.PURPOSE_SIGNING, public(node_id))


def uuid7(ms: int, rand: bytes) -> str:
    """PROTOCOL.md §3.3 written out: the same as core.envelope.new_message_id."""
    value = ms << 80 | int.from_bytes(rand, "big")
    value = value & ~(0xF << 76) | 0x7 << 76
    value = value & ~(0x3 << 62) | 0x2 << 62
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def ids(first: int) -> Callable[[], str]:
    """Message ids whose random bytes are `first`, `first + 1`, ... repeated ten times."""
    counter: Iterator[int] = iter(range(first, 256))
    return lambda: uuid7(NOW_MS, bytes([next(counter)]) * 10)


def entry(node_id: str, **fields: object) -> dpb.NodeEntry:
    role = dpb.ROLE_PROVINCE if "-" in node_id else dpb.ROLE_CENTRAL
    node = dpb.NodeEntry(id=node_id, role=role, status=dpb.NODE_STATUS_ACTIVE, **fields)  # type: ignore[arg-type]
    node.signing_keys.add(
        key_id=kid(node_id), algorithm=dpb.KEY_ALGORITHM_ED25519, public_key=public(node_id)
    )
    return node


def cn_directory() -> dpb.SignedDirectory:
    """CN: its central, CN-GD, CN-SH, CN-HB (accepts `swnode.test.only` only) and CN-ZJ
    (revoked); trusting SG."""
    nodes = [entry(n) for n in CN_NODES]
    nodes[CN_NODES.index("CN-HB")].document_types.append("swnode.test.only")
    nodes[CN_NODES.index("CN-ZJ")].status = dpb.NODE_STATUS_REVOKED
    directory = dpb.Directory(
        federation="CN",
        version=7,
        issued_at_unix_ms=NOW_MS - 3_600_000,
        expires_at_unix_ms=NOW_MS + TTL_MS,
        nodes=nodes,
        revocations=[dpb.Revocation(node_id="CN-ZJ", revoked_at_unix_ms=NOW_MS - 7_200_000)],
        trusted_federations=[
            dpb.Anchor(
                federation="SG",
                ca_certificate=PLACEHOLDER_CA,
                directory_key=public("SG/dir"),
                endpoint="127.0.0.1:7201",
            )
        ],
        ca_certificate=PLACEHOLDER_CA,
        directory_key=public("CN/dir"),
    )
    return sign_directory(directory, key("CN/dir"))


def sg_directory(*, expired: bool = False) -> dpb.SignedDirectory:
    """SG: its central alone; `expired` ended an hour before NOW_MS."""
    end = NOW_MS - 3_600_000 if expired else NOW_MS + TTL_MS
    directory = dpb.Directory(
        federation="SG",
        version=3,
        issued_at_unix_ms=end - TTL_MS,
        expires_at_unix_ms=end,
        nodes=[entry("SG")],
        ca_certificate=PLACEHOLDER_CA,
        directory_key=public("SG/dir"),
    )
    return sign_directory(directory, key("SG/dir"))


def seal(
    sender: str,
    drafts: list[Draft],
    *,
    first_id: int = 0xB0,
    now_ms: int = NOW_MS,
    ttl_ms: int = TTL_MS,
    signer: str | None = None,
    new_id: Callable[[], str] | None = None,
) -> list[Sealed]:
    """Envelopes `sender` seals at `now_ms` (signed with `signer`'s key, normally its own)."""
    by = signer or sender
    return envelope.seal(
        drafts,
        sender=sender,
        key=key(by),
        key_id=kid(by),
        now_ms=now_ms,
        ttl_ms=ttl_ms,
        new_id=new_id or ids(first_id),
    )


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
