"""Dependencies point one way: bot -> handlers -> storage; only adapters know platforms."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_LIBS = ("telegram", "slack_bolt", "slack_sdk")


def imports(folder: str) -> list[tuple[Path, str]]:
    found = []
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


def test_handlers_and_storage_import_no_platform_library() -> None:
    bad = [
        f"{p.relative_to(ROOT)}: {m}"
        for folder in ("handlers", "storage")
        for p, m in imports(folder)
        if m.split(".")[0] in PLATFORM_LIBS
    ]
    assert bad == []


def test_storage_does_not_import_handlers_or_bot() -> None:
    bad = [f"{p}: {m}" for p, m in imports("storage") if m.split(".")[0] in ("handlers", "bot")]
    assert bad == []


def test_handlers_do_not_import_bot() -> None:
    bad = [f"{p}: {m}" for p, m in imports("handlers") if m.split(".")[0] == "bot"]
    assert bad == []


def test_only_each_adapter_imports_its_platform() -> None:
    bad = []
    for p, m in imports("bot"):
        lib = m.split(".")[0]
        rel = p.relative_to(ROOT / "bot").parts
        if lib == "telegram" and rel[0] != "telegram":
            bad.append(f"{p}: {m}")
        if lib in ("slack_bolt", "slack_sdk") and rel[0] != "slack":
            bad.append(f"{p}: {m}")
    assert bad == []
