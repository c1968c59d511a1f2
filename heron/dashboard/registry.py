"""The registry of dashboard pages: heron's own views and an experiment's custom tabs.

A page registers here (``@route``, ``@dashboard_tab``, :func:`register_route`) and
:func:`heron.dashboard.routes.create_blueprint` adds every page registered to a fresh
blueprint, so a later registration under the same endpoint overrides an earlier one.
Views import this module, never the module that builds the blueprint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from heron.dashboard.security import login_required
from heron.dashboard.tabs import DashboardTab, dashboard_tabs


@dataclass
class Route:
    rules: list[str]
    endpoint: str
    view: Callable[..., Any]
    options: dict[str, Any]


_routes: dict[str, Route] = {}
_lock = threading.Lock()


def register_route(rule: str, endpoint: str, view: Callable[..., Any], **options: Any) -> None:
    """Add the dashboard route ``endpoint`` at ``rule`` under the prefix.

    The same view registered again adds another URL for it; a different view under the
    same endpoint replaces the earlier one (so an experiment can override a page).
    """
    with _lock:
        existing = _routes.get(endpoint)
        if existing is not None and existing.view is view:
            if rule not in existing.rules:
                existing.rules.insert(0, rule)  # the outermost decorator is the main URL
            return
        _routes[endpoint] = Route([rule], endpoint, view, options)


def route(rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator form of :func:`register_route`; the endpoint is the function's name."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        register_route(rule, view.__name__, view, **options)
        return view

    return decorate


def dashboard_tab(title: str, after_route: str | None = None, before_route: str | None = None,
                  tab: DashboardTab | None = None, **route_kwargs: Any
                  ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function (or an Experiment method) as a login-protected dashboard page
    with a tab of its own. A method is called on the Experiment registered with the
    dashboard (``heron serve --experiment``, ``heron.bind(app, experiment=...)``).

    The page is at ``/dashboard/<name>``, ``name`` being the function's name without a
    leading ``dashboard_``; its endpoint is the function's name. The tab goes before
    ``before_route`` (which wins) or after ``after_route``, else at the end.

    :param tab: a ready-made tab to insert instead of one titled ``title``.
    :param route_kwargs: passed to Flask's ``add_url_rule`` (e.g. ``methods``).
    """
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        name = func.__name__
        path = name.removeprefix("dashboard_")
        new_tab = tab if tab is not None else DashboardTab(title, f"dashboard.{name}")
        if before_route is not None:
            dashboard_tabs.insert_tab_before_route(new_tab, before_route)
        elif after_route is not None:
            dashboard_tabs.insert_tab_after_route(new_tab, after_route)
        else:
            dashboard_tabs.insert_tab(new_tab)
        view = _experiment_method_view(func) if _is_method(func) else func
        register_route(f"/{path}", name, login_required(view), **route_kwargs)
        return func

    return decorate


def _is_method(func: Callable[..., Any]) -> bool:
    """Defined in a class body (``Stroop.dashboard_notes``), not in a function's."""
    parts = func.__qualname__.split(".")
    return len(parts) >= 2 and parts[-2] != "<locals>"


def _experiment_method_view(func: Callable[..., Any]) -> Callable[..., Any]:
    """A view calling ``func`` on the Experiment registered with the dashboard."""
    import functools

    from flask import abort

    from heron.dashboard.state import state

    @functools.wraps(func)
    def view(**kwargs: Any) -> Any:
        experiment = state().extras.get("experiment")
        owner = func.__qualname__.rsplit(".", 1)[0]
        if experiment is None or not any(c.__qualname__ == owner
                                         for c in type(experiment).__mro__):
            abort(404, description=f"This page belongs to {owner}, which is not the "
                                   "experiment registered with this dashboard.")
        return func(experiment, **kwargs)

    return view


def registered_routes() -> list[Route]:
    """Every page registered so far, in registration order."""
    with _lock:
        return list(_routes.values())
