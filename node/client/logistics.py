"""`swnode client event|timeline|dataset ...`: logistics status and the sharing pool from the
command line (docs/LOGISTICS.md).

event report     --file FILE                    operators: one event, or a JSON array of them
event mine       [--container C] [--bl B] [--since WHEN] [--limit N] [--page TOKEN]
                                                operators: their own reports, newest first
timeline         --container C | --bl B | --declaration D  [--purpose P] [--watch]
dataset list     [--local]                      the catalog of the federation (or this node)
dataset publish  --name N --description D [--fields a,b] [--policy open_to_agencies|restricted]
dataset request  --dataset ID --purpose P (--until WHEN | --for DURATION) [--from WHEN]
dataset requests [--incoming] [--dataset ID]    yours, or those made to your datasets
dataset grant    --request ID [--until WHEN]    owners, at their home node
dataset refuse   --request ID [--reason R]
dataset revoke   --request ID [--reason R]
dataset access-log [--dataset ID] [--limit N]   every access to your datasets

Every command takes --token and --json. WHEN is a date (2026-12-31, midnight UTC) or an ISO
8601 time with its zone (2026-12-31T18:00:00+08:00).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format

from core.errors import InvalidArgument, quote
from core.logistics import MAX_EVENTS_PER_MESSAGE, kind_name, mode_name
from node.client.common import bearer, print_message, read_json_file
from node.operator.admin import parse_duration
from swf.v1 import logistics_pb2 as lpb
from swf.v1 import logistics_pb2_grpc as lgrpc

__all__ = [
    "COMMANDS",
    "POLICIES",
    "add_subcommands",
    "dataset_line",
    "entry_line",
    "log_line",
    "parse_when",
    "read_events",
    "request_line",
    "run",
    "timeline_text",
    "update_text",
]

COMMANDS = frozenset({"event", "timeline", "dataset"})
POLICIES = {
    "open_to_agencies": lpb.SHARING_POLICY_OPEN_TO_AGENCIES,
    "restricted": lpb.SHARING_POLICY_RESTRICTED,
}
_POLICY_NAMES = {v: k for k, v in POLICIES.items()}
_STATUS_NAMES = {
    number: name.removeprefix("ACCESS_STATUS_").lower() for name, number in lpb.AccessStatus.items()
}


def add_subcommands(sub: Any) -> None:
    def common(q: argparse.ArgumentParser) -> argparse.ArgumentParser:
        q.add_argument("--token", required=True)
        q.add_argument("--json", action="store_true", help="print the answer as JSON")
        return q

    p = sub.add_parser("event", help="logistics operators: report events")
    events = p.add_subparsers(dest="event_command", required=True, metavar="ACTION")
    q = common(events.add_parser("report", help="report one event, or a JSON array of events"))
    q.add_argument("--file", type=Path, required=True, help="JSON (protobuf mapping of events)")
    q = common(events.add_parser("mine", help="your own reports, newest first"))
    q.add_argument("--container", default="")
    q.add_argument("--bl", default="", help="a bill of lading (or other transport document)")
    q.add_argument("--since", default="", help="only events that occurred at or after WHEN")
    q.add_argument("--limit", type=int, default=100, help="at most this many (1 to 500)")
    q.add_argument("--page", default="", help="the next page's token of an earlier answer")

    q = common(
        sub.add_parser(
            "timeline", help="one container's, bill's or declaration's journey, at every node"
        )
    )
    key = q.add_mutually_exclusive_group(required=True)
    key.add_argument("--container")
    key.add_argument("--bl", help="a bill of lading (or other transport document) number")
    key.add_argument("--declaration", help="a declaration id")
    q.add_argument("--purpose", default="", help="why you read it (in the owners' access logs)")
    q.add_argument("--watch", action="store_true", help="keep following it")

    p = sub.add_parser("dataset", help="the data sharing pool: catalog, access, grants, log")
    ds = p.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")
    q = common(ds.add_parser("list", help="the datasets of the federation"))
    q.add_argument("--local", action="store_true", help="only this node's")
    q = common(ds.add_parser("publish", help="publish a dataset of your party, or change it"))
    q.add_argument("--name", required=True)
    q.add_argument("--description", required=True)
    q.add_argument("--fields", default="", help="comma-separated field names")
    q.add_argument("--policy", choices=sorted(POLICIES), default="open_to_agencies")
    q = common(ds.add_parser("request", help="ask a dataset's owner for access"))
    q.add_argument("--dataset", required=True, help="NODE/PARTY/NAME")
    q.add_argument("--purpose", required=True)
    q.add_argument("--from", dest="valid_from", default="", help="start (default: now)")
    until = q.add_mutually_exclusive_group(required=True)
    until.add_argument("--until", help="end of the period")
    until.add_argument("--for", dest="duration", help="length of the period: 90m, 12h, 30d")
    q = common(ds.add_parser("requests", help="your access requests (or those to your datasets)"))
    q.add_argument("--incoming", action="store_true")
    q.add_argument("--dataset", default="")
    q = common(ds.add_parser("grant", help="grant a request for one of your datasets"))
    q.add_argument("--request", required=True)
    q.add_argument("--until", default="", help="shorten the period asked for")
    for name, text in (("refuse", "refuse a request"), ("revoke", "revoke a grant")):
        q = common(ds.add_parser(name, help=text))
        q.add_argument("--request", required=True)
        q.add_argument("--reason", default="")
    q = common(ds.add_parser("access-log", help="every access to your datasets, newest first"))
    q.add_argument("--dataset", default="")
    q.add_argument("--limit", type=int, default=100)


# -- reading input ---------------------------------------------------------------------------


def parse_when(text: str, *, field: str) -> int:
    """Unix milliseconds of a date (midnight UTC) or an ISO 8601 time with its zone."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidArgument(
            "client.when",
            f"{field}: expected a date (2026-12-31) or a time with its zone "
            f"(2026-12-31T18:00:00+08:00), not {quote(text)}",
            field=field,
        ) from exc
    if when.tzinfo is None:
        if len(text.strip()) > 10:
            raise InvalidArgument(
                "client.when", f"{field}: give the time's zone (Z, +08:00)", field=field
            )
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def read_events(path: Path) -> list[lpb.LogisticsEvent]:
    """One event (a JSON object) or many (a JSON array), in protobuf's JSON mapping."""
    data = read_json_file(path, expect=(dict, list))
    items = data if isinstance(data, list) else [data]
    events = []
    for i, item in enumerate(items):
        try:
            events.append(json_format.ParseDict(item, lpb.LogisticsEvent()))
        except (json_format.ParseError, TypeError, AttributeError) as exc:
            where = f"[{i}]" if isinstance(data, list) else ""
            raise InvalidArgument(
                "client.file", f"file{where}: not a logistics event: {exc}", field="file"
            ) from exc
    return events


