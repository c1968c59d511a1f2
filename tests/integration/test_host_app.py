"""heron inside someone else's app: invisible but for its dashboard prefix (issue 16).

Each test builds the host the way real apps are built (extensions' template globals, their
own blueprints, no secret key, streamed bodies, included routers) and checks that the app
behaves as without heron, while every request is recorded once.
"""

from __future__ import annotations

import gc
import threading

import pytest
from flask import Blueprint, Flask, Response, render_template_string, session

import heron
from heron.store import open_store
from heron.store.queries.export import export_page
from tests.conftest import ADMIN_PASSWORD, login


def requests_of(url: str, prefix: str) -> list[tuple[str, int]]:
    assert heron.flush(10)
    store = open_store(url, prefix)
    try:
        return sorted((r["endpoint"], r["status"])
                      for r in export_page(store, "request", limit=10_000).items)
    finally:
        store.dispose()


def bind(app: Flask, db_url: tuple[str, str], **settings) -> Flask:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    return heron.bind(app, database=url, table_prefix=prefix, password=ADMIN_PASSWORD,
                      **settings)


def test_the_hosts_template_globals_stay_its_own(db_url) -> None:  # type: ignore[no-untyped-def]
    # Flask-WTF and Flask-Login put csrf_token and current_user in every template; an
    # app-wide context processor of heron's, bound after them, used to replace both.
    app = Flask("host")
    app.context_processor(lambda: {"csrf_token": lambda: "host-token",
                                   "current_user": "host-user"})

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return render_template_string(
            "{{ csrf_token() }} {{ current_user }} {{ nav is defined }}")

    bind(app, db_url)
    assert app.test_client().get("/").get_data(as_text=True) == "host-token host-user False"
    assert "num" not in app.jinja_env.filters  # heron's filters stay in heron's app
    with pytest.raises(Exception, match="heron/base.html"):  # nor are its templates found
        with app.test_request_context("/"):
            render_template_string('{% extends "heron/base.html" %}')


def test_a_template_rendered_with_only_an_app_context(db_url) -> None:  # type: ignore[no-untyped-def]
    app = bind(Flask("host"), db_url)
    with app.app_context():  # an e-mail body or a CLI job: no request
        assert render_template_string("Hello {{ name }}", name="Ana") == "Hello Ana"


def test_bind_leaves_config_secret_key_and_session_alone(db_url) -> None:  # type: ignore[no-untyped-def]
    app = Flask("host")

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return "no session here"

    config_before = dict(app.config)
    interface_before = app.session_interface
    processors_before = {k: list(v) for k, v in app.template_context_processors.items()}
    bind(app, db_url)
    assert dict(app.config) == config_before
    assert app.secret_key is None
    assert app.session_interface is interface_before
    assert app.before_request_funcs == {} and app.after_request_funcs == {}
    assert app.template_context_processors == processors_before
    assert app.error_handler_spec == {}
    assert list(app.blueprints) == []
    client = app.test_client()
    assert client.get("/").headers.get("Set-Cookie") is None
    # the dashboard logs in on an app with no secret key, with a cookie of its own
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 302
    cookie = client.get_cookie("heron_session", path="/dashboard")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert client.get_cookie("session") is None
    assert client.get("/dashboard/").status_code == 200
    # heron's own app carries neither its secret nor an app-wide filter of heron's
    dashboard = app.extensions["heron"].dashboard
    assert dashboard.secret_key is None and dashboard.config.get("SECRET_KEY") is None
    assert "num" not in dashboard.jinja_env.filters and "num" not in app.jinja_env.filters


