"""The Monitoring tab in a real browser (Debian's Chromium) for experiments of growing size:
time from opening the page to a settled drawing, and how long the page's main thread is
blocked at worst meanwhile (a probe runs every 50 ms; its largest delay is the longest freeze).

Baseline, measured in the same run: a small experiment (10 networks, 50 nodes).
Dallinger's monitoring page fails with many networks (its issue #2311); the goal here is
5,000 nodes in 1,000 networks without freezing the page.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import WSGIRequestHandler, make_server

from heron import config as heron_config
from heron import events as ev
from heron.auth.tokens import create_login_token
from heron.server import create_app, prepare
from heron.store import open_store

SIZES = [(10, 5), (100, 10), (1_000, 5), (2_000, 5)]  # (networks, nodes per network)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
PROBE = """() => { window.__worst = 0; let last = performance.now();
  setInterval(() => { const now = performance.now();
    window.__worst = Math.max(window.__worst, now - last - 50); last = now; }, 50); }"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = heron_config.configure(DATABASE=f"sqlite:///{Path(tmp) / 'graph.db'}",
                                     PASSWORD="bench-password-1", SECRET_KEY="x" * 32)
        store = open_store(cfg.DATABASE, cfg.TABLE_PREFIX)
        prepare(store, cfg)
        for networks, per in SIZES:
            app = f"g{networks}"
            store.ingest([ev.Network(app=app, network_id=f"net{i}", role="exp")
                          for i in range(networks)])
            store.ingest([ev.Node(app=app, node_id=f"n{i}-{j}", network_id=f"net{i}",
                                  type="agent" if j else "source")
                          for i in range(networks) for j in range(per)])
        class Quiet(WSGIRequestHandler):
            def log_request(self, *args: object, **kwargs: object) -> None:
                pass

        server = make_server("127.0.0.1", 0, create_app(cfg, store=store), threaded=True,
                             request_handler=Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}/dashboard"
        print(f"{'experiment':28} {'settled in':>11} {'× baseline':>11} {'worst freeze':>13}"
              f" {'drawn':>22}")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/login/token/{create_login_token(store, cfg.USERNAME)}")
            baseline = None
            for networks, per in SIZES:
                page.add_init_script(f"({PROBE})()")
                started = time.perf_counter()
                page.goto(f"{base}/monitoring?app=g{networks}")
                page.wait_for_function(
                    "document.getElementById('network-graph').dataset.ready === '1'",
                    timeout=120_000)
                seconds = time.perf_counter() - started
                worst = page.evaluate("window.__worst")
                drawn = page.evaluate("window.heronGraph.body.data.nodes.length")
                baseline = baseline or seconds
                label = f"{networks:,} networks, {networks * per:,} nodes"
                print(f"{label:28} {seconds:10.2f}s {seconds / baseline:11.1f} "
                      f"{worst:11.0f}ms {drawn:>15,} items")
            browser.close()
        server.shutdown()
        store.dispose()


if __name__ == "__main__":
    sys.exit(main())
