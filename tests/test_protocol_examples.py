"""The worked examples of docs/PROTOCOL.md §7, recomputed and checked against the code.

Each example starts from fixed Ed25519 seeds, fixed times and fixed message ids; Ed25519
signatures are deterministic (RFC 8032), so every value is reproducible. The formulas of the
document are written out here a second time (leaf and node hashes, signing inputs, fingerprints),
the code's own functions must agree with them, the real verifiers must accept the results, and
every hex value must appear verbatim in the document: neither the code nor the document can
change without this test noticing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core import envelope, merkle, receipts, signing
from core.anchor import anchor_fingerprint
from core.directory import sign_directory, verify_directory
from core.envelope import Draft, Limits, Sealed
from core.invitation import Invitation, proof_message
from core.trust import TrustView
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb

DOC = Path(__file__).resolve().parent.parent / "docs" / "PROTOCOL.md"

# The constants of the document, spelled out (§0.4).
BATCH = b"swnode/batch/v1"
DIRECTORY = b"swnode/directory/v1"
ENROL = b"swnode/enrol/v1"
ENVELOPE_LEAF = b"swnode/envelope/v1"
RECEIPT_LEAF = b"swnode/receipt/v1"
ANCHOR = b"swnode/anchor/v1"

# Fixed inputs (§7.0).
GD_SEED = bytes([0x01]) * 32  # CN-GD's signing key
SH_SEED = bytes([0x02]) * 32  # CN-SH's signing key
DIR_SEED = bytes([0x03]) * 32  # CN's directory key
NOW_MS = 1_800_000_000_000  # 2027-01-15T08:00:00Z
TTL_MS = 86_400_000
RECEIVED_MS = NOW_MS + 1_500
SINGLE_RANDOM = bytes(range(10))
BATCH_RANDOM = [bytes([b]) * 10 for b in (0xA1, 0xA2, 0xA3)]
SINGLE_PAYLOAD = b"hello, CN-SH"
BATCH_PAYLOADS = [b"note 1", b"note 2", b"note 3"]
DOCUMENT_TYPE = "swnode.test.note"
INVITATION_SECRET = bytes(range(0x40, 0x60))
PIN = hashlib.sha256(b"central TLS certificate (placeholder)").hexdigest()
PLACEHOLDER_CA = bytes.fromhex("3003020100")  # not a certificate: shows the formula only


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _leaf(domain: bytes, item: bytes) -> bytes:
    return _sha256(b"\x00" + domain + b"\x00" + item)


def _node(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right)


def _batch_input(count: int, root: bytes) -> bytes:
    return BATCH + b"\x00" + count.to_bytes(8, "big") + root


def _key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def _public(key: Ed25519PrivateKey) -> bytes:
    return signing.raw_public(key)


def _kid(node_id: str, key: Ed25519PrivateKey) -> str:
    kid = f"{node_id}/sig/{hashlib.sha256(_public(key)).hexdigest()[:16]}"
    assert signing.key_id(node_id, signing.PURPOSE_SIGNING, _public(key)) == kid
    return kid


def _signs(key: Ed25519PrivateKey, signature: bytes, message: bytes) -> None:
    """Raises unless `signature` is `key`'s signature of exactly `message`."""
    Ed25519PublicKey.from_public_bytes(_public(key)).verify(signature, message)


def _uuid7(ms: int, rand: bytes) -> str:
    value = ms << 80 | int.from_bytes(rand, "big")
    value = value & ~(0xF << 76) | 0x7 << 76
    value = value & ~(0x3 << 62) | 0x2 << 62
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _seal(drafts: list[Draft], ids: list[str]) -> list[Sealed]:
    gd = _key(GD_SEED)
    pending = iter(ids)
    return envelope.seal(
        drafts,
        sender="CN-GD",
        key=gd,
        key_id=_kid("CN-GD", gd),
        now_ms=NOW_MS,
        ttl_ms=TTL_MS,
        new_id=lambda: next(pending),
    )


