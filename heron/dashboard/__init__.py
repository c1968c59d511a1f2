"""heron's dashboard: a Flask blueprint with login, roles and a tab registry.

Custom tabs use Dallinger's API::

    from heron.dashboard import dashboard_tab, dashboard_tabs, DashboardTab

    @dashboard_tab("Recruitment", after_route="index")
    def dashboard_recruitment():
        return "..."

    dashboard_tabs.insert_before_route("Docs", "dashboard.docs", "index")
"""

from __future__ import annotations

from heron.dashboard import views  # noqa: F401  (registers heron's own pages and tabs)
from heron.dashboard.routes import dashboard_tab, init_app, register_route
from heron.dashboard.security import admin_required, current_user, login_required
from heron.dashboard.tabs import DashboardTab, DashboardTabs, dashboard_tabs

__all__ = [
    "DashboardTab", "DashboardTabs", "admin_required", "current_user", "dashboard_tab",
    "dashboard_tabs", "init_app", "login_required", "register_route",
]
