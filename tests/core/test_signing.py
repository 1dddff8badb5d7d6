"""Domain-separated Ed25519 signatures, key ids and fingerprints."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import InvalidArgument
from core.signing import (
    BATCH_DOMAIN,
    DIRECTORY_DOMAIN,
    ENROL_DOMAIN,
    key_id,
    normalize_fingerprint,
    raw_public,
    sign,
    verifies,
)


def test_a_signature_verifies_only_under_its_own_domain_and_key() -> None:
    key = Ed25519PrivateKey.generate()
    sig = sign(key, DIRECTORY_DOMAIN, b"body")
    assert verifies(raw_public(key), sig, DIRECTORY_DOMAIN, b"body")
    assert not verifies(raw_public(key), sig, BATCH_DOMAIN, b"body")
    assert not verifies(raw_public(key), sig, ENROL_DOMAIN, b"body")
    assert not verifies(raw_public(key), sig, DIRECTORY_DOMAIN, b"Body")
    assert not verifies(raw_public(Ed25519PrivateKey.generate()), sig, DIRECTORY_DOMAIN, b"body")
    assert not verifies(b"short", sig, DIRECTORY_DOMAIN, b"body")


def test_key_id_is_derived_from_node_purpose_and_key() -> None:
    raw = raw_public(Ed25519PrivateKey.generate())
    kid = key_id("CN-GD", "sig", raw)
    node, purpose, digits = kid.split("/")
    assert (node, purpose, len(digits)) == ("CN-GD", "sig", 16)
    assert key_id("CN-GD", "sig", raw) == kid
    assert key_id("CN-GD", "tok", raw) != kid
    with pytest.raises(InvalidArgument):
        key_id("CN-GD", "sig", raw[:31])


def test_normalize_fingerprint() -> None:
    fp = "ab" * 32
    assert normalize_fingerprint(fp.upper()) == fp
    assert normalize_fingerprint("sha256:" + ":".join(["AB"] * 32)) == fp
    for bad in ("ab" * 31, "zz" * 32, ""):
        with pytest.raises(InvalidArgument) as refused:
            normalize_fingerprint(bad)
        assert refused.value.reason == "fingerprint.malformed"
