"""Dependencies point one way: bot -> handlers -> storage; only adapters know platforms."""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_LIBS = ("telegram", "slack_bolt", "slack_sdk")


@cache
def nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of a module, parsed once per worker for all the rules below."""
    return tuple(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def imported_modules(tree: tuple[ast.AST, ...], module: str) -> list[str]:
    """Every module a module (dotted name) imports: at the top, inside functions (a lazy
    import counts), under TYPE_CHECKING, relative ones resolved, and those
    `importlib.import_module` or `__import__` is called with by a literal name."""
    found = []
    for node in tree:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            found.append(name)
            # `from handlers import delivery` imports the package handlers.delivery
            found += [f"{name}.{a.name}" for a in node.names if a.name != "*"]
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(node.args[0].value)
    return found


def imports(folder: str) -> list[tuple[Path, str]]:
    found = []
    for path in (ROOT / folder).rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found += [(path, m) for m in imported_modules(nodes(path), module)]
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


# -- the house rules of issue 13, as a ratchet ---------------------------------------------
# Each rule holds for every module except the ones listed as debt below. A new module cannot
# break a rule, and a module that stops breaking it must leave its list (the test says so),
# so the lists only shrink.

FEATURES = {
    p.name for p in (ROOT / "handlers").iterdir() if p.is_dir() and (p / "__init__.py").exists()
} - {"core", "delivery"}

SQL_IN_HANDLERS_DEBT: set[str] = set()
"""Modules of handlers/ that still build SQL themselves instead of asking a repository."""

RAW_SESSION_DEBT: set[str] = set()
"""Modules outside storage/ that still reach the unit of work's raw session."""

DOORS_TO_STORAGE_DEBT: set[str] = set()
"""Doors (CLI, web, adapters) that still import storage or sqlalchemy instead of a service."""

COMPOSITION_ROOT = {"bot/app.py", "bot/store.py"}
"""The modules of bot/ that build the engine and the unit of work, so they import storage: the
running bot's (app.py) and the light one of commands that need no bot (store.py)."""

CORE_NAMING_FEATURES_DEBT: set[str] = set()
"""Core modules that still import a feature (none: features register with core instead)."""


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _ratchet(found: set[str], debt: set[str], rule: str) -> None:
    new = sorted(found - debt)
    fixed = sorted(debt - found)
    assert new == [], f"{rule}: new modules break the rule: {new}"
    assert fixed == [], f"{rule}: these now keep the rule, remove them from the debt list: {fixed}"


def test_core_imports_no_feature_package() -> None:
    found = {_rel(p) for p, m in imports("handlers/core") if m.split(".")[:2][-1] in FEATURES}
    _ratchet(found, CORE_NAMING_FEATURES_DEBT, "handlers/core imports a feature")


def outside_core(module: str) -> bool:
    """A module of handlers/ other than the core (delivery, a feature, the registry)."""
    parts = module.split(".")
    return parts[0] == "handlers" and len(parts) > 1 and parts[1] != "core"


def test_core_imports_nothing_of_handlers_but_core() -> None:
    """The core is the contract: delivery, the features and the registry implement or use it
    and the composition root wires them in; the core never imports them, not even lazily."""
    bad = [f"{_rel(p)}: {m}" for p, m in imports("handlers/core") if outside_core(m)]
    assert bad == []


def test_import_scan_counts_lazy_relative_and_dynamic_imports() -> None:
    """The scan the rules rely on sees an import inside a function, a relative one and an
    `importlib.import_module` by name: moving an import into a function dodges no rule."""
    source = (
        "import importlib\n"
        "def later():\n"
        "    from handlers.delivery.outbox import queue_to_officer\n"
        "    from ..delivery import replies\n"
        "    from .. import faq\n"
        "    importlib.import_module('handlers.delivery.inbox')\n"
    )
    found = imported_modules(tuple(ast.walk(ast.parse(source))), "handlers.core.probe")
    assert [m for m in found if outside_core(m)] == [
        "handlers.delivery.outbox",
        "handlers.delivery.outbox.queue_to_officer",
        "handlers.delivery",
        "handlers.delivery.replies",
        "handlers.faq",
        "handlers.delivery.inbox",
    ]


def test_sql_is_built_only_in_storage() -> None:
    found = {_rel(p) for p, m in imports("handlers") if m.split(".")[0] == "sqlalchemy"}
    _ratchet(found, SQL_IN_HANDLERS_DEBT, "sqlalchemy outside storage/")


def test_raw_session_only_in_storage() -> None:
    found = {
        _rel(p)
        for folder in ("handlers", "bot")
        for p in (ROOT / folder).rglob("*.py")
        if re.search(r"\buow\.session\b", p.read_text(encoding="utf-8"))
    }
    _ratchet(found, RAW_SESSION_DEBT, "uow.session outside storage/")


def test_every_repository_is_a_typed_attribute_of_the_unit_of_work() -> None:
    """One way into storage: `uow.<name>`, typed. A repository class is never looked up or
    built by hand outside storage/, and none is missing from the unit of work."""
    from storage.repositories.base import Repository
    from storage.uow import Repo, UnitOfWork

    defined = {
        node.name
        for path in (ROOT / "storage" / "repositories").glob("*.py")
        for node in nodes(path)
        if isinstance(node, ast.ClassDef)
        and any(getattr(b, "id", None) == "Repository" for b in node.bases)
    }
    attributes = {repo.name for repo in vars(UnitOfWork).values() if isinstance(repo, Repo)}
    assert defined and defined == attributes
    for repo in vars(UnitOfWork).values():  # each attribute's module holds its class
        if isinstance(repo, Repo):
            assert issubclass(getattr(importlib.import_module(repo.module), repo.name), Repository)
    names = "|".join(sorted(defined))
    by_hand = re.compile(rf"\.(get|_repository)\(({names})\)|\b({names})\(")
    bad = [
        _rel(path)
        for folder in ("handlers", "bot", "tests", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        if by_hand.search(path.read_text(encoding="utf-8"))
    ]
    assert bad == []


def test_doors_reach_storage_only_through_services() -> None:
    found = {
        _rel(p) for p, m in imports("bot") if m.split(".")[0] in ("storage", "sqlalchemy")
    } - COMPOSITION_ROOT
    _ratchet(found, DOORS_TO_STORAGE_DEBT, "bot/ imports storage")


def test_no_private_name_imported_across_modules() -> None:
    bad = []
    for folder in ("handlers", "bot", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in nodes(path):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    bad += [
                        f"{_rel(path)}: {node.module}.{a.name}"
                        for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")
                    ]
    assert bad == []


def test_registry_finds_every_feature_module() -> None:
    from handlers.registry import feature_modules

    names = feature_modules()
    assert "handlers.faq.flow" in names and "handlers.pairing.checkins" in names
    assert not [n for n in names if n.startswith("handlers.core.")]
