"""Log shipping and search on SQLite and PostgreSQL: the handler into a real store, the
search syntax against the full-text indexes, the APIs, the CLI, retention."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import heron
from heron import events as ev
from heron.cli import cli
from heron.logs.query import parse
from heron.store import Store
from heron.store.queries.logs import LogFilter, count, newest_seq, search
from heron.store.retention import prune
from tests.conftest import csrf_of

LINES = [
    ("web", 20, "werkzeug", "GET /api/user/42 200"),
    ("web", 40, "myapp.db", "connection reset by peer"),
    ("web", 20, "myapp.db", "connection pool ready"),
    ("web", 30, "myapp", "disk full on /var/lib/data"),
    ("rig", 20, "rig.camera", "heartbeat ok"),
    ("rig", 50, "rig.camera", "camera lost: id=123"),
    ("rig", 20, "rig.camera", "user@example.org logged in"),
    ("rig", 40, "rig.camera", '<script>alert("x")</script> "><img src=x onerror=alert(1)>'),
]


def fill(store: Store, now: float | None = None) -> None:
    now = time.time() if now is None else now
    store.ingest([ev.Log(app=app, level=level, logger=logger, message=message,
                         ts=now - 60 * (len(LINES) - i))
                  for i, (app, level, logger, message) in enumerate(LINES)])


def messages(store: Store, text: str, **where) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["message"] for r in search(store, parse(text), LogFilter(**where))]


@pytest.mark.parametrize("text, expected", [
    ("connection", ["connection pool ready", "connection reset by peer"]),
    ('"connection reset"', ["connection reset by peer"]),
    ('"reset connection"', []),
    ("connection -reset", ["connection pool ready"]),
    ("conn*", ["connection pool ready", "connection reset by peer"]),
    ("level:error", [LINES[7][3], "camera lost: id=123", "connection reset by peer"]),
    ("level:critical camera", ["camera lost: id=123"]),
    ("logger:myapp", ["disk full on /var/lib/data", "connection pool ready",
                      "connection reset by peer"]),
    ("logger:myapp.db -logger:werkzeug pool", ["connection pool ready"]),
    ("app:rig heartbeat", ["heartbeat ok"]),
    ("app:web heartbeat", []),
    ("id=123", ["camera lost: id=123"]),
    ("user", ["user@example.org logged in", "GET /api/user/42 200"]),
    ("example", ["user@example.org logged in"]),   # PostgreSQL's parser would keep it whole
    ("42", ["GET /api/user/42 200"]),
    ("NOT", []),
    ('"unbalanced', []),
    ("script onerror", [LINES[7][3]]),
    ("-heartbeat -camera", [LINES[7][3], "user@example.org logged in",
                            "disk full on /var/lib/data", "connection pool ready",
                            "connection reset by peer", "GET /api/user/42 200"]),
])
def test_search_finds_the_same_lines_on_both_stores(store: Store, text: str,
                                                    expected: list[str]) -> None:
    fill(store)
    assert messages(store, text) == expected
    assert count(store, parse(text)) == len(expected)


def test_filters_paging_and_following(store: Store) -> None:
    now = time.time()
    fill(store, now)
    assert messages(store, "", app="web", since=now - 6 * 60) == [
        "disk full on /var/lib/data", "connection pool ready"]
    newest_first = search(store, parse(""), limit=3)
    assert [r["message"] for r in newest_first][0] == LINES[-1][3]
    older = search(store, parse(""), before=newest_first[-1]["seq"], limit=100)
    assert len(newest_first) + len(older) == len(LINES)
    mark = newest_seq(store)
    store.ingest([ev.Log(app="web", level=40, logger="myapp", message="new failure"),
                  ev.Log(app="web", level=20, logger="myapp", message="new info")])
    new = search(store, parse("level:error"), after=mark, oldest_first=True)
    assert [r["message"] for r in new] == ["new failure"]


def test_retention_prunes_lines_from_the_index_too(store: Store) -> None:
    old = time.time() - 40 * 86400
    store.ingest([ev.Log(app="web", logger="x", message="ancient quasar", ts=old),
                  ev.Log(app="web", logger="x", message="recent quasar")])
    assert prune(store, time.time() - 30 * 86400, kinds=("log",)) == {"log": 1}
    assert messages(store, "quasar") == ["recent quasar"]
    assert messages(store, "ancient") == []


def test_search_reads_the_full_text_index(store: Store) -> None:
    """PostgreSQL's GIN index (only if the query repeats its expression exactly); SQLite's
    FTS5 table, driving the query in rowid order."""
    from sqlalchemy import text

    from heron.store.queries.logs import _statement

    sql, params = _statement(store, parse("quasar"), LogFilter(), before=None, after=None,
                             limit=50, oldest_first=False)
    with store.read() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))
            conn.execute(text("SET enable_indexscan = off"))
            explain = "EXPLAIN "
        else:
            explain = "EXPLAIN QUERY PLAN "
        plan = "\n".join(str(r[-1]) for r in conn.execute(text(explain + sql), params))
    if store.dialect == "postgresql":
        # the GIN index (on each time partition: heron_log_p20261207_search_idx)
        assert re.search(rf"{store.prefix}log\w*search", plan), plan
    else:
        assert f"SCAN {store.prefix}log_fts VIRTUAL TABLE" in plan
        assert "USE TEMP B-TREE" not in plan  # no sort: the index's own order


# ------------------------------------------------------------- shipping into a store
def test_a_bound_app_ships_its_logs_tagged_with_the_request(db_url) -> None:  # type: ignore[no-untyped-def]
    from flask import Flask

    url, prefix = db_url
    app = Flask("shop")

    @app.get("/buy")
    def buy():  # type: ignore[no-untyped-def]
        logging.getLogger("shop.orders").warning("stock low for %s", "apples")
        return "ok"

    heron.bind(app, database=url, table_prefix=prefix, capture_logs=True)
    assert app.test_client().get("/buy").status_code == 200
    heron.flush(10)
    store = heron.api.local_store()
    (line,) = search(store, parse("logger:shop.orders"))
    assert line["message"] == "stock low for apples" and line["app"] == "shop"
    requests = store.table("request")
    with store.read() as conn:
        request_ids = [r.id for r in conn.execute(requests.select())]
    assert line["request_id"] in request_ids


def test_session_and_run_lines_arrive_tagged(db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    heron.init(app="rig", database=url, table_prefix=prefix, capture_logs=True)
    import sys
    import threading

    with heron.session(tmp_path / "out", subject_id="m1", app="rig-2") as s:
        logging.getLogger("rig.task").info("trial 1 done")
        s.spawn([sys.executable, "-c", "print('child says hi')"])
        other = threading.Thread(  # another part of the process, not the session
            target=lambda: logging.getLogger("web").info("unrelated request"))
        other.start()
        other.join()
    with heron.run("fit") as r:
        logging.getLogger("algo").info("epoch 1")
    heron.flush(10)
    store = heron.api.local_store()
    (trial,) = search(store, parse('"trial 1"'))
    assert trial["session_id"] == s.id and trial["app"] == "rig-2"
    (child,) = search(store, parse('logger:session.child'))
    assert child["session_id"] == s.id  # from the session's pump thread
    (unrelated,) = search(store, parse("unrelated"))
    assert unrelated["session_id"] is None and unrelated["app"] == "rig"
    assert [x["message"] for x in search(store, parse(""), LogFilter(session_id=s.id))
            ].count("trial 1 done") == 1  # one copy, though two handlers saw it
    (epoch,) = search(store, parse("epoch"))
    assert epoch["run_id"] == r.id and epoch["session_id"] is None


# ------------------------------------------------------------------------------ APIs
def test_logs_api_needs_a_token_and_explains_bad_searches(app, store: Store) -> None:  # type: ignore[no-untyped-def]
    fill(store)
    client = app.test_client()
    assert client.get("/api/v1/logs?q=camera").status_code == 401
    auth = {"Authorization": "Bearer export-secret-1"}
    body = client.get("/api/v1/logs?q=camera&level=critical", headers=auth).get_json()
    assert [i["message"] for i in body["items"]] == ["camera lost: id=123"]
    bad = client.get("/api/v1/logs?level=loud", headers=auth)
    assert bad.status_code == 400 and "is not a level" in bad.get_json()["error"]
    bad = client.get("/api/v1/logs?since=yesterday-ish", headers=auth)
    assert bad.status_code == 400 and "is not a time" in bad.get_json()["error"]
    assert client.get("/api/v1/logs?q=%22x", headers=auth).get_json()["notes"]


def test_dashboard_search_save_and_roles(admin_client, guest_client, store: Store) -> None:  # type: ignore[no-untyped-def]
    fill(store)
    page = admin_client.get("/dashboard/logs?q=level:error&since=24h").get_data(as_text=True)
    assert 'value="level:error"' in page and "Save this search" in page
    body = admin_client.get("/dashboard/api/logs?q=level:error").get_json()
    assert [line["level_name"] for line in body["lines"]] == ["ERROR", "CRITICAL", "ERROR"]
    assert admin_client.get("/dashboard/api/logs?q=level:nope").status_code == 400
    assert "is not a level" in admin_client.get("/dashboard/logs?q=level:nope"
                                                ).get_data(as_text=True)
    saved = admin_client.post("/dashboard/logs/save", data={
        "csrf_token": csrf_of(admin_client), "name": "Errors", "q": "level:error"})
    assert saved.status_code == 302
    from heron.store.queries.alerts import saved_searches

    assert [(s["name"], s["query"]) for s in saved_searches(store)] == [("Errors",
                                                                         "level:error")]
    assert "Save this search" not in guest_client.get("/dashboard/logs").get_data(as_text=True)
    refused = guest_client.post("/dashboard/logs/save", data={
        "csrf_token": csrf_of(guest_client), "name": "Mine", "q": "x"})
    assert refused.status_code == 403
    assert admin_client.post("/dashboard/logs/save", data={"name": "NoCsrf"}).status_code == 400


def test_live_stream_says_when_matching_lines_arrive(app, store: Store, admin_client) -> None:  # type: ignore[no-untyped-def]
    from heron.dashboard.views import logs as logs_view

    fill(store)
    mark = newest_seq(store)
    store.ingest([ev.Log(app="web", level=20, logger="x", message="unrelated"),
                  ev.Log(app="web", level=40, logger="x", message="fresh failure")])
    logs_view.STREAM_SECONDS = 0.5
    try:
        body = admin_client.get(f"/dashboard/api/logs/stream?q=fresh&after={mark}"
                                ).get_data(as_text=True)
        quiet = admin_client.get(f"/dashboard/api/logs/stream?q=absent&after={mark}"
                                 ).get_data(as_text=True)
    finally:
        logs_view.STREAM_SECONDS = 30.0
    assert "event: change" in body
    assert "event: change" not in quiet


# ------------------------------------------------------------------------------- CLI
def test_cli_ingests_files_once_and_searches_them(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    log = tmp_path / "rig.log"
    log.write_text("2026-11-23T10:00:00Z INFO rig started\n"
                   "2026-11-23T10:00:05Z ERROR grab failed\n"
                   "Traceback (most recent call last):\n"
                   '  File "grab.py", line 3, in grab\n'
                   "TimeoutError: camera\n"
                   "WARN low disk\n", encoding="utf-8")
    runner = CliRunner()
    for _ in range(2):  # shipping again stores nothing twice
        result = runner.invoke(cli, ["logs", "ingest", str(log), "--app", "rig",
                                     "--database", db])
        assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["logs", "--database", db, "--json"])
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [x["message"] for x in lines] == ["2026-11-23T10:00:00Z INFO rig started",
                                             "2026-11-23T10:00:05Z ERROR grab failed",
                                             "WARN low disk"]
    grab = lines[1]
    assert grab["level"] == 40 and "TimeoutError: camera" in grab["exc_text"]
    assert grab["ts"] == pytest.approx(1795428005.0)
    assert lines[2]["level"] == 30
    result = runner.invoke(cli, ["logs", "level:warning", "--database", db])
    assert result.exit_code == 0 and "low disk" in result.output
    assert "rig started" not in result.output
    result = runner.invoke(cli, ["logs", "level:loud", "--database", db])
    assert result.exit_code == 1 and "is not a level" in result.output
    # issue 18 #4: an exclusion is a search word, not an unknown option, wherever it stands
    for args in (["-disk", "--database", db], ["--database", db, "-disk", "-n", "10"],
                 ["--database", db, "--json", "-disk", "-started"]):
        result = runner.invoke(cli, ["logs", *args])
        assert result.exit_code == 0, result.output
        assert "grab failed" in result.output and "low disk" not in result.output, args
    assert "rig started" not in runner.invoke(
        cli, ["logs", "--database", db, "-started", "-disk"]).output
    result = runner.invoke(cli, ["logs", "--database", db, "-n", "1"])
    assert result.exit_code == 0 and len(result.stdout.strip().splitlines()) == 1


def test_cli_reads_a_server(live_server, store: Store) -> None:  # type: ignore[no-untyped-def]
    fill(store)
    runner = CliRunner()
    result = runner.invoke(cli, ["logs", "camera", "--url", live_server.url,
                                 "--token", "export-secret-1"])
    assert result.exit_code == 0, result.output
    assert "camera lost: id=123" in result.output
    result = runner.invoke(cli, ["logs", "camera", "--url", live_server.url,
                                 "--token", "wrong"])
    assert result.exit_code == 1 and "401" in result.output


def test_rare_words_beyond_the_newest_lines_are_found(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL first walks the newest lines, then asks the index for older ones."""
    from heron.store.queries import logs as log_queries

    monkeypatch.setattr(log_queries, "RECENT", 5)
    store.ingest([ev.Log(app="a", logger="x", message=f"quasar {i}") for i in range(3)])
    store.ingest([ev.Log(app="a", logger="x", message=f"filler {i}") for i in range(20)])
    store.ingest([ev.Log(app="a", logger="x", message="quasar newest")])
    assert messages(store, "quasar") == ["quasar newest", "quasar 2", "quasar 1", "quasar 0"]
    page = search(store, parse("quasar"), limit=2)
    assert [r["message"] for r in page] == ["quasar newest", "quasar 2"]
    rest = search(store, parse("quasar"), before=page[-1]["seq"], limit=10)
    assert [r["message"] for r in rest] == ["quasar 1", "quasar 0"]
    assert messages(store, "filler")[:2] == ["filler 19", "filler 18"]


