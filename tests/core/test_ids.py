"""Node ids: ISO 3166-1 alpha-2 for central nodes, ISO 3166-2 for provinces (design §2)."""

from __future__ import annotations

import pytest

from core.errors import InvalidArgument
from core.ids import Role, federation_of, role_of, tls_name, validate_node_id


@pytest.mark.parametrize(
    ("node_id", "role"),
    [
        ("CN", Role.CENTRAL),
        ("SG", Role.CENTRAL),
        ("CN-GD", Role.PROVINCE),
        ("TH-10", Role.PROVINCE),
    ],
)
def test_valid_ids_for_their_role(node_id: str, role: Role) -> None:
    assert validate_node_id(node_id, role) == node_id
    assert validate_node_id(node_id) == node_id
    assert role_of(node_id) is role


@pytest.mark.parametrize(
    ("node_id", "reason"),
    [
        ("cn", "id.malformed"),
        ("CHN", "id.malformed"),
        ("CN_GD", "id.malformed"),
        ("CN-", "id.malformed"),
        ("CN-GDXX", "id.malformed"),
        ("", "id.malformed"),
        ("XX", "id.unknown_country"),
        ("CN-XX", "id.unknown_subdivision"),
        ("SG-GD", "id.unknown_subdivision"),
    ],
)
def test_invalid_ids_are_refused_naming_the_field(node_id: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        validate_node_id(node_id, field="[node] id")
    assert refused.value.reason == reason
    assert refused.value.field == "[node] id"
    assert refused.value.message.startswith("[node] id: ")


def test_a_province_code_is_not_a_central_id() -> None:
    with pytest.raises(InvalidArgument) as refused:
        validate_node_id("CN-GD", Role.CENTRAL)
    assert refused.value.reason == "id.role_mismatch"
    assert "country code (e.g. CN)" in refused.value.message


def test_a_country_code_is_not_a_province_id() -> None:
    with pytest.raises(InvalidArgument) as refused:
        validate_node_id("CN", Role.PROVINCE, field="token")
    assert refused.value.reason == "id.role_mismatch"
    assert refused.value.message.startswith("token: ")


def test_federation_and_tls_name() -> None:
    assert federation_of("CN-GD") == "CN"
    assert federation_of("SG") == "SG"
    assert tls_name("CN-GD") == "cn-gd.swnode"
    assert tls_name("SG") == "sg.swnode"
