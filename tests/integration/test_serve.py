"""``heron serve`` and ``heron demo`` as real processes under gunicorn."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from heron import events as ev
from tests.conftest import free_port
from tests.procs import HERON, Proc, wait_http


def post_events(base: str, token: str, events: list[ev.Event]) -> tuple[int, dict]:
    ev.ensure_ids(events)
    request = urllib.request.Request(f"{base}/api/v1/events", data=ev.encode(events),
                                     method="POST", headers={
                                         "Authorization": f"Bearer {token}",
                                         "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def serve(db_url):  # type: ignore[no-untyped-def]
    url, prefix = db_url
    started: list[Proc] = []

    def start(*extra: str) -> tuple[Proc, str]:
        port = free_port()
        proc = Proc(["serve", "--port", str(port), "--database", url, *extra],
                    env={"HERON_TABLE_PREFIX": prefix})
        started.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz")
        return proc, base

    yield start
    for proc in started:
        proc.stop()


def test_first_start_prints_login_and_token_then_stores(serve) -> None:  # type: ignore[no-untyped-def]
    proc, base = serve()
    login = proc.wait_for_line(
        r"^Dashboard: (http://127\.0\.0\.1:\d+/dashboard)  user: admin  password: (\S+)$")
    assert login.group(1) == f"{base}/dashboard"
    token = proc.wait_for_line(r"^Ingest:    POST \S+/api/v1/events  token: (\S+)$").group(1)
    status, body = post_events(base, token, [ev.Log(app="cli", message="hello")])
    assert (status, body["stored"]) == (200, 1)
    assert post_events(base, "wrong", [ev.Log(message="x")])[0] == 401
    assert proc.stop() == 0
    # second start: the credentials are not printed again
    proc2, _ = serve()
    line = proc2.wait_for_line(r"^Dashboard: ")
    assert "password" not in line.group(0)
    assert not any("token:" in line for line in proc2.lines)


def test_sigterm_finishes_requests_in_flight(serve, store) -> None:  # type: ignore[no-untyped-def]
    proc, base = serve()
    token = proc.wait_for_line(r"token: (\S+)$").group(1)
    batch = [ev.Request(app="burst", endpoint="e", duration_ms=1.0) for _ in range(20_000)]
    result: dict = {}

    def send() -> None:
        result["answer"] = post_events(base, token, batch)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.3)  # the batch is being received and stored
    proc.proc.send_signal(signal.SIGTERM)
    sender.join(60)
    assert proc.proc.wait(60) == 0
    status, body = result["answer"]
    assert status == 200 and body["stored"] == 20_000
    from heron.store.queries.apps import app_summaries
    (summary,) = app_summaries(store, "burst")
    assert summary.kinds == {"request": 20_000}


def test_two_workers_store_each_event_once(serve, store) -> None:  # type: ignore[no-untyped-def]
    proc, base = serve("--workers", "2")
    token = proc.wait_for_line(r"token: (\S+)$").group(1)
    batches = [[ev.Log(app="multi", message=f"{b}-{i}") for i in range(500)] for b in range(8)]
    answers: list[tuple[int, dict]] = []
    threads = [threading.Thread(target=lambda b=b: answers.append(post_events(base, token, b)))
               for b in batches + batches]  # every batch sent twice, concurrently
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(status == 200 for status, _ in answers)
    assert sum(body["stored"] for _, body in answers) == 4_000
    assert sum(body["duplicates"] for _, body in answers) == 4_000
    from heron.store.queries.apps import app_summaries
    (summary,) = app_summaries(store, "multi")
    assert summary.total == 4_000


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        done = subprocess.run(HERON + ["serve", "--port", str(port), "--database",
                                       f"sqlite:///{tmp_path / 'p.db'}"],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "pass another --port" in done.stderr


def test_demo_serves_live_events_with_a_one_time_link(tmp_path: Path) -> None:
    import http.cookiejar

    port = free_port()
    proc = Proc(["demo", "--port", str(port), "--database",
                 f"sqlite:///{tmp_path / 'demo.db'}", "--interval", "0.2"])
    try:
        password = proc.wait_for_line(
            rf"^Dashboard: http://127\.0\.0\.1:{port}/dashboard  user: admin  password: (\S+)$")
        link = proc.wait_for_line(r"One-time login link \(valid 5 minutes, once\): (\S+)$")
        ingest = proc.wait_for_line(r"^Ingest token of this run .*: (\S+)$")
        metrics = proc.wait_for_line(r"scraped by nothing here\): curl (\S+)$")
        assert password.group(1)
        wait_http(f"http://127.0.0.1:{port}/healthz")
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(link.group(1), timeout=10).close()
        api = f"http://127.0.0.1:{port}/dashboard/api/home"

        def read(url: str) -> str:
            with opener.open(url, timeout=10) as response:
                return str(response.read().decode())

        def total() -> tuple[int, set[str]]:
            data = json.loads(read(api))
            kinds = {k for a in data["apps"] for k in a["kinds"]}
            return sum(a["total"] for a in data["apps"]), kinds

        deadline = time.time() + 20
        first, kinds = total()
        while first == 0 and time.time() < deadline:
            time.sleep(0.2)
            first, kinds = total()
        time.sleep(2)
        later, kinds = total()
        assert later > first > 0  # events keep arriving
        assert kinds == set(ev.KINDS)  # every kind of event is in the demo
        # the web service, the rig's sessions, the watched Dallinger database and the
        # service sending OpenTelemetry are live
        deadline = time.time() + 30
        apps: set[str] = set()
        while not {"recommender-api", "rig-2", "dallinger-chain", "otel-service"} <= apps \
                and time.time() < deadline:
            time.sleep(0.5)
            apps = {a["app"] for a in json.loads(read(api))["apps"]}
        assert {"recommender-api", "rig-2", "dallinger-chain", "otel-service"} <= apps
        # the printed /metrics line of the bound recommender-api answers, without a token
        with urllib.request.urlopen(metrics.group(1), timeout=10) as response:
            scraped = response.read().decode()
        assert 'heron_requests_total{app="recommender-api"' in scraped
        assert 'heron_exported_metric{app="recommender-api",metric="confidence"}' in scraped
        # the printed ingest token takes OTLP; a wrong one is refused
        empty = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/traces", data=b"{}", method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {ingest.group(1)}"})
        with urllib.request.urlopen(empty, timeout=10) as response:
            assert response.status == 200
        empty.add_header("Authorization", "Bearer wrong")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(empty, timeout=10)
        refused.value.close()
        assert refused.value.code == 401
        # the demo's own Experiment adds a panel and a tab
        base = f"http://127.0.0.1:{port}/dashboard"
        monitoring = read(f"{base}/monitoring")
        assert 'data-panel="Conditions"' in monitoring
        tab = read(f"{base}/stroop_conditions")
        assert 'id="conditions"' in tab and "congruent" in tab
        # the link was used once; it does not log anyone in again
        fresh = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with fresh.open(link.group(1), timeout=10) as page:
            assert "/dashboard/login" in page.geturl()
    finally:
        assert proc.stop() == 0


def test_serve_prunes_raw_requests_past_retention(serve, store) -> None:  # type: ignore[no-untyped-def]
    from heron.store.queries.export import export_page

    old = time.time() - 40 * 86400
    store.ingest([ev.Request(app="shop", endpoint="e", duration_ms=1.0, ts=old + i)
                  for i in range(50)]
                 + [ev.Request(app="shop", endpoint="e", duration_ms=1.0)])
    serve()  # RETENTION_DAYS defaults to 30
    deadline = time.time() + 20
    while time.time() < deadline and len(export_page(store, "request").items) > 1:
        time.sleep(0.2)
    assert len(export_page(store, "request").items) == 1