def test_the_request_page_shows_its_record_links_and_log_lines(admin_client, store: Store
                                                               ) -> None:
    store.ingest([
        ev.Request(id="req-1", app="shop", endpoint="checkout", method="POST", status=500,
                   duration_ms=812.0, version="2.1", group_by="ana", ip="10.0.0.9",
                   sql_count=3, sql_ms=40.0),
        ev.Outlier(id="out-1", app="shop", request_id="req-1", endpoint="checkout",
                   duration_ms=812.0, stack="File app.py"),
        ev.Log(app="shop", level=40, logger="shop.pay", message="<b>card</b> declined",
               request_id="req-1", exc_text="Traceback: boom"),
        ev.Log(app="shop", level=20, logger="shop.pay", message="other request",
               request_id="req-2")])
    html = admin_client.get("/dashboard/endpoints/request/req-1").get_data(as_text=True)
    assert "/dashboard/endpoints/e/shop/checkout" in html and "POST → 500" in html
    assert "/dashboard/endpoints/outlier/shop/out-1" in html and "3 queries" in html
    assert "&lt;b&gt;card&lt;/b&gt; declined" in html and "<b>card" not in html
    assert "Traceback: boom" in html and "other request" not in html
    only_lines = admin_client.get("/dashboard/endpoints/request/req-2")  # record not kept
    assert only_lines.status_code == 200 and "other request" in only_lines.get_data(
        as_text=True)
    missing = admin_client.get("/dashboard/endpoints/request/nope")
    assert missing.status_code == 404 and "No request with this id" in missing.get_data(
        as_text=True)
