"""Logistics and the sharing pool on a test network, as operators' and enterprises' software
would drive them: `Logistics` and `DataSharing` on a node's client port, with tokens from the
identity service; operators added with `swnode party add`, as a node's operator does."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from queue import Empty, Queue

import grpc
from stdnum import iso6346

from swf.v1 import documents_pb2 as docs
from swf.v1 import logistics_pb2 as lpb
from swf.v1 import logistics_pb2_grpc as lgrpc
from tests.harness import Network, swnode
from tests.identity_client import IdentityClient, bearer

_serial = itertools.count(secrets.randbelow(500_000))


def new_container(owner: str = "TSTU") -> str:
    """A valid ISO 6346 container number never used before in this run."""
    body = f"{owner}{next(_serial) % 1_000_000:06d}"
    return body + str(iso6346.calc_check_digit(body))


def new_bill(prefix: str = "TBL") -> str:
    return f"{prefix}{secrets.token_hex(5).upper()}"


def now_ms() -> int:
    return int(time.time() * 1000)


def event(
    event_id: str,
    kind: lpb.EventKind.ValueType,
    *,
    container: str = "",
    bill: str = "",
    place: str = "CNNGB",
    at_ms: int | None = None,
    mode: docs.TransportMode.ValueType = docs.TRANSPORT_MODE_RAIL,
    conveyance: str = "",
) -> lpb.LogisticsEvent:
    return lpb.LogisticsEvent(
        event_id=event_id,
        kind=kind,
        occurred_at_unix_ms=at_ms if at_ms is not None else now_ms() - 60_000,
        place=place,
        container=container,
        bill_of_lading=bill,
        conveyance=conveyance,
        mode=mode,
    )


class Yard:
    """The logistics and sharing services of every node of a network, one channel per node."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.identity = IdentityClient(network)
        self._channels: dict[str, grpc.Channel] = {}

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self.identity.close()

    def channel(self, at: str) -> grpc.Channel:
        if at not in self._channels:
            self._channels[at] = self.network.client_channel(at)
        return self._channels[at]

    def logistics(self, at: str) -> lgrpc.LogisticsStub:
        return lgrpc.LogisticsStub(self.channel(at))

    def sharing(self, at: str) -> lgrpc.DataSharingStub:
        return lgrpc.DataSharingStub(self.channel(at))

    # -- parties -----------------------------------------------------------------------------

    def operator(self, at: str, party_id: str, kind: str, name: str) -> str:
        """Add a logistics operator at `at` (as its operator would) and log its user in there;
        the access token."""
        done = swnode(
            "party", "add", "--dir", str(self.network.dir(at)), "--id", party_id,
            "--kind", kind, "--name", name, "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        added = json.loads(done.stdout)
        party, _, user = added["user"].partition("/")
        return self.identity.login(at, party, user, added["password"]).access_token

    # -- calls (each raises grpc.RpcError when refused) ---------------------------------------

    def report(
        self, at: str, token: str, *messages: list[lpb.LogisticsEvent]
    ) -> lpb.ReportEventsResponse:
        """One ReportEvents call: each list of events is one message on the stream."""
        answer: lpb.ReportEventsResponse = self.logistics(at).ReportEvents(
            iter([lpb.ReportEventsRequest(events=m) for m in messages]),
            metadata=bearer(token),
            timeout=30,
        )
        return answer

    def timeline(
        self, at: str, token: str, key: lpb.TimelineKey, purpose: str = ""
    ) -> lpb.Timeline:
        answer: lpb.Timeline = self.logistics(at).GetTimeline(
            lpb.TimelineRequest(key=key, purpose=purpose), metadata=bearer(token), timeout=30
        )
        return answer

    def my_events(self, at: str, token: str, **filters: object) -> lpb.ListMyEventsResponse:
        answer: lpb.ListMyEventsResponse = self.logistics(at).ListMyEvents(
            lpb.ListMyEventsRequest(**filters),  # type: ignore[arg-type]
            metadata=bearer(token),
            timeout=30,
        )
        return answer

    def request_access(
        self, at: str, token: str, dataset: str, until_ms: int, purpose: str = "our cargo"
    ) -> lpb.AccessRequest:
        answer: lpb.AccessRequest = self.sharing(at).RequestAccess(
            lpb.RequestAccessRequest(
                dataset=dataset, purpose=purpose, valid_until_unix_ms=until_ms
            ),
            metadata=bearer(token),
            timeout=30,
        )
        return answer

    def grant(self, at: str, token: str, request_id: str) -> lpb.AccessRequest:
        answer: lpb.AccessRequest = self.sharing(at).Grant(
            lpb.GrantRequest(request_id=request_id), metadata=bearer(token), timeout=10
        )
        return answer

    def revoke(self, at: str, token: str, request_id: str) -> lpb.AccessRequest:
        answer: lpb.AccessRequest = self.sharing(at).RevokeGrant(
            lpb.RevokeGrantRequest(request_id=request_id, reason="no longer needed"),
            metadata=bearer(token),
            timeout=10,
        )
        return answer

    def access_log(self, at: str, token: str, dataset: str = "") -> list[lpb.AccessLogEntry]:
        answer: lpb.AccessLogResponse = self.sharing(at).AccessLog(
            lpb.AccessLogRequest(dataset=dataset, page_size=500), metadata=bearer(token), timeout=10
        )
        return list(answer.entries)


class Watch:
    """A WatchTimeline call read by a thread: what it pushed so far, waited for by the test."""

    def __init__(self, yard: Yard, at: str, token: str, key: lpb.TimelineKey) -> None:
        self._call = yard.logistics(at).WatchTimeline(
            lpb.TimelineRequest(key=key), metadata=bearer(token)
        )
        self.updates: Queue[lpb.TimelineUpdate] = Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for update in self._call:
                self.updates.put(update)
        except grpc.RpcError:
            return

    def next_update(
        self, timeout_s: float, wanted: Callable[[lpb.TimelineUpdate], bool]
    ) -> lpb.TimelineUpdate:
        """The next update that is `wanted` (earlier ones are dropped), within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no such update arrived"
            try:
                update = self.updates.get(timeout=left)
            except Empty:
                continue
            if wanted(update):
                return update

    def next_entries(self, timeout_s: float) -> list[lpb.TimelineEntry]:
        """The entries of the next update that has any, within `timeout_s`."""
        return list(self.next_update(timeout_s, lambda u: bool(u.entries)).entries)

    def cancel(self) -> None:
        self._call.cancel()  # type: ignore[no-untyped-call]
        self._thread.join(5)


@contextmanager
def yard(network: Network) -> Iterator[Yard]:
    y = Yard(network)
    try:
        yield y
    finally:
        y.close()
