"""Logistics events and timelines (docs/LOGISTICS.md): pure rules, values in, decisions out.

- `validate_events` checks what an operator reports, every problem at once, each naming the
  field by its path (`events[2].container`) and the rule it breaks (`RULES`). Formats are the
  document formats of core/validation.py (`check_format`): ISO 6346 containers with their check
  digit, UN/LOCODE places, identifiers.
- `Key` is what a timeline is asked for: a container, a bill of lading or a declaration id.
- `declaration_refs` says which containers and bills of lading a declaration names, so that a
  timeline by container finds the declarations that carry it.
- `merge` orders the entries that the nodes of the federation answer with into one timeline,
  each entry once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from google.protobuf.message import Message

from core.envelope import is_message_id
from core.errors import InvalidArgument, quote
from core.parties import PARTY_KINDS
from core.validation import Problem, check_format
from swf.v1 import documents_pb2 as docs
from swf.v1 import logistics_pb2 as lpb
from swf.v1 import options_pb2

__all__ = [
    "EVENTS_DATASET",
    "EVENT_FIELDS",
    "MAX_EVENTS_PER_MESSAGE",
    "OPERATOR_KINDS",
    "RULES",
    "Key",
    "check_key",
    "dataset_id",
    "declaration_refs",
    "entry_identity",
    "events_dataset",
    "kind_name",
    "merge",
    "mode_name",
    "parse_dataset_id",
    "same_event",
    "validate_events",
]

# The party kinds that report events: terminal, airport, rail, road (docs/IDENTITY.md).
OPERATOR_KINDS: Final = PARTY_KINDS - {"enterprise", "agency"}
MAX_EVENTS_PER_MESSAGE: Final = 1000
MAX_EVENT_ID: Final = 64
MAX_REFERENCE: Final = 35  # bill of lading, conveyance: UN/EDIFACT an..35
MAX_REMARKS: Final = 200

# The dataset that holds an operator's reported events, published by the node for it.
EVENTS_DATASET: Final = "logistics-events"
EVENT_FIELDS: Final = (
    "event_id",
    "kind",
    "occurred_at",
    "place",
    "container",
    "bill_of_lading",
    "conveyance",
    "mode",
    "remarks",
)

RULES: Mapping[str, str] = {
    "required": "a required element is present",
    "code_unknown": "a code is one of the values its enum defines",
    "max_length": "at most the element's length",
    "identifier_format": "an id or reference is letters, digits and - / . _ only",
    "text_characters": "free text holds no control characters other than tab and newline",
    "iso6346_format": "a container number is owner code, category U/J/Z/R, 6 digits, check digit",
    "iso6346_check_digit": "a container number's check digit is right (ISO 6346)",
    "unlocode_format": "a place is a UN/LOCODE: 5 characters, country + 3 of A-Z or 2-9",
    "unlocode_country": "a UN/LOCODE's country is an ISO 3166-1 code",
    "container_or_bill": "an event names a container, a bill of lading, or both",
    "occurred_in_future": "an event did not happen later than now (plus the clock skew allowed)",
    "duplicate_event_id": "an event id is given once per message, or twice with the same content",
}

_KIND_NAMES: Mapping[int, str] = {
    number: name.removeprefix("EVENT_KIND_").lower()
    for name, number in lpb.EventKind.items()
    if number
}
_MODE_NAMES: Mapping[int, str] = {
    number: name.removeprefix("TRANSPORT_MODE_").lower()
    for name, number in docs.TransportMode.items()
    if number
}
F = options_pb2.Format


def kind_name(kind: int) -> str:
    """`gate_in` for EVENT_KIND_GATE_IN; '' for an unknown value."""
    return _KIND_NAMES.get(kind, "")


def mode_name(mode: int) -> str:
    """`rail` for TRANSPORT_MODE_RAIL; '' for an unknown value."""
    return _MODE_NAMES.get(mode, "")


# -- validating reported events --------------------------------------------------------------

# The names people know each field by (in messages, as core/validation.py names data elements).
NAMES: Mapping[str, str] = {
    "event_id": "Event id",
    "kind": "Event kind",
    "occurred_at_unix_ms": "Time of the event",
    "place": "Place (UN/LOCODE)",
    "container": "Container number",
    "bill_of_lading": "Transport document number",
    "conveyance": "Means of transport",
    "mode": "Mode of transport",
    "remarks": "Remarks",
}


class _Checker:
    """The problems of one event, each at `<path>.<field>` and named for people."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.found: list[Problem] = []

    def __call__(self, field: str, rule: str, text: str) -> None:
        self.found.append(Problem(f"{self.path}.{field}", rule, f"{NAMES[field]}: {text}"))

    def formatted(self, field: str, fmt: options_pb2.Format.ValueType, value: str) -> None:
        for rule, text in check_format(fmt, value):
            self(field, rule, text)

    def reference(self, field: str, value: str, limit: int) -> None:
        if len(value) > limit:
            self(field, "max_length", f"{len(value)} characters, at most {limit}")
        else:
            self.formatted(field, F.FORMAT_IDENTIFIER, value)

    def code(self, field: str, value: int, names: Mapping[int, str]) -> None:
        if value == 0:
            self(field, "required", f"required: one of {', '.join(names.values())}")
        elif value not in names:
            self(field, "code_unknown", f"{value} is not one of its codes")


