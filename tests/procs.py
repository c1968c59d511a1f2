"""Run heron commands as real processes and wait for what they print."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERON = [sys.executable, "-m", "heron.cli"]


class Proc:
    def __init__(self, args: list[str], env: dict[str, str] | None = None, *,
                 cwd: str | os.PathLike[str] | None = None, raw: bool = False):
        """Run ``heron ARGS`` (or, with ``raw``, the command ``args`` itself)."""
        self.lines: list[str] = []
        self.proc = subprocess.Popen(args if raw else HERON + args, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **(env or {})},
                                     start_new_session=True, cwd=cwd)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.lines:
                match = re.search(pattern, line)
                if match:
                    return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            self._reader.join(5)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


def wait_http(url: str, timeout: float = 30) -> None:
    """Wait until ``url`` answers. A connection the server accepted is waited on until the
    deadline (a server booting its workers answers late), not retried: a retried probe
    would be served twice."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=max(1.0, deadline - time.time()))
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


