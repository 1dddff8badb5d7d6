"""The reason codes of docs/PROTOCOL.md §6.3 and the code, kept in step.

The code is read, not run: every `SwnodeError` (or subclass) constructed with a string literal as
its reason, every fixed reason of a subclass that sets its own, every `default_reason` a failed
RPC falls back to, and every reason written straight into gRPC trailers. Each must appear in the
reason tables of §6.3, each reason in those tables must still be produced somewhere, and the code
column of the tables must agree with the kinds the code raises each reason with (§6.2).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from core import errors
from core.grpc_status import REASON_KEY, TABLE

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PROTOCOL.md"
PACKAGES = ("core", "storage", "federation", "identity", "services", "node")
REASON = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
BASE = errors.SwnodeError.__name__


@dataclass
class Found:
    """Where each reason is produced, and the gRPC codes it is raised with."""

    sites: dict[str, list[str]] = field(default_factory=dict)
    codes: dict[str, set[int]] = field(default_factory=dict)
    not_literal: list[str] = field(default_factory=list)

    def add(self, reason: str, site: str, code: int | None) -> None:
        self.sites.setdefault(reason, []).append(site)
        if code is not None:
            self.codes.setdefault(reason, set()).add(code)


@dataclass(frozen=True)
class ErrorClass:
    base: str | None
    kind: str | None  # the Kind member it sets, if it sets one
    reason: str | None  # a fixed reason its own __init__ passes up, if any


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _text(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _error_class(node: ast.ClassDef) -> ErrorClass:
    kind = reason = None
    for item in node.body:
        if isinstance(item, ast.Assign) and any(_name(t) == "kind" for t in item.targets):
            kind = _name(item.value)
        if isinstance(item, ast.AnnAssign) and _name(item.target) == "kind" and item.value:
            kind = _name(item.value)
        if isinstance(item, ast.FunctionDef) and item.name == "__init__":
            for call in ast.walk(item):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "__init__"
                    and call.args
                ):
                    reason = _text(call.args[0])
    bases = [_name(b) for b in node.bases]
    return ErrorClass(bases[0] if bases else None, kind, reason)


def _error_classes(modules: list[tuple[str, ast.Module]]) -> dict[str, ErrorClass]:
    """Every class that is SwnodeError or derives from it, wherever it is defined."""
    defined = {
        node.name: _error_class(node)
        for _, module in modules
        for node in ast.walk(module)
        if isinstance(node, ast.ClassDef)
    }
    found = {BASE: defined[BASE]}
    grew = True
    while grew:
        grew = False
        for name, cls in defined.items():
            if name not in found and cls.base in found:
                found[name] = cls
                grew = True
    return found


def _code(name: str, classes: dict[str, ErrorClass]) -> int:
    """The gRPC status code number of an error class's kind (inherited if it sets none)."""
    cls = classes[name]
    while cls.kind is None:
        assert cls.base is not None
        cls = classes[cls.base]
    code: grpc.StatusCode = TABLE[errors.Kind[cls.kind]]
    return int(code.value[0])


def _fixed_reason(name: str, classes: dict[str, ErrorClass]) -> str | None:
    """The reason a subclass passes up itself (its callers pass only a message), if any."""
    while name != BASE:
        cls = classes[name]
        if cls.reason is not None:
            return cls.reason
        assert cls.base is not None
        name = cls.base
    return None


@functools.cache
def collect() -> Found:
    modules = list(_sources())
    classes = _error_classes(modules)
    found = Found()
    for path, module in modules:
        for node in ast.walk(module):
            site = f"{path}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                cls = _name(node.func)
                if cls in classes:
                    fixed = _fixed_reason(cls, classes)
                    reason = fixed or (_text(node.args[0]) if node.args else None)
                    if reason is None:
                        found.not_literal.append(f"{site} {cls}(...)")
                    else:
                        found.add(reason, site, _code(cls, classes))
                for keyword in node.keywords:
                    if keyword.arg == "default_reason":
                        _literal(found, keyword.value, site)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for arg, default in _defaults(node.args):
                    if arg.arg == "default_reason":
                        _literal(found, default, site)
            elif (
                isinstance(node, ast.Tuple)
                and len(node.elts) == 2
                and _text(node.elts[0]) == REASON_KEY
            ):
                _literal(found, node.elts[1], site)
    return found