def _messages(events: list[lpb.LogisticsEvent]) -> Iterator[lpb.ReportEventsRequest]:
    for start in range(0, len(events), MAX_EVENTS_PER_MESSAGE):
        yield lpb.ReportEventsRequest(events=events[start : start + MAX_EVENTS_PER_MESSAGE])


# -- printing --------------------------------------------------------------------------------


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def entry_line(e: lpb.TimelineEntry) -> str:
    if e.HasField("event"):
        ev = e.event
        refs = "  ".join(x for x in (ev.container, ev.bill_of_lading, ev.conveyance) if x)
        return (
            f"{_when(e.at_unix_ms)}  {e.node:<6} {kind_name(ev.kind):<16} {ev.place}  {refs}  "
            f"{mode_name(ev.mode)}  by {ev.reporter}" + (f"  {ev.remarks}" if ev.remarks else "")
        )
    d = e.declaration
    move = f"{d.from_status or '-'} -> {d.to_status}" if d.from_status != d.to_status else ""
    return (
        f"{_when(e.at_unix_ms)}  {e.node:<6} {d.transition:<16} {d.document_type} "
        f"{d.declaration_id} {move}  by {d.actor}" + (f"  {d.note}" if d.note else "")
    )


def _notes(withheld: Any, missing: Any) -> list[str]:
    lines = [f"withheld: {w.node} {w.dataset}: {w.reason} — {w.message}" for w in withheld]
    if missing:
        lines.append(f"not answering: {', '.join(missing)}")
    return lines


def timeline_text(t: lpb.Timeline) -> str:
    lines = [entry_line(e) for e in t.entries]
    lines += _notes(t.withheld, t.missing)
    if t.truncated:
        lines.append("(truncated: a node holds more entries; the newest are shown)")
    return "\n".join(lines)


def update_text(u: lpb.TimelineUpdate) -> str:
    return "\n".join([entry_line(e) for e in u.entries] + _notes(u.withheld, u.missing))


def dataset_line(d: lpb.Dataset) -> str:
    return f"{d.id:<48} {_POLICY_NAMES.get(d.policy, '?'):<17} {d.description}"


def request_line(r: lpb.AccessRequest) -> str:
    return (
        f"{r.id}  {_STATUS_NAMES.get(r.status, '?'):<8} {r.dataset}  for {r.requester} "
        f"({r.requested_by})  {_when(r.valid_from_unix_ms)} to {_when(r.valid_until_unix_ms)}"
        f"  purpose: {r.purpose}" + (f"  reason: {r.reason}" if r.reason else "")
    )


def log_line(e: lpb.AccessLogEntry) -> str:
    verdict = "allowed" if e.allowed else "REFUSED"
    return (
        f"{_when(e.at_unix_ms)}  {verdict:<7} {e.reason:<22} {e.dataset}  {e.key}  "
        f"{e.party} ({e.user}) via {e.via_node}  {e.action}  rows {e.rows}  purpose: {e.purpose}"
        + (f"  [{e.detail}]" if e.detail else "")
    )


# -- running ---------------------------------------------------------------------------------


