"""Import every handler module so their routes and jobs register on the router."""

from __future__ import annotations

import importlib
import pkgutil

import handlers

NOT_HANDLERS = {"registry"}


def load_handlers() -> None:
    """Register all routes and jobs: the middleware first, then every module of handlers/."""
    importlib.import_module("handlers.core.middleware")
    for info in sorted(pkgutil.iter_modules(handlers.__path__), key=lambda i: i.name):
        if not info.ispkg and info.name not in NOT_HANDLERS:
            importlib.import_module(f"handlers.{info.name}")
