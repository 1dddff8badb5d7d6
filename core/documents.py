"""The document types a declarant submits (design §6), read from the protos in one place.

A document type is a message in protos/swf/v1/documents.proto that carries a `(swf.v1.document)`
option and is one arm of the `Document` oneof in declarations.proto; the arm's field name is the
type name (`goods_declaration`). Nothing here keeps a second list: adding a document means adding
the message and its oneof arm, and every function below (and core/validation.py, core/catalog.py)
picks it up. The option also carries the type's policy: the roles that may submit it, the
agencies that act on it by default, the field naming its party, and whether it is a goods
declaration or a payment (`policy`; services/agencies.py reads it for submission and routing).

Clients send documents as protobuf messages, or as JSON in protobuf's JSON mapping
(`parse_json`); either way a malformed input is an `InvalidArgument` naming the field at fault.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from core.errors import FailedPrecondition, InvalidArgument, quote
from swf.v1 import declarations_pb2, options_pb2

if TYPE_CHECKING:
    from google._upb._message import Descriptor as _UpbDescriptor

__all__ = [
    "DocumentKind",
    "DocumentTypeInfo",
    "document_types",
    "message_class",
    "parse_json",
    "parse_value",
    "policy",
    "refuse_duplicates",
    "to_json",
    "type_name_of",
    "unwrap",
    "wrap",
]

_ONEOF = "body"
DocumentKind = options_pb2.DocumentKind


@dataclass(frozen=True, kw_only=True)
class DocumentTypeInfo:
    """One document type: its name (the `Document` oneof arm), title (in English, and `title_zh`
    in Simplified Chinese) and message class, and the policy its option declares."""

    name: str
    title: str
    title_zh: str = ""
    message_class: type[Message]
    submit_roles: tuple[str, ...] = ()
    default_agencies: tuple[str, ...] = ()
    party_field: str = ""
    kind: options_pb2.DocumentKind.ValueType = options_pb2.DOCUMENT_KIND_UNSPECIFIED

    @property
    def descriptor(self) -> Descriptor | _UpbDescriptor:
        return self.message_class.DESCRIPTOR


@functools.cache
def _registry() -> dict[str, DocumentTypeInfo]:
    types: dict[str, DocumentTypeInfo] = {}
    for arm in declarations_pb2.Document.DESCRIPTOR.oneofs_by_name[_ONEOF].fields:
        descriptor = arm.message_type
        assert descriptor is not None, f"Document.{arm.name} is not a message"
        option = descriptor.GetOptions().Extensions[options_pb2.document]
        # The oneof arm and the message's own option must agree: core/catalog.py reports a
        # mismatch as a catalog error (and tests/core/test_catalog.py fails on it).
        types[arm.name] = DocumentTypeInfo(
            name=arm.name,
            title=option.title or descriptor.name,
            title_zh=option.title_zh,
            message_class=message_factory.GetMessageClass(descriptor),
            submit_roles=tuple(option.submit_roles),
            default_agencies=tuple(option.default_agencies),
            party_field=option.party_field,
            kind=option.kind,
        )
    return types


@functools.cache
def _by_full_name() -> dict[str, DocumentTypeInfo]:
    return {info.descriptor.full_name: info for info in _registry().values()}


def document_types() -> list[DocumentTypeInfo]:
    """Every document type, in the order of the `Document` oneof."""
    return list(_registry().values())


def policy(type_name: str) -> DocumentTypeInfo:
    """A document type with its policy; `document.no_policy` (FAILED_PRECONDITION) for a type
    this node does not know, or whose option declares no roles that may submit it or no field
    that names its party: the node cannot decide who may submit it or whose it is."""
    info = _registry().get(type_name)
    if info is None or not info.submit_roles or not info.party_field:
        raise FailedPrecondition(
            "document.no_policy",
            f"{quote(type_name)} declares no submission policy (roles, party field) in its "
            "(swf.v1.document) option",
        )
    return info


def _unknown_type(type_name: str, *, field: str = "type") -> InvalidArgument:
    return InvalidArgument(
        "document.unknown_type",
        f"{field}: {quote(type_name)} is not a document type; known types: "
        + ", ".join(_registry()),
        field=field,
    )


def message_class(type_name: str) -> type[Message]:
    """The message class of a document type; InvalidArgument (field `type`) for an unknown one."""
    info = _registry().get(type_name)
    if info is None:
        raise _unknown_type(type_name)
    return info.message_class


def type_name_of(message: Message) -> str:
    """The document type name of a document message (`GoodsDeclaration` → goods_declaration)."""
    info = _by_full_name().get(message.DESCRIPTOR.full_name)
    if info is None:
        raise _unknown_type(message.DESCRIPTOR.full_name)
    return info.name


def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's pairs as a dict (json's `object_pairs_hook`); ValueError for a key that
    appears twice, which json.loads would otherwise keep silently, the last one winning."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {quote(key)}")
        result[key] = value
    return result


def parse_json(type_name: str, text: str | bytes) -> Message:
    """Parse a document of `type_name` written in protobuf's JSON mapping.

    Field names may be the proto names (`declarant_uscc`) or their JSON names (`declarantUscc`);
    enum values are their full names (`DECLARATION_KIND_EXPORT`). Unknown fields, duplicate keys,
    a value of the wrong JSON type and text that is not a JSON object are refused with an
    InvalidArgument (reason `document.bad_json`, field `document`). The result is parsed, not
    validated: pass it to core.validation.validate.
    """
    message_class(type_name)
    try:
        value = json.loads(text, object_pairs_hook=refuse_duplicates)
    except RecursionError as exc:
        raise InvalidArgument(
            "document.bad_json",
            f"document: a {type_name} nested deeper than JSON can be read",
            field="document",
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(
            "document.bad_json",
            f"document: not valid JSON for a {type_name}: {exc}",
            field="document",
        ) from exc
    return parse_value(type_name, value)


def parse_value(type_name: str, value: object) -> Message:
    """`parse_json` for JSON already read: a dict (from json.loads) in protobuf's JSON mapping."""
    cls = message_class(type_name)
    if not isinstance(value, dict):
        raise InvalidArgument(
            "document.bad_json",
            f"document: a {type_name} is a JSON object, not {type(value).__name__}",
            field="document",
        )
    message = cls()
    try:
        json_format.ParseDict(value, message)
    except RecursionError as exc:
        raise InvalidArgument(
            "document.bad_json",
            f"document: a {type_name} nested deeper than its fields go",
            field="document",
        ) from exc
    except json_format.ParseError as exc:
        # protobuf's text names the field (and, for an unknown one, lists the known fields).
        detail = " ".join(str(exc).split()).rstrip(".")
        detail = detail if len(detail) <= 300 else f"{detail[:300]}… ({len(detail)} chars)"
        raise InvalidArgument(
            "document.bad_json",
            f"document: not a valid {type_name}: {detail}",
            field="document",
        ) from exc
    return message


def to_json(message: Message) -> str:
    """A document in protobuf's JSON mapping, with proto field names, as `parse_json` reads it."""
    return json_format.MessageToJson(message, preserving_proto_field_name=True, indent=2) + "\n"


def wrap(message: Message) -> declarations_pb2.Document:
    """Put a document message in a `Document` (the arm named after its type)."""
    document = declarations_pb2.Document()
    getattr(document, type_name_of(message)).CopyFrom(message)
    return document


def unwrap(document: declarations_pb2.Document) -> tuple[str, Message]:
    """The type name and message inside a `Document`; InvalidArgument if it holds none.

    The message returned is the document's own sub-message, not a copy.
    """
    type_name = document.WhichOneof("body")
    if type_name is None:
        raise InvalidArgument(
            "document.empty",
            "document: holds no document; set exactly one of " + ", ".join(_registry()),
            field="document",
        )
    message: Message = getattr(document, type_name)
    return type_name, message