def run(args: argparse.Namespace, channel: grpc.Channel) -> int:
    meta = bearer(args.token)
    if args.client_command == "event" and args.event_command == "mine":
        return _mine(args, lgrpc.LogisticsStub(channel), meta)
    if args.client_command == "event":
        events = read_events(args.file)
        answer = lgrpc.LogisticsStub(channel).ReportEvents(
            _messages(events), metadata=meta, timeout=60
        )
        print_message(
            answer,
            args.json,
            lambda a: f"stored {a.stored}, already reported {a.duplicates} (dataset {a.dataset})",
        )
        return 0
    if args.client_command == "timeline":
        return _timeline(args, lgrpc.LogisticsStub(channel), meta)
    return _dataset(args, lgrpc.DataSharingStub(channel), meta)


def _mine(args: argparse.Namespace, stub: lgrpc.LogisticsStub, meta: Any) -> int:
    request = lpb.ListMyEventsRequest(
        container=args.container,
        bill_of_lading=args.bl,
        since_unix_ms=parse_when(args.since, field="since") if args.since else 0,
        page_size=args.limit,
        page_token=args.page,
    )
    answer = stub.ListMyEvents(request, metadata=meta, timeout=30)

    def text(a: lpb.ListMyEventsResponse) -> str:
        lines = [
            f"{_when(e.occurred_at_unix_ms)}  {e.event_id:<24} {kind_name(e.kind):<16} {e.place}  "
            + "  ".join(x for x in (e.container, e.bill_of_lading, e.conveyance) if x)
            for e in a.events
        ]
        if a.next_page_token:
            lines.append(f"(more: --page {a.next_page_token})")
        return "\n".join(lines)

    print_message(answer, args.json, text)
    return 0


def _timeline(args: argparse.Namespace, stub: lgrpc.LogisticsStub, meta: Any) -> int:
    if args.container:
        key = lpb.TimelineKey(container=args.container)
    elif args.bl:
        key = lpb.TimelineKey(bill_of_lading=args.bl)
    else:
        key = lpb.TimelineKey(declaration_id=args.declaration)
    request = lpb.TimelineRequest(key=key, purpose=args.purpose)
    if args.watch:
        for update in stub.WatchTimeline(request, metadata=meta):
            print_message(update, args.json, update_text)
        return 0
    print_message(stub.GetTimeline(request, metadata=meta, timeout=30), args.json, timeline_text)
    return 0


def _dataset(args: argparse.Namespace, stub: lgrpc.DataSharingStub, meta: Any) -> int:
    cmd = args.dataset_command
    if cmd == "list":
        listed = stub.ListDatasets(
            lpb.ListDatasetsRequest(local=args.local), metadata=meta, timeout=30
        )
        print_message(
            listed,
            args.json,
            lambda r: "\n".join(
                [dataset_line(d) for d in r.datasets]
                + ([f"not answering: {', '.join(r.missing)}"] if r.missing else [])
            ),
        )
    elif cmd == "publish":
        fields = [f.strip() for f in args.fields.split(",") if f.strip()]
        published = stub.PublishDataset(
            lpb.PublishDatasetRequest(
                name=args.name,
                description=args.description,
                fields=fields,
                policy=POLICIES[args.policy],
            ),
            metadata=meta,
            timeout=10,
        )
        print_message(published, args.json, dataset_line)
    elif cmd == "request":
        start = parse_when(args.valid_from, field="from") if args.valid_from else 0
        if args.until:
            end = parse_when(args.until, field="until")
        else:
            begin = start or int(datetime.now(tz=UTC).timestamp() * 1000)
            end = begin + int(parse_duration(args.duration, field="for") * 1000)
        asked = stub.RequestAccess(
            lpb.RequestAccessRequest(
                dataset=args.dataset,
                purpose=args.purpose,
                valid_from_unix_ms=start,
                valid_until_unix_ms=end,
            ),
            metadata=meta,
            timeout=30,
        )
        print_message(asked, args.json, request_line)
    elif cmd == "requests":
        listed_requests = stub.ListRequests(
            lpb.ListRequestsRequest(incoming=args.incoming, dataset=args.dataset),
            metadata=meta,
            timeout=30,
        )
        print_message(
            listed_requests,
            args.json,
            lambda r: "\n".join(
                [request_line(x) for x in r.requests]
                + ([f"not answering: {', '.join(r.missing)}"] if r.missing else [])
            ),
        )
    elif cmd == "grant":
        until = parse_when(args.until, field="until") if args.until else 0
        granted = stub.Grant(
            lpb.GrantRequest(request_id=args.request, valid_until_unix_ms=until),
            metadata=meta,
            timeout=10,
        )
        print_message(granted, args.json, request_line)
    elif cmd == "refuse":
        refused = stub.Refuse(
            lpb.RefuseRequest(request_id=args.request, reason=args.reason),
            metadata=meta,
            timeout=10,
        )
        print_message(refused, args.json, request_line)
    elif cmd == "revoke":
        revoked = stub.RevokeGrant(
            lpb.RevokeGrantRequest(request_id=args.request, reason=args.reason),
            metadata=meta,
            timeout=10,
        )
        print_message(revoked, args.json, request_line)
    else:
        page = stub.AccessLog(
            lpb.AccessLogRequest(dataset=args.dataset, page_size=args.limit),
            metadata=meta,
            timeout=10,
        )
        print_message(page, args.json, lambda r: "\n".join(log_line(e) for e in r.entries))
    return 0