def test_heron_login_never_touches_the_hosts_session(db_url) -> None:  # type: ignore[no-untyped-def]
    app = Flask("host")
    app.secret_key = "host-secret"

    @app.get("/set")
    def set_value():  # type: ignore[no-untyped-def]
        session["cart"] = ["apple"]
        return "ok"

    @app.get("/get")
    def get_value():  # type: ignore[no-untyped-def]
        return ",".join(session.get("cart", [])) + "|" + ",".join(sorted(session.keys()))

    bind(app, db_url)
    client = app.test_client()
    client.get("/set")
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 302
    assert client.get("/get").get_data(as_text=True) == "apple|cart"  # no heron keys
    client.get("/dashboard/logout")
    assert client.get("/get").get_data(as_text=True) == "apple|cart"


def test_host_blueprints_named_like_herons_are_bound_and_monitored(db_url) -> None:  # type: ignore[no-untyped-def]
    app = Flask("host")
    for name in ("dashboard", "heron", "api_v1"):
        bp = Blueprint(name, __name__, url_prefix=f"/{name}-host")
        bp.add_url_rule("/", "home", lambda name=name: f"{name} home")
        app.register_blueprint(bp)
    bind(app, db_url)
    client = app.test_client()
    for name in ("dashboard", "heron", "api_v1"):
        assert client.get(f"/{name}-host/").get_data(as_text=True) == f"{name} home"
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 302
    assert client.get("/dashboard/").status_code == 200  # heron's own, not recorded
    assert requests_of(*db_url) == [("api_v1.home", 200), ("dashboard.home", 200),
                                    ("heron.home", 200)]


def test_unmatched_and_canonical_redirects_are_one_endpoint(db_url) -> None:  # type: ignore[no-untyped-def]
    app = Flask("host")
    app.add_url_rule("/items/", "items", lambda: "items")
    bind(app, db_url)
    client = app.test_client()
    assert client.get("/items").status_code == 308  # Werkzeug's redirect to /items/
    for n in range(5):
        assert client.get(f"/stray/{n}").status_code == 404
    assert client.post("/items/").status_code == 405
    assert requests_of(*db_url) == [("<unmatched>", 308)] + [("<unmatched>", 404)] * 5 \
        + [("<unmatched>", 405)]


def test_streamed_responses_are_recorded_once_read_closed_or_dropped(db_url) -> None:  # type: ignore[no-untyped-def]
    app = Flask("host")

    @app.get("/stream")
    def stream():  # type: ignore[no-untyped-def]
        return Response(iter_chunks())

    def iter_chunks():  # type: ignore[no-untyped-def]
        yield "a"
        yield "b"

    bind(app, db_url)
    client = app.test_client()
    read = client.get("/stream")
    assert read.get_data(as_text=True) == "ab"  # read to the end, never closed
    closed = client.get("/stream")
    closed.close()  # closed unread
    both = client.get("/stream")
    assert both.get_data(as_text=True) == "ab"
    both.close()  # read, then closed: still once
    client.get("/stream")  # neither: recorded when collected
    gc.collect()
    assert requests_of(*db_url) == [("stream", 200)] * 4
    del read, closed, both


def test_one_set_of_threads_for_many_apps(db_url) -> None:  # type: ignore[no-untyped-def]
    apps = []
    for n in range(30):
        app = Flask(f"host{n}")
        app.add_url_rule("/", "index", lambda: "hello")
        apps.append(bind(app, db_url, monitor_level=3))
        assert app.test_client().get("/").status_code == 200
    names = [t.name for t in threading.enumerate() if t.name.startswith("heron")]
    assert names.count("heron-levels") == 1
    assert names.count("heron-profiler") == 1
    # one dashboard app serves them all
    assert len({id(a.extensions["heron"].dashboard) for a in apps}) == 1
    heron.shutdown()
    alive = [t.name for t in threading.enumerate()
             if t.name in ("heron-levels", "heron-profiler", "heron-outliers")]
    assert alive == []


def test_an_app_without_heron_keeps_no_heron_state_after_others_are_bound(db_url) -> None:  # type: ignore[no-untyped-def]
    bind(Flask("one"), db_url)
    other = Flask("two")
    other.add_url_rule("/dashboard/x", "x", lambda: "the host's own")
    assert other.test_client().get("/dashboard/x").get_data(as_text=True) == "the host's own"
    assert "heron" not in other.extensions


