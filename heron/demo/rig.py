"""The demo's lab rig: a real ``heron.session`` every minute or so, with pipeline modules,
an acquisition child process, resource samples and a central mirror; one session in four
has a post-acquisition module that fails, and its crash report goes to a webhook receiver
the demo runs on 127.0.0.1 (the report shows in the session's log)."""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import heron

log = logging.getLogger("rig.demo")
ACQUISITION = ("import time\n"
               "for frame in range(1, 11):\n"
               "    print(f'frame {frame}/10 shown', flush=True)\n"
               "    time.sleep(0.5)\n")


def check_rig(session) -> bool:  # type: ignore[no-untyped-def]
    logging.getLogger("rig.checks").info("water valve, lick sensor and camera respond")
    return True


def calibrate(contrast: float) -> int:
    logging.getLogger("rig.calibration").info("monitor gamma calibrated for contrast %.2f",
                                              contrast)
    return 0


def copy_data(session) -> None:  # type: ignore[no-untyped-def]
    logging.getLogger("rig.transfer").info("copied %s to the server", session.folder.name)
    # A camera file whose name is not UTF-8, as os.listdir gives it (a lone surrogate):
    # heron stores the line with U+FFFD instead (counted as "repaired"), and nothing
    # behind it waits (issue 17). Search the Logs tab for "camera".
    odd = os.fsdecode(b"cam-\xff.avi")
    logging.getLogger("rig.transfer").info("camera file %s copied", odd)


def make_qc() -> bool:
    logging.getLogger("rig.qc").info("QC plots written")
    return True


def broken_qc() -> bool:
    raise RuntimeError("QC needs the eye-tracking file, which is missing")


class _Receiver(BaseHTTPRequestHandler):
    """The demo's stand-in for a Slack webhook: logs each message it receives (crash
    reports and alerts)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            text = json.loads(body).get("text", "")
        except ValueError:
            text = ""
        logging.getLogger("demo.webhook-receiver").warning(
            "webhook message received: %s", text.splitlines()[0] if text else "(empty)")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")


class DemoRig:
    def __init__(self, folder: Path, every: float = 60.0, seed: int | None = None):
        self.folder = folder
        self.every = every
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self.count = 0
        self.receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        threading.Thread(target=self.receiver.serve_forever, name="heron-demo-receiver",
                         daemon=True).start()
        self.crash_report = {
            "enabled": True, "report_on": ["exception", "post_acquisition"],
            "webhook_url": f"http://127.0.0.1:{self.receiver.server_port}/hooks/rig-2"}

    def run_one(self) -> None:
        self.count += 1
        qc = broken_qc if self.count % 4 == 0 else make_qc
        with heron.session(self.folder, subject_id=self.rng.choice(["mouse-42", "mouse-43"]),
                           user_id="ana", name="grating", app="rig-2",
                           params={"trials": 40, "contrast": 0.8}, resource_interval=2.0,
                           centralized_log_directory=self.folder / "central",
                           crash_report=self.crash_report) as s:
            s.run_pipeline("pre_acquisition", [check_rig, calibrate])
            s.spawn([sys.executable, "-c", ACQUISITION])
            s.run_pipeline("post_acquisition", [copy_data, qc])

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_one()
                except Exception:  # noqa: BLE001 - the demo goes on
                    log.exception("demo session failed")
                self._stop.wait(self.every)

        threading.Thread(target=loop, name="heron-demo-rig", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.receiver.shutdown()
