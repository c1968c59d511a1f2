"""The registry of dashboard pages: heron's own views and an experiment's custom tabs.

A page registers here (``@route``, ``@dashboard_tab``, :func:`register_route`) and
:func:`heron.dashboard.routes.create_blueprint` adds every page registered to a fresh
blueprint, so a later registration under the same endpoint overrides an earlier one.
Views import this module, never the module that builds the blueprint.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from heron.dashboard.security import login_required
from heron.dashboard.tabs import DashboardTab, dashboard_tabs, plain_key, set_route_key


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


def page_key(name: str) -> str:
    """The key of the page ``name`` names, however it is written: its endpoint with or
    without ``dashboard.`` and ``dashboard_``, or a URL rule it was registered with."""
    key = plain_key(name)
    with _lock:
        routes = list(_routes.values())
    for r in routes:
        if plain_key(r.endpoint) == key:
            return key
    for r in routes:
        if any(rule.strip("/") == name.removeprefix("dashboard.").strip("/")
               for rule in r.rules):
            return plain_key(r.endpoint)
    return key


set_route_key(page_key)


def endpoint_for(name: str) -> str:
    """The Flask endpoint a tab's route name stands for (``"dashboard.<endpoint>"`` for a
    dashboard page, found by :func:`page_key`); another blueprint's endpoint as it is."""
    key = page_key(name)
    with _lock:
        for r in _routes.values():
            if plain_key(r.endpoint) == key:
                return "dashboard." + r.endpoint
    return name


def dashboard_tab(title: str, after_route: str | None = None, before_route: str | None = None,
                  tab: DashboardTab | None = None, **route_kwargs: Any
                  ) -> Callable[[Any], Any]:
    """Register a function (or an Experiment's method, classmethod or staticmethod) as a
    login-protected dashboard page with a tab of its own.

    Defined in an Experiment class body, it is called as Dallinger calls it, through the
    class of the Experiment registered with the dashboard (``heron serve --experiment``,
    ``heron.bind(app, experiment=...)``): a plain function or a staticmethod with no
    arguments, a classmethod on the class, a method (a function with a positional
    parameter the URL does not fill: ``self``) on the registered instance. This decorator
    goes above or below ``@classmethod`` alike.

    The page is at ``/dashboard/<name>``, ``name`` being the function's name without a
    leading ``dashboard_``; its endpoint is the function's name. The tab goes before
    ``before_route`` (which wins) or after ``after_route``, else at the end.

    :param tab: a ready-made tab to insert instead of one titled ``title``.
    :param route_kwargs: passed to Flask's ``add_url_rule`` (e.g. ``methods``).
    """
    def decorate(func: Any) -> Any:
        base = getattr(func, "__func__", func)  # a classmethod or staticmethod object
        name = base.__name__
        path = name.removeprefix("dashboard_")
        new_tab = tab if tab is not None else DashboardTab(title, f"dashboard.{name}")
        if before_route is not None:  # first: a route name not found registers nothing
            dashboard_tabs.insert_tab_before_route(new_tab, before_route)
        elif after_route is not None:
            dashboard_tabs.insert_tab_after_route(new_tab, after_route)
        else:
            dashboard_tabs.insert_tab(new_tab)
        view = _experiment_view(base) if _in_class(base) else base
        register_route(f"/{path}", name, login_required(view), **route_kwargs)
        return func

    return decorate


def _in_class(func: Callable[..., Any]) -> bool:
    """Defined in a class body (``Stroop.dashboard_notes``), not in a function's."""
    parts = func.__qualname__.split(".")
    return len(parts) >= 2 and parts[-2] != "<locals>"


def _experiment_view(func: Callable[..., Any]) -> Callable[..., Any]:
    """A view calling ``func`` through the Experiment registered with the dashboard, the
    way its class defines it (see :func:`dashboard_tab`)."""
    from flask import abort

    from heron.dashboard.state import state

    owner = func.__qualname__.rsplit(".", 1)[0]

    @functools.wraps(func)
    def view(**kwargs: Any) -> Any:
        experiment = state().extras.get("experiment")
        cls = type(experiment)
        if experiment is None or not any(c.__qualname__ == owner for c in cls.__mro__):
            abort(404, description=f"This page belongs to {owner}, which is not the "
                                   "experiment registered with this dashboard.")
        attribute = inspect.getattr_static(cls, func.__name__, func)
        if isinstance(attribute, (classmethod, staticmethod)):
            return getattr(cls, func.__name__)(**kwargs)
        target = attribute if callable(attribute) else func
        unfilled = [p for p in inspect.signature(target).parameters.values()
                    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                    and p.name not in kwargs]
        if unfilled:  # a method: ``self`` is the registered experiment
            return target(experiment, **kwargs)
        return target(**kwargs)  # a plain function in the class body, as Dallinger calls it

    return view


def registered_routes() -> list[Route]:
    """Every page registered so far, in registration order."""
    with _lock:
        return list(_routes.values())
