"""The dashboard inside a host app: a Flask app of heron's own, reached through its prefix.

heron is a guest in the app it is bound to. Registering its blueprint there would lend the
host heron's template globals, error pages, config, secret key and session cookie, and
would collide with the host's own blueprint names (``dashboard``, ``api_v1``). Instead the
dashboard is a separate Flask app, and the host's ``wsgi_app`` is wrapped by one test:
a path under ``/<CUSTOM_LINK>`` goes to heron's app, every other request to the host,
untouched. The host sees nothing of heron but that prefix.

One dashboard app serves every bound app of a process that shares the store, the settings
and the experiment: its URL rules are compiled, its users made and its passwords hashed
once, so binding the hundredth app (a test suite makes one per test) costs almost nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from heron._internal import logger
from heron.config import Config
from heron.store import Store

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_lock = threading.Lock()
#: (store, settings, experiment, dashboard app): a few entries per process at most
_apps: list[tuple[Store, dict[str, Any], Any, Flask]] = []


def dashboard_app(store: Store, config: Config, experiment: Any = None) -> Flask:
    """heron's dashboard app for ``store`` with ``config``: made once, then shared."""
    values = config.as_dict(mask_secrets=False)
    with _lock:
        for known_store, known_values, known_experiment, app in _apps:
            if known_store is store and known_values == values \
                    and known_experiment is experiment:
                return app
        app = _make(store, config, experiment)
        _apps.append((store, values, experiment, app))
        return app


def _make(store: Store, config: Config, experiment: Any) -> Flask:
    from heron.auth.users import ensure_default_users
    from heron.dashboard import init_app

    if ensure_default_users(store, config):
        # A library must not print, and a password must not reach a log: say how.
        logger.warning("heron: the dashboard at /%s has a new admin user %r with a "
                       "random password; set PASSWORD, or run `heron user passwd %s`",
                       config.CUSTOM_LINK, config.USERNAME, config.USERNAME)
    app = Flask("heron.dashboard")
    init_app(app, store, config, experiment, cookie_path=f"/{config.CUSTOM_LINK}")
    return app


def forget() -> None:
    """Drop the shared dashboard apps (``heron.shutdown()``: their store is closed)."""
    with _lock:
        _apps.clear()


def mount(host_wsgi: WSGIApp, dashboard: WSGIApp, prefix: str) -> WSGIApp:
    """``host_wsgi`` with the paths ``prefix`` and ``prefix/…`` answered by ``dashboard``.

    A closure rather than werkzeug's ``DispatcherMiddleware``: every request of the host
    passes here, and one ``startswith`` costs it less than splitting its path."""
    size = len(prefix)

    def heron_mount(environ: dict[str, Any], start_response: Callable[..., Any]
                    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or ""
        if path.startswith(prefix) and (len(path) == size or path[size] == "/"):
            return dashboard(environ, start_response)
        return host_wsgi(environ, start_response)

    heron_mount.heron_dashboard = dashboard  # type: ignore[attr-defined]
    return heron_mount
