"""node/servers/rpc.py over a real gRPC server on 127.0.0.1: a refusal reaches the caller with
its status, message, reason and field; a bug reaches it as `internal` with only a reference,
the detail in the node's log under that reference."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

import grpc
import pytest

from core.errors import InvalidArgument
from core.grpc_status import FIELD_KEY, REASON_KEY, from_rpc_error
from node.servers.rpc import unary


class Servicer:
    @unary
    async def refuse(self, request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        raise InvalidArgument("party.bad_uscc", "the check character is wrong", field="uscc")

    @unary
    async def crash(self, request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        raise ZeroDivisionError("a secret detail")


@pytest.fixture
async def address() -> AsyncIterator[str]:
    servicer = Servicer()
    server = grpc.aio.server()
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(getattr(servicer, name))
        for name in ("refuse", "crash")
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.T", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


def trailers_of(failed: grpc.aio.AioRpcError) -> dict[str, Any]:
    return dict(cast(Iterable[tuple[str, Any]], failed.trailing_metadata() or ()))


async def call(address: str, method: str) -> grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await channel.unary_unary(f"/test.T/{method}", None, None)(b"")
    return raised.value


async def test_a_refusal_carries_its_reason_and_field(address: str) -> None:
    failed = await call(address, "refuse")
    assert failed.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.details() == "the check character is wrong"
    meta = trailers_of(failed)
    assert meta[REASON_KEY] == "party.bad_uscc" and meta[FIELD_KEY] == "uscc"
    error = from_rpc_error(failed)
    assert (error.reason, error.field) == ("party.bad_uscc", "uscc")


async def test_a_bug_is_internal_with_a_reference_to_the_log(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="swnode.rpc"):
        failed = await call(address, "crash")
    assert failed.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (failed.details() or "")
    found = re.fullmatch(
        r"internal error; the node operator can find it in the log under ref ([0-9a-f]{12})",
        failed.details() or "",
    )
    assert found, failed.details()
    assert trailers_of(failed)[REASON_KEY] == "internal"
    assert from_rpc_error(failed).reason == "internal"
    logged = [r for r in caplog.records if found[1] in r.getMessage()]
    assert logged and logged[0].exc_info and "secret" in str(logged[0].exc_info[1])