def _validate_one(
    event: lpb.LogisticsEvent, path: str, *, now_ms: int, skew_ms: int
) -> list[Problem]:
    check = _Checker(path)
    if not event.event_id:
        check("event_id", "required", "required: the operator's own id for the event")
    else:
        check.reference("event_id", event.event_id, MAX_EVENT_ID)
    check.code("kind", event.kind, _KIND_NAMES)
    if event.occurred_at_unix_ms <= 0:
        check("occurred_at_unix_ms", "required", "required (Unix milliseconds)")
    elif event.occurred_at_unix_ms > now_ms + skew_ms:
        ahead_s = (event.occurred_at_unix_ms - now_ms) // 1000
        check(
            "occurred_at_unix_ms",
            "occurred_in_future",
            f"{ahead_s} s after the node's clock; events are reported once they happen (at "
            f"most {skew_ms // 1000} s of clock skew allowed)",
        )
    if not event.place:
        check("place", "required", "required (CNSHA)")
    else:
        check.formatted("place", F.FORMAT_UNLOCODE, event.place)
    if event.container:
        check.formatted("container", F.FORMAT_CONTAINER, event.container)
    if event.bill_of_lading:
        check.reference("bill_of_lading", event.bill_of_lading, MAX_REFERENCE)
    if not event.container and not event.bill_of_lading:
        check("container", "container_or_bill", "an event names a container, a bill, or both")
    if event.conveyance:
        check.reference("conveyance", event.conveyance, MAX_REFERENCE)
    check.code("mode", event.mode, _MODE_NAMES)
    if len(event.remarks) > MAX_REMARKS:
        check("remarks", "max_length", f"{len(event.remarks)} characters, at most {MAX_REMARKS}")
    elif event.remarks:
        check.formatted("remarks", F.FORMAT_TEXT, event.remarks)
    return check.found


def same_event(a: lpb.LogisticsEvent, b: lpb.LogisticsEvent) -> bool:
    """Whether two reports of one event id say the same thing (what the operator gives)."""
    return (
        a.event_id,
        a.kind,
        a.occurred_at_unix_ms,
        a.place,
        a.container,
        a.bill_of_lading,
        a.conveyance,
        a.mode,
        a.remarks,
    ) == (
        b.event_id,
        b.kind,
        b.occurred_at_unix_ms,
        b.place,
        b.container,
        b.bill_of_lading,
        b.conveyance,
        b.mode,
        b.remarks,
    )


def validate_events(
    events: Sequence[lpb.LogisticsEvent], *, now_ms: int, skew_ms: int, first_index: int = 0
) -> list[Problem]:
    """Every problem with the events of one report, their paths numbered from `first_index`
    (the place of the first of them in the caller's stream)."""
    found: list[Problem] = []
    seen: dict[str, lpb.LogisticsEvent] = {}
    for i, event in enumerate(events):
        path = f"events[{first_index + i}]"
        found += _validate_one(event, path, now_ms=now_ms, skew_ms=skew_ms)
        earlier = seen.setdefault(event.event_id, event) if event.event_id else event
        if earlier is not event and not same_event(earlier, event):
            found.append(
                Problem(
                    f"{path}.event_id",
                    "duplicate_event_id",
                    f"{NAMES['event_id']}: {event.event_id} is given twice with different content",
                )
            )
    return found


# -- timeline keys ---------------------------------------------------------------------------

KEY_KINDS: Final = ("container", "bill_of_lading", "declaration_id")


