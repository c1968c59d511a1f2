"""``/metrics`` read by a real Prometheus (Debian's package, on 127.0.0.1, scraping every
second) from `heron serve` and from a bound app; values compared with heron's own figures
(issue 22, its Prometheus half). Plus the format negotiation and who may read it."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

import heron
from heron import events as ev
from heron.store import Store
from heron.store.queries.participants import summary
from heron.store.queries.runs import run_classes
from heron.store.queries.web import window_sums
from tests.conftest import LiveServer, free_port
from tests.procs import wait_http

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
TOKEN = "export-secret-1"  # the conftest server's SECURITY_TOKEN


def seed(store: Store) -> None:
    now = time.time()
    store.ingest(
        [ev.Request(app="shop", endpoint="items", method="GET", status=200,
                    duration_ms=4.0 + i % 10, ts=now - i) for i in range(40)]
        + [ev.Request(app="shop", endpoint="items", method="POST", status=503,
                      duration_ms=800.0, ts=now - 1) for _ in range(3)]
        + [ev.Request(app="shop", endpoint="cart", method="GET", status=404,
                      duration_ms=30.0, ts=now - 2) for _ in range(5)]
        + [ev.Participant(app="stroop", participant_id=f"p{i}",
                          status="approved" if i % 3 else "returned") for i in range(9)]
        + [ev.SessionStart(app="rig-2", session_id="s1", name="one"),
           ev.SessionStart(app="rig-2", session_id="s2", name="two"),
           ev.SessionEnd(app="rig-2", session_id="s1", outcome="ok")]
        + [ev.Log(app="shop", level=level, message="m") for level in (20, 20, 30, 40, 45)]
        + [ev.ExceptionRaised(app="shop", endpoint="items", type="KeyError", message="k",
                              fingerprint="f1") for _ in range(2)])
    starts = [ev.RunStart(app="ml", run_id=f"r{i}", run_class="classify", ts=now - 100)
              for i in range(6)]
    store.ingest(starts)  # the ends come in a later batch, as they do
    store.ingest([ev.RunEnd(app="ml", run_id=f"r{i}", ts=now - 100 + 0.15 + i * 0.2,
                            outcome="error" if i == 5 else "ok") for i in range(6)]
                 + [ev.RunEnd(app="ml", run_id="orphan", ts=now)])


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[object]:
    if not Path(PROMETHEUS).exists():
        pytest.fail("the Prometheus tests need Debian's prometheus package: "
                    "apt-get install -y prometheus (make test installs it)")
    procs: list[subprocess.Popen[bytes]] = []

    def start(jobs: list[dict[str, object]]) -> str:
        port = free_port()
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                  "scrape_configs": jobs}
        path = tmp_path / "prometheus.yml"
        path.write_text(json.dumps(config))  # JSON is YAML
        procs.append(subprocess.Popen(
            [PROMETHEUS, f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/-/ready")
        return base

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(20)


def job(name: str, target: str, path: str, token: str | None) -> dict[str, object]:
    out: dict[str, object] = {"job_name": name, "metrics_path": path,
                              "static_configs": [{"targets": [target]}]}
    if token:
        out["authorization"] = {"credentials": token}
    return out


def query(base: str, promql: str, wanted: int = 1, timeout: float = 30) -> dict[str, float]:
    """The instant vector of ``promql`` as {label set: value}, once it has ``wanted``
    series (Prometheus scrapes every second)."""
    deadline = time.time() + timeout
    while True:
        url = f"{base}/api/v1/query?query={urllib.parse.quote(promql)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            result = json.loads(response.read())["data"]["result"]
        found = {",".join(f"{k}={v}" for k, v in sorted(r["metric"].items())
                          if k not in ("instance", "job", "__name__")): float(r["value"][1])
                 for r in result}
        if len(found) >= wanted or time.time() > deadline:
            return found
        time.sleep(0.5)


def test_prometheus_scrapes_heron_serve_and_agrees_with_heron(
        app, store: Store, prometheus) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    server = LiveServer(app)
    try:
        target = server.url.removeprefix("http://")
        base = prometheus([job("heron", target, "/metrics", TOKEN)])
        requests = query(base, "heron_requests_total", wanted=3)
        assert requests == {
            "app=shop,endpoint=cart,method=GET,status_class=4xx": 5.0,
            "app=shop,endpoint=items,method=GET,status_class=2xx": 40.0,
            "app=shop,endpoint=items,method=POST,status_class=5xx": 3.0,
        }
        now = time.time()
        sums = window_sums(store, "shop", now - 3600, now + 60)  # the Endpoints page's
        by_endpoint = query(base, "sum by (endpoint) (heron_requests_total)", wanted=2)
        assert by_endpoint == {f"endpoint={e}": float(v[0]) for (e,), v in sums.items()}
        errors = query(base, 'sum(heron_requests_total{status_class="5xx"})')
        assert list(errors.values()) == [float(sum(v[1] for v in sums.values()))]
        buckets = query(base, 'heron_request_duration_seconds_bucket{endpoint="items"}',
                        wanted=14)
        assert buckets["app=shop,endpoint=items,le=0.025"] == 40.0  # 4-13 ms
        assert buckets["app=shop,endpoint=items,le=0.5"] == 40.0
        assert buckets["app=shop,endpoint=items,le=1.0"] == 43.0  # and the 800 ms ones
        assert buckets["app=shop,endpoint=items,le=+Inf"] == 43.0
        total = query(base, 'heron_request_duration_seconds_sum{endpoint="items"}')
        expected = (sum(4.0 + i % 10 for i in range(40)) + 3 * 800.0) / 1000
        assert list(total.values())[0] == pytest.approx(expected)
        assert query(base, "heron_participants", wanted=2) == {
            "app=stroop,status=approved": 6.0, "app=stroop,status=returned": 3.0}
        assert query(base, "heron_experiment_yield") == {
            "app=stroop": pytest.approx(summary(store, "stroop").yield_)}  # heron summary's
        assert query(base, "heron_sessions", wanted=2) == {
            "app=rig-2,outcome=ok": 1.0, "app=rig-2,outcome=running": 1.0}
        events = query(base, "heron_events_total", wanted=3)
        assert events["app=shop,kind=request"] == 48.0
        runs = query(base, "heron_runs_total", wanted=3)
        classes = {c.run_class: c for c in run_classes(store, app="ml", since=0)}
        assert runs == {"app=ml,outcome=ok,run_class=classify": 5.0,
                        "app=ml,outcome=error,run_class=classify": 1.0,
                        "app=ml,outcome=ok,run_class=(unknown)": 1.0}
        assert classes["classify"].errors == 1 and classes["classify"].ok == 5  # the Runs page
        run_buckets = query(base, 'heron_run_duration_seconds_bucket{run_class="classify"}',
                            wanted=14)
        assert run_buckets["app=ml,le=0.5,run_class=classify"] == 2.0  # 0.15 s and 0.35 s
        assert run_buckets["app=ml,le=1.0,run_class=classify"] == 5.0
        assert run_buckets["app=ml,le=5.0,run_class=classify"] == 6.0
        assert query(base, "heron_log_lines_total", wanted=3) == {
            "app=shop,level=INFO": 2.0, "app=shop,level=WARNING": 1.0,
            "app=shop,level=ERROR": 2.0}
        assert query(base, "heron_exceptions_total") == {"app=shop,type=KeyError": 2.0}
        (size,) = query(base, "heron_store_size_bytes").values()
        assert size > 100_000  # the migrated tables alone take more
        # heron's data moves on: the counter follows at the next scrape
        store.ingest([ev.Request(app="shop", endpoint="cart", method="GET", status=404,
                                 duration_ms=1.0)])
        deadline = time.time() + 20
        while query(base, 'heron_requests_total{endpoint="cart"}') != {
                "app=shop,endpoint=cart,method=GET,status_class=4xx": 6.0}:
            assert time.time() < deadline, "the new request never reached Prometheus"
            time.sleep(0.5)
    finally:
        server.stop()


def test_a_bound_app_exposes_metrics_under_its_dashboard_prefix(
        db_url, prometheus) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    shop = Flask("shop")
    shop.add_url_rule("/items", "items", lambda: "items")
    heron.bind(shop, database=url, table_prefix=prefix, password="a-long-password",
               metrics_allow=["127.0.0.1"])
    client = shop.test_client()
    for _ in range(7):
        assert client.get("/items").status_code == 200
    assert heron.flush(20)
    server = LiveServer(shop)
    try:
        # METRICS_ALLOW lists Prometheus' address: no token
        base = prometheus([job("shop", server.url.removeprefix("http://"),
                               "/dashboard/metrics", None)])
        found = query(base, "heron_requests_total")
        assert found == {"app=shop,endpoint=items,method=GET,status_class=2xx": 7.0}
    finally:
        server.stop()


def test_who_may_read_and_which_format(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code \
        == 401
    plain = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert plain.status_code == 200
    assert plain.content_type.startswith("text/plain; version=0.0.4")
    assert "# TYPE heron_requests_total counter" in plain.get_data(as_text=True)
    open_metrics = client.get("/metrics", headers={
        "Authorization": f"Bearer {TOKEN}",
        "Accept": "application/openmetrics-text; version=1.0.0"})
    assert open_metrics.content_type.startswith("application/openmetrics-text")
    assert open_metrics.get_data(as_text=True).endswith("# EOF\n")


def test_an_admin_login_reads_metrics(admin_client) -> None:  # type: ignore[no-untyped-def]
    assert admin_client.get("/metrics").status_code == 200
