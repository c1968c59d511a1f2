"""heron's dashboard: a Flask blueprint with login, roles and a tab registry.

Custom tabs use Dallinger's API::

    from heron.dashboard import dashboard_tab, dashboard_tabs, DashboardTab

    @dashboard_tab("Recruitment", after_route="index")
    def dashboard_recruitment():
        return "..."

    dashboard_tabs.insert_before_route("Docs", "dashboard.docs", "index")
"""

from __future__ import annotations

from heron.dashboard import views
from heron.dashboard.registry import dashboard_tab, register_route
from heron.dashboard.routes import init_app
from heron.dashboard.security import admin_required, current_user, login_required
from heron.dashboard.tabs import DashboardTab, DashboardTabs, dashboard_tabs

views.register_all()  # heron's own pages and tabs, before an experiment places its own

__all__ = [
    "DashboardTab", "DashboardTabs", "admin_required", "current_user", "dashboard_tab",
    "dashboard_tabs", "init_app", "login_required", "register_route",
]
