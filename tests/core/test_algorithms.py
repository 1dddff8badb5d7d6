"""The crypto profiles' primitives against the standards' published examples, and SM2 checked
both ways against a second, independent implementation (gmssl, pure Python)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from gmssl import sm2 as gm_sm2
from gmssl import sm3 as gm_sm3

from core import algorithms as alg
from core.algorithms import Digest, KeyAlgorithm, Sm2PrivateKey
from core.errors import InvalidArgument, Unauthenticated

# GB/T 32918.5-2017 (GM/T 0003.5-2012) Appendix A: signature with the recommended curve,
# user id "1234567812345678", message "message digest".
EXAMPLE_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
EXAMPLE_X = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
EXAMPLE_Y = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
EXAMPLE_Z = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
EXAMPLE_E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
EXAMPLE_K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
EXAMPLE_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
EXAMPLE_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
MESSAGE = b"message digest"


def _gmssl(key: Sm2PrivateKey) -> gm_sm2.CryptSM2:
    public = key.public_bytes()[1:].hex()
    # gmssl strips a leading "04" character by character; a bare x || y starting so is misread.
    assert not public.startswith("04")
    return gm_sm2.CryptSM2(
        private_key=f"{key.key.private_numbers().private_value:064x}", public_key=public
    )


SM3_EXAMPLES = {
    b"abc": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    b"abcd" * 16: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
}


@pytest.mark.parametrize("sm3", [alg.sm3_tongsuo, alg.sm3_hashlib, None])
def test_sm3_examples_of_gbt_32905(sm3: Callable[[bytes], bytes] | None) -> None:
    """Both SM3s this node may use (Tongsuo's; the OpenSSL's under hashlib), and the one
    `digest` chose, give the standard's examples, and agree with gmssl on other lengths."""
    if sm3 is None:
        sm3 = partial(alg.digest, Digest.SM3)
    elif sm3 is alg.sm3_hashlib and "sm3" not in hashlib.algorithms_available:
        pytest.skip("this Python's OpenSSL has no SM3; Tongsuo's is used")
    for message, expected in SM3_EXAMPLES.items():
        assert sm3(message).hex() == expected
    for data in (b"", b"a", bytes(range(256)) * 3, b"swnode" * 50):
        assert sm3(data).hex() == gm_sm3.sm3_hash(list(data))


def test_sha256_stays_sha256() -> None:
    assert alg.digest(Digest.SHA256, b"abc").hex().startswith("ba7816bf")


def test_sm2_key_z_and_e_of_the_standard_example() -> None:
    key = Sm2PrivateKey.from_scalar(EXAMPLE_D)
    assert key.public_bytes().hex().upper() == "04" + EXAMPLE_X + EXAMPLE_Y
    z = alg.sm2_z(key.public_bytes())
    assert z.hex().upper() == EXAMPLE_Z
    assert alg.digest(Digest.SM3, z + MESSAGE).hex().upper() == EXAMPLE_E


def test_the_standard_signature_verifies_over_the_message_itself() -> None:
    """Tongsuo computes Z (default user id) itself: the standard's (r, s) verifies over M."""
    public = Sm2PrivateKey.from_scalar(EXAMPLE_D).public_bytes()
    signature = encode_dss_signature(EXAMPLE_R, EXAMPLE_S)
    assert alg.verifies(KeyAlgorithm.SM2, public, signature, MESSAGE)
    assert not alg.verifies(KeyAlgorithm.SM2, public, signature, MESSAGE + b".")
    assert not alg.verifies(
        KeyAlgorithm.SM2, public, encode_dss_signature(EXAMPLE_R, EXAMPLE_S + 1), MESSAGE
    )


def test_gmssl_reproduces_the_standard_signature_from_e_and_k() -> None:
    signer = _gmssl(Sm2PrivateKey.from_scalar(EXAMPLE_D))
    assert signer._sm3_z(MESSAGE).upper() == EXAMPLE_E
    rs = signer.sign(bytes.fromhex(EXAMPLE_E), EXAMPLE_K)
    assert rs.upper() == f"{EXAMPLE_R:064X}{EXAMPLE_S:064X}"


