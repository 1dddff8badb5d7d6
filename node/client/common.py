"""What every `swnode client` command shares: the bearer metadata it calls with, how it reads the
files it is given (--file, --ca), and how it prints an answer (JSON with --json, else the
command's own text).

A file that cannot be used is one line naming the file and what is wrong with it (an
InvalidArgument `client.file`, field `file`), never a traceback: missing, unreadable, too large,
not UTF-8, not JSON, nested too deep, or JSON of the wrong kind.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from core.documents import refuse_duplicates
from core.errors import InvalidArgument, quote

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_JSON_DEPTH",
    "bearer",
    "print_message",
    "read_file_bytes",
    "read_file_text",
    "read_json_file",
]

# Larger than any document or batch of events a person or script hands the client.
MAX_FILE_BYTES = 16 * 1024 * 1024
# JSON nested deeper than this is no document of ours (the deepest is under 10 levels).
MAX_JSON_DEPTH = 64

_JSON_KINDS: dict[type, str] = {dict: "an object", list: "an array"}


def _bad_file(path: Path | str, rule: str) -> InvalidArgument:
    return InvalidArgument("client.file", f"file {quote(str(path))}: {rule}", field="file")


def read_file_bytes(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file given on the command line, or of standard input for `-`."""
    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with path.open("rb") as f:
                data = f.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise _bad_file(path, "no such file") from exc
    except IsADirectoryError as exc:
        raise _bad_file(path, "is a directory, not a file") from exc
    except OSError as exc:
        raise _bad_file(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from exc
    if len(data) > max_bytes:
        raise _bad_file(path, f"larger than {max_bytes} bytes")
    return data


def read_file_text(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    data = read_file_bytes(path, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_file(
            path, f"not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x})"
        ) from exc


def _depth(value: Any) -> int:
    """How deeply `value` nests, counted without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def read_json_file(path: Path, *, expect: tuple[type, ...] = (dict,)) -> Any:
    """The JSON value in a file: one of the types in `expect` (dict for an object, list for an
    array), nested at most MAX_JSON_DEPTH deep, without duplicate keys."""
    text = read_file_text(path)
    try:
        value = json.loads(text, object_pairs_hook=refuse_duplicates)
    except RecursionError as exc:
        raise _bad_file(path, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:
        raise _bad_file(path, f"not valid JSON: {' '.join(str(exc).split())}") from exc
    wanted = " or ".join(_JSON_KINDS.get(t, t.__name__) for t in expect)
    if not isinstance(value, expect):
        raise _bad_file(path, f"holds {type(value).__name__} JSON; expected {wanted}")
    if _depth(value) > MAX_JSON_DEPTH:
        raise _bad_file(path, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def print_message(message: Message, as_json: bool, text: Callable[[Any], str]) -> None:
    if as_json:
        as_dict = json_format.MessageToDict(message, preserving_proto_field_name=True)
        print(json.dumps(as_dict, indent=2))
    else:
        out = text(message)
        if out:
            print(out)
    sys.stdout.flush()
