"""The middlewares under real servers: a FastAPI app under uvicorn, a plain WSGI app under
waitress, and a bound Flask app under gunicorn with two worker processes."""

from __future__ import annotations

import signal
import sys
import textwrap
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from heron.store import open_store
from heron.store.queries.export import export_page
from tests.conftest import free_port
from tests.procs import Proc, wait_http


def stored(url: str, prefix: str) -> list[dict]:  # type: ignore[type-arg]
    store = open_store(url, prefix)
    try:
        out: list[dict] = []  # type: ignore[type-arg]
        cursor = None
        while True:
            page = export_page(store, "request", cursor=cursor, limit=10_000)
            out.extend(page.items)
            if page.next_cursor is None:
                return out
            cursor = page.next_cursor
    finally:
        store.dispose()


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def run_server(tmp_path: Path, code: str, argv: list[str], env: dict[str, str]) -> Proc:
    (tmp_path / "served.py").write_text(textwrap.dedent(code))
    return Proc(argv, env, cwd=tmp_path, raw=True)


def test_fastapi_under_uvicorn_records_route_templates(tmp_path, db_url) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    port = free_port()
    proc = run_server(tmp_path, """
        from fastapi import FastAPI, HTTPException
        import heron.web

        app = FastAPI()

        @app.get("/user/{uid}")
        async def user(uid: int):
            return {"uid": uid}

        @app.get("/missing")
        async def missing():
            raise HTTPException(status_code=404)

        @app.get("/crash")
        async def crash():
            raise ValueError("no")

        app.add_middleware(heron.web.ASGIMiddleware, app_id="api")
        """, [sys.executable, "-m", "uvicorn", "served:app", "--port", str(port),
              "--log-level", "warning"],
        {"HERON_DATABASE": url, "HERON_TABLE_PREFIX": prefix, "HERON_APP_VERSION": "3.1"})
    try:
        wait_http(f"http://127.0.0.1:{port}/user/0")
        assert get(f"http://127.0.0.1:{port}/user/1") == 200
        assert get(f"http://127.0.0.1:{port}/user/2") == 200
        assert get(f"http://127.0.0.1:{port}/missing") == 404
        assert get(f"http://127.0.0.1:{port}/crash") == 500
    finally:
        proc.stop()  # SIGTERM: the recorder flushes at exit
    rows = stored(url, prefix)
    assert rows, "\n".join(proc.lines)
    seen = sorted((r["endpoint"], r["status"]) for r in rows)
    assert seen == [("/crash", 500), ("/missing", 404), ("/user/{uid}", 200),
                    ("/user/{uid}", 200), ("/user/{uid}", 200)]
    assert {r["app"] for r in rows} == {"api"} and {r["version"] for r in rows} == {"3.1"}
    store = open_store(url, prefix)
    errors = export_page(store, "exception").items
    store.dispose()
    assert [(e["type"], e["endpoint"]) for e in errors] == [("ValueError", "/crash")]


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_flask_under_gunicorn_two_workers_stores_every_request_once(tmp_path, db_url,
                                                                    worker) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    port = free_port()
    proc = run_server(tmp_path, """
        from flask import Flask
        import heron

        app = Flask("burst")

        @app.get("/item/<int:n>")
        def item(n):
            return str(n)

        heron.bind(app)
        """, [sys.executable, "-m", "gunicorn", "-w", "2", "-k", worker, "--threads", "4",
              "-b", f"127.0.0.1:{port}", "served:app"],
        {"HERON_DATABASE": url, "HERON_TABLE_PREFIX": prefix, "HERON_PASSWORD": "pw-123456789"})
    total = 1_000
    try:
        wait_http(f"http://127.0.0.1:{port}/item/0")
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda n: get(f"http://127.0.0.1:{port}/item/{n}"),
                                  range(1, total + 1)))
        assert codes == [200] * total
    finally:
        proc.stop()
    rows = [r for r in stored(url, prefix) if r["endpoint"] == "item"]
    assert len(rows) == total + 1  # the burst and the readiness probe, each once
    assert len({r["id"] for r in rows}) == total + 1


def test_plain_wsgi_app_under_waitress(tmp_path, db_url) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    port = free_port()
    proc = run_server(tmp_path, """
        import heron.web

        def application(environ, start_response):
            start_response("202 Accepted", [("Content-Type", "text/plain")])
            return [b"queued"]

        def family(environ):
            return environ["PATH_INFO"].rsplit("/", 1)[0] or "/"

        app = heron.web.WSGIMiddleware(application, app_id="plain", endpoint_of=family)
        """, [sys.executable, "-m", "waitress", "--listen", f"127.0.0.1:{port}", "served:app"],
        {"HERON_DATABASE": url, "HERON_TABLE_PREFIX": prefix})
    try:
        wait_http(f"http://127.0.0.1:{port}/jobs/0")
        for n in range(1, 6):
            assert get(f"http://127.0.0.1:{port}/jobs/{n}") == 202
    finally:
        proc.stop(signal.SIGINT)  # waitress exits normally on Ctrl+C; heron flushes at exit
    rows = stored(url, prefix)
    assert len(rows) == 6 and {(r["endpoint"], r["status"]) for r in rows} == {("/jobs", 202)}
