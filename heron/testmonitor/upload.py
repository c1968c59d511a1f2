"""Where a test run's results go: a local JSON report, and the heron server in one batch.

Sending goes through the client's own :class:`heron.sinks.http.HttpSink`: the batch is
spooled first, retried for a few seconds, and what the server did not take waits in the
spool (``<SPOOL_DIR>/tests``) for the next run, which sends it before its own.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest


def server_url(url: str) -> str:
    """The server's base URL from what a user gives: the server's own address, or its
    dashboard's (a trailing ``/dashboard`` is dropped, as FMD's ``--url`` names it)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise pytest.UsageError(f"--heron-url must be an http:// or https:// address, not "
                                f"{url!r}")
    path = parts.path.rstrip("/")
    if path.endswith("/dashboard"):
        path = path.removesuffix("/dashboard")
    return f"{parts.scheme}://{parts.netloc}{path}"


def spool_dir() -> Path:
    from heron.sinks.spool import default_spool_dir

    base = os.environ.get("HERON_SPOOL_DIR")
    return (Path(base) if base else default_spool_dir()) / "tests"


@dataclass(frozen=True)
class Sent:
    ok: bool
    reason: str | None
    spool: Path


def send(url: str, token: str | None, events: list[Any]) -> Sent:
    """Send ``events`` (with anything an earlier run left in the spool); ``ok`` when the
    server took them all."""
    from heron.events import ensure_ids
    from heron.sinks.http import HttpSink

    ensure_ids(events)  # fixed before spooling: a batch sent twice is stored once
    folder = spool_dir()
    sink = HttpSink(url, token, spool_dir=folder, timeout=10.0)
    quiet = logging.getLogger("heron")
    was = quiet.disabled
    quiet.disabled = True  # the plugin says it once, in pytest's summary
    try:
        sink.write(events)
        sink.close()  # delivers for up to a few seconds more
    finally:
        quiet.disabled = was
    return Sent(sink.stats.sent >= len(events), sink.last_error, folder)


def write_report(path: Path, monitor: Any, events: list[Any]) -> None:
    """The run as JSON: build, app, repeats and every test's outcome, durations and
    endpoints."""
    build = monitor.build
    document = {
        "build": {"id": build.id, "ci": build.ci, "commit": build.commit},
        "app": events[0].app if events else None,
        "version": events[0].version if events else None,
        "times": monitor.times,
        "run_id": monitor.run_id,
        "tests": [{"test_name": e.test_name, "suite": e.suite, "outcome": e.outcome,
                   "duration_ms": e.duration_ms, "durations_ms": e.durations_ms,
                   "endpoints": e.endpoints, "ts": e.ts} for e in events],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
