"""``dallinger.experiment_server.dashboard`` on heron.

``dashboard`` stands for Dallinger's dashboard Blueprint: ``@dashboard.route(rule)`` adds
a login-protected page under heron's dashboard prefix (``"my-experiment"`` is served at
``/dashboard/my-experiment``), and a tab can name it by its endpoint or by that rule
(``dashboard_tabs.insert("My Experiment", "my-experiment")``). The tab registry and the
``dashboard_tab`` decorator are heron's own, which follow Dallinger's API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from heron.dashboard.registry import dashboard_tab, register_route
from heron.dashboard.security import login_required
from heron.dashboard.tabs import DashboardTab, DashboardTabs, dashboard_tabs


class _DashboardBlueprint:
    """The part of Dallinger's ``dashboard`` Blueprint experiments use: ``route()`` and
    ``add_url_rule()``. Pages are added to heron's dashboard, behind its login."""

    name = "dashboard"

    def route(self, rule: str, **options: Any
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            self.add_url_rule(rule, options.pop("endpoint", None), view, **options)
            return view

        return decorate

    def add_url_rule(self, rule: str, endpoint: str | None = None,
                     view_func: Callable[..., Any] | None = None, **options: Any) -> None:
        if view_func is None:
            raise TypeError("dashboard.add_url_rule needs a view_func")
        register_route("/" + rule.lstrip("/"), endpoint or view_func.__name__,
                       login_required(view_func), **options)


#: Dallinger's dashboard Blueprint, as experiments use it.
dashboard = _DashboardBlueprint()

__all__ = ["DashboardTab", "DashboardTabs", "dashboard", "dashboard_tab", "dashboard_tabs"]
