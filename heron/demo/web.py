"""The demo's web service: a real Flask app bound with ``heron.bind``, served on a local
port and driven over HTTP by simulated users, so every web-monitoring page has live data
recorded exactly as a user's app would record it.

* ``recommend`` is monitored at level 3 (profiled) and is sometimes slow (outliers);
* ``items`` at level 2 (outliers), ``search`` runs SQL, ``login`` sometimes raises;
* users are told apart by ``group_by`` (the ``X-User`` header), requests carry an
  ``Authorization`` header that the outlier pages show redacted;
* a week of back-dated requests (versions 1.4.0 then 1.5.0, in which ``recommend`` got
  slower) gives the overview, the heatmap and the reporting page their shape.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text
from sqlalchemy.pool import StaticPool
from werkzeug.serving import WSGIRequestHandler, make_server

import heron
from heron import config as heron_config
from heron import events as ev

APP = "recommender-api"
LEVELS = {"recommend": 3, "items": 2, "search": 1, "rate": 1, "login": 1, "index": 1}
USERS = [f"user{i}" for i in range(1, 9)]


def make_app() -> Flask:
    app = Flask(APP)
    # the deliberate errors below are on the Exceptions page; the demo's terminal stays quiet
    app.logger.setLevel(logging.CRITICAL)
    # one in-memory database shared by the server's threads
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
        conn.execute(text("INSERT INTO item (name) VALUES " +
                          ",".join(f"('item {i}')" for i in range(200))))
    rng = random.Random()

    def rank(n: int) -> list[int]:
        scores = [(rng.random() * i) % 7 for i in range(n)]
        return sorted(range(n), key=scores.__getitem__)[:10]

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return "recommender-api"

    @app.get("/recommend")
    def recommend():  # type: ignore[no-untyped-def]
        slow = rng.random() < 0.05
        deadline = time.perf_counter() + (0.25 if slow else 0.004)
        picks: list[int] = []
        while time.perf_counter() < deadline:
            picks = rank(400)
        return jsonify(items=picks)

    @app.get("/items/<int:item_id>")
    def items(item_id: int):  # type: ignore[no-untyped-def]
        if rng.random() < 0.04:
            time.sleep(0.12)
        return jsonify(id=item_id)

    @app.get("/search")
    def search():  # type: ignore[no-untyped-def]
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id FROM item WHERE name LIKE :q"),
                                {"q": f"%{request.args.get('q', '')}%"}).all()
            conn.execute(text("SELECT count(*) FROM item")).scalar()
        # shipped by capture_logs, tagged with this request (the Logs tab links it)
        logging.getLogger("recommender.search").info("search %r found %d items",
                                                     request.args.get("q", ""), len(rows))
        return jsonify(found=len(rows))

    @app.post("/rate")
    def rate():  # type: ignore[no-untyped-def]
        body = request.get_json(silent=True) or {}
        return jsonify(ok=True, stars=body.get("stars")), 201

    @app.post("/login")
    def login():  # type: ignore[no-untyped-def]
        body = request.get_json(silent=True) or {}
        if rng.random() < 0.1:
            return {"users": {}}["missing"]  # an unhandled KeyError: a 500, grouped
        return jsonify(user=body.get("user"))

    return app


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class DemoWeb:
    """The bound app on 127.0.0.1 (a free port) and a thread of simulated users."""

    def __init__(self, store: Any, *, seed: int | None = None):
        self.store = store
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        store.ingest([ev.Endpoint(app=APP, endpoint=e, monitor_level=level)
                      for e, level in LEVELS.items()])
        heron_config.group_by = lambda: request.headers.get("X-User")
        self.app = heron.bind(make_app())
        self.monitor = self.app.extensions["heron"].monitor
        self.monitor.levels.refresh()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                  request_handler=_Quiet)
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def history(self, days: float = 7, per_hour: int = 60) -> None:
        """Back-dated requests: version 1.4.0 until a day ago, then 1.5.0."""
        now = time.time()
        events: list[ev.Event] = []
        for hour in range(int(days * 24)):
            start = now - (days * 24 - hour) * 3600
            daytime = 0.3 + abs(12 - (time.gmtime(start).tm_hour)) / 12  # busier by day
            for _ in range(int(per_hour * daytime)):
                ts = start + self.rng.uniform(0, 3600)
                version = "1.5.0" if ts > now - 86400 else "1.4.0"
                endpoint = self.rng.choice(list(LEVELS))
                slower = 1.4 if (endpoint == "recommend" and version == "1.5.0") else 1.0
                events.append(ev.Request(
                    app=APP, endpoint=endpoint, ts=ts, version=version,
                    method="POST" if endpoint in ("rate", "login") else "GET",
                    duration_ms=self.rng.lognormvariate(2.0, 0.4) * slower,
                    status=500 if self.rng.random() < 0.01 else 200,
                    group_by=self.rng.choice(USERS), ip=f"10.0.0.{self.rng.randint(2, 30)}"))
        # what levels 2 and 3 recorded back then: a few outliers, profiles and exceptions
        slow = [e for e in events if isinstance(e, ev.Request) and e.endpoint == "recommend"]
        for request_event in self.rng.sample(slow, min(12, len(slow))):
            assert isinstance(request_event, ev.Request)
            request_event.duration_ms *= 12
            ts, duration = request_event.ts, request_event.duration_ms
            events.append(ev.Outlier(
                app=APP, ts=ts, request_id=request_event.id or ev.new_id(ts),
                endpoint="recommend", duration_ms=duration, cpu_percent=self.rng.uniform(40, 99),
                memory_bytes=self.rng.randint(90, 160) * 2**20,
                stack='  File "heron/demo/web.py", line 62, in recommend\n'
                      '    picks = rank(400)\n  File "heron/demo/web.py", line 47, in rank\n'
                      '    return sorted(range(n), key=scores.__getitem__)[:10]\n',
                headers={"Authorization": "[redacted]", "X-User": request_event.group_by or ""},
                request_values={"args": {}}))
            samples = max(1, int(duration / 5))
            events.append(ev.Profile(
                app=APP, ts=ts, request_id=request_event.id or ev.new_id(ts),
                endpoint="recommend", duration_ms=duration, tree={
                    "period_ms": 5.0, "samples": samples,
                    "lines": [{"file": "heron/demo/web.py", "line": 62, "function": "recommend",
                               "code": "picks = rank(400)"},
                              {"file": "heron/demo/web.py", "line": 46, "function": "rank",
                               "code": "scores = [(rng.random() * i) % 7 for i in range(n)]"},
                              {"file": "heron/demo/web.py", "line": 47, "function": "rank",
                               "code": "return sorted(range(n), key=scores.__getitem__)[:10]"}],
                    "root": [-1, samples, [[0, samples, [[1, samples // 3, []],
                                                         [2, samples - samples // 3, []]]]]]}))
        for _ in range(6):
            ts = now - self.rng.uniform(0, days * 86400)
            events.append(ev.ExceptionRaised(
                app=APP, ts=ts, endpoint="login", type="KeyError", message="'missing'",
                fingerprint="demo-login-keyerror",
                stack='Traceback (most recent call last):\n  File "heron/demo/web.py", '
                      'line 86, in login\n    return {"users": {}}["missing"]\n'
                      "KeyError: 'missing'\n"))
        ev.ensure_ids(events)
        for start in range(0, len(events), 5_000):
            self.store.ingest(events[start:start + 5_000])

    def visit(self) -> None:
        """One simulated user doing one thing."""
        endpoint = self.rng.choice(["recommend", "recommend", "items", "search", "rate",
                                    "login", "index", "items", "stray"])
        user = self.rng.choice(USERS)
        headers = {"X-User": user, "Authorization": "Bearer demo-secret-token",
                   "Content-Type": "application/json"}
        path, body = {
            "recommend": ("/recommend", None),
            "items": (f"/items/{self.rng.randint(1, 200)}", None),
            "search": (f"/search?q={self.rng.randint(1, 9)}", None),
            "rate": ("/rate", {"stars": self.rng.randint(1, 5)}),
            "login": ("/login", {"user": user, "password": "hunter2"}),
            "index": ("/", None),
            # a mistyped or scanned URL: every one lands on the one "<unmatched>" endpoint
            "stray": (self.rng.choice(["/wp-login.php", "/favicon.ico", "/item/7",
                                       f"/items/{self.rng.randint(1, 9)}x"]), None),
        }[endpoint]
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, headers=headers,
                                     method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as exc:  # 500s are part of the show
            exc.read()

    def start(self, interval: float = 0.5) -> None:
        threading.Thread(target=self.server.serve_forever, name="heron-demo-web",
                         daemon=True).start()

        def traffic() -> None:
            while not self._stop.wait(interval):
                for _ in range(self.rng.randint(2, 6)):
                    try:
                        self.visit()
                    except OSError:
                        pass

        threading.Thread(target=traffic, name="heron-demo-users", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