def _single() -> Sealed:
    (one,) = _seal([Draft("CN-SH", DOCUMENT_TYPE, SINGLE_PAYLOAD)], [_uuid7(NOW_MS, SINGLE_RANDOM)])
    return one


def _three() -> list[Sealed]:
    drafts = [Draft("CN-SH", DOCUMENT_TYPE, p) for p in BATCH_PAYLOADS]
    return _seal(drafts, [_uuid7(NOW_MS, r) for r in BATCH_RANDOM])


def _receipt(one: Sealed) -> pb.Receipt:
    sh = _key(SH_SEED)
    body = pb.ReceiptBody(
        message_id=one.message_id,
        header_sha256=one.header_sha256,
        issuer="CN-SH",
        from_node="CN-GD",
        kind=pb.RECEIPT_KIND_DELIVERY,
        received_at_unix_ms=RECEIVED_MS,
        key_id=_kid("CN-SH", sh),
    )
    (receipt,) = receipts.seal([body], sh, _kid("CN-SH", sh))
    return receipt


def _directory() -> dpb.SignedDirectory:
    def entry(node_id: str, key: Ed25519PrivateKey) -> dpb.NodeEntry:
        return dpb.NodeEntry(
            id=node_id,
            role=dpb.ROLE_PROVINCE,
            status=dpb.NODE_STATUS_ACTIVE,
            signing_keys=[
                dpb.PublicKey(
                    key_id=_kid(node_id, key),
                    algorithm=dpb.KEY_ALGORITHM_ED25519,
                    public_key=_public(key),
                )
            ],
        )

    directory = dpb.Directory(
        federation="CN",
        version=1,
        issued_at_unix_ms=NOW_MS,
        expires_at_unix_ms=NOW_MS + TTL_MS,
        nodes=[entry("CN-GD", _key(GD_SEED)), entry("CN-SH", _key(SH_SEED))],
        directory_key=_public(_key(DIR_SEED)),
    )
    return sign_directory(directory, _key(DIR_SEED))


def _fields(message: bytes) -> list[tuple[int, str]]:
    """(field number, hex of tag + length + value) of each field of serialized protobuf bytes,
    in order: enough of the wire format (varint and length-delimited) for the examples."""

    def varint(at: int) -> tuple[int, int]:
        value, shift = 0, 0
        while True:
            byte = message[at]
            value |= (byte & 0x7F) << shift
            at, shift = at + 1, shift + 7
            if not byte & 0x80:
                return value, at

    out = []
    at = 0
    while at < len(message):
        start = at
        tag, at = varint(at)
        assert tag & 7 in (0, 2), f"unexpected wire type {tag & 7}"
        if tag & 7 == 0:
            _, at = varint(at)
        else:
            length, at = varint(at)
            at += length
        out.append((tag >> 3, message[start:at].hex()))
    return out


def _walk(leaf: bytes, index: int, count: int, path: list[bytes]) -> list[tuple[int, int, bytes]]:
    """RFC 9162 §2.1.3.2, as §3.3 of the document states it: (fn, sn, r) after each element."""
    fn, sn, r = index, count - 1, leaf
    states = []
    for p in path:
        assert sn != 0 and len(p) == 32
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
        states.append((fn, sn, r))
    return states


