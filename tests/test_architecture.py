"""The layering rules of STYLE.md, checked on the source: only the faces import
their frameworks, and the pure domains import no database, web or CLI code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

FACES = {"api", "web", "main.py"}
PURE = ("x12", "repricing")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(APP)))
def test_framework_imports_stay_in_their_faces(path: Path) -> None:
    relative = path.relative_to(APP)
    top = relative.parts[0]
    imported = {name.split(".")[0] for name in _imports(path)}
    if "fastapi" in imported or "starlette" in imported:
        assert top in FACES, f"{relative} imports fastapi/starlette outside api/, web/, main.py"
    if "typer" in imported:
        assert top == "cli", f"{relative} imports typer outside cli/"


@pytest.mark.parametrize("domain", PURE)
def test_pure_domains_touch_no_database_or_settings(domain: str) -> None:
    forbidden = ("sqlalchemy", "app.db", "app.config", "fastapi", "typer", "app.reconciliation")
    for path in sorted((APP / domain).rglob("*.py")):
        for name in _imports(path):
            assert not name.startswith(forbidden), f"{path.relative_to(APP)} imports {name}"
