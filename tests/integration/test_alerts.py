"""Alerts against a real webhook receiver on 127.0.0.1: log rules fire once per burst,
failed posts are retried, metric rules fire and recover, one server checks at a time."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from heron import config as heron_config
from heron import events as ev
from heron.errors import ConfigError
from heron.logs.alerts import AlertEngine, sync_from_config
from heron.logs.rules import mask_url, parse_rule
from heron.logs.webhooks import Deliverer
from heron.store import Store
from heron.store.queries import alerts as store_alerts
from tests.conftest import csrf_of


class Receiver:
    """A webhook receiver answering with ``statuses`` in turn (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.posts: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.posts.append(body)
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T000/B000/secretpart"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def engine(store: Store, config_for):  # type: ignore[no-untyped-def]
    deliverer = Deliverer(store, backoff=(0.2, 0.2))
    e = AlertEngine(store, config_for(public_url="http://heron.test"), deliverer=deliverer,
                    holder="server-a")
    yield e
    deliverer.close()


def add(store: Store, **data: Any) -> int:
    return store_alerts.add_rule(store, parse_rule(data, "test"))


def errors(store: Store, n: int, app: str = "web", text: str = "payment failed") -> None:
    store.ingest([ev.Log(app=app, level=40, logger="shop", message=f"{text} #{i}")
                  for i in range(n)])


def test_a_log_rule_fires_once_per_burst(store: Store, engine: AlertEngine,
                                         receiver: Receiver) -> None:
    add(store, name="Errors", query="level:error", webhook_url=receiver.url, quiet="10m")
    t0 = time.time()
    engine.tick(t0)  # nothing yet
    errors(store, 5)
    engine.tick(t0 + 61)
    errors(store, 3)  # the same burst goes on
    engine.tick(t0 + 122)
    engine.tick(t0 + 183)
    assert engine.deliverer.idle()
    assert len(receiver.posts) == 1
    body = receiver.posts[0]
    assert "Errors" in body["text"] and "5 matching log lines" in body["text"]
    blocks = json.dumps(body["blocks"])
    assert "payment failed #4" in blocks
    assert "http://heron.test/dashboard/logs?q=level%3Aerror" in blocks
    errors(store, 2)  # a new burst after the quiet period
    engine.tick(t0 + 61 + 601)
    assert engine.deliverer.idle() and len(receiver.posts) == 2
    assert "2 matching log lines" in receiver.posts[1]["text"]
    rows = store_alerts.deliveries(store)
    assert [(d["ok"], d["status_code"], d["reason"]) for d in rows] == [
        (True, 200, "alert"), (True, 200, "alert")]
    assert receiver.url not in json.dumps([d["payload"] for d in rows])


def test_threshold_and_app_narrow_a_rule(store: Store, engine: AlertEngine,
                                         receiver: Receiver) -> None:
    add(store, name="Many", query="payment", app="web", threshold=3, webhook_url=receiver.url)
    t0 = time.time()
    errors(store, 2)
    errors(store, 5, app="other")
    engine.tick(t0 + 61)
    errors(store, 3)
    engine.tick(t0 + 122)
    assert engine.deliverer.idle()
    assert len(receiver.posts) == 1 and "3 matching" in receiver.posts[0]["text"]


def test_a_failed_post_is_retried_and_every_attempt_recorded(store: Store,
                                                              engine: AlertEngine) -> None:
    receiver = Receiver(statuses=[500])
    try:
        add(store, name="Errors", query="level:error", webhook_url=receiver.url)
        errors(store, 1)
        engine.tick(time.time() + 61)
        deadline = time.time() + 5
        while len(receiver.posts) < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert engine.deliverer.idle()
    finally:
        receiver.close()
    assert len(receiver.posts) == 2 and receiver.posts[0] == receiver.posts[1]
    rows = sorted(store_alerts.deliveries(store), key=lambda d: d["attempt"])
    assert [(d["attempt"], d["status_code"], d["ok"]) for d in rows] == [
        (1, 500, False), (2, 200, True)]
    assert "answered 500" in rows[0]["error"] and "retrying" in rows[0]["error"]


def test_an_unreachable_receiver_gives_up_after_the_retries(store: Store,
                                                             engine: AlertEngine) -> None:
    from tests.conftest import free_port

    add(store, name="Void", query="level:error",
        webhook_url=f"http://127.0.0.1:{free_port()}/hook")
    errors(store, 1)
    engine.tick(time.time() + 61)
    deadline = time.time() + 5
    while len(store_alerts.deliveries(store)) < 3 and time.time() < deadline:
        time.sleep(0.05)
    rows = store_alerts.deliveries(store)
    assert [d["ok"] for d in rows] == [False, False, False]
    assert all(d["status_code"] is None and "no answer" in d["error"] for d in rows)


def requests(store: Store, app: str, endpoint: str, statuses: list[int],
             durations: list[float] | None = None, ts: float | None = None) -> None:
    ts = time.time() if ts is None else ts
    store.ingest([ev.Request(app=app, endpoint=endpoint, status=s, ts=ts,
                             duration_ms=(durations or [10.0] * len(statuses))[i],
                             method="GET", version="2.1")
                  for i, s in enumerate(statuses)])


def fresh(store: Store, seq: int) -> dict[str, Any]:
    rule = store_alerts.rule(store, seq)
    assert rule is not None
    return rule


def test_error_rate_fires_then_recovers(store: Store, engine: AlertEngine,
                                        receiver: Receiver) -> None:
    seq = add(store, name="Checkout errors", metric="error_rate", app="shop",
              endpoint="checkout", above=0.2, threshold=5, webhook_url=receiver.url)
    now = time.time()
    requests(store, "shop", "checkout", [500] * 2 + [200] * 2, ts=now - 30)
    assert engine.check(fresh(store, seq), now).sent is None  # 4 requests: too few to judge
    requests(store, "shop", "checkout", [500] * 3 + [200] * 3, ts=now - 20)
    requests(store, "shop", "browse", [200] * 50, ts=now - 20)  # another endpoint
    assert engine.check(fresh(store, seq), now).sent == "alert"
    assert engine.check(fresh(store, seq), now + 60).sent is None  # still firing: no repeat
    requests(store, "shop", "checkout", [200] * 40, ts=now + 400)
    assert engine.check(fresh(store, seq), now + 420).sent == "recovery"
    assert engine.deliverer.idle()
    texts = [p["text"] for p in receiver.posts]
    assert "error_rate of shop checkout is 50.0%" in texts[0]
    assert texts[1].startswith("heron resolved: Checkout errors")


def test_p95_and_yield_rules(store: Store, engine: AlertEngine, receiver: Receiver) -> None:
    slow = add(store, name="Slow", metric="p95_ms", app="shop", above=100,
               webhook_url=receiver.url)
    now = time.time()
    requests(store, "shop", "search", [200] * 100,
             durations=[20.0] * 90 + [400.0] * 10, ts=now - 10)
    assert engine.check(fresh(store, slow), now).sent == "alert"
    low = add(store, name="Yield", metric="yield", app="stroop", below=0.5,
              webhook_url=receiver.url)
    store.ingest([ev.Participant(app="stroop", participant_id=f"p{i}",
                                 status="approved" if i < 2 else "rejected")
                  for i in range(6)] + [ev.Participant(app="stroop", participant_id="w",
                                                        status="working")])
    assert engine.check(fresh(store, low), now).sent == "alert"
    assert engine.deliverer.idle()
    assert "p95_ms of shop is 400 ms" in receiver.posts[0]["text"]
    assert "yield of stroop is 33.3%" in receiver.posts[1]["text"]


def test_silence_and_return(store: Store, engine: AlertEngine, receiver: Receiver) -> None:
    seq = add(store, name="Rig quiet", metric="silence_minutes", app="rig", above=30,
              webhook_url=receiver.url)
    store.ingest([ev.Log(app="rig", logger="x", message="alive")])
    now = time.time()
    assert engine.check(fresh(store, seq), now + 60).sent is None
    assert engine.check(fresh(store, seq), now + 31 * 60).sent == "alert"
    store.ingest([ev.Log(app="rig", logger="x", message="back")])
    assert engine.check(fresh(store, seq), time.time() + 60).sent == "recovery"
    assert engine.deliverer.idle()
    assert "no events from rig for 31 min" in receiver.posts[0]["text"]
    assert "rig is sending events again" in receiver.posts[1]["text"]


def test_first_sight_of_an_app_is_announced_once(store: Store, engine: AlertEngine,
                                                 receiver: Receiver) -> None:
    store.ingest([ev.Log(app="old", logger="x", message="before the rule")])
    seq = add(store, name="New apps", metric="new_app", webhook_url=receiver.url)
    requests(store, "fresh-api", "home", [200])
    assert engine.check(fresh(store, seq), time.time()).sent == "new_app"
    assert engine.check(fresh(store, seq), time.time() + 60).sent is None
    assert engine.deliverer.idle()
    (post,) = receiver.posts
    assert "fresh-api (version 2.1) sent its first events" in post["text"]


def test_one_server_checks_a_rule_at_a_time(store: Store, config_for,
                                            receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    add(store, name="Errors", query="level:error", webhook_url=receiver.url)
    errors(store, 1)
    cfg = config_for()
    a = AlertEngine(store, cfg, holder="server-a", deliverer=Deliverer(store))
    b = AlertEngine(store, cfg, holder="server-b", deliverer=Deliverer(store))
    try:
        now = time.time() + 61
        results = {}
        threads = [threading.Thread(target=lambda e=e: results.setdefault(e.holder,
                                                                          e.tick(now)))
                   for e in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(len(v) for v in results.values()) == [0, 1]
        assert a.deliverer.idle() and b.deliverer.idle()
        assert len(receiver.posts) == 1
        # the holder keeps the lease; the other takes over once it has expired
        holder = next(k for k, v in results.items() if v)
        other = b if holder == "server-a" else a
        assert other.tick(now + 10) == []
        assert store_alerts.acquire_lease(store, "alerts", other.holder, 30, now + 45)
    finally:
        a.deliverer.close()
        b.deliverer.close()


# ------------------------------------------------------------------------------ config
def test_rules_come_from_the_config_file(store: Store, db_url, tmp_path: Path,
                                         receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    toml = tmp_path / "heron.toml"
    toml.write_text(f"""
database = "{url}"
table_prefix = "{prefix}"

[[alerts]]
name = "Errors"
query = "level:error"
app = "web"
webhook_url = "{receiver.url}"
frequency = "1m"
threshold = 1
quiet = "10m"

[[alerts]]
name = "Checkout"
metric = "error_rate"
app = "shop"
endpoint = "checkout"
above = 0.05
webhook_url = "{receiver.url}"
""", encoding="utf-8")
    cfg = heron_config.Config.load(file=toml, environ={})
    assert sync_from_config(store, cfg) == {"added": 2, "updated": 0, "removed": 0}
    rules = {r["name"]: r for r in store_alerts.rules(store)}
    assert rules["Errors"]["source"] == f"config file {toml}"
    assert rules["Checkout"]["above"] == 0.05 and rules["Errors"]["quiet_s"] == 600
    with pytest.raises(store_alerts.AlertStoreError, match="change it there"):
        store_alerts.delete_rule(store, rules["Errors"]["seq"])
    toml.write_text(toml.read_text().split("[[alerts]]\nname = \"Checkout\"")[0])
    cfg = heron_config.Config.load(file=toml, environ={})
    assert sync_from_config(store, cfg) == {"added": 0, "updated": 1, "removed": 1}
    assert "secretpart" not in repr(cfg)


@pytest.mark.parametrize("rule, message", [
    ({"name": "x", "query": "level:error"}, "webhook_url is missing"),
    ({"name": "x", "webhook_url": "ftp://h/x", "query": "a"}, "not an http"),
    ({"name": "x", "webhook_url": "http://h/x"}, "exactly one of query"),
    ({"name": "x", "webhook_url": "http://h/x", "query": "a", "metric": "p95_ms"},
     "exactly one of query"),
    ({"name": "x", "webhook_url": "http://h/x", "metric": "cpu", "app": "a"},
     "is not one of"),
    ({"name": "x", "webhook_url": "http://h/x", "metric": "p95_ms", "app": "a"},
     "needs above"),
    ({"name": "x", "webhook_url": "http://h/x", "metric": "error_rate", "app": "a",
      "above": 5}, "share between 0 and 1"),
    ({"name": "x", "webhook_url": "http://h/x", "query": "a", "frequency": "10s"},
     "at least 60 s"),
    ({"name": "x", "webhook_url": "http://h/x", "query": "a", "quiet": "soon"},
     "is not a duration"),
    ({"name": "x", "webhook_url": "http://h/x", "query": "level:loud"}, "is not a level"),
    ({"name": "x", "webhook_url": "http://h/x", "query": "a", "threshold": 0},
     "at least 1"),
    ({"name": "x", "webhook_url": "http://h/x", "query": "a", "every": "1m"},
     "unknown key"),
])
def test_bad_rules_are_refused_with_the_reason(tmp_path: Path, rule: dict[str, Any],
                                               message: str) -> None:
    lines = ["[[alerts]]"] + [f"{k} = {json.dumps(v)}" for k, v in rule.items()]
    toml = tmp_path / "heron.toml"
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        heron_config.Config.load(file=toml, environ={})
    assert "alerts[0]" in str(info.value) and "h/x" not in str(info.value)


def test_mask_url_hides_the_secret_path() -> None:
    masked = mask_url("https://hooks.slack.com/services/T000/B000/XXXXsecretXXXXabcd")
    assert masked == "https://hooks.slack.com/…abcd" and "secret" not in masked


# --------------------------------------------------------------------------- dashboard
def test_alerts_tab_adds_tests_and_lists_deliveries(admin_client, guest_client, store: Store,
                                                    receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    seq = store_alerts.save_search(store, "Errors", {"q": "level:error"}, "admin")
    response = admin_client.post("/dashboard/alerts/add", data={
        "csrf_token": csrf_of(admin_client), "name": "Errors to chat", "kind": "search",
        "saved_search": str(seq), "threshold": "1", "webhook_url": receiver.url,
        "frequency": "1m", "quiet": "10m", "app": ""})
    assert response.status_code == 302
    page = admin_client.get("/dashboard/alerts").get_data(as_text=True)
    assert "Errors to chat" in page and "saved search “Errors”" in page
    assert "secretpart" not in page and "…part" in page
    rule = next(r for r in store_alerts.rules(store) if r["name"] == "Errors to chat")
    admin_client.post(f"/dashboard/alerts/{rule['seq']}/test",
                      data={"csrf_token": csrf_of(admin_client)})
    assert receiver.posts and receiver.posts[0]["text"].startswith("heron test message")
    page = admin_client.get("/dashboard/alerts").get_data(as_text=True)
    assert 'id="deliveries-table"' in page and "delivered" in page
    bad = admin_client.post("/dashboard/alerts/add", data={
        "csrf_token": csrf_of(admin_client), "name": "Bad", "kind": "metric",
        "metric": "error_rate", "app": "shop", "bound": "above", "value": "7",
        "webhook_url": receiver.url, "frequency": "1m", "quiet": "10m"}, follow_redirects=True)
    assert "share between 0 and 1" in bad.get_data(as_text=True)
    assert guest_client.post("/dashboard/alerts/add", data={
        "csrf_token": csrf_of(guest_client), "name": "G", "kind": "search",
        "saved_search": str(seq), "webhook_url": receiver.url}).status_code == 403
    assert "Add a rule" not in guest_client.get("/dashboard/alerts").get_data(as_text=True)
    admin_client.post(f"/dashboard/alerts/{rule['seq']}/delete",
                      data={"csrf_token": csrf_of(admin_client)})
    assert store_alerts.rule(store, rule["seq"]) is None
