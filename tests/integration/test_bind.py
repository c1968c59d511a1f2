"""heron.bind(app): a Flask app's requests recorded, the dashboard mounted in it."""

from __future__ import annotations

from flask import Flask, abort

import heron
from heron.store import open_store
from heron.store.queries.export import export_page
from tests.conftest import ADMIN_PASSWORD, login


def make_app() -> Flask:
    app = Flask("shop")

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return "hello"

    @app.get("/user/<int:uid>")
    def user(uid: int):  # type: ignore[no-untyped-def]
        return f"user {uid}", 201, {"X-Test": "1"}

    @app.get("/gone")
    def gone():  # type: ignore[no-untyped-def]
        abort(410)

    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("broken view")

    return app


def test_bind_records_requests_by_endpoint(db_url) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    app = heron.bind(make_app(), database=url, table_prefix=prefix, password=ADMIN_PASSWORD,
                     app_version="2.0")
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/user/1").status_code == 201
    assert client.get("/user/2").status_code == 201
    assert client.get("/gone").status_code == 410
    assert client.get("/boom").status_code == 500
    assert client.get("/no-such-page").status_code == 404
    login(client, "admin", ADMIN_PASSWORD)
    assert client.get("/dashboard/").status_code == 200
    assert heron.flush(5)
    store = open_store(url, prefix)
    rows = export_page(store, "request").items
    store.dispose()
    seen = sorted((r["endpoint"], r["status"]) for r in rows)
    # the dashboard's own pages never reach the app; a URL no rule matched is one endpoint
    assert seen == [("<unmatched>", 404), ("boom", 500), ("gone", 410), ("index", 200),
                    ("user", 201), ("user", 201)]
    assert {r["app"] for r in rows} == {"shop"}
    assert {r["version"] for r in rows} == {"2.0"}
    assert all(r["duration_ms"] > 0 for r in rows)
    assert {r["ip"] for r in rows} == {"127.0.0.1"}


def test_bind_without_password_says_how_to_set_one(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    heron.bind(make_app(), database=f"sqlite:///{tmp_path / 'b.db'}")
    text = caplog.text
    assert "new admin user 'admin' with a random password" in text
    assert "heron user passwd admin" in text


def test_a_bound_app_carries_no_http_client_or_migration_tool(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Every module heron imports lives in the app's heap, walked by each full garbage
    # collection: urllib3 waits for a webhook, crash report or remote sink, Alembic for
    # a store that needs migrating (this one was migrated by an earlier start).
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'heron.db'}"
    open_store(url).dispose()
    probe = (
        "import sys, heron; from flask import Flask; app = Flask('shop'); "
        "app.get('/')(lambda: 'hello'); "
        f"heron.bind(app, database={url!r}, password='a-long-password'); "
        "client = app.test_client(); "
        "assert client.get('/').status_code == 200; "
        "assert client.post('/dashboard/login', data={}).status_code in (200, 400); "
        "assert heron.flush(10); "
        "print(sorted(m for m in ('urllib3', 'alembic', 'mako') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split()[-1] == "[]"
