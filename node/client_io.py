"""What every `swnode client` command shares: the bearer metadata it calls with, and how it
prints an answer (JSON with --json, else the command's own text)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message


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
