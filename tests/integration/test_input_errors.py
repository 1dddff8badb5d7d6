"""Bad input from a caller, over real gRPC to a real node: the caller gets the right status, the
reason code in `swnode-reason`, and a short message, however large or strange the input was
(issue 11, findings 6 and 7)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from swf.v1 import declarations_pb2 as dpb
from tests.declarations_client import Desk, Office, office
from tests.harness import NetworkFactory, NetworkSpec, Refusal, refusal_of

pytestmark = pytest.mark.network

EXPORTER = "91440300MA5G1234XY"
HUGE = "\u4e2d\n%" * 34_000  # 100 kB of input, with what must be escaped on the way back


@pytest.fixture(scope="module")
def desk(module_network_factory: NetworkFactory) -> Iterator[tuple[Office, Desk]]:
    net = module_network_factory(NetworkSpec(provinces=1, foreign=0))
    with office(net) as o:
        yield o, o.enterprise(EXPORTER, roles=("declarant", "exporter"))


def assert_short(refusal: Refusal, code: grpc.StatusCode, reason: str, field: str) -> None:
    assert (refusal.code, refusal.reason, refusal.field) == (code, reason, field), refusal
    assert len(refusal.details) < 1200 and "\n" not in refusal.details


def test_a_100_kb_declaration_id_is_not_found_with_its_reason(desk: tuple[Office, Desk]) -> None:
    _, d = desk
    refusal = refusal_of(lambda: d.get(HUGE))
    assert_short(refusal, grpc.StatusCode.NOT_FOUND, "declaration.unknown", "id")
    assert "(102000 chars)" in refusal.details


def test_a_100_kb_uscc_is_an_invalid_argument_with_its_reason(desk: tuple[Office, Desk]) -> None:
    o, _ = desk
    refusal = refusal_of(lambda: o.identity.lookup("CN-GD", "9" * 100_000))
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT and refusal.reason, refusal
    assert len(refusal.details) < 1200


def test_a_100_kb_list_filter_is_an_invalid_argument(desk: tuple[Office, Desk]) -> None:
    _, d = desk
    refusal = refusal_of(lambda: d.page(from_date=HUGE))
    assert_short(refusal, grpc.StatusCode.INVALID_ARGUMENT, "list.bad_date", "from_date")
    refusal = refusal_of(lambda: d.page(page_token="\u00b2:x"))  # isdigit, but not int()
    assert_short(refusal, grpc.StatusCode.INVALID_ARGUMENT, "list.page_token", "page_token")


@pytest.mark.parametrize(
    ("from_date", "to_date", "field"),
    [
        ("2025-13-45", "", "from_date"),
        ("2025-01-01", "2025-02-30", "to_date"),
        ("", HUGE, "to_date"),
    ],
)
def test_statistics_with_a_day_not_in_the_calendar_is_an_invalid_argument(
    desk: tuple[Office, Desk], from_date: str, to_date: str, field: str
) -> None:
    _, d = desk
    refusal = refusal_of(
        lambda: d.declarations.GetStatistics(
            dpb.StatisticsRequest(from_date=from_date, to_date=to_date), metadata=d.meta, timeout=10
        )
    )
    assert_short(refusal, grpc.StatusCode.INVALID_ARGUMENT, "list.bad_date", field)