def test_tongsuo_signs_gmssl_verifies() -> None:
    key = Sm2PrivateKey.from_scalar(
        0x1F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A7988
    )
    other = _gmssl(key)
    for message in (b"", MESSAGE, b"swnode/batch/v1\x00" + bytes(40)):
        r, s = decode_dss_signature(key.sign(message))
        assert other.verify_with_sm3(f"{r:064x}{s:064x}", message)
        assert not other.verify_with_sm3(f"{r:064x}{s:064x}", message + b"!")


def test_gmssl_signs_tongsuo_verifies() -> None:
    key = Sm2PrivateKey.from_scalar(
        0x1F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A79881F2E3D4C5B6A7988
    )
    other = _gmssl(key)
    for message in (b"", MESSAGE, b"swnode/batch/v1\x00" + bytes(40)):
        rs = other.sign_with_sm3(message)
        der = encode_dss_signature(int(rs[:64], 16), int(rs[64:], 16))
        assert alg.verifies(KeyAlgorithm.SM2, key.public_bytes(), der, message)
        assert not alg.verifies(KeyAlgorithm.SM2, key.public_bytes(), der, message + b"!")


def test_a_signature_verifies_only_under_its_declared_algorithm() -> None:
    ed = Ed25519PrivateKey.generate()
    sm = Sm2PrivateKey.generate()
    ed_sig, sm_sig = alg.sign(ed, b"m"), alg.sign(sm, b"m")
    assert alg.verifies(KeyAlgorithm.ED25519, alg.public_bytes(ed), ed_sig, b"m")
    assert alg.verifies(KeyAlgorithm.SM2, alg.public_bytes(sm), sm_sig, b"m")
    # the other algorithm, none, or one from a later version: never verifies
    assert not alg.verifies(KeyAlgorithm.SM2, alg.public_bytes(ed), ed_sig, b"m")
    assert not alg.verifies(KeyAlgorithm.ED25519, alg.public_bytes(sm), sm_sig, b"m")
    for value in (0, 3, 99):
        assert not alg.verifies(value, alg.public_bytes(sm), sm_sig, b"m")
    # malformed signatures and keys are a plain "no", not an error
    assert not alg.verifies(KeyAlgorithm.SM2, alg.public_bytes(sm), b"\x30\x00", b"m")
    assert not alg.verifies(KeyAlgorithm.SM2, b"\x04" + bytes(64), sm_sig, b"m")


def test_declared_refuses_unknown_algorithms() -> None:
    assert alg.declared(0, what="k") is KeyAlgorithm.ED25519  # unset: v1's
    assert alg.declared(1, what="k") is KeyAlgorithm.ED25519
    assert alg.declared(2, what="k") is KeyAlgorithm.SM2
    for value in (3, 99):
        with pytest.raises(Unauthenticated) as caught:
            alg.declared(value, what="key CN/sig/x")
        assert caught.value.reason == "key.unsupported_algorithm"


def test_public_keys_must_have_the_form_of_their_algorithm() -> None:
    sm = Sm2PrivateKey.generate().public_bytes()
    alg.check_public_key(KeyAlgorithm.SM2, sm, field="k")
    alg.check_public_key(KeyAlgorithm.ED25519, bytes(32), field="k")
    for algorithm, data in (
        (KeyAlgorithm.ED25519, sm),
        (KeyAlgorithm.SM2, bytes(32)),
        (KeyAlgorithm.SM2, b"\x04" + bytes(64)),
    ):
        with pytest.raises(InvalidArgument) as caught:
            alg.check_public_key(algorithm, data, field="signing_key")
        assert caught.value.reason == "key.malformed" and caught.value.field == "signing_key"


def test_private_keys_round_trip_through_pkcs8() -> None:
    for key in (Ed25519PrivateKey.generate(), Sm2PrivateKey.generate()):
        loaded = alg.load_private_pem(alg.private_pem(key))
        assert loaded is not None
        assert alg.algorithm_of(loaded) is alg.algorithm_of(key)
        assert alg.public_bytes(loaded) == alg.public_bytes(key)
    assert alg.load_private_pem(b"not a key") is None


def test_profiles() -> None:
    assert alg.profile("sm2") == alg.Profile("sm2", KeyAlgorithm.SM2, Digest.SM3)
    assert alg.profile("ed25519").digest is Digest.SHA256
    with pytest.raises(InvalidArgument) as caught:
        alg.profile("rsa")
    assert caught.value.field == "crypto"
