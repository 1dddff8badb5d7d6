"""The test vectors of PROTOCOL.md §9, made from this repository's core.

`build()` returns every vector file as JSON-ready data; `scripts/gen-vectors` writes them under
conformance/vectors/, and tests/conformance checks that the files are what `build()` makes and
that the core reproduces every expected output (conformance/check.py). All bytes are lowercase
hex; all times Unix milliseconds; every key is given by its Ed25519 seed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from conformance import fixtures as f
from conformance import sm2_vectors, tls_vectors
from core import merkle, receipts, signing
from core.anchor import anchor_fingerprint
from core.directory import sign_directory
from core.envelope import ENVELOPE_DOMAIN, Draft
from core.invitation import Invitation, proof_message
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb

HERE = Path(__file__).resolve().parent / "vectors"
Json = dict[str, Any]


def hx(data: bytes) -> str:
    return data.hex()


def single_signed(signer: str, domain: bytes, item: bytes) -> pb.BatchSignature:
    """A batch of one over any bytes, from §3.4's formula (used to sign bytes that are no
    header, which the core never does)."""
    leaf = merkle.leaf_hash(domain, item)
    signature = signing.sign(f.key(signer), signing.BATCH_DOMAIN, (1).to_bytes(8, "big") + leaf)
    return pb.BatchSignature(signature=signature, leaf_count=1, key_id=f.kid(signer))


# -- §7: worked examples ----------------------------------------------------------------------


def examples() -> Json:
    gd_id = f.uuid7(f.NOW_MS, bytes(range(10)))
    (one,) = f.seal(
        "CN-GD", [Draft("CN-SH", f.DOCUMENT_TYPE, b"hello, CN-SH")], new_id=lambda: gd_id
    )
    rand = iter(bytes([b]) * 10 for b in (0xA1, 0xA2, 0xA3))
    three = f.seal(
        "CN-GD",
        [Draft("CN-SH", f.DOCUMENT_TYPE, p) for p in (b"note 1", b"note 2", b"note 3")],
        new_id=lambda: f.uuid7(f.NOW_MS, next(rand)),
    )
    leaves = [merkle.leaf_hash(ENVELOPE_DOMAIN, s.envelope.header) for s in three]
    root, paths = merkle.build(leaves)
    body = pb.ReceiptBody(
        message_id=one.message_id,
        header_sha256=one.header_sha256,
        issuer="CN-SH",
        from_node="CN-GD",
        kind=pb.RECEIPT_KIND_DELIVERY,
        received_at_unix_ms=f.NOW_MS + 1_500,
        key_id=f.kid("CN-SH"),
    )
    (receipt,) = receipts.seal([body], f.key("CN-SH"), f.kid("CN-SH"))
    directory = dpb.Directory(
        federation="CN",
        version=1,
        issued_at_unix_ms=f.NOW_MS,
        expires_at_unix_ms=f.NOW_MS + f.TTL_MS,
        nodes=[f.entry("CN-GD"), f.entry("CN-SH")],
        directory_key=f.public("CN/dir"),
    )
    signed = signing.sign(
        f.key("CN/dir"), b"swnode/directory/v1", directory.SerializeToString(deterministic=True)
    )
    anchor = dpb.Anchor(
        federation="CN", ca_certificate=f.PLACEHOLDER_CA, directory_key=f.public("CN/dir")
    )
    invitation = Invitation(
        node_id="CN-GD",
        secret=bytes(range(0x40, 0x60)),
        pin=hashlib.sha256(b"central TLS certificate (placeholder)").hexdigest(),
    )
    proof = proof_message("CN-GD", invitation.secret_sha256)
    return {
        "7.1 public keys and key ids": {
            "input": {"seeds": {n: hx(f.seed(n)) for n in ("CN-GD", "CN-SH", "CN/dir")}},
            "expected": {
                "public_keys": {n: hx(f.public(n)) for n in ("CN-GD", "CN-SH", "CN/dir")},
                "key_ids": {n: f.kid(n) for n in ("CN-GD", "CN-SH")},
            },
        },
        "7.2 one envelope, sealed alone": {
            "input": {
                "signer_seed": hx(f.seed("CN-GD")),
                "now_unix_ms": f.NOW_MS,
                "ttl_ms": f.TTL_MS,
                "message_id_random": hx(bytes(range(10))),
                "sender": "CN-GD",
                "recipient": "CN-SH",
                "document_type": f.DOCUMENT_TYPE,
                "payload": hx(b"hello, CN-SH"),
            },
            "expected": {
                "message_id": one.message_id,
                "header": hx(one.envelope.header),
                "header_sha256": hx(one.header_sha256),
                "leaf": hx(merkle.leaf_hash(ENVELOPE_DOMAIN, one.envelope.header)),
                "signature": hx(one.envelope.signature.signature),
                "envelope": hx(one.envelope.SerializeToString(deterministic=True)),
            },
        },
        "7.3 a batch of three envelopes": {
            "input": {
                "signer_seed": hx(f.seed("CN-GD")),
                "now_unix_ms": f.NOW_MS,
                "ttl_ms": f.TTL_MS,
                "message_id_randoms": [hx(bytes([b]) * 10) for b in (0xA1, 0xA2, 0xA3)],
                "payloads": [hx(p) for p in (b"note 1", b"note 2", b"note 3")],
            },
            "expected": {
                "headers": [hx(s.envelope.header) for s in three],
                "leaves": [hx(x) for x in leaves],
                "root": hx(root),
                "paths": [[hx(p) for p in path] for path in paths],
                "signature": hx(three[0].envelope.signature.signature),
                "envelopes": [hx(s.envelope.SerializeToString(deterministic=True)) for s in three],
            },
        },
        "7.4 a receipt": {
            "input": {
                "signer_seed": hx(f.seed("CN-SH")),
                "envelope_header_sha256": hx(one.header_sha256),
                "received_at_unix_ms": f.NOW_MS + 1_500,
            },
            "expected": {
                "body": hx(receipt.body),
                "leaf": hx(merkle.leaf_hash(receipts.RECEIPT_DOMAIN, receipt.body)),
                "signature": hx(receipt.signature.signature),
                "receipt": hx(receipt.SerializeToString(deterministic=True)),
            },
        },
        "7.5 a directory": {
            "input": {"directory_key_seed": hx(f.seed("CN/dir"))},
            "expected": {
                "directory": hx(directory.SerializeToString(deterministic=True)),
                "signature": hx(signed),
            },
        },
        "7.6 an anchor fingerprint": {
            "input": {
                "federation": "CN",
                "ca_certificate": hx(f.PLACEHOLDER_CA),
                "directory_key": hx(f.public("CN/dir")),
            },
            "expected": {"fingerprint": anchor_fingerprint(anchor)},
        },
        "7.7 an enrolment proof": {
            "input": {"invitation": invitation.encode(), "signer_seed": hx(f.seed("CN-GD"))},
            "expected": {
                "secret_sha256": hx(invitation.secret_sha256),
                "message": hx(proof),
                "signing_key_proof": hx(signing.sign(f.key("CN-GD"), b"swnode/enrol/v1", proof)),
            },
        },
    }


# -- §3.6: every envelope refusal ---------------------------------------------------------------


def _case(
    section: str,
    raw: bytes,
    *,
    receiver: str = "CN-SH",
    previous_hop: str = "CN-GD",
    now_ms: int = f.NOW_MS,
    max_message_bytes: int = f.MAX_MESSAGE_BYTES,
    directories: tuple[str, ...] = ("CN", "SG"),
) -> Json:
    return {
        "section": section,
        "input": {
            "receiver": receiver,
            "previous_hop": previous_hop,
            "now_unix_ms": now_ms,
            "max_message_bytes": max_message_bytes,
            "clock_skew_ms": f.CLOCK_SKEW_MS,
            "directories": list(directories),
            "envelope": hx(raw),
        },
    }


def _note(recipient: str = "CN-SH", document_type: str = f.DOCUMENT_TYPE) -> list[Draft]:
    return [Draft(recipient, document_type, b"a note")]


def ser(message: pb.Envelope) -> bytes:
    return message.SerializeToString(deterministic=True)


def envelope_cases() -> dict[str, Json]:
    def raw(sender: str, **kw: Any) -> bytes:
        drafts = kw.pop("drafts", _note())
        return f.seal(sender, drafts, **kw)[0].envelope.SerializeToString(deterministic=True)

    good = f.seal("CN-GD", _note())[0].envelope
    forged = pb.Envelope()
    forged.CopyFrom(good)
    forged.signature.signature = (
        bytes([good.signature.signature[0] ^ 1]) + good.signature.signature[1:]
    )
    tampered = pb.Envelope()
    tampered.CopyFrom(good)
    tampered.payload = b"a nate"
    junk_header = b"\x0a\x05"
    junk = pb.Envelope(
        header=junk_header,
        payload=b"",
        signature=single_signed("CN-GD", ENVELOPE_DOMAIN, junk_header),
    )
    upper = f.uuid7(f.NOW_MS, bytes([0xC1]) * 10).upper()
    return {
        "accepted": _case("3.6", ser(good)),
        "envelope.malformed (frame element)": _case("3.6 step 0", b"\x0a\x05"),
        "envelope.too_large": _case("3.6 step 1", ser(good), max_message_bytes=100),
        "envelope.unknown_key": _case("3.6 step 2a", raw("CN-BJ")),
        "directory.expired": _case(
            "3.6 step 2b",
            raw("SG", drafts=_note("CN")),
            receiver="CN",
            previous_hop="SG",
            directories=("CN", "SG-expired"),
        ),
        "envelope.revoked_sender": _case("3.6 step 3", raw("CN-ZJ"), previous_hop="CN-ZJ"),
        "envelope.bad_signature": _case("3.6 step 4", ser(forged)),
        "key.unsupported_algorithm": _case(
            "3.6 step 4, §0.9", ser(good), directories=("CN-later-algorithm", "SG")
        ),
        "envelope.malformed (signed header)": _case("3.6 step 5a", ser(junk)),
        "envelope.sender_mismatch": _case(
            "3.6 step 5b", raw("CN-SH", signer="CN-GD", drafts=_note("CN-HB"))
        ),
        "envelope.bad_message_id": _case("3.6 step 5c", raw("CN-GD", new_id=lambda: upper)),
        "envelope.misaddressed (unknown recipient)": _case(
            "3.6 step 6a", raw("CN-GD", drafts=_note("CN-BJ"))
        ),
        "envelope.revoked_recipient": _case("3.6 step 6b", raw("CN-GD", drafts=_note("CN-ZJ"))),
        "envelope.unsupported_type": _case(
            "3.6 step 6c", raw("CN-GD", drafts=_note("CN-HB")), receiver="CN-HB"
        ),
        "envelope.misaddressed (not on the route)": _case("3.6 step 6d", ser(good), receiver="CN"),
        "envelope.wrong_hop": _case("3.6 step 6e", ser(good), previous_hop="CN"),
        "envelope.clock_skew": _case(
            "3.6 step 7a", raw("CN-GD", now_ms=f.NOW_MS + f.CLOCK_SKEW_MS + 1)
        ),
        "envelope.bad_expiry": _case("3.6 step 7b", raw("CN-GD", ttl_ms=0)),
        "envelope.expired": _case(
            "3.6 step 7c", raw("CN-GD", ttl_ms=60_000), now_ms=f.NOW_MS + 60_000
        ),
        "envelope.payload_mismatch": _case("3.6 step 8", ser(tampered)),
    }


def _cn_of_a_later_algorithm() -> dpb.SignedDirectory:
    """CN's directory as a later revision might write it: CN-GD's signing key declares an
    algorithm value (9) this revision does not know (§0.9)."""
    directory = dpb.Directory.FromString(f.cn_directory().directory)
    for node in directory.nodes:
        if node.id == "CN-GD":
            node.signing_keys[0].algorithm = 9  # type: ignore[assignment]
    return sign_directory(directory, f.key("CN/dir"))


def directories() -> dict[str, str]:
    return {
        "CN": hx(f.cn_directory().SerializeToString(deterministic=True)),
        "CN-later-algorithm": hx(_cn_of_a_later_algorithm().SerializeToString(deterministic=True)),
        "SG": hx(f.sg_directory().SerializeToString(deterministic=True)),
        "SG-expired": hx(f.sg_directory(expired=True).SerializeToString(deterministic=True)),
    }


def envelope_refusals() -> Json:
    from conformance.check import run_envelope

    dirs = directories()
    cases = envelope_cases()
    for case in cases.values():
        case["expected"] = run_envelope(case["input"], dirs)
    return {
        "about": "PROTOCOL.md §3.6 and §6.3: each element of an EnvelopeFrame, verified by "
        "`receiver` against the SignedDirectory hex of `directories` (keys of the file-level "
        "`directories`), from `previous_hop`, at `now_unix_ms`. Expected: the Ack.refusal "
        "fields (reason, code, retryable) or accepted with the header's SHA-256.",
        "seeds": {n: hx(f.seed(n)) for n in f.SEEDS},
        "directories": dirs,
        "cases": cases,
    }


# -- §4.4, §2.3, §1.1: receipts, directories, invitations ---------------------------------------


def receipt_refusals() -> Json:
    from conformance.check import run_receipt

    (sent,) = f.seal("CN-GD", _note())
    body = pb.ReceiptBody(
        message_id=sent.message_id,
        header_sha256=sent.header_sha256,
        issuer="CN-SH",
        from_node="CN-GD",
        kind=pb.RECEIPT_KIND_DELIVERY,
        received_at_unix_ms=f.NOW_MS + 10,
        key_id=f.kid("CN-SH"),
    )

    def sealed(b: pb.ReceiptBody, by: str = "CN-SH") -> pb.Receipt:
        return receipts.seal([b], f.key(by), f.kid(by))[0]

    good = sealed(body)
    forged = pb.Receipt()
    forged.CopyFrom(good)
    forged.signature.signature = (
        bytes([good.signature.signature[0] ^ 1]) + good.signature.signature[1:]
    )
    junk = pb.Receipt(
        body=b"\x0a\x05", signature=single_signed("CN-SH", receipts.RECEIPT_DOMAIN, b"\x0a\x05")
    )
    liar = pb.ReceiptBody()
    liar.CopyFrom(body)
    liar.issuer = "CN-GD"
    other = pb.ReceiptBody()
    other.CopyFrom(body)
    other.header_sha256 = f.sha256(b"another header")

    def case(section: str, receipt: pb.Receipt, issuer: str = "CN-SH") -> Json:
        return {
            "section": section,
            "input": {
                "receipt": hx(receipt.SerializeToString(deterministic=True)),
                "message_id": sent.message_id,
                "header_sha256": hx(sent.header_sha256),
                "expected_issuer": issuer,
            },
        }

    cases = {
        "accepted": case("4.4", good),
        "receipt.unknown_key": case("4.4 step 1", sealed(body, "CN-BJ")),
        "receipt.bad_signature": case("4.4 step 2", forged),
        "receipt.malformed": case("4.4 step 3", junk),
        "receipt.issuer_mismatch": case("4.4 step 4", sealed(liar)),
        "receipt.wrong_message": case("4.4 step 5", sealed(other)),
        "receipt.wrong_issuer": case("4.4 step 6", good, issuer="CN-HB"),
    }
    dirs = directories()
    for c in cases.values():
        c["expected"] = run_receipt(c["input"], dirs)
    return {
        "about": "PROTOCOL.md §4.4: a Receipt as it arrives in Ack.receipt, checked with the "
        "signing keys of the CN directory, for the message named, from the issuer expected.",
        "seeds": {n: hx(f.seed(n)) for n in f.SEEDS},
        "directories": {"CN": dirs["CN"]},
        "cases": cases,
    }


def directory_refusals() -> Json:
    from conformance.check import run_directory

    cn = f.cn_directory()
    forged = dpb.SignedDirectory(directory=cn.directory, signature=bytes(64))
    junk = dpb.SignedDirectory(
        directory=b"\x0a\x05",
        signature=signing.sign(f.key("CN/dir"), b"swnode/directory/v1", b"\x0a\x05"),
    )

    def case(section: str, signed: dpb.SignedDirectory, **given: Any) -> Json:
        inputs = {
            "signed_directory": hx(signed.SerializeToString(deterministic=True)),
            "directory_key": hx(f.public("CN/dir")),
            "federation": "CN",
            "held_version": 0,
            "ca_certificate": None,
        }
        inputs.update(given)
        return {"section": section, "input": inputs}

    cases = {
        "accepted": case("2.3", cn),
        "directory.bad_signature": case("2.3 step 1", forged),
        "directory.malformed": case("2.3 step 2", junk),
        "directory.wrong_federation": case("2.3 step 3", cn, federation="SG"),
        "directory.wrong_ca": case("2.3 step 5", cn, ca_certificate=hx(b"another CA")),
        "directory.rollback": case("2.3 step 6", cn, held_version=8),
    }
    # A directory signed by the right key that names another: SG's content, signed by CN's key.
    sg_body = dpb.Directory.FromString(f.sg_directory().directory)
    resigned = sg_body.SerializeToString(deterministic=True)
    cases["directory.wrong_key"] = case(
        "2.3 step 4",
        dpb.SignedDirectory(
            directory=resigned,
            signature=signing.sign(f.key("CN/dir"), b"swnode/directory/v1", resigned),
        ),
        federation="SG",
    )
    for c in cases.values():
        c["expected"] = run_directory(c["input"])
    return {
        "about": "PROTOCOL.md §2.3: a SignedDirectory as GetDirectory returns it, verified with "
        "the directory key trusted, the federation expected, the version held and, for a "
        "foreign directory, its anchor's CA certificate (null: own directory, no CA check).",
        "cases": cases,
    }


def invitation_refusals() -> Json:
    from conformance.check import run_invitation

    good = Invitation(node_id="CN-GD", secret=bytes(range(32)), pin="ab" * 32).encode()
    secret = good.split(".")[2]
    cases = {
        "accepted": good,
        "invitation.malformed (parts)": "swn1.CN-GD." + secret,
        "invitation.malformed (tag)": good.replace("swn1", "swn2", 1),
        "id.malformed": good.replace("CN-GD", "cn-gd", 1),
        "id.role_mismatch": good.replace("CN-GD", "CN", 1),
        "id.unknown_subdivision": good.replace("CN-GD", "CN-QQ", 1),
        "invitation.malformed (secret)": good.replace(secret, secret[:20], 1),
        "invitation.malformed (pin)": good[:-2],
    }
    out = {
        name: {"section": "1.1", "input": {"invitation": text}, "expected": run_invitation(text)}
        for name, text in cases.items()
    }
    return {
        "about": "PROTOCOL.md §1.1 and §1.5 step 1: EnrolRequest.invitation parsed by the central; "
        "`field` is the swnode-field of the refusal (§6.1).",
        "cases": out,
    }


def build() -> dict[str, Json]:
    return {
        "examples.json": examples(),
        "sm2_examples.json": sm2_vectors.sm2_examples(),
        "envelope_refusals.json": envelope_refusals(),
        "receipt_refusals.json": receipt_refusals(),
        "directory_refusals.json": directory_refusals(),
        "invitation_refusals.json": invitation_refusals(),
        "peer_refusals.json": tls_vectors.peer_refusals(),
        "csr_refusals.json": tls_vectors.csr_refusals(),
    }


def render(data: Json) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write(folder: Path = HERE) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in build().items():
        path = folder / name
        path.write_text(render(data), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.name)
