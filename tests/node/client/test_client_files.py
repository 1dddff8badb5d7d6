"""`swnode client` given a file it cannot use says so in one line naming the file and the rule,
and exits non-zero; never a traceback (issue 11, finding 8). Run as an operator runs it, through
the command line, without a node: the file is read before any call."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from node.client.common import MAX_FILE_BYTES
from tests.harness import swnode

EVENT = {"eventId": "ZJR-1", "kind": "EVENT_KIND_GATE_IN", "occurredAtUnixMs": "1800000000000"}


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def _directory(folder: Path) -> Path:
    path = folder / "a-folder.json"
    path.mkdir()
    return path


def _too_large(folder: Path) -> Path:
    path = folder / "large.json"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    return path


# name: (make the file, the rule the message states)
CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing": (lambda folder: folder / "missing.json", "no such file"),
    "directory": (_directory, "is a directory"),
    "not_utf8": (
        _write("latin1.json", b'{"declarant": "caf\xe9"}'),
        "not UTF-8 text (byte 18 is 0xe9)",
    ),
    "not_json": (_write("cut.json", b'{"items": ['), "not valid JSON"),
    "too_deep": (_write("deep.json", b"[" * 100_000), "nested deeper than 64 levels"),
    "wrong_type": (_write("list.json", b"[1, 2]"), "holds list JSON; expected an object"),
    "duplicate_key": (_write("dup.json", b'{"a": 1, "a": 2}'), "duplicate key 'a'"),
    "too_large": (_too_large, f"larger than {MAX_FILE_BYTES} bytes"),
}
EVENT_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "events_wrong_type": (_write("ev2.json", b'"event"'), "expected an object or an array"),
    "events_too_deep": (
        _write("ev3.json", json.dumps([EVENT]).encode()[:-1] + b", " + b"[" * 5000 + b"]"),
        "nested deeper than 64 levels",
    ),
}


def _client(folder: Path, *args: str) -> CompletedProcess[str]:
    ca = folder / "ca.pem"
    if not ca.exists():
        ca.write_text("not used: the file is refused before any call\n")
    return swnode("client", "--node", "127.0.0.1:9", "--ca", str(ca), *args, timeout_s=60)


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, CompletedProcess[str]]]:
    """Every case run once, a few at a time (each is a process of its own)."""
    folder = tmp_path_factory.mktemp("files")
    jobs: dict[str, tuple[Path, list[str]]] = {}
    for name, (make, _) in CASES.items():
        command = "validate" if name == "wrong_type" else "submit"
        path = make(folder)
        jobs[name] = (path, [command, "--type", "goods_declaration", "--token", "t"])
    for name, (make, _) in EVENT_CASES.items():
        jobs[name] = (make(folder), ["event", "report", "--token", "t"])
    jobs["ca_missing"] = (
        folder / "no-ca.pem",
        ["--node", "127.0.0.1:9", "--ca", str(folder / "no-ca.pem"), "whoami", "--token", "t"],
    )

    def run(name: str) -> tuple[Path, CompletedProcess[str]]:
        path, args = jobs[name]
        if name == "ca_missing":
            return path, swnode("client", *args, timeout_s=60)
        return path, _client(folder, *args, "--file", str(path))

    with ThreadPoolExecutor(max(2, (os.cpu_count() or 2))) as pool:
        return dict(zip(jobs, pool.map(run, jobs), strict=True))


@pytest.mark.parametrize(
    "case", [*CASES, *EVENT_CASES, "ca_missing"], ids=[*CASES, *EVENT_CASES, "ca_missing"]
)
def test_a_bad_file_is_one_line_naming_the_file_and_the_rule(
    ran: dict[str, tuple[Path, CompletedProcess[str]]], case: str
) -> None:
    path, done = ran[case]
    rule = {**CASES, **EVENT_CASES}.get(case, (None, "no such file"))[1]
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr and not done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"swnode client: file '{path}': "), lines[0]
    assert rule in lines[0]
