"""Every module of core/ and services/ declares its public names, and each name it declares
exists: `__all__` is what a reader (and `from m import *`) takes as the module's surface."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
MODULES = sorted(
    f"{package}.{path.stem}"
    for package in ("core", "services")
    for path in (ROOT / package).glob("*.py")
    if path.stem != "__init__"
)


@pytest.mark.parametrize("name", MODULES)
def test_the_module_declares_its_public_names(name: str) -> None:
    module = importlib.import_module(name)
    declared = getattr(module, "__all__", None)
    assert declared, f"{name} has no __all__"
    assert len(set(declared)) == len(declared), f"{name}: a name twice in __all__"
    missing = [n for n in declared if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
