"""Dependencies point one way (design §3): core ← storage ← federation ← identity ← services ←
conformance ← node. A module may import from its own layer and the layers before it, never after."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["core", "storage", "federation", "identity", "services", "conformance", "node"]


def imported_layers(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in ORDER)
    return found


def test_no_layer_imports_a_layer_above_it() -> None:
    wrong = []
    for rank, layer in enumerate(ORDER):
        for path in sorted((ROOT / layer).rglob("*.py")):
            above = {m for m in imported_layers(path) if ORDER.index(m) > rank}
            if above:
                wrong.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(above))}")
    assert wrong == []


def test_the_core_does_no_io() -> None:
    """The protocol core takes bytes and values: no sockets, files, databases or clocks."""
    banned = {
        "socket",
        "sqlite3",
        "aiosqlite",
        "asyncpg",
        "asyncio",
        "time",
        "os",
        "pathlib",
        "subprocess",
    }
    wrong = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            wrong += [f"{path.relative_to(ROOT)}: {n}" for n in names if n in banned]
    assert wrong == []


SQL = re.compile(
    r"^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX)\s"
    r"|ALTER\s+TABLE\s|WITH\s+\w+\s+AS\s*\()"
)


def test_sql_lives_only_in_storage() -> None:
    """Design §7: one storage layer per backend pair; no query is written anywhere else."""
    wrong = []
    for layer in ORDER:
        if layer == "storage":
            continue
        for path in sorted((ROOT / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                    continue
                if SQL.match(node.value):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:40]}")
    assert wrong == []
