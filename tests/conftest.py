"""Shared fixtures: a real store on SQLite and on PostgreSQL, apps, logged-in clients.

Every store test runs twice, on SQLite and on PostgreSQL (``HERON_TEST_POSTGRES_URL`` or
the local server). An unreachable PostgreSQL fails the run; it never skips.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import WSGIRequestHandler, make_server

from heron import _internal, api
from heron import config as heron_config
from heron.store import Store, open_store

# Started in the background of a shell without job control (`./.ci/run &`), the suite
# inherits SIGINT ignored, and so would every process it starts: the tests that stop a
# server or a CLI with Ctrl+C would wait for it in vain. Ctrl+C means Ctrl+C here.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

POSTGRES_URL = os.environ.get("HERON_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_checked: list[str] = []


def _require_postgres() -> None:
    if _pg_checked:
        return
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - the message is the point
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc}); start it with "
                    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main "
                    "start` or set HERON_TEST_POSTGRES_URL", pytrace=False)
    _pg_checked.append("ok")


@pytest.fixture(autouse=True)
def internal_exceptions() -> Iterator[list[BaseException]]:
    """Fail a test when heron swallowed an exception during it (sentry's pattern)."""
    seen: list[BaseException] = []
    _internal.RAISE_HOOK = seen.append
    yield seen
    _internal.RAISE_HOOK = None
    if seen:
        raise seen[0]


@pytest.fixture(autouse=True)
def clean_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No HERON_* variables or heron.toml from the machine leak into a test."""
    for name in list(os.environ):
        if name.startswith("HERON_") and name != "HERON_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # the user cache (the HTTP sink's spool, dead letters) is the test's own
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    heron_config.reset()
    yield
    api.shutdown(timeout=2)
    heron_config.reset()


def _drop_prefixed(url: str, prefix: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        names = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE :p"), {"p": prefix.replace("_", r"\_") + "%"}).scalars().all()
        for name in names:
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(database URL, table prefix) on each database; PostgreSQL tables dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'heron.db'}", "heron_"
        return
    _require_postgres()
    prefix = f"t{secrets.token_hex(4)}_"
    try:
        yield POSTGRES_URL, prefix
    finally:
        api.shutdown(timeout=2)  # heron's threads stop reading before the tables go
        _drop_prefixed(POSTGRES_URL, prefix)


@pytest.fixture
def store(db_url: tuple[str, str]) -> Iterator[Store]:
    url, prefix = db_url
    s = open_store(url, prefix)
    yield s
    s.dispose()


@pytest.fixture
def config_for(db_url: tuple[str, str]):  # type: ignore[no-untyped-def]
    """Build a Config on the test's database with extra settings."""
    url, prefix = db_url

    def make(**settings):  # type: ignore[no-untyped-def]
        return heron_config.Config.load(environ={}, database=url, table_prefix=prefix,
                                        **settings)

    return make


ADMIN_PASSWORD = "admin-pass-123"
GUEST_PASSWORD = "guest-pass-123"


@pytest.fixture
def server_config(config_for):  # type: ignore[no-untyped-def]
    return config_for(password=ADMIN_PASSWORD, guest_password=GUEST_PASSWORD,
                      ingest_token="ingest-secret-1", security_token="export-secret-1")


@pytest.fixture
def app(server_config, store):  # type: ignore[no-untyped-def]
    from heron.server import create_app, prepare

    prepare(store, server_config)
    application = create_app(server_config, store=store)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def login(client, username: str, password: str):  # type: ignore[no-untyped-def]
    """Log in through the real form (CSRF token included); return the response."""
    page = client.get("/dashboard/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/dashboard/login", data={"username": username, "password": password,
                                                 "csrf_token": token})


def csrf_of(client) -> str:  # type: ignore[no-untyped-def]
    """The logged-in session's CSRF token, as its pages carry it (the dashboard's cookie
    lives on its own path, in heron's own app even when bound into another)."""
    page = client.get("/dashboard/").get_data(as_text=True)
    return page.split('name="csrf_token" value="')[1].split('"')[0]


@pytest.fixture
def admin_client(client):  # type: ignore[no-untyped-def]
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 302
    return client


@pytest.fixture
def guest_client(app):  # type: ignore[no-untyped-def]
    c = app.test_client()
    assert login(c, "guest", GUEST_PASSWORD).status_code == 302
    return c


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ClosingHandler(WSGIRequestHandler):
    """Werkzeug's handler, closing the response when the browser drops the connection.

    Werkzeug's development server skips ``close()`` when the client goes away while it
    drains the request (a browser cancelling a favicon fetch): the file of a static
    response is then left to the garbage collector, whose ResourceWarning fails whichever
    test is running."""

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        body = (environ or {}).get("heron.test.body")
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _keeping_body(app):  # type: ignore[no-untyped-def]
    def wsgi(environ, start_response):  # type: ignore[no-untyped-def]
        body = environ["heron.test.body"] = app(environ, start_response)
        return body

    return wsgi


class LiveServer:
    """A real HTTP server on 127.0.0.1 serving a WSGI app from a thread."""

    def __init__(self, app, port: int = 0) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.server = make_server("127.0.0.1", port, _keeping_body(app), threaded=True,
                                  request_handler=_ClosingHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        heron_state = getattr(self.app, "extensions", {}).get("heron")
        closing = getattr(heron_state, "closing", None)  # a bound app's Binding has none
        if closing is not None:  # end event streams, as `heron serve` does on SIGTERM
            closing.set()
            time.sleep(0.1)
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    server = LiveServer(app)
    yield server
    server.stop()
