"""``heron demo``: a simulated lab sending a steady stream of events of every kind.

Three apps, as a lab running heron would have:

* ``stroop-online``: an online experiment; participants arrive, work and finish, in
  networks of nodes passing infos along transmissions and vectors;
* ``recommender-api``: a real Flask app bound with heron and driven over HTTP by simulated
  users (``heron.demo.web``), an algorithm in runs and sub-runs exporting metrics, logs
  and test results;
* ``rig-2``: a lab rig running a real ``heron.session`` every minute (``heron.demo.rig``),
  with pipeline steps, an acquisition process and resource samples;
* ``dallinger-chain``: a Dallinger experiment's database, advanced by a simulated Dallinger
  server and watched by heron's Dallinger adapter (``heron.demo.dallinger``).

Everything goes through the same recorder as real instrumentation would.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import heron
from heron import config as heron_config
from heron import events as ev
from heron.demo.dallinger import DemoDallinger
from heron.demo.otel import DemoOtel
from heron.demo.rig import DemoRig
from heron.demo.testsuite import DemoTestSuite
from heron.demo.web import DemoWeb
from heron.events import new_id
from heron.store import Store

logger = logging.getLogger("heron.demo")

STATUSES = ["submitted", "approved", "approved", "approved", "returned", "abandoned"]


class DemoLab:
    """Generates events; call :meth:`tick` repeatedly, or :meth:`start` a thread."""

    def __init__(self, emit: Callable[[ev.Event], None], *, seed: int | None = None):
        self._emit = emit
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._n = 0
        self._participants: dict[str, float] = {}
        self._networks = [f"net-{i}" for i in range(1, 4)]
        self._nodes: list[str] = []
        self._chains: dict[str, list[str]] = {}  # network -> its nodes, oldest first
        self._session: dict | None = None
        self._backfill_ts: float | None = None
        self.suite = DemoTestSuite(self.emit, seed=seed)  # the Test Monitor's CI builds

    def emit(self, event: ev.Event) -> None:
        """Hand an event on; in the history, stamped with the back-dated clock."""
        if self._backfill_ts is not None:
            event.ts = self._backfill_ts
        self._emit(event)

    def history(self, rounds: int = 60, step: float = 30.0) -> None:
        """``rounds`` ticks back-dated ``step`` seconds apart, ending now, so charts have
        shape from the first second; a session still open at the end is finished (a few
        seconds apart, never in the future), so the history holds no session that never
        ends."""
        now = time.time()
        for i in range(rounds):
            self._backfill_ts = now - (rounds - i) * step
            self.tick()
        while self._session is not None:
            self._backfill_ts += 5
            self.rig()
        self._backfill_ts = None
        self.suite.history()

    # -- sources -----------------------------------------------------------------------
    def algorithm(self, ts: float | None = None) -> None:
        """A classifier with sub-components, through heron's real client API.

        With ``ts`` (history at start-up), only its exports are recorded, back-dated.
        """
        source = self.rng.choice(["web", "mobile", "email"])
        model = self.rng.choice(["v1", "v2"])
        # v2 is better on web traffic: visible when the chart is split by model or source
        confidence = min(0.99, self.rng.gauss(0.72 + (0.15 if model == "v2" else 0)
                                              + (0.05 if source == "web" else 0), 0.06))
        if ts is not None:  # history: the events such a run would have sent back then
            run_id = new_id(ts)
            sub_id = f"{run_id}.{new_id(ts)[-12:]}"
            heron.emit(ev.RunStart(run_id=run_id, run_class="classify", ts=ts,
                                  dimensions={"source": source, "version": "1.5.0"}))
            heron.emit(ev.RunStart(run_id=sub_id, run_class="model", parent_id=run_id, ts=ts))
            heron.emit(ev.Export(run_id=sub_id, ts=ts + 0.01,
                                metrics={"confidence": confidence,
                                         "items": self.rng.randint(5, 50)},
                                dimensions={"model": model}))
            heron.emit(ev.RunEnd(run_id=sub_id, ts=ts + 0.02))
            heron.emit(ev.RunEnd(run_id=run_id, ts=ts + 0.03))
            return
        try:
            with heron.run("classify", source=source):
                with heron.sub_run("features"):
                    time.sleep(self.rng.uniform(0.002, 0.01))  # simulated work
                    heron.export({"latency_ms": self.rng.uniform(2, 30)})
                with heron.sub_run("model") as sub:
                    with heron.sub_run("embedding"):
                        time.sleep(self.rng.uniform(0.001, 0.005))
                        heron.export({"dim": 128, "latency_ms": self.rng.uniform(1, 8)})
                    heron.export({"confidence": confidence, "model": model,
                                  "items": self.rng.randint(5, 50)})
                    if self.rng.random() < 0.05:
                        raise ValueError(f"empty candidate list in {sub.id}")
        except ValueError:
            pass  # recorded as the run's error; the demo goes on
        self.legacy_ranker()

    def legacy_ranker(self) -> None:
        """A component still instrumented with mona-client's names, moved over by changing
        its import only (``heron.compat.mona_client``): its ARCs are heron runs of class
        ``legacy_ranker``, its exports theirs (the ``MONA_`` field is discarded)."""
        from heron.compat.mona_client import client

        with client.new_mona_context(arc_class="legacy_ranker"):
            with client.new_mona_sub_context(arc_class="rerank"):
                client.export({"candidates": self.rng.randint(10, 200),
                               "market": self.rng.choice(["us", "eu"]),
                               "MONA_internal": "dropped"})

    def experiment(self) -> None:
        """Participants arriving and finishing, through ``heron.experiment``."""
        from heron import experiment

        now = self._backfill_ts or time.time()
        at = {"app": "stroop-online", "ts": now}
        if self.rng.random() < 0.5 or not self._participants:
            pid = f"p{len(self._participants) + len(self._nodes) + 1}"
            self._participants[pid] = now
            experiment.participant(pid, worker_id=f"W{self.rng.randint(10000, 99999)}",
                                   assignment_id=new_id()[:12], mode="live", base_pay=2.5,
                                   condition=self.rng.choice(["congruent", "incongruent"]),
                                   **at)
            network = self.rng.choice(self._networks)
            experiment.network(network, role="experiment" if network != "net-1"
                               else "practice", max_size=50, **at)
            node = f"n{len(self._nodes) + 1}"
            self._nodes.append(node)
            experiment.node(node, network_id=network, participant_id=pid, type="agent", **at)
            info = f"i{len(self._nodes)}"
            experiment.info(info, origin_id=node, type="response",
                            contents=self.rng.choice(["red", "blue"]), **at)
            chain = self._chains.setdefault(network, [])
            if chain:  # a chain, as Dallinger's: the newest node before it, in its network
                other = chain[-1]
                experiment.vector(f"v{node}", origin_id=other, destination_id=node,
                                  network_id=network, **at)
                experiment.transmission(f"t{node}", origin_id=other, destination_id=node,
                                        info_id="i" + other.removeprefix("n"),  # its info
                                        status=self.rng.choice(["pending", "received"]), **at)
            chain.append(node)
        finished = [p for p, t in self._participants.items() if now - t > 20]
        if finished:
            pid = self.rng.choice(finished)
            del self._participants[pid]
            experiment.participant(pid, status=self.rng.choice(STATUSES), end_ts=now,
                                   bonus=round(self.rng.uniform(0, 1), 2), **at)

    def rig(self) -> None:
        """A session's history, one stage a call: every time in it is the back-dated
        clock's, so its stages follow one another inside the session's own span."""
        now = self._backfill_ts or time.time()
        if self._session is None:
            self._session = {"id": new_id(), "start": now, "stage": 0, "last": now - 1}
            self.emit(ev.SessionStart(app="rig-2", session_id=self._session["id"],
                                      name="grating", subject_id="mouse-42", user_id="ana",
                                      host=socket.gethostname(), params={"trials": 40}))
        session = self._session
        stages = ["setup", "pre_acquisition", "acquisition", "post_acquisition", "cleanup"]
        stage = stages[session["stage"]]
        self.emit(ev.SessionStep(app="rig-2", session_id=session["id"], stage=stage,
                                 module=f"{stage}_check", start_ts=session["last"],
                                 end_ts=now))
        session["last"] = now
        self.emit(ev.Resource(app="rig-2", session_id=session["id"],
                              cpu_percent=self.rng.uniform(5, 60),
                              rss_bytes=self.rng.randint(100, 400) * 2**20,
                              sys_cpu_percent=self.rng.uniform(5, 80),
                              sys_memory_percent=self.rng.uniform(20, 70),
                              disk_free_bytes=self.rng.randint(50, 60) * 2**30))
        self.emit(ev.Log(app="rig-2", level=20, logger="rig.launcher",
                         message=f"stage {stage} finished", session_id=session["id"]))
        session["stage"] += 1
        if session["stage"] == len(stages):
            self.emit(ev.SessionEnd(app="rig-2", session_id=session["id"], outcome="ok",
                                    stage="cleanup"))
            self._session = None

    def log(self) -> None:
        """Steady log lines with occasional warnings and errors (through logging and
        heron.LogHandler live; back-dated events for the history)."""
        user = f"user{self.rng.randint(1, 12)}"
        roll = self.rng.random()
        if self._backfill_ts is not None:
            level, text = (40, f"feature store timed out for {user}") if roll < 0.03 else \
                (20, f"ranked candidates for {user}")
            self.emit(ev.Log(app="recommender-api", level=level, logger="recommender",
                             message=text))
            return
        log = logging.getLogger("recommender")
        if roll < 0.03:
            try:
                raise TimeoutError(f"feature store did not answer within 250 ms for {user}")
            except TimeoutError:
                log.exception("ranking failed for %s", user)
        elif roll < 0.1:
            log.warning("cache miss rate %.0f%% for %s", self.rng.uniform(20, 60), user)
        else:
            log.info("ranked %d candidates for %s", self.rng.randint(5, 50), user,
                     extra={"user": user})

    # -- loop ------------------------------------------------------------------------------
    def tick(self) -> None:
        """One round: now and then every source (the web service is real: heron.demo.web)."""
        self._n += 1
        if self._n % 2 == 0:
            self.algorithm(self._backfill_ts)
            self.log()
        if self._n % 3 == 0:
            self.experiment()
        if self._n % 5 == 0 and self._backfill_ts is not None:
            self.rig()  # history only: live sessions are real ones (heron.demo.rig)
        if self._n % 1200 == 0 and self._backfill_ts is None:  # a CI build every 10 min
            self.suite.build()

    def start(self, interval: float = 0.5) -> threading.Thread:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.tick()
                except Exception:  # the demo keeps going; say what broke
                    logger.exception("demo tick failed")

        thread = threading.Thread(target=loop, name="heron-demo", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def start_in_worker(database: str, prefix: str, interval: float = 0.5, *,
                    server: str | None = None, ingest_token: str | None = None) -> DemoLab:
    """Start the simulated lab in this (gunicorn worker) process, recording locally;
    with the demo server's address and ingest token, ``otel-service`` sends
    OpenTelemetry to it as well."""
    # /metrics of the bound recommender-api answers loopback callers without a token
    heron.init(app="recommender-api", database=database, table_prefix=prefix,
               app_version="1.5.0", capture_logs=True, metrics_allow=["127.0.0.1"],
               metrics_exports=["confidence", "latency_ms", "checkout.orders"])
    lab = DemoLab(heron.emit)
    lab.history()  # half an hour of it
    lab.start(interval)
    web = DemoWeb(heron.api.local_store())
    web.history()
    web.start(interval)
    scratch = Path(tempfile.gettempdir())
    rig = DemoRig(scratch / f"heron-demo-sessions-{os.getpid()}")
    rig.start()
    demo_alerts(heron.api.local_store(), f"http://127.0.0.1:{rig.receiver.server_port}/hooks/demo")
    dallinger = DemoDallinger(scratch / f"heron-demo-dallinger-{os.getpid()}.db")
    dallinger.start()
    if server is not None and ingest_token is not None:
        DemoOtel(server, ingest_token).start()
    logger.info("demo lab started in process %d; its web service at %s", os.getpid(),
                web.base)
    # the two other ports the demo opens, on the loopback address only
    print(f"Also listening on 127.0.0.1 (loopback only): the simulated web service "
          f"recommender-api at {web.base}/ and the webhook receiver of the demo's alerts at "
          f"http://127.0.0.1:{rig.receiver.server_port}/hooks/", flush=True)
    print(f"Prometheus' view of recommender-api (scraped by nothing here): "
          f"curl {web.base}/{heron_config.get().CUSTOM_LINK}/metrics", flush=True)
    return lab


def demo_alerts(store: Store, webhook: str) -> None:
    """An "Errors" saved search with a rule posting to the demo's own webhook receiver,
    and a metric rule on the web service's error rate (kept across demo restarts; the
    receiver's port is new each time)."""
    from heron.logs.rules import parse_rule
    from heron.store.queries import alerts

    seq = alerts.save_search(store, "Errors", {"q": "level:error"}, "demo")
    wanted = {
        "Errors to the demo receiver": {"saved_search": seq, "quiet": "5m"},
        "recommender-api error rate": {"metric": "error_rate", "app": "recommender-api",
                                       "above": 0.15, "threshold": 20, "quiet": "10m"},
    }
    existing = {r["name"]: r for r in alerts.rules(store)}
    for name, rule in wanted.items():
        if name in existing:
            alerts.update_rule_state(store, existing[name]["seq"], webhook_url=webhook)
        else:
            alerts.add_rule(store, parse_rule({"name": name, "webhook_url": webhook,
                                               "frequency": "1m", **rule}, "demo"))