def fastapi_app():  # type: ignore[no-untyped-def]
    from fastapi import APIRouter, FastAPI

    app = FastAPI()
    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    def item(item_id: int):  # type: ignore[no-untyped-def]
        return {"id": item_id}

    users = APIRouter()

    @users.get("/users/")
    def user_list():  # type: ignore[no-untyped-def]
        return []

    nested = APIRouter(prefix="/v1")
    nested.include_router(items)
    app.include_router(nested)
    app.include_router(users)

    @app.get("/")
    def root():  # type: ignore[no-untyped-def]
        return {"ok": True}

    return app


def test_fastapi_included_routers_and_stray_urls(db_url) -> None:  # type: ignore[no-untyped-def]
    import anyio
    import httpx

    url, prefix = db_url
    heron.init(database=url, table_prefix=prefix)
    app = heron.web.ASGIMiddleware(fastapi_app(), app_id="api")
    statuses: list[int] = []

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as client:
            for method, path in [("GET", "/v1/items/1"), ("GET", "/v1/items/2"),
                                 ("GET", "/users/"), ("GET", "/users"),
                                 ("POST", "/v1/items/3"), ("GET", "/nothing/1"),
                                 ("GET", "/nothing/2"), ("GET", "/nothing/3"), ("GET", "/")]:
                statuses.append((await client.request(method, path)).status_code)

    anyio.run(main)
    # 307: Starlette's redirect to the slash variant; 405: a route's path, wrong method
    assert statuses == [200, 200, 200, 307, 405, 404, 404, 404, 200]
    assert requests_of(url, prefix) == [
        ("/", 200), ("/users/", 200), ("/v1/items/{item_id}", 200),
        ("/v1/items/{item_id}", 200), ("/v1/items/{item_id}", 405),
        ("<unmatched>", 307), ("<unmatched>", 404), ("<unmatched>", 404),
        ("<unmatched>", 404)]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_lifespan_shutdown_succeeds_on_every_async_backend(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import anyio

    heron.init(database=f"sqlite:///{tmp_path / 'l.db'}")
    events: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            events.append(message["type"])
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    middleware = heron.web.ASGIMiddleware(app, app_id="life")
    heron.export({"before": 1})  # buffered: the shutdown flush writes it
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive():  # type: ignore[no-untyped-def]
        return next(messages)

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message["type"])

    async def main() -> None:
        await middleware({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    anyio.run(main, backend=backend)
    assert events == ["lifespan.startup", "lifespan.shutdown"]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert heron.stats()["buffered"] == 0


def test_wsgi_middleware_records_a_streamed_body_once_however_it_ends(db_url) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.test import Client

    url, prefix = db_url
    heron.init(database=url, table_prefix=prefix)

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"a"
        yield b"b"

    client = Client(heron.web.WSGIMiddleware(app, app_id="plain",
                                             endpoint_of=lambda environ: "stream"))
    assert client.get("/").get_data() == b"ab"  # read, not closed
    client.get("/").close()  # closed unread
    client.get("/")  # dropped unread
    gc.collect()
    assert requests_of(url, prefix) == [("stream", 200)] * 3


def test_herons_cookie_is_secure_over_https(db_url) -> None:  # type: ignore[no-untyped-def]
    app = bind(Flask("host"), db_url)
    client = app.test_client()
    page = client.get("/dashboard/login", base_url="https://shop.example")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post("/dashboard/login", base_url="https://shop.example",
                       data={"username": "admin", "password": ADMIN_PASSWORD,
                             "csrf_token": token})
    assert done.status_code == 302
    cookie = client.get_cookie("heron_session", domain="shop.example", path="/dashboard")
    assert cookie is not None and cookie.secure
    plain = app.test_client()
    assert login(plain, "admin", ADMIN_PASSWORD).status_code == 302
    assert not plain.get_cookie("heron_session", path="/dashboard").secure
