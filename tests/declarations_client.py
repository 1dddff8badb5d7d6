"""Declarations on a test network, as an enterprise's or an agency's software would drive them:
the `Declarations` and `AgencyWork` services on a node's client port, with tokens from the
identity service."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue
from typing import Any, cast

import grpc

from core.documents import parse_json, wrap
from core.grpc_status import REASON_KEY, VALIDATION_KEY
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import declarations_pb2_grpc as dgrpc
from tests.harness import Network
from tests.identity_client import IdentityClient, bearer

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(type_name: str, file: str | None = None) -> dpb.Document:
    return wrap(parse_json(type_name, (EXAMPLES / f"{file or type_name}.json").read_text()))


def validation_errors(call: Callable[[], object]) -> set[tuple[str, str]]:
    """(field, rule) of every error the node found in a refused document, read from the
    ValidationReport in the refusal's trailing metadata as a program would."""
    try:
        call()
    except grpc.RpcError as exc:
        error = cast(grpc.Call, exc)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
        meta = dict(cast(Iterable[tuple[str, Any]], error.trailing_metadata() or ()))
        assert meta[REASON_KEY] == "document.invalid"
        report = dpb.ValidationReport.FromString(meta[VALIDATION_KEY])
        return {(e.field, e.rule) for e in report.errors}
    raise AssertionError("expected the document to be refused; it was accepted")


class WorkWatch:
    """An agency's WatchWork call read by a thread: every work item it pushed, in order."""

    def __init__(self, desk: Desk) -> None:
        self._call = desk.work.WatchWork(dpb.WatchWorkRequest(), metadata=desk.meta)
        self.seen: list[dpb.WorkItem] = []
        self._pushed: Queue[dpb.WorkItem] = Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for item in self._call:
                self.seen.append(item)
                self._pushed.put(item)
        except grpc.RpcError:
            return

    def next_item(
        self, wanted: Callable[[dpb.WorkItem], bool], timeout_s: float = 15
    ) -> dpb.WorkItem:
        """The next pushed item that is `wanted` (earlier ones are skipped), within
        `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no such work item was pushed"
            try:
                item = self._pushed.get(timeout=left)
            except Empty:
                continue
            if wanted(item):
                return item

    def cancel(self) -> None:
        self._call.cancel()  # type: ignore[no-untyped-call]
        self._thread.join(5)


class Desk:
    """One user's view of one node: an enterprise declarant, or an agency officer."""

    def __init__(self, network: Network, at: str, token: str) -> None:
        self.network = network
        self.at = at
        self.token = token
        self._channel = network.client_channel(at)
        self.declarations = dgrpc.DeclarationsStub(self._channel)
        self.work = dgrpc.AgencyWorkStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    @property
    def meta(self) -> tuple[tuple[str, str]]:
        return bearer(self.token)

    def submit(self, document: dpb.Document) -> dpb.Declaration:
        d: dpb.Declaration = self.declarations.Submit(
            dpb.SubmitRequest(document=document), metadata=self.meta, timeout=30
        )
        return d

    def get(self, declaration_id: str) -> dpb.Declaration:
        d: dpb.Declaration = self.declarations.GetDeclaration(
            dpb.GetDeclarationRequest(id=declaration_id), metadata=self.meta, timeout=10
        )
        return d

    def wait_status(
        self, declaration_id: str, *statuses: str, timeout_s: float = 20
    ) -> dpb.Declaration:
        deadline = time.monotonic() + timeout_s
        while True:
            d = self.get(declaration_id)
            if d.status in statuses:
                return d
            assert time.monotonic() < deadline, f"{declaration_id} is {d.status}, not {statuses}"
            time.sleep(0.2)

    def page(self, **filters: Any) -> dpb.ListDeclarationsResponse:
        """One page of the caller's declarations (ListDeclarationsRequest's fields)."""
        page: dpb.ListDeclarationsResponse = self.declarations.ListDeclarations(
            dpb.ListDeclarationsRequest(**filters), metadata=self.meta, timeout=10
        )
        return page

    @contextmanager
    def watch_work(self) -> Iterator[WorkWatch]:
        watch = WorkWatch(self)
        try:
            yield watch
        finally:
            watch.cancel()

    def inbox(self, status: str = "open") -> list[dpb.WorkItem]:
        got: dpb.ListWorkResponse = self.work.ListWork(
            dpb.ListWorkRequest(status=status), metadata=self.meta, timeout=10
        )
        return list(got.items)

    def item_for(self, declaration_id: str, timeout_s: float = 10) -> dpb.WorkItem:
        deadline = time.monotonic() + timeout_s
        while True:
            for item in self.inbox("all"):
                if item.declaration_id == declaration_id and item.status != "decided":
                    return item
            assert time.monotonic() < deadline, f"no work on {declaration_id} for this agency"
            time.sleep(0.2)

    def decide(
        self,
        declaration_id: str,
        decision: dpb.Decision.ValueType,
        reason: str = "",
        note: str = "",
    ) -> dpb.WorkItem:
        item = self.item_for(declaration_id)
        if item.status == "open":
            self.work.Claim(dpb.ClaimRequest(work_id=item.id), metadata=self.meta, timeout=10)
        decided: dpb.WorkItem = self.work.Decide(
            dpb.DecideRequest(work_id=item.id, decision=decision, reason=reason, note=note),
            metadata=self.meta,
            timeout=10,
        )
        return decided


class Office:
    """Desks on a network: enterprises registered at a node, and the agencies of each node."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.identity = IdentityClient(network)
        self._desks: list[Desk] = []

    def close(self) -> None:
        for desk in self._desks:
            desk.close()
        self.identity.close()

    def _desk(self, at: str, token: str) -> Desk:
        desk = Desk(self.network, at, token)
        self._desks.append(desk)
        return desk

    def enterprise(
        self, uscc: str, *, home: str = "CN-GD", at: str | None = None, roles: tuple[str, ...]
    ) -> Desk:
        """Register `uscc` at `home` (if not yet) and log its administrator in at `at`."""
        try:
            self.identity.register(home, uscc, roles=roles)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        tokens = self.identity.login(at or home, uscc)
        return self._desk(at or home, tokens.access_token)

    def agency(self, at: str, agency: str) -> Desk:
        user, password = self.network.devnet.agency_login(at, agency)
        party, _, name = user.partition("/")
        tokens = self.identity.login(at, party, name, password)
        return self._desk(at, tokens.access_token)


@contextmanager
def office(network: Network) -> Iterator[Office]:
    o = Office(network)
    try:
        yield o
    finally:
        o.close()
