"""The commands run without click: no click import, no print, no exit (only the CLI)."""

from __future__ import annotations

import ast
from pathlib import Path

import harborguard.commands

COMMANDS = Path(harborguard.commands.__file__).parent


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            found += [f"imports {n}" for n in names if n.split(".")[0] in ("click", "rich")
                      or n.startswith("harborguard.cli")]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            if name in ("print", "exit", "_exit", "echo"):
                found.append(f"calls {name}")
    return [f"{path.name}: {what}" for what in found]


def test_no_command_prints_exits_or_imports_click() -> None:
    modules = sorted(COMMANDS.glob("*.py"))
    assert len(modules) >= 7
    assert [o for m in modules for o in _offences(m)] == []
