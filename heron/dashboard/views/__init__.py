"""heron's own dashboard pages, one module per page.

Each module registers its pages with :mod:`heron.dashboard.registry` when it is imported;
:func:`register_all` imports them, in the order of their tabs, and
:func:`heron.dashboard.routes.create_blueprint` calls it before it builds the blueprint.
"""

from __future__ import annotations

import importlib

#: Page modules in the order their tabs appear (a module adds its tab when imported).
PAGES = ("auth", "home", "runs", "database", "monitoring", "users", "endpoints", "testmonitor",
         "sessions", "logs", "alerts", "settings", "fmd_urls")


def register_all() -> None:
    """Register every page of heron's own (once; importing again does nothing)."""
    for name in PAGES:
        importlib.import_module(f"{__name__}.{name}")
