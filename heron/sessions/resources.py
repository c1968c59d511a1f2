"""The session's resource sampler: one thread, a sample every N seconds.

Each sample: CPU percent and memory (RSS) of this process and its children, system CPU and
memory, and the free space of the output folder's disk; appended to
``resource_usage.jsonl`` and sent as a ``resource`` event. Child processes appearing and
ending are logged, and low disk space is warned about once per crossing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from heron.client.context import ContextThread

log = logging.getLogger("session.resources")


class ResourceSampler:
    def __init__(self, path: Path, disk: Path, interval: float, low_disk_bytes: int,
                 on_sample: Callable[[dict[str, Any]], None]):
        self.path = path
        self.disk = disk
        self.interval = interval
        self.low_disk_bytes = low_disk_bytes
        self.on_sample = on_sample
        self.samples: list[dict[str, Any]] = []
        self._process = psutil.Process()
        self._children: dict[int, str] = {}
        self._low = False
        self._stop = threading.Event()
        self._thread = ContextThread(target=self._run, name="heron-session-resources",
                                     daemon=True)  # its warnings belong to the session

    def start(self) -> None:
        self._process.cpu_percent(None)  # the first reading starts the measurement
        psutil.cpu_percent(None)
        self.sample()  # the state at the start: memory and disk, CPU from the next one on
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.interval + 5)
        self.sample()  # the last word: state at the end

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - the session goes on without a sample
                log.exception("resource sample failed")

    def sample(self) -> dict[str, Any]:
        children = self._process.children(recursive=True)
        self._note_children(children)
        cpu = self._process.cpu_percent(None)
        rss = self._process.memory_info().rss
        for child in children:
            try:
                cpu += child.cpu_percent(None)
                rss += child.memory_info().rss
            except psutil.Error:
                continue
        disk_free = psutil.disk_usage(str(self.disk)).free
        sample = {"ts": time.time(), "cpu_percent": cpu, "rss_bytes": rss,
                  "children": len(children), "sys_cpu_percent": psutil.cpu_percent(None),
                  "sys_memory_percent": psutil.virtual_memory().percent,
                  "disk_free_bytes": disk_free}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(sample) + "\n")
        self.samples.append(sample)
        if disk_free < self.low_disk_bytes and not self._low:
            self._low = True
            log.warning("free space on %s is low: %.1f GB left", self.disk, disk_free / 1e9)
        elif disk_free >= self.low_disk_bytes:
            self._low = False
        self.on_sample(sample)
        return sample

    def _note_children(self, children: list[psutil.Process]) -> None:
        now = {}
        for child in children:
            try:
                now[child.pid] = " ".join(child.cmdline())[:200] or child.name()
            except psutil.Error:
                continue
        for pid, command in now.items():
            if pid not in self._children:
                log.info("process %d started: %s", pid, command)
        for pid, command in self._children.items():
            if pid not in now:
                log.info("process %d ended: %s", pid, command)
        self._children = now

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {}
        return {"samples": len(self.samples),
                "max_cpu_percent": max(s["cpu_percent"] for s in self.samples),
                "max_rss_bytes": max(s["rss_bytes"] for s in self.samples),
                "min_disk_free_bytes": min(s["disk_free_bytes"] for s in self.samples)}
