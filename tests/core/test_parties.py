"""Parties and users (core/parties.py): USCCs with their check character (GB 32100), party ids
and kinds, names, roles, user names and passwords. Every refusal names the field and the rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from stdnum.cn import uscc as stdnum_uscc

from core.errors import FailedPrecondition, InvalidArgument
from core.parties import (
    ADMIN,
    ENTERPRISE_ROLES,
    PARTY_KINDS,
    check_administrators_remain,
    subject,
    validate_enterprise_roles,
    validate_kind,
    validate_name,
    validate_party_id,
    validate_password,
    validate_uscc,
    validate_user_roles,
    validate_username,
)

VALID = "91440300MA5G1234XY"


def refusal(call: Callable[[], object]) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        call()
    return info.value


# -- USCC ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        VALID,
        "91110000100000000R",  # an enterprise in Beijing (9: registered by SAMR, 1: enterprise)
        "12100000400000000W",  # a public institution (1: organ, 2: public institution)
        "91440300MA5G1234XY".lower(),  # letters are compared in upper case
        "9144 0300 MA5G 1234 XY",  # spaces as people type them
    ],
)
def test_valid_usccs_come_back_compact(code: str) -> None:
    compact = code.replace(" ", "").upper()
    assert stdnum_uscc.calc_check_digit(compact) == compact[-1]  # the example itself is right
    assert validate_uscc(code) == compact


def test_the_check_character_is_checked() -> None:
    body = VALID[:-1]
    for wrong in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if wrong == VALID[-1]:
            continue
        error = refusal(lambda w=wrong: validate_uscc(body + w))  # type: ignore[misc]
        assert (error.reason, error.field) == ("party.bad_uscc", "uscc")
        assert "check character" in error.message


@pytest.mark.parametrize(
    "code",
    [
        "",
        "91440300MA5G1234X",  # 17 characters
        "91440300MA5G1234XYZ",  # 19
        "9144030AMA5G1234XY",  # the registration authority and area code must be digits
        "91440300MA5G1234IY",  # I, O, S, V, Z are not in the alphabet
        "91440300MA5G1234X!",
    ],
)
def test_malformed_usccs_are_refused(code: str) -> None:
    error = refusal(lambda: validate_uscc(code))
    assert (error.reason, error.field) == ("party.bad_uscc", "uscc")


def test_the_field_name_is_the_callers() -> None:
    error = refusal(lambda: validate_uscc("nope", field="party"))
    assert error.field == "party"
    assert error.message.startswith("party:")


# -- party ids and kinds ---------------------------------------------------------------------


def test_an_enterprise_is_its_uscc() -> None:
    assert validate_party_id(VALID, "enterprise") == VALID
    assert refusal(lambda: validate_party_id("customs", "enterprise")).reason == "party.bad_uscc"


@pytest.mark.parametrize("party_id", ["customs", "cq-port_2", "ab"])
def test_agency_and_operator_ids(party_id: str) -> None:
    for kind in PARTY_KINDS - {"enterprise"}:
        assert validate_party_id(party_id, kind) == party_id


@pytest.mark.parametrize("party_id", ["Customs", "c", "2customs", "customs!", "a" * 33, ""])
def test_bad_agency_ids(party_id: str) -> None:
    error = refusal(lambda: validate_party_id(party_id, "agency"))
    assert (error.reason, error.field) == ("party.bad_id", "id")


def test_kinds() -> None:
    assert {"enterprise", "agency", "terminal", "airport", "rail", "road"} == PARTY_KINDS
    for kind in PARTY_KINDS:
        assert validate_kind(kind) == kind
    error = refusal(lambda: validate_kind("bank"))
    assert (error.reason, error.field) == ("party.bad_kind", "kind")


# -- names and roles -------------------------------------------------------------------------


def test_names() -> None:
    assert validate_name("  Shenzhen Example Trading Co., Ltd.  ") == (
        "Shenzhen Example Trading Co., Ltd."
    )
    assert validate_name("深圳市示例贸易有限公司") == "深圳市示例贸易有限公司"
    for bad in ("", "   ", "x" * 201):
        error = refusal(lambda b=bad: validate_name(b))  # type: ignore[misc]
        assert (error.reason, error.field) == ("party.bad_name", "name")


def test_enterprise_roles() -> None:
    assert {
        "declarant",
        "customs_broker",
        "carrier",
        "forwarder",
        "exporter",
        "importer",
    } == ENTERPRISE_ROLES
    assert validate_enterprise_roles(["carrier", "declarant", "carrier"]) == (
        "carrier",
        "declarant",
    )
    none = refusal(lambda: validate_enterprise_roles([]))
    assert (none.reason, none.field) == ("party.no_roles", "roles")
    unknown = refusal(lambda: validate_enterprise_roles(["declarant", "admin", "customs"]))
    assert (unknown.reason, unknown.field) == ("party.bad_role", "roles")
    assert "admin, customs" in unknown.message


def test_user_roles_are_admin_or_the_partys_own() -> None:
    party = ("declarant", "carrier")
    assert validate_user_roles([ADMIN, "carrier", ADMIN], party) == (ADMIN, "carrier")
    assert validate_user_roles([], party) == ()
    error = refusal(lambda: validate_user_roles(["exporter"], party))
    assert (error.reason, error.field) == ("user.bad_role", "roles")
    assert "admin, carrier, declarant" in error.message


# -- users and passwords ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "a", "bob.smith", "ops-1", "x_y", "0" + "a" * 63])
def test_user_names(name: str) -> None:
    assert validate_username(name) == name


@pytest.mark.parametrize("name", ["", "Alice", ".alice", "alice smith", "a/b", "a" * 65])
def test_bad_user_names(name: str) -> None:
    error = refusal(lambda: validate_username(name, field="admin_user"))
    assert (error.reason, error.field) == ("user.bad_name", "admin_user")


def test_passwords() -> None:
    assert validate_password("correct horse battery") == "correct horse battery"
    assert validate_password("x" * 1020 + "abcd") == "x" * 1020 + "abcd"
    for bad in ("short pw", "", "a" * 1025, "abababababababab", "aaaaaaaaaaaa"):
        error = refusal(lambda b=bad: validate_password(b, field="admin_password"))  # type: ignore[misc]
        assert (error.reason, error.field) == ("user.weak_password", "admin_password")


def test_subject() -> None:
    assert subject(VALID, "alice") == f"{VALID}/alice"


def test_a_party_keeps_an_enabled_administrator() -> None:
    check_administrators_remain("p", [(("admin",), False), (("declarant",), True)])
    check_administrators_remain("p", [(("admin",), True), (("admin", "declarant"), False)])
    for users in (
        [],
        [(("admin",), True)],
        [(("declarant",), False), (("admin",), True)],
    ):
        with pytest.raises(FailedPrecondition) as info:
            check_administrators_remain("p", users)
        assert (info.value.reason, info.value.field) == ("user.last_admin", "user")
