"""The public API is exactly what heron/__init__.py lists in __all__."""

from __future__ import annotations

import types

import heron
import heron.dashboard


def test_all_matches_namespace() -> None:
    # submodules are bound on the package when imported; they are not the API
    public = {name for name in dir(heron) if not name.startswith("_")
              and not isinstance(getattr(heron, name), types.ModuleType)}
    exported = set(heron.__all__) - {"__version__"}
    assert public == exported
    for name in heron.__all__:
        assert hasattr(heron, name)


def test_dashboard_api() -> None:
    for name in ("dashboard_tab", "dashboard_tabs", "DashboardTab", "DashboardTabs"):
        assert name in heron.dashboard.__all__
        assert hasattr(heron.dashboard, name)
