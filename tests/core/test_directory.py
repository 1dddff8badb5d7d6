"""Signing and verifying a federation's directory: signature over the exact bytes, the right
federation and key, no rollback; expiry asked separately."""

from __future__ import annotations

import pytest

from core.directory import is_current, needs_refresh, same_content, sign_directory, verify_directory
from core.errors import FailedPrecondition, PermissionDenied, Unauthenticated
from swf.v1 import directory_pb2 as pb
from tests.factories import HOUR_MS, NOW_MS, Federation


@pytest.fixture(scope="module")
def cn() -> Federation:
    return Federation("CN", ["CN-GD", "CN-SH"])


def test_a_signed_directory_verifies_and_parses_to_what_was_signed(cn: Federation) -> None:
    directory = cn.directory(version=3)
    got = verify_directory(cn.sign(directory), directory_key=cn.directory_public, federation="CN")
    assert got == directory
    assert {n.id for n in got.nodes} == {"CN", "CN-GD", "CN-SH"}


def test_signature_is_over_the_carried_bytes(cn: Federation) -> None:
    signed = cn.sign(cn.directory(version=3))
    tampered = pb.SignedDirectory(
        directory=signed.directory[:-1] + bytes([signed.directory[-1] ^ 1]),
        signature=signed.signature,
    )
    with pytest.raises(Unauthenticated) as refused:
        verify_directory(tampered, directory_key=cn.directory_public, federation="CN")
    assert refused.value.reason == "directory.bad_signature"


def test_a_directory_signed_by_another_key_is_refused(cn: Federation) -> None:
    impostor = Federation("CN")
    forged = sign_directory(cn.directory(), impostor.directory_key)
    with pytest.raises(Unauthenticated) as refused:
        verify_directory(forged, directory_key=cn.directory_public, federation="CN")
    assert refused.value.reason == "directory.bad_signature"


def test_a_signature_for_another_purpose_does_not_verify(cn: Federation) -> None:
    from core.signing import BATCH_DOMAIN, sign

    body = cn.directory().SerializeToString(deterministic=True)
    signed = pb.SignedDirectory(
        directory=body, signature=sign(cn.directory_key, BATCH_DOMAIN, body)
    )
    with pytest.raises(Unauthenticated):
        verify_directory(signed, directory_key=cn.directory_public, federation="CN")


def test_the_directory_of_another_federation_is_refused(cn: Federation) -> None:
    sg = Federation("SG")
    with pytest.raises(PermissionDenied) as refused:
        verify_directory(
            sg.sign(sg.directory()), directory_key=sg.directory_public, federation="CN"
        )
    assert refused.value.reason == "directory.wrong_federation"


def test_a_directory_naming_another_key_than_its_signer_is_refused(cn: Federation) -> None:
    directory = cn.directory()
    directory.directory_key = Federation("CN").directory_public
    with pytest.raises(PermissionDenied) as refused:
        verify_directory(cn.sign(directory), directory_key=cn.directory_public, federation="CN")
    assert refused.value.reason == "directory.wrong_key"


def test_a_lower_version_than_held_is_a_rollback(cn: Federation) -> None:
    older = cn.sign(cn.directory(version=4))
    with pytest.raises(FailedPrecondition) as refused:
        verify_directory(older, directory_key=cn.directory_public, federation="CN", held_version=5)
    assert refused.value.reason == "directory.rollback"
    assert "version 4" in refused.value.message and "version 5" in refused.value.message
    same = verify_directory(
        older, directory_key=cn.directory_public, federation="CN", held_version=4
    )
    assert same.version == 4


def test_is_current_until_expiry(cn: Federation) -> None:
    directory = cn.directory(issued_ms=NOW_MS, validity_ms=HOUR_MS)
    assert is_current(directory, NOW_MS)
    assert is_current(directory, NOW_MS + HOUR_MS - 1)
    assert not is_current(directory, NOW_MS + HOUR_MS)
    # Issued in the future beyond the allowed clock skew (5 minutes): not yet usable.
    assert is_current(directory, NOW_MS - 5 * 60_000)
    assert not is_current(directory, NOW_MS - 5 * 60_000 - 1)


def test_a_central_refreshes_after_half_the_validity(cn: Federation) -> None:
    directory = cn.directory(issued_ms=NOW_MS, validity_ms=HOUR_MS)
    assert not needs_refresh(directory, NOW_MS + HOUR_MS // 2 - 1)
    assert needs_refresh(directory, NOW_MS + HOUR_MS // 2)


def test_same_content_ignores_version_and_times_only(cn: Federation) -> None:
    a = cn.directory(version=1, issued_ms=NOW_MS)
    b = cn.directory(version=2, issued_ms=NOW_MS + 1000)
    assert same_content(a, b)
    assert not same_content(a, cn.directory(revoked=["CN-SH"]))
