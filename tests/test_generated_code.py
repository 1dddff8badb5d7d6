"""The committed generated code is exactly what the committed .proto files produce."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _files(base: Path) -> set[str]:
    return {
        str(p.relative_to(base))
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_generated_code_matches_protos(tmp_path: Path) -> None:
    subprocess.run([str(ROOT / "scripts" / "gen-protos"), str(tmp_path)], check=True)
    fresh, committed = tmp_path / "swf", ROOT / "swf"
    assert _files(fresh) == _files(committed), "generated files differ: run scripts/gen-protos"
    differ = [
        name
        for name in sorted(_files(fresh))
        if not filecmp.cmp(fresh / name, committed / name, shallow=False)
    ]
    assert differ == [], f"stale generated code in swf/: {differ}; run scripts/gen-protos"
