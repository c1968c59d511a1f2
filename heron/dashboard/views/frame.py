"""What every page's frame shows: navigation, app selector, time window, live state."""

from __future__ import annotations

import logging
from typing import Any

from flask import request, url_for
from werkzeug.routing import BuildError

from heron.dashboard.registry import endpoint_for
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.store.queries.apps import known_apps

logger = logging.getLogger("heron")

#: Time windows offered in the top bar: URL value → (label, seconds).
WINDOWS: dict[str, tuple[str, int]] = {
    "15m": ("Last 15 minutes", 15 * 60),
    "1h": ("Last hour", 3600),
    "24h": ("Last 24 hours", 86400),
    "7d": ("Last 7 days", 7 * 86400),
}
DEFAULT_WINDOW = "1h"


def selected_window() -> str:
    window = request.args.get("window", DEFAULT_WINDOW)
    return window if window in WINDOWS else DEFAULT_WINDOW


def selected_app() -> str | None:
    return request.args.get("app") or None


def _nav_item(tab: DashboardTab, hidden: set[str]) -> dict[str, Any] | None:
    if any(tab.matches(h) for h in hidden):
        return None
    try:
        endpoint = endpoint_for(tab.route_name)  # any of the page's names, its URL rule too
        url = url_for(endpoint, **(tab.params or {}))
    except BuildError:
        logger.warning("dashboard tab %r names route %r, which does not exist",
                       tab.title, tab.route_name)
        return None
    children = [c for c in (_nav_item(t, hidden) for t in tab.children) if c]
    active = request.endpoint == endpoint and (
        not tab.params or all(request.args.get(k) == str(v) for k, v in tab.params.items()))
    return {"title": tab.title, "url": url, "children": children, "active": active,
            "route": tab.route_name}


def frame_context() -> dict[str, Any]:
    from heron.dashboard.security import current_user

    context: dict[str, Any] = {
        "nav": [], "apps": [], "windows": WINDOWS, "window": DEFAULT_WINDOW,
        "app_filter": None, "timezone": state().config.TIMEZONE,
    }
    if request.blueprint != "dashboard" or current_user() is None:
        return context  # the login page, or an error shown to someone not logged in
    hidden = set(state().config.HIDDEN_TABS)
    context.update(
        nav=[item for item in (_nav_item(t, hidden) for t in dashboard_tabs) if item],
        apps=known_apps(state().store), window=selected_window(), app_filter=selected_app())
    return context
