"""``ProcessSink``: batches written into the local store by a writer process of heron's own.

A web app's request threads share one interpreter (one GIL) with heron's writer: making
events, their ids and their rows took most of what monitoring cost a request (issue 16:
the writer's work was about three quarters of level 1's CPU). Here the app's recorder
thread only encodes each batch as it was queued (``put()`` tuples and events, MessagePack)
and pipes it to ``python -m heron.sinks.writer_process``, which makes the events, gives
them their ids and ingests them in one transaction, then answers ``ok``.

* ``write()`` returns when the writer has committed the batch, so ``flush()`` still means
  stored. A batch the writer refused, or lost when it died, raises: the recorder retries
  the same batch, which is sent byte for byte as before (the same id base), so the ledger
  stores it once.
* One bad item never holds back the rest (:mod:`heron.setaside`): lone surrogates are
  replaced before encoding; an item MessagePack cannot carry, one that cannot be made
  into an event, or one the database refuses for its values is set aside (the writer
  names it by index and reason) into the recorder's dead-letter file, counted as
  ``rejected``.
* The writer starts with the first batch, in a session of its own (a Ctrl-C in the
  terminal reaches the app, which then flushes), and ends when the app closes the pipe,
  even if the app was killed. After ``fork()`` each process starts its own writer.
* When no writer can be started (an embedded interpreter without a Python executable),
  batches are written in this process, as ``LocalSink`` does, and heron says so once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import msgspec

from heron._internal import logger
from heron.events import random_base
from heron.setaside import reason_of, repair
from heron.store import Store

_encoder = msgspec.msgpack.Encoder()


class WriterError(RuntimeError):
    """The writer process refused a batch or ended; the batch is retried."""


class ProcessSink:
    takes_tuples = True
    #: Fewer, larger batches than the recorder's default (2,000 or every 0.2 s): each batch
    #: costs the writer the same fixed work however small it is (a dozen statements and a
    #: commit): 0.2–0.3 ms with its caches warm, 1–2 ms in a running app, where batches of
    #: ~1,000 cost 4.5–4.9 µs a request against 3.8–4.2 for 2,000 (issue 16). Stored
    #: within a second of the request; ``flush()`` still writes at once.
    batch_size = 10_000
    interval = 1.0

    def __init__(self, store: Store):
        self.store = store  #: read in this process (the dashboard, monitor levels)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None
        self._pid = os.getpid()
        # the batch, what was sent of it (repaired) and its payload: a retry resends it
        self._last: tuple[list[Any], list[Any], bytes] | None = None
        self._recorder: Any = None
        self._in_process = False
        self._lock = threading.Lock()

    def attach(self, recorder: Any) -> None:
        self._recorder = recorder

    # -- the recorder's side -----------------------------------------------------------
    def write(self, batch: list[Any]) -> None:
        with self._lock:
            if self._in_process:
                self._write_here(batch)
                return
            last = self._last
            if last is not None and last[0] is batch:  # a retry: the very same bytes
                sent, payload = last[1], last[2]
            else:
                sent, payload, problems, repaired = _encode(batch)
                self._last = (batch, sent, payload)
                for item, reason in problems:
                    self._set_aside(item, reason)
                if repaired and self._recorder is not None:
                    self._recorder.dead_letters.note_repaired(repaired)
                    self._recorder.stats.repaired = self._recorder.dead_letters.repaired
            proc = self._process()
            if proc is None:
                self._write_here(batch)
                return
            try:
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(len(payload).to_bytes(4, "big") + payload)
                proc.stdin.flush()
                answer = proc.stdout.readline()
            except OSError as exc:
                self._end(kill=True)
                raise WriterError(f"heron's writer process ended: {exc}") from None
            if not answer:
                reason = self._stderr_tail()
                self._end(kill=True)
                raise WriterError(f"heron's writer process ended{': ' + reason if reason else ''}")
            status, _, rest = answer.decode("utf-8", "replace").rstrip("\n").partition(" ")
            if status != "ok":
                raise WriterError(f"heron's writer process could not store a batch: {rest}")
            self._last = None
            for index, reason in json.loads(rest or "[]"):  # what the writer set aside
                self._set_aside(sent[index], reason)

    def close(self) -> None:
        with self._lock:
            self._end(kill=False)

    # -- helpers -----------------------------------------------------------------------
    def _set_aside(self, item: Any, reason: str) -> None:
        recorder = self._recorder
        if recorder is not None:
            recorder.dead_letters.set_aside(item, reason)
            recorder.stats.rejected = recorder.dead_letters.rejected
        else:
            logger.warning("heron set aside an event it cannot store: %s", reason)

    def _process(self) -> subprocess.Popen[bytes] | None:
        if self._pid != os.getpid():  # forked: the writer is the parent's
            inherited = self._proc
            if inherited is not None:  # let go of the parent's pipe, so its writer still
                for stream in (inherited.stdin, inherited.stdout):  # sees it close
                    try:
                        if stream is not None:
                            stream.close()
                    except OSError:
                        pass
                inherited.returncode = 0  # not ours to wait for
            self._proc, self._stderr, self._pid, self._last = None, None, os.getpid(), None
        proc = self._proc
        if proc is not None and proc.poll() is None:
            return proc
        if proc is not None:
            self._end(kill=True)
        try:
            self._proc = self._start()
        except OSError as exc:
            logger.warning("heron: no writer process could be started (%s); writing in "
                           "this process instead", exc)
            self._in_process = True
            return None
        return self._proc

    def _start(self) -> subprocess.Popen[bytes]:
        from heron.recorder import MAKERS

        executable = sys.executable
        if not executable or not os.access(executable, os.X_OK):
            raise OSError(f"no Python executable (sys.executable is {executable!r})")
        modules = sorted({maker.__module__ for maker in MAKERS.values()})
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])  # heron importable there
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root,
                                                           env.get("PYTHONPATH")]))
        self._stderr = tempfile.TemporaryFile()
        url = self.store.engine.url.render_as_string(hide_password=False)
        return subprocess.Popen(
            [executable, "-m", "heron.sinks.writer_process", url, self.store.prefix,
             json.dumps(modules)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            close_fds=True, start_new_session=True)

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1] if lines else ""
        except (OSError, AttributeError):
            return ""

    def _end(self, *, kill: bool) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and self._pid == os.getpid():
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(0 if kill else 30)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
            for stream in (proc.stdout,):
                if stream is not None:
                    stream.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _write_here(self, batch: list[Any]) -> None:
        from heron.sinks.writer_process import store_batch

        for index, reason in store_batch(self.store, batch, None):
            self._set_aside(batch[index], reason)


def _encode(batch: list[Any]) -> tuple[list[Any], bytes, list[tuple[Any, str]], int]:
    """``[id base, items]`` as MessagePack: returns the items sent (lone surrogates
    replaced), the payload, the items left out with the reason (what MessagePack cannot
    carry) and how many were repaired, so one odd value never stops the batch."""
    base = random_base()
    try:
        return batch, _encoder.encode([base, batch]), [], 0
    except (TypeError, ValueError, OverflowError, UnicodeError, RecursionError):
        pass
    kept: list[Any] = []
    problems: list[tuple[Any, str]] = []
    repaired = 0
    for item in batch:
        try:
            _encoder.encode(item)
        except Exception as exc:  # noqa: BLE001 - any value a caller handed over
            fixed = repair(item) if isinstance(exc, UnicodeError) else None
            if fixed is None:
                problems.append((item, reason_of(exc)))
                continue
            item = fixed
            repaired += 1
        kept.append(item)
    return kept, _encoder.encode([base, kept]), problems, repaired
