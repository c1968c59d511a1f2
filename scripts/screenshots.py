"""Screenshots of the demo, page by page, for the README and docs/getting-started.md.

``make screenshots`` runs it: it starts ``heron demo`` on a free loopback port with a
fresh store in a temporary folder, lets the simulated lab run for a while, logs in with
the one-time link the demo prints, and saves each page at 1,440 × 900 (Debian's Chromium,
driven by Playwright) into ``docs/img/``. Any console error or failed request on a page
stops it, so a broken page is never photographed as if it were fine.

    python scripts/screenshots.py [--out docs/img] [--warmup 40]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]

#: (file name, path under the dashboard, a link on it to follow or None, what the page
#: shows: the alt text in the docs)
PAGES = [
    ("home", "/", None, "Apps: every app with its events, health and latest events"),
    ("runs", "/runs?app=recommender-api", None, "Runs of the recommender's algorithm"),
    ("run-class", "/runs?app=recommender-api", "a[href*='/runs/recommender-api/']",
     "One run class: its metrics over runs, and every run"),
    ("sessions", "/sessions?app=rig-2", None, "The rig's sessions"),
    ("session", "/sessions?app=rig-2", "a[href*='/sessions/']:not([href*='?'])",
     "One session: its stages, resources and log"),
    ("logs", "/logs", None, "Every app's logs, searchable and live"),
    ("alerts", "/alerts", None, "Alert rules and their webhooks"),
    ("endpoints", "/endpoints?app=recommender-api", None, "The recommender's endpoints"),
    ("endpoint", "/endpoints?app=recommender-api", "a[href*='/endpoints/e/']",
     "One endpoint: load, durations, versions, users and profiles"),
    ("tests", "/tests?app=recommender-api", None,
     "Test Monitor: the recommender's tests per build, the slower test flagged"),
    ("monitoring", "/monitoring?app=stroop-online", None, "The experiment's networks, live"),
    ("database", "/database?app=stroop-online", None, "The Stroop experiment's participants"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_demo(folder: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    """``heron demo`` in its own session; returns it and its one-time login link."""
    env = {**os.environ, "HERON_CONFIG": str(folder / "none.toml"), "HERON_PORT": str(port)}
    env.pop("HERON_DATABASE", None)
    (folder / "none.toml").write_text("", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "heron.cli", "demo", "--port", str(port),
         "--database", f"sqlite:///{folder / 'demo.db'}"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if match := re.search(r"One-time login link .*: (\S+)", line):
            return proc, match.group(1)
    proc.kill()
    raise SystemExit("heron demo did not print its login link")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img", help="folder for the PNG files")
    parser.add_argument("--warmup", type=float, default=40,
                        help="seconds the demo runs before the first screenshot")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="heron-shots-") as tmp:
        port = free_port()
        proc, link = start_demo(Path(tmp), port)
        try:
            base = link.split("/login/token/")[0]
            time.sleep(args.warmup)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=ARGS)
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                page = context.new_page()
                problems: list[str] = []
                page.on("console", lambda m: problems.append(m.text)
                        if m.type == "error" else None)
                page.on("pageerror", lambda exc: problems.append(str(exc)))
                page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}")
                        if r.failure != "net::ERR_ABORTED" else None)  # a page left
                page.goto(link)
                for name, path, follow, _ in PAGES:
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    if follow is not None:
                        page.locator(follow).first.click()
                        page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(1500)  # charts animate in
                    page.screenshot(path=str(out / f"{name}.png"))
                    if problems:
                        raise SystemExit(f"{path}: {problems}")
                    print(f"{out / name}.png  {page.url.removeprefix(base)}")
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
