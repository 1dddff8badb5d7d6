"""Dependencies point one way (design §3): core ← storage ← federation ← identity ← services ←
conformance ← node ← scripts. A module may import from its own layer and the layers before it,
never after; no module imports itself back through others; no source file is over 600 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["core", "storage", "federation", "identity", "services", "conformance", "node", "scripts"]


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
    r"|ALTER\s+TABLE\s|WITH\s+\w+\s+AS\s*\(|EXPLAIN\s|ANALYZE(\s+\w+)?$)"
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


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    return {module_name(p): p for layer in ORDER for p in sorted((ROOT / layer).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the tree that `name` imports, anywhere in it (a function's late import
    and an import for type checking only are still a dependency), relative imports resolved."""
    return imports_in(name, path.read_text(encoding="utf-8"), known, path.name == "__init__.py")


def imports_in(name: str, text: str, known: set[str], is_package: bool) -> set[str]:
    package = name if is_package else name.rpartition(".")[0]

    def known_prefix(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found: set[str | None] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(known_prefix(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                found.add(known_prefix(f"{base}.{alias.name}") or known_prefix(base))
    return {m for m in found if m is not None and m != name}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycle_anywhere() -> None:
    """Each module can be read, and loaded, after the modules it uses: none uses itself back."""
    modules = sources()
    graph = {name: imports_of(name, path, set(modules)) for name, path in modules.items()}
    assert import_cycles(graph) == []


def test_the_cycle_check_sees_relative_and_late_imports() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    known = {"node", "node.devnet", "node.devnet.demo", "node.devnet.network", "node.config"}
    late = "def f():\n    from .demo import main\n    from . import network\n"
    found = imports_in("node.devnet.cli", late, known, is_package=False)
    assert found == {"node.devnet.demo", "node.devnet.network"}
    assert imports_in("node.devnet", "from ..config import X", known, is_package=True) == {
        "node.config"
    }


MAX_LINES = 600


def test_no_source_file_is_over_600_lines() -> None:
    """Tests and the generated swf/ excepted: a longer file is doing more than one job."""
    tops = [p for p in ROOT.iterdir() if p.name not in {"tests", "swf"} and p.name[0] not in "._"]
    wrong = []
    for top in sorted(tops):
        for path in [top] if top.is_file() else sorted(top.rglob("*.py")):
            if path.suffix != ".py":
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                wrong.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert wrong == []


def test_the_node_modules_declare_their_public_names() -> None:
    """node/ and its rooms say what each module offers the others (`__all__`), so that moving a
    module's insides never breaks a caller unknowingly."""
    wrong = []
    for path in sorted((ROOT / "node").rglob("*.py")):
        if path.name.startswith("_"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        declared = any(
            isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
            for n in tree.body
        )
        if not declared:
            wrong.append(str(path.relative_to(ROOT)))
    assert wrong == []
