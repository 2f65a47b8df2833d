"""Import every feature module so their routes and jobs register on the router."""

from __future__ import annotations

import importlib
import pkgutil

import handlers

# Packages that hold the contract and the plumbing, not features: nothing in them registers
# routes except the middleware, which must come first.
NOT_FEATURES = {"core", "registry"}


def feature_modules() -> list[str]:
    """Every module of every feature package (handlers/<feature>/*.py), sorted by name."""
    names = []
    for info in pkgutil.walk_packages(handlers.__path__, prefix="handlers."):
        if info.name.split(".")[1] not in NOT_FEATURES and not info.ispkg:
            names.append(info.name)
    return sorted(names)


_loaded = False


def load_handlers() -> None:
    """Register all routes and jobs: the middleware first, then every feature module.

    Modules register when imported, so once per process is enough: a process that builds
    several runtimes (the test suite builds hundreds) does not walk the packages again."""
    global _loaded
    if _loaded:
        return
    importlib.import_module("handlers.core.middleware")
    for name in feature_modules():
        importlib.import_module(name)
    _loaded = True


def load_content_parts() -> None:
    """Register every feature's content part (its `handlers/<feature>/content.py`), without
    the routes: a CLI command that only reads content does not import the whole bot."""
    for info in pkgutil.iter_modules(handlers.__path__):
        if info.ispkg and info.name not in NOT_FEATURES:
            try:
                importlib.import_module(f"handlers.{info.name}.content")
            except ModuleNotFoundError as exc:
                if exc.name != f"handlers.{info.name}.content":
                    raise
