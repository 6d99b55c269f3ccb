"""Packages depend in one direction: ingest <- service <- eval; ui reaches service by HTTP only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The CLI in service/ is the composition root: it starts the eval harness and the UI on demand.
ALLOWED = {
    "ingest": {"ingest"},
    "service": {"ingest", "service"},
    "eval": {"ingest", "service", "eval"},
    "ui": {"ui", "service.schemas"},
}
EXCEPTIONS = {"service/cli.py"}
OURS = set(ALLOWED)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.split(".")[0] in OURS}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in EXCEPTIONS:
            continue
        for name in imports_of(path):
            allowed = ALLOWED[package]
            assert name.split(".")[0] in allowed or name in allowed, f"{rel} imports {name}"


def test_nobody_writes_import_eval() -> None:
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        bare = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Import) and any(a.name == "eval" for a in n.names)
        ]
        assert not bare, f"{path} shadows the builtin eval"
