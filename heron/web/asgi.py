"""``heron.web.ASGIMiddleware``: record the requests of an ASGI app (FastAPI, Starlette…).

The endpoint is the route's path template (``/user/{uid}``), found by asking the app's own
routes which one matches, so ``/user/1`` and ``/user/2`` are one endpoint. Without routes
(a bare ASGI callable) it is what ``endpoint_of(scope)`` returns, else the path.

Levels 1 and 2 work as for WSGI apps; the outlier stack is the request task's. The sampling
profiler (level 3) needs a thread per request and is not available for ASGI apps: level 3
records what level 2 does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from heron import api, emitting
from heron import config as heron_config
from heron._internal import internal_error
from heron.web.monitor import UNMATCHED, WebMonitor

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]


class ASGIMiddleware:
    """Wrap an ASGI app: ``app.add_middleware(heron.web.ASGIMiddleware)`` (Starlette,
    FastAPI) or ``app = heron.web.ASGIMiddleware(app, app_id="api")``."""

    def __init__(self, app: ASGIApp, app_id: str | None = None, *,
                 endpoint_of: Callable[[Scope], str | None] | None = None,
                 **config: Any):
        cfg = heron_config.configure(**config) if config else heron_config.get()
        self.app = app
        app_id = app_id or cfg.APP or "default"
        if api.recorder() is None:
            api.init_for_web()  # not app=app_id: it would be every later app's APP
        self.monitor = WebMonitor(app_id, cfg)
        self.endpoint_of = endpoint_of

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope.get("type") == "lifespan":
            await self.app(scope, _flushing_on_shutdown(receive), send)
            return
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        monitor = self.monitor
        environ = _environ(scope)
        active = monitor.start(environ)
        endpoint = self._endpoint(scope)
        if endpoint is not None:
            monitor.route(active, endpoint)
        status: list[int] = []
        finished: list[bool] = []

        def finish() -> None:
            if not finished:
                finished.append(True)
                monitor.finish(active, status[0] if status else 500)

        async def recording_send(message: Message) -> None:
            if message.get("type") == "http.response.start":
                status[:] = [int(message.get("status", 500))]
            await send(message)
            if message.get("type") == "http.response.body" and not message.get("more_body"):
                finish()

        try:
            await self.app(scope, receive, recording_send)
        except BaseException as exc:
            active.error = exc
            if not status:
                status[:] = [500]
            finish()
            raise
        finish()

    def _endpoint(self, scope: Scope) -> str | None:
        if self.endpoint_of is not None:
            return self.endpoint_of(scope)
        # the app's routes: this app's, or (added with app.add_middleware) the app's in scope
        routes = getattr(self.app, "routes", None) or getattr(scope.get("app"), "routes", None)
        if routes is None:  # a bare ASGI callable: its paths are all there is to go by
            return str(scope.get("path") or "/")
        found = _match(routes, scope)
        # not routed (404, Starlette's 307 to the slash variant): one endpoint per app
        return UNMATCHED if found is None else found[0]


def _flushing_on_shutdown(receive: Callable[[], Awaitable[Message]]
                          ) -> Callable[[], Awaitable[Message]]:
    """Write what is buffered when the server shuts down: uvicorn ends by re-raising
    SIGTERM, so exit handlers would never run.

    The flush waits in a worker thread of whichever async library runs the app (anyio's,
    which Starlette depends on: asyncio and trio alike), else blocks briefly; whatever
    happens, the app's own shutdown goes on as it would without heron."""

    async def wrapped() -> Message:
        message = await receive()
        if message.get("type") == "lifespan.shutdown":
            try:
                await _in_thread(emitting.flush, 10.0)
            except Exception as exc:  # noqa: BLE001 - never fail the app's shutdown
                internal_error("flushing at shutdown", exc)
        return message

    return wrapped


async def _in_thread(func: Callable[..., Any], *args: Any) -> Any:
    try:
        import anyio.to_thread
    except ImportError:
        return func(*args)
    return await anyio.to_thread.run_sync(func, *args)


def _match(routes: Any, scope: Scope, prefix: str = "") -> tuple[str, bool] | None:
    """The path template of the route serving ``scope``, and whether it matched fully
    (not only its path: a wrong method is still that endpoint's request).

    Asks each route as the framework does (Starlette's ``matches``), looks inside mounts
    with the scope they pass down, and inside FastAPI's included routers (0.137 and newer
    add ``include_router`` routes as one object whose ``effective_route_contexts`` are
    the routes with the router's prefix applied)."""
    if not routes:
        return None
    partial = None
    for route in routes:
        expand = getattr(route, "effective_route_contexts", None)
        if callable(expand):
            try:
                found = _match(list(expand()), scope, prefix)
            except Exception:  # noqa: BLE001 - a router that cannot say is not this one
                found = None
        else:
            found = _match_route(route, scope, prefix)
        if found is not None:
            if found[1]:
                return found
            partial = partial or found
    return partial


def _match_route(route: Any, scope: Scope, prefix: str) -> tuple[str, bool] | None:
    matches = getattr(route, "matches", None)
    if matches is None:
        return None
    try:
        match, child = matches(scope)
    except Exception:  # noqa: BLE001 - a route that cannot say is not this one
        return None
    name = getattr(match, "name", "NONE")
    if name == "NONE":
        return None
    inner = getattr(route, "routes", None)
    if inner:  # a Mount of an app with routes: the endpoint is the route inside
        return _match(inner, {**scope, **child}, prefix + str(getattr(route, "path", "")))
    template = getattr(route, "path_format", None) or getattr(route, "path", "")
    return prefix + str(template), name == "FULL"


def _environ(scope: Scope) -> dict[str, Any]:
    """The WSGI-style view heron's monitor reads (IP, headers, query) of an ASGI scope."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "PATH_INFO": scope.get("path", "/"),
        "QUERY_STRING": (scope.get("query_string") or b"").decode("latin-1"),
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = str(client[0])
    for raw_name, raw_value in scope.get("headers") or ():
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
