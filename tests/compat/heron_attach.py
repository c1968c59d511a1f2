"""pytest plugin for the compatibility suite: run another project's own tests with heron
attached, generically, and report what a user would notice.

Loaded with ``-p heron_attach``. ``HERON_COMPAT_MODE`` is ``plain`` (nothing attached:
the baseline) or a monitor level, ``1`` or ``3``. With a level:

* every Flask app is bound (``heron.bind(app)``) when first used, that is, when its first
  app context is pushed (a request, a test request context, a bare app context);
* every ASGI app handed to Starlette's ``TestClient`` is wrapped in
  ``heron.web.ASGIMiddleware``.

In both modes requests are counted outside heron (Flask's ``request_started`` signal, an
ASGI layer around the app), so the run can check that heron stored each request once.
At the end the plugin writes ``HERON_COMPAT_REPORT`` (JSON): every test's outcome, the
requests routed and stored, endpoints with an empty name, and heron's threads alive.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest

MODE = os.environ.get("HERON_COMPAT_MODE", "plain")
_outcomes: dict[str, str] = {}
_routed = [0]


def _count_flask() -> None:
    try:
        from flask import request_started
    except ImportError:
        return

    def counted(sender: Any, **extra: Any) -> None:
        _routed[0] += 1

    request_started.connect(counted, weak=False)


def _attach_flask() -> None:
    try:
        from flask import Flask
    except ImportError:
        return
    import heron

    original = Flask.app_context

    def app_context(self: Flask) -> Any:
        if "heron" not in self.extensions:  # heron's own dashboard app has it too
            heron.bind(self)
        return original(self)

    Flask.app_context = app_context  # type: ignore[method-assign]


class _Counting:
    """The outermost ASGI layer: counts HTTP requests; other attributes are the app's."""

    def __init__(self, app: Any, inner: Any):
        self._app = app
        self._inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            _routed[0] += 1
        await self._inner(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def _wrap_asgi() -> None:
    import warnings

    try:
        with warnings.catch_warnings():  # its own deprecation notes are the suite's business
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient
    except ImportError:
        return
    original = TestClient.__init__

    def __init__(self: Any, app: Any, *args: Any, **kwargs: Any) -> None:
        inner = app
        if MODE != "plain":
            from heron.web import ASGIMiddleware

            inner = ASGIMiddleware(app, app_id="compat")
        original(self, _Counting(app, inner), *args, **kwargs)

    TestClient.__init__ = __init__  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    _count_flask()
    _wrap_asgi()
    if MODE != "plain":
        _attach_flask()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A test's outcome: the first of its phases that did not pass (an error in setup or
    teardown counts), else passed."""
    if report.failed:
        outcome = "failed" if report.when == "call" else f"error in {report.when}"
    elif report.skipped:
        outcome = "skipped"
    else:
        outcome = "passed"
    previous = _outcomes.get(report.nodeid)
    if previous is None or previous == "passed" or (previous == "skipped" and report.failed):
        _outcomes[report.nodeid] = outcome


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    report: dict[str, Any] = {"mode": MODE, "outcomes": _outcomes, "routed": _routed[0]}
    if MODE != "plain":
        report.update(_stored())
    path = os.environ.get("HERON_COMPAT_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=1, sort_keys=True)


def _stored() -> dict[str, Any]:
    """What heron stored: requests by endpoint; its threads alive."""
    from sqlalchemy import func, select

    import heron

    flushed = heron.flush(60)
    threads = sorted(t.name for t in threading.enumerate() if t.name.startswith("heron"))
    store = heron.api.local_store()
    table = store.table("request")
    with store.read() as conn:
        rows = conn.execute(select(table.c.endpoint, func.count())
                            .group_by(table.c.endpoint)).all()
    return {"flushed": flushed, "stored": sum(n for _, n in rows),
            "endpoints": {str(e): n for e, n in rows}, "threads": threads,
            "stats": heron.stats()}
