"""Vectors that need certificates: peer authentication (PROTOCOL.md §2.6) and the CSR checks of
enrolment (§1.4). Certificates and CSRs come from conformance/certificates.py, reproducible."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding

from conformance import certificates as c
from conformance import fixtures as f
from core.directory import sign_directory
from swf.v1 import directory_pb2 as dpb

Json = dict[str, Any]


def _with_certificates(signed: dpb.SignedDirectory, federation: str) -> dpb.SignedDirectory:
    """The fixture directory with each node's certificate, its CA and, for revoked nodes, the
    SHA-256 of their certificate in the revocation."""
    directory = dpb.Directory.FromString(signed.directory)
    directory.ca_certificate = c.ca(federation).public_bytes(Encoding.DER)
    for node in directory.nodes:
        node.tls_certificate = c.leaf(node.id)
    for revocation in directory.revocations:
        revocation.certificate_sha256 = f.sha256(c.leaf(revocation.node_id))
    return sign_directory(directory, f.key(f"{federation}/dir"))


def peer_directories() -> dict[str, str]:
    sg = dpb.Directory.FromString(f.sg_directory().directory)
    sg.nodes.append(f.entry("SG-01"))
    signed_sg = sign_directory(sg, f.key("SG/dir"))
    return {
        "CN": _with_certificates(f.cn_directory(), "CN")
        .SerializeToString(deterministic=True)
        .hex(),
        "SG": _with_certificates(signed_sg, "SG").SerializeToString(deterministic=True).hex(),
    }


def peer_refusals() -> Json:
    from conformance.check import run_peer

    def case(section: str, receiver: str, certificate: bytes) -> Json:
        return {
            "section": section,
            "input": {
                "receiver": receiver,
                "directories": ["CN", "SG"],
                "now_unix_ms": f.NOW_MS,
                "client_certificate": certificate.hex(),
            },
        }

    cases = {
        "accepted (same federation)": case("2.6", "CN-SH", c.leaf("CN-GD")),
        "accepted (two centrals)": case("2.6", "CN", c.leaf("SG")),
        "peer.revoked": case("2.6 step 2", "CN-SH", c.leaf("CN-ZJ")),
        "peer.unknown": case("2.6 step 3", "CN-SH", c.leaf("CN-BJ")),
        "peer.certificate_mismatch": case("2.6 step 5", "CN-SH", c.leaf("CN-GD", salt=1)),
        "peer.cross_border (foreign province to a central)": case(
            "2.6 step 7", "CN", c.leaf("SG-01")
        ),
        "peer.cross_border (foreign central to a province)": case(
            "2.6 step 7", "CN-GD", c.leaf("SG")
        ),
    }
    dirs = peer_directories()
    for one in cases.values():
        one["expected"] = run_peer(one["input"], dirs)
    return {
        "about": "PROTOCOL.md §2.6: the client certificate (DER) a caller presents on the peer "
        "port for Ping or Exchange, checked by `receiver` against the signed directories it "
        "holds (`directories`, with real certificates; CA keys and node keys are P-256 from "
        "conformance/certificates.py). The TLS handshake (chain to an accepted CA) is not part "
        "of the vector.",
        "directories": dirs,
        "ca_certificates": {
            fed: c.ca(fed).public_bytes(Encoding.DER).hex() for fed in ("CN", "SG")
        },
        "cases": cases,
    }


def csr_refusals() -> Json:
    from conformance.check import run_csr

    good = c.csr("CN-GD")
    p384 = ec.derive_private_key(12345, ec.SECP384R1())
    cases = {
        "accepted": c.csr("CN-GD"),
        "enrol.bad_csr (not DER PKCS#10)": b"not a csr",
        "enrol.bad_proof (its signature)": good[:-1] + bytes([good[-1] ^ 1]),
        "enrol.bad_csr (P-384)": c.csr("CN-GD", p384),
        "enrol.bad_csr (Ed25519)": c.csr(
            "CN-GD",
            Ed25519PrivateKey.from_private_bytes(f.seed("CN-GD")),
        ),
        "enrol.wrong_name (CN)": c.csr("CN-SH", c.tls_key("CN-GD")),
        "enrol.wrong_name (another node's .swnode name)": c.csr(
            "CN-GD", dns=("cn-gd.swnode", "cn.swnode")
        ),
    }
    out = {
        name: {
            "section": "1.4",
            "input": {"node_id": "CN-GD", "csr": der.hex()},
            "expected": run_csr("CN-GD", der),
        }
        for name, der in cases.items()
    }
    return {
        "about": "PROTOCOL.md §1.4 and §1.5 step 3 and 7: EnrolRequest.csr for node_id as the "
        "central checks it; `field` is the swnode-field of the refusal (§6.1).",
        "cases": out,
    }