def _defaults(args: ast.arguments) -> list[tuple[ast.arg, ast.expr]]:
    """(parameter, default value) of every parameter that has a default."""
    positional = args.posonlyargs + args.args
    with_default = positional[len(positional) - len(args.defaults) :]
    pairs = list(zip(with_default, args.defaults, strict=True))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if default is not None:
            pairs.append((arg, default))
    return pairs


def _literal(found: Found, node: ast.expr, site: str) -> None:
    reason = _text(node)
    if reason is None:
        found.not_literal.append(f"{site} (a reason that is not a string literal)")
    else:
        found.add(reason, site, None)


def _table_rows() -> list[tuple[list[str], set[int]]]:
    """(reasons, codes) of each row of the reason tables in §6.3."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("### 6.3 Reason codes")
    end = text.index("\n## ", start)
    rows = []
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or cells[0] == "reason":
            continue
        if set(cells[0]) <= {"-", " "}:
            continue
        reasons = re.findall(r"`([^`]+)`", cells[0])
        assert reasons and all(REASON.match(r) for r in reasons), f"§6.3: odd row {line!r}"
        rows.append((reasons, {int(n) for n in re.findall(r"\d+", cells[1])}))
    assert rows, "§6.3 has no reason tables"
    return rows


def test_every_reason_is_a_literal() -> None:
    found = collect()
    assert not found.not_literal, (
        "reasons must be string literals so that this test (and §6.3) can see them:\n"
        + "\n".join(found.not_literal)
    )
    bad = sorted(r for r in found.sites if not REASON.match(r))
    assert not bad, f"reason codes are lowercase dotted names: {bad}"


def test_every_reason_in_the_code_is_in_the_table() -> None:
    documented = {r for reasons, _ in _table_rows() for r in reasons}
    found = collect()
    missing = sorted(set(found.sites) - documented)
    assert not missing, "docs/PROTOCOL.md §6.3 lacks reasons the code produces:\n" + "\n".join(
        f"{r} ({', '.join(found.sites[r])})" for r in missing
    )


def test_every_reason_in_the_table_is_in_the_code() -> None:
    documented = {r for reasons, _ in _table_rows() for r in reasons}
    stale = sorted(documented - set(collect().sites))
    assert not stale, f"docs/PROTOCOL.md §6.3 lists reasons the code no longer produces: {stale}"


def test_table_codes_match_the_kinds_raised() -> None:
    rows = _table_rows()
    found = collect()
    problems = []
    for reason, codes in sorted(found.codes.items()):
        listed = [c for reasons, c in rows if reason in reasons]
        if not listed:
            continue  # missing altogether: test_every_reason_in_the_code_is_in_the_table says so
        shown = set().union(*listed)
        if not codes <= shown:
            problems.append(f"{reason}: raised with {sorted(codes)}, §6.3 shows {sorted(shown)}")
    for reasons, shown in rows:
        if all(r in found.codes for r in reasons):
            raised = set().union(*(found.codes[r] for r in reasons))
            if not shown <= raised:
                problems.append(f"{reasons}: §6.3 shows {sorted(shown)}, raised {sorted(raised)}")
    assert not problems, "§6.3 codes disagree with the code:\n" + "\n".join(problems)


def test_the_scan_sees_known_reasons() -> None:
    """Guards the scanner itself: a reason from each way of producing one is found."""
    found = collect()
    assert found.codes["envelope.unsupported_type"] == {3}  # InvalidArgument(...)
    assert found.codes["config.invalid"] == {9}  # ConfigError's fixed reason
    assert found.codes["node.not_enrolled"] == {9, 13}  # SwnodeError itself is INTERNAL
    for default in ("rpc.failed", "peer.unreachable", "enrol.refused", "internal"):
        assert default in found.sites
