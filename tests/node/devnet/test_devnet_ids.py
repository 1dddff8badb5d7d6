"""The ids a test network gets come from ISO 3166 and stay the same as the network grows."""

from __future__ import annotations

import pytest

from core.errors import InvalidArgument
from core.ids import Role, federation_of, role_of, validate_node_id
from node.devnet import national


def test_cn_has_31_provinces_and_the_separate_customs_territories_are_not_among_them() -> None:
    provinces = national.provinces()
    assert len(provinces) == len(set(provinces)) == 31
    assert provinces[:3] == ("CN-GD", "CN-SH", "CN-ZJ")
    assert {"CN-HK", "CN-MO", "CN-TW"}.isdisjoint(provinces)
    assert {"CN-BJ", "CN-XZ", "CN-NM", "CN-CQ", "CN-HI"} <= set(provinces)
    for p in provinces:
        assert validate_node_id(p, Role.PROVINCE) == p and federation_of(p) == "CN"


def test_a_whole_network_of_valid_ids_in_a_stable_order() -> None:
    ids = national.network_ids(31, 60)
    assert ids[:3] == ["CN", "CN-GD", "CN-SH"]
    assert len(ids) == len(set(ids))
    centrals = [i for i in ids if role_of(i) is Role.CENTRAL]
    assert centrals[:3] == ["CN", "SG", "TH"] and len(centrals) == 61
    for i in ids:
        validate_node_id(i)
    with_provinces = national.network_ids(31, 2, 3)
    assert with_provinces[-6:] == ["SG-01", "SG-02", "SG-03", "TH-10", "TH-11", "TH-12"]
    assert {federation_of(i) for i in with_provinces} == {"CN", "SG", "TH"}
    assert national.network_ids(2, 1, 1) == ["CN", "CN-GD", "CN-SH", "SG", "SG-01"]
    assert national.network_ids(4, 2, 2)[:5] == ["CN", "CN-GD", "CN-SH", "CN-ZJ", "CN-AH"]


@pytest.mark.parametrize(
    ("provinces", "foreign", "foreign_provinces", "field"),
    [
        (32, 0, 0, "provinces"),
        (-1, 0, 0, "provinces"),
        (0, 999, 0, "foreign"),
        (0, 1, 6, "foreign_provinces"),
        (0, 1, -1, "foreign_provinces"),
    ],
)
def test_a_size_beyond_the_data_is_refused_naming_the_field(
    provinces: int, foreign: int, foreign_provinces: int, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        national.network_ids(provinces, foreign, foreign_provinces)
    assert refused.value.field == field and refused.value.message.startswith(f"{field}:")
