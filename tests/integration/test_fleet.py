"""A fleet as deployed (issue 23): PostgreSQL, two ``heron serve`` processes and HAProxy
in front of them, three clients sending 200,000 events through the balancer, and one
server SIGKILLed in the middle. Every event is stored exactly once, an alert fires once
across both servers, and the dashboard works through the balancer with a login made on
one server valid on the other.

HAProxy is Debian's (``scripts/test_prereqs.sh`` installs it); every address is 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from heron import config as heron_config
from heron import events as ev
from heron.server import prepare
from heron.store import Store, open_store
from tests.conftest import POSTGRES_URL, _drop_prefixed, _require_postgres, free_port
from tests.integration.test_alerts import Receiver
from tests.procs import Proc, wait_http

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fleet-ingest-token"
PASSWORD = "fleet-admin-pass"
CLIENTS = 3
EVENTS = 200_000


def haproxy() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy")
                                        .exists() else None)
    if found is None:
        pytest.fail("the fleet test needs HAProxy; run scripts/test_prereqs.sh or "
                    "apt-get install -y haproxy", pytrace=False)
    return found


class Fleet:
    """Two servers on one PostgreSQL store behind HAProxy."""

    def __init__(self, folder: Path, prefix: str, webhook: str) -> None:
        self.folder = folder
        self.config_file = folder / "heron.toml"
        self.config_file.write_text(f"""
database = "{POSTGRES_URL}"
table_prefix = "{prefix}"
password = "{PASSWORD}"
ingest_token = "{TOKEN}"

[[alerts]]
name = "Fleet errors"
query = "level:error"
app = "fleet-0"
webhook_url = "{webhook}"
frequency = "1m"
threshold = 1
quiet = "10m"
""", encoding="utf-8")
        self.ports = {"a": free_port(), "b": free_port()}
        self.port = free_port()
        self.servers: dict[str, Proc] = {}
        self.balancer: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"HERON_CONFIG": str(self.config_file), "PYTHONPATH": str(ROOT)}

    def start(self) -> None:
        for name, port in self.ports.items():  # together, as a deployment starts them
            self.servers[name] = Proc(["serve", "--port", str(port)], self.env())
        for port in self.ports.values():
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        cfg = self.folder / "haproxy.cfg"
        cfg.write_text(f"""
global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    option http-server-close
frontend fleet
    bind 127.0.0.1:{self.port}
    default_backend heron
backend heron
    balance roundrobin
    option httpchk GET /healthz
    http-response set-header X-Heron-Backend %s
    server a 127.0.0.1:{self.ports["a"]} check inter 300 fall 1 rise 2
    server b 127.0.0.1:{self.ports["b"]} check inter 300 fall 1 rise 2
""", encoding="utf-8")
        check = subprocess.run([haproxy(), "-c", "-f", str(cfg)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.balancer = Proc([haproxy(), "-db", "-f", str(cfg)], raw=True)
        wait_http(f"{self.url}/healthz")

    def kill(self, name: str) -> None:
        """SIGKILL a server: its gunicorn master and worker, mid-request."""
        proc = self.servers[name].proc
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in [self.balancer, *self.servers.values()]:
            if proc is not None:
                proc.stop()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[Fleet, Store, Receiver]]:
    _require_postgres()
    haproxy()
    prefix = f"fleet_{secrets.token_hex(3)}_"
    receiver = Receiver()
    fleet = Fleet(tmp_path, prefix, receiver.url)
    store = open_store(POSTGRES_URL, prefix)
    try:
        yield fleet, store, receiver
    finally:
        fleet.stop()
        receiver.close()
        store.dispose()
        _drop_prefixed(POSTGRES_URL, prefix)


def exports(store: Store, app: str) -> tuple[int, int, int]:
    """(rows, distinct ids, distinct values of i) of ``app``'s exports."""
    table = store.table("export")
    with store.read() as conn:
        rows, ids = conn.execute(select(func.count(), func.count(table.c.id.distinct()))
                                 .where(table.c.app == app)).one()
        values = conn.exec_driver_sql(
            f"SELECT count(DISTINCT metrics->>'i') FROM {table.name} WHERE app = %s",
            (app,)).scalar()
    return int(rows), int(ids), int(values or 0)


def test_two_servers_behind_haproxy_lose_nothing_when_one_is_killed(fleet, tmp_path: Path
                                                                   ) -> None:  # type: ignore[no-untyped-def]
    fleet_, store, receiver = fleet
    # the rule exists before the errors are written (a rule counts lines since it was made)
    prepare(store, heron_config.Config.load(file=fleet_.config_file, environ={}))
    store.ingest([ev.Log(app="fleet-0", level=40, logger="app", message=f"failure {n}")
                  for n in range(3)])
    fleet_.start()

    # -- the dashboard through the balancer: one login, valid on both servers ----------
    browser = requests.Session()
    page = browser.get(f"{fleet_.url}/dashboard/login", timeout=30)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    logged = browser.post(f"{fleet_.url}/dashboard/login", timeout=30, allow_redirects=False,
                          data={"username": "admin", "password": PASSWORD,
                                "csrf_token": token})
    assert logged.status_code == 302, logged.text[:500]
    served_by = set()
    for _ in range(6):
        home = browser.get(f"{fleet_.url}/dashboard/", timeout=30, allow_redirects=False)
        assert home.status_code == 200 and "Log out" in home.text
        served_by.add(home.headers["X-Heron-Backend"])
    assert served_by == {"a", "b"}

    # -- three clients, 200,000 events, server a killed in the middle -------------------
    per_client = EVENTS // CLIENTS + 1
    clients = [Proc([sys.executable, str(ROOT / "tests/data/fleet_client.py"), fleet_.url,
                     TOKEN, f"fleet-{n}", str(per_client), str(tmp_path / f"spool-{n}")],
                    {"PYTHONPATH": str(ROOT)}, raw=True) for n in range(CLIENTS)]
    deadline = time.monotonic() + 120
    while sum(exports(store, f"fleet-{n}")[0] for n in range(CLIENTS)) < EVENTS * 0.3:
        assert time.monotonic() < deadline, "the fleet stored too little in 120 s"
        assert all(c.proc.poll() is None for c in clients), [c.lines for c in clients]
        time.sleep(0.05)
    stored_before_kill = sum(exports(store, f"fleet-{n}")[0] for n in range(CLIENTS))
    fleet_.kill("a")
    for client in clients:
        done = client.wait_for_line(r"delivered \d+ spool_bytes=0 dropped=0 retried=(\d+)",
                                    timeout=300)
        print(f"{client.proc.args[4]}: {done.group(0)}")  # the retries the kill caused
        assert client.proc.wait(60) == 0
        client.stop()
    assert stored_before_kill < EVENTS  # the kill fell in the middle of delivery
    for n in range(CLIENTS):
        assert exports(store, f"fleet-{n}") == (per_client, per_client, per_client)

    # -- the dashboard still works, on the server that is left ------------------------
    home = browser.get(f"{fleet_.url}/dashboard/", timeout=30, allow_redirects=False)
    assert home.status_code == 200 and home.headers["X-Heron-Backend"] == "b"

    # -- the alert fired once, though both servers check rules -------------------------
    deadline = time.monotonic() + 30
    while not receiver.posts and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(6)  # a second check of either server would have come by now
    assert len(receiver.posts) == 1
    assert "Fleet errors" in str(receiver.posts[0])
    with store.read() as conn:
        deliveries = conn.exec_driver_sql(
            f"SELECT count(*) FROM {store.table('alert_delivery').name}").scalar()
    assert deliveries == 1