@dataclass(frozen=True, order=True)
class Key:
    """What a timeline is about: kind is container, bill_of_lading or declaration_id."""

    kind: str
    value: str

    def __post_init__(self) -> None:
        if self.kind not in KEY_KINDS:
            raise ValueError(f"no key kind {self.kind!r}")

    def text(self) -> str:
        return f"{self.kind}:{self.value}"

    def to_proto(self) -> lpb.TimelineKey:
        key = lpb.TimelineKey()
        setattr(key, self.kind, self.value)
        return key

    @classmethod
    def from_proto(cls, key: lpb.TimelineKey) -> Key | None:
        which = key.WhichOneof("key")
        return cls(which, getattr(key, which)) if which else None


def check_key(key: lpb.TimelineKey, *, field: str = "key") -> Key:
    """The key a timeline is asked for, as people type it (a container's spaces and lower case
    are forgiven), or a refusal naming the field."""
    which = key.WhichOneof("key")
    if which is None:
        raise InvalidArgument(
            "timeline.bad_key",
            f"{field}: give a container, a bill_of_lading or a declaration_id",
            field=field,
        )
    path = f"{field}.{which}"
    value = str(getattr(key, which)).strip()
    problems: list[tuple[str, str]]
    if which == "container":
        value = value.replace(" ", "").replace("-", "").upper()
        problems = check_format(F.FORMAT_CONTAINER, value)
    elif which == "bill_of_lading":
        problems = [] if 0 < len(value) <= MAX_REFERENCE else [("max_length", "1 to 35 characters")]
        problems = problems or check_format(F.FORMAT_IDENTIFIER, value)
    else:
        ok = is_message_id(value)
        problems = [] if ok else [("declaration_id", f"{quote(value)} is not a declaration id")]
    if problems:
        rule, text = problems[0]
        raise InvalidArgument("timeline.bad_key", f"{path}: {text} [{rule}]", field=path)
    return Key(which, value)


def declaration_refs(document_type: str, message: Message) -> list[Key]:
    """The containers and bills of lading a declaration names, each once: a goods declaration's
    `bill_of_lading` and `containers`, a cargo manifest's bills and their containers."""
    found: list[Key] = []
    if isinstance(message, docs.GoodsDeclaration):
        found += [Key("bill_of_lading", message.bill_of_lading)] if message.bill_of_lading else []
        found += [Key("container", c) for c in message.containers if c]
    elif isinstance(message, docs.CargoManifest):
        for bill in message.bills:
            found += [Key("bill_of_lading", bill.number)] if bill.number else []
            found += [Key("container", c) for c in bill.containers if c]
    return list(dict.fromkeys(found))


# -- datasets --------------------------------------------------------------------------------


def dataset_id(node: str, party: str, name: str) -> str:
    return f"{node}/{party}/{name}"


def events_dataset(node: str, party: str) -> str:
    """The id of the dataset that holds an operator's reported events."""
    return dataset_id(node, party, EVENTS_DATASET)


def parse_dataset_id(text: str) -> tuple[str, str, str] | None:
    """(node, party, name) of a dataset id `NODE/PARTY/NAME`, or None if it is not one."""
    parts = text.split("/")
    if len(parts) != 3 or not all(parts):
        return None
    node, party, name = parts
    return node, party, name


# -- one timeline from many answers ----------------------------------------------------------


def entry_identity(entry: lpb.TimelineEntry) -> tuple[str, ...]:
    """What makes an entry the same entry when two answers carry it: an event is its operator's
    event id at its node; a status change is its place in its declaration's history."""
    if entry.HasField("event"):
        return ("event", entry.node, entry.event.reporter, entry.event.event_id)
    d = entry.declaration
    return ("declaration", entry.node, d.declaration_id, str(d.seq))


def _order(entry: lpb.TimelineEntry) -> tuple[int, str, int, int]:
    seq = entry.event.seq if entry.HasField("event") else entry.declaration.seq
    return (entry.at_unix_ms, entry.node, 0 if entry.HasField("declaration") else 1, seq)


def merge(answers: Iterable[Iterable[lpb.TimelineEntry]]) -> list[lpb.TimelineEntry]:
    """One timeline, oldest first, each entry once. Entries of the same moment keep the order of
    their node (a node's storage order), status changes before events."""
    seen: dict[tuple[str, ...], lpb.TimelineEntry] = {}
    for answer in answers:
        for entry in answer:
            seen.setdefault(entry_identity(entry), entry)
    return sorted(seen.values(), key=_order)