def compute() -> dict[str, str]:
    """Every value §7 shows, named by where it appears; each checked against the code."""
    assert (signing.BATCH_DOMAIN, signing.DIRECTORY_DOMAIN, signing.ENROL_DOMAIN) == (
        BATCH,
        DIRECTORY,
        ENROL,
    )
    assert (envelope.ENVELOPE_DOMAIN, receipts.RECEIPT_DOMAIN) == (ENVELOPE_LEAF, RECEIPT_LEAF)
    v: dict[str, str] = {}
    for name, domain in (
        ("directory", DIRECTORY),
        ("batch", BATCH),
        ("enrol", ENROL),
        ("envelope", ENVELOPE_LEAF),
        ("receipt", RECEIPT_LEAF),
        ("anchor", ANCHOR),
    ):
        v[f"domain.{name}"] = (domain + b"\x00").hex()
    gd, sh, dk = _key(GD_SEED), _key(SH_SEED), _key(DIR_SEED)

    # (a) Public keys and key ids.
    v["a.gd_public"] = _public(gd).hex()
    v["a.gd_public_sha256"] = hashlib.sha256(_public(gd)).hexdigest()
    v["a.gd_key_id"] = _kid("CN-GD", gd)
    v["a.sh_public"] = _public(sh).hex()
    v["a.sh_key_id"] = _kid("CN-SH", sh)
    v["a.dir_public"] = _public(dk).hex()

    # (b) One envelope, sealed alone.
    one = _single()
    assert one.message_id == envelope.new_message_id(NOW_MS, SINGLE_RANDOM)
    header = one.envelope.header
    v["b.message_id"] = one.message_id
    v["b.payload"] = SINGLE_PAYLOAD.hex()
    v["b.payload_sha256"] = hashlib.sha256(SINGLE_PAYLOAD).hexdigest()
    v["b.header"] = header.hex()
    for number, part in _fields(header):
        v[f"b.header.field{number}"] = part
    v["b.header_sha256"] = hashlib.sha256(header).hexdigest()
    assert one.header_sha256 == _sha256(header)
    leaf = _leaf(ENVELOPE_LEAF, header)
    assert merkle.leaf_hash(envelope.ENVELOPE_DOMAIN, header) == leaf
    v["b.leaf_prefix"] = (b"\x00" + ENVELOPE_LEAF + b"\x00").hex()
    v["b.leaf"] = leaf.hex()
    sig = one.envelope.signature
    assert (sig.leaf_index, sig.leaf_count, list(sig.path)) == (0, 1, [])
    assert sig.key_id == _kid("CN-GD", gd)
    v["b.signing_input"] = _batch_input(1, leaf).hex()
    _signs(gd, sig.signature, _batch_input(1, leaf))
    v["b.signature"] = sig.signature.hex()
    v["b.envelope"] = one.envelope.SerializeToString().hex()

    # (c) A batch of three envelopes.
    three = _three()
    leaves = [_leaf(ENVELOPE_LEAF, s.envelope.header) for s in three]
    node01 = _node(leaves[0], leaves[1])
    root = _node(node01, leaves[2])
    paths = [[leaves[1], leaves[2]], [leaves[0], leaves[2]], [node01]]
    assert merkle.build(leaves) == (root, paths)
    signature = three[0].envelope.signature.signature
    _signs(gd, signature, _batch_input(3, root))
    for i, s in enumerate(three):
        sig = s.envelope.signature
        assert (sig.signature, sig.leaf_index, sig.leaf_count) == (signature, i, 3)
        assert list(sig.path) == paths[i]
        assert merkle.root_from_path(leaves[i], i, 3, paths[i]) == root
        walk = _walk(leaves[i], i, 3, paths[i])
        assert walk[-1] == (0, 0, root)
        v[f"c.message_id{i}"] = s.message_id
        v[f"c.header{i}"] = s.envelope.header.hex()
        v[f"c.leaf{i}"] = leaves[i].hex()
        for step, (fn, sn, r) in enumerate(walk):
            v[f"c.walk{i}.{step}"] = f"fn={fn} sn={sn} r={r.hex()}"
    v["c.node01"] = node01.hex()
    v["c.root"] = root.hex()
    v["c.signing_input"] = _batch_input(3, root).hex()
    v["c.signature"] = signature.hex()

    # (d) The delivery receipt CN-SH gives for (b).
    receipt = _receipt(one)
    body = receipt.body
    v["d.body"] = body.hex()
    for number, part in _fields(body):
        v[f"d.body.field{number}"] = part
    receipt_leaf = _leaf(RECEIPT_LEAF, body)
    assert merkle.leaf_hash(receipts.RECEIPT_DOMAIN, body) == receipt_leaf
    v["d.leaf_prefix"] = (b"\x00" + RECEIPT_LEAF + b"\x00").hex()
    v["d.leaf"] = receipt_leaf.hex()
    v["d.signing_input"] = _batch_input(1, receipt_leaf).hex()
    _signs(sh, receipt.signature.signature, _batch_input(1, receipt_leaf))
    v["d.signature"] = receipt.signature.signature.hex()
    v["d.receipt"] = receipt.SerializeToString().hex()

    # (e) A directory.
    signed = _directory()
    directory_input = DIRECTORY + b"\x00" + signed.directory
    _signs(dk, signed.signature, directory_input)
    v["e.prefix"] = (DIRECTORY + b"\x00").hex()
    v["e.directory"] = signed.directory.hex()
    v["e.signing_input_head"] = directory_input[:48].hex()
    v["e.signature"] = signed.signature.hex()

    # (f) An anchor fingerprint (placeholder CA bytes: the formula, not a real anchor).
    anchor = dpb.Anchor(
        federation="CN",
        ca_certificate=PLACEHOLDER_CA,
        directory_key=_public(dk),
        endpoint="127.0.0.1:7001",
    )
    fingerprint_input = ANCHOR + b"\x00" + b"CN" + b"\x00" + PLACEHOLDER_CA + _public(dk)
    assert anchor_fingerprint(anchor) == hashlib.sha256(fingerprint_input).hexdigest()
    v["f.input"] = fingerprint_input.hex()
    v["f.fingerprint"] = anchor_fingerprint(anchor)

    # (g) An enrolment proof of possession.
    invitation = Invitation(node_id="CN-GD", secret=INVITATION_SECRET, pin=PIN)
    assert Invitation.parse(invitation.encode()) == invitation
    secret_sha256 = _sha256(INVITATION_SECRET)
    assert invitation.secret_sha256 == secret_sha256
    message = b"CN-GD" + b"\x00" + secret_sha256
    assert proof_message("CN-GD", secret_sha256) == message
    proof = signing.sign(gd, ENROL, message)
    _signs(gd, proof, ENROL + b"\x00" + message)
    v["g.invitation"] = invitation.encode()
    v["g.secret_sha256"] = secret_sha256.hex()
    v["g.proof_message"] = message.hex()
    v["g.signing_input"] = (ENROL + b"\x00" + message).hex()
    v["g.proof"] = proof.hex()
    return v


