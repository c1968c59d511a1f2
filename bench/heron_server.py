"""A ``heron serve`` for a bench: a real server process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def heron_serve(database: str, prefix: str, token: str) -> Iterator[int]:
    """``heron serve`` on ``database`` (tables named ``prefix…``) with ingest token
    ``token``, answering on the port it yields; stopped (SIGTERM) at the end."""
    port = free_port()
    env = {**os.environ, "HERON_INGEST_TOKEN": token, "HERON_TABLE_PREFIX": prefix}
    server = subprocess.Popen([sys.executable, "-m", "heron.cli", "serve", "--port",
                               str(port), "--database", database], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(30)
