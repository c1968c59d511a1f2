"""The tab registry, with Dallinger's API.

The navigation renders from :data:`dashboard_tabs`; heron's own pages register through it
exactly as an experiment's custom tabs do. One page has one name however it is written:
``first``, ``dashboard.first``, ``dashboard.dashboard_first`` and the URL rule it was
registered with (``my-experiment`` for ``@dashboard.route("my-experiment")``) all name the
same tab, in ``insert*``, ``remove``, ``before_route`` and ``after_route`` alike
(:func:`route_key`; the page registry teaches it URL rules). Unlike Dallinger, removing or
positioning against a route that is not there raises ``ValueError`` instead of silently
doing nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any


class DashboardTab:
    """One entry of the navigation.

    :param title: text shown in the navigation.
    :param route_name: Flask endpoint of the page, e.g. ``"dashboard.dashboard_monitoring"``.
    :param children_function: called at render time; returns the tab's children (nested
        tabs, shown as a menu).
    :param params: URL parameters for the route.
    """

    def __init__(self, title: str, route_name: str,
                 children_function: Callable[[], Iterable[DashboardTab]] | None = None,
                 params: dict[str, Any] | None = None):
        self.title = title
        self.route_name = route_name
        self.children_function = children_function
        self.params = params

    @property
    def children(self) -> list[DashboardTab]:
        """The children function's result, or an empty list."""
        if self.children_function is None:
            return []
        return list(self.children_function())

    def matches(self, route: str) -> bool:
        return route_key(self.route_name) == route_key(route)

    def __repr__(self) -> str:
        return f"DashboardTab({self.title!r}, {self.route_name!r})"


def plain_key(name: str) -> str:
    """``name`` without ``dashboard.``, a leading ``/`` and ``dashboard_``: the part every
    spelling of a dashboard page's name shares."""
    return name.removeprefix("dashboard.").lstrip("/").removeprefix("dashboard_")


#: How a name becomes its page's key; the page registry installs one that also knows
#: the URL rules pages were registered with (:func:`set_route_key`).
_route_key: Callable[[str], str] = plain_key


def route_key(name: str) -> str:
    """One key per dashboard page, whichever of its names ``name`` is."""
    return _route_key(name)


def set_route_key(function: Callable[[str], str]) -> None:
    """Use ``function`` to key route names (the page registry calls this once)."""
    global _route_key
    _route_key = function


class DashboardTabs:
    """An ordered, list-like registry of tabs (iterate it, ``len()`` it)."""

    def __init__(self, tabs: Sequence[DashboardTab] = ()):
        self.tabs: list[DashboardTab] = list(tabs)
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[DashboardTab]:
        return iter(list(self.tabs))

    def __len__(self) -> int:
        return len(self.tabs)

    def __getitem__(self, index: int) -> DashboardTab:
        return self.tabs[index]

    def __repr__(self) -> str:
        return f"DashboardTabs({self.tabs!r})"

    def _position(self, route: str) -> int:
        for index, tab in enumerate(self.tabs):
            if tab.matches(route):
                return index
        raise ValueError(f"Route {route} not found")

    def insert(self, title: str, route_name: str, position: int | None = None) -> None:
        """Create a tab and insert it at ``position`` (0-based; default: the end)."""
        self.insert_tab(DashboardTab(title, route_name), position)

    def insert_tab(self, tab: DashboardTab, position: int | None = None) -> None:
        """Insert ``tab`` at ``position`` (0-based; default: the end)."""
        with self._lock:
            if position is None:
                self.tabs.append(tab)
            else:
                self.tabs.insert(position, tab)

    def insert_before_route(self, title: str, route_name: str, before_route: str) -> None:
        """Create a tab and insert it before the tab of ``before_route``."""
        self.insert_tab_before_route(DashboardTab(title, route_name), before_route)

    def insert_tab_before_route(self, tab: DashboardTab, before_route: str) -> None:
        """Insert ``tab`` before the tab of ``before_route``; ValueError if there is none."""
        with self._lock:
            self.tabs.insert(self._position(before_route), tab)

    def insert_after_route(self, title: str, route_name: str, after_route: str) -> None:
        """Create a tab and insert it after the tab of ``after_route``."""
        self.insert_tab_after_route(DashboardTab(title, route_name), after_route)

    def insert_tab_after_route(self, tab: DashboardTab, after_route: str) -> None:
        """Insert ``tab`` after the tab of ``after_route``; ValueError if there is none."""
        with self._lock:
            self.tabs.insert(self._position(after_route) + 1, tab)

    def remove(self, route_name: str) -> None:
        """Remove every tab of ``route_name``; ValueError if there is none."""
        with self._lock:
            self._position(route_name)
            self.tabs = [t for t in self.tabs if not t.matches(route_name)]


#: The registry the dashboard renders. heron's own tabs are added by the view modules.
dashboard_tabs = DashboardTabs()