def test_examples_pass_the_real_verifiers() -> None:
    dk = _key(DIR_SEED)
    directory = verify_directory(_directory(), directory_key=_public(dk), federation="CN")
    trust = TrustView.build("CN-SH", directory)
    limits = Limits(max_message_bytes=4 * 1024 * 1024, clock_skew_ms=300_000)
    one = _single()
    for sealed in [one, *_three()]:
        accepted = envelope.verify(
            sealed.envelope,
            trust=trust,
            self_id="CN-SH",
            previous_hop="CN-GD",
            now_ms=NOW_MS,
            limits=limits,
        )
        assert accepted.message_id == sealed.message_id
    body = receipts.verify(_receipt(one), trust.signing_key)
    receipts.check_for(
        body, message_id=one.message_id, header_sha256=one.header_sha256, issuer="CN-SH"
    )
    message = proof_message("CN-GD", _sha256(INVITATION_SECRET))
    assert signing.verifies(
        _public(_key(GD_SEED)), signing.sign(_key(GD_SEED), ENROL, message), ENROL, message
    )


def test_document_shows_every_value_verbatim() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = {name: value for name, value in compute().items() if value not in text}
    assert not missing, (
        "docs/PROTOCOL.md §7 no longer matches the code; these values are missing:\n"
        + "\n".join(f"{name}: {value}" for name, value in missing.items())
    )
