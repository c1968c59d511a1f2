"""HttpSink: deliver batches to a heron server, losing nothing.

Every batch the recorder hands over is first appended to the on-disk spool (one
sequential write, on the recorder's thread, never the caller's), then the spool is
delivered oldest first over one kept-alive connection, each record committed only after
the server answered. So:

* a server that is down, slow or answering 5xx only delays delivery; batches wait on disk
  and go out in order when it answers again, also after this process restarts (a new
  process adopts the spool folders of dead ones);
* a batch whose answer was lost is sent again, and the server's idempotent ingest stores
  it once: delivered exactly once;
* two batches are in flight at a time (the spool's oldest on the recorder's thread, the
  next on a sender thread), so the client's, the server's and the database's work
  overlap. They are committed in order: when the oldest fails, the next is sent again
  later, whatever it was answered, and stored once;
* only a full spool drops events; drops are counted, logged and reported to the server as a
  ``log`` event as soon as it answers;
* events the server refuses (422 names them, 400 refuses a whole batch) are set aside into
  the dead-letter file with its reason (:mod:`heron.setaside`), counted as ``rejected``;
* a batch the server keeps answering with a 5xx (:data:`SPLIT_AFTER` times) is sent in
  halves until the event it fails on is found and set aside; when every part fails, the
  server is down, and the batch waits.

Retries back off exponentially with jitter, so a fleet of clients does not hammer a server
that is coming back.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3

from heron._internal import RateLimitedWarning, inside_heron
from heron.events import Event, Log, encode, new_id
from heron.sinks.spool import Spool, default_spool_dir

logger = logging.getLogger("heron")

MAX_BACKOFF = 30.0
SPLIT_AFTER = 3  # 5xx answers to one batch before it is split to find a poison event
#: Answers that say the server (its store, or a proxy in front) cannot take anything now:
#: never a sign that an event is poison, however often they come.
UNAVAILABLE = frozenset({502, 503, 504})
DRAIN_SLICE = 1.0  # seconds of delivery per call, so flushes and new batches are not starved


@dataclass
class DeliveryStats:
    sent: int = 0
    spooled: int = 0
    retried: int = 0
    dropped: int = 0
    rejected: int = 0
    corrupt_records: int = 0


class HttpSink:
    """Send batches to ``url`` (a heron server) with ``token``; spool what cannot go yet.

    :param spool_dir: folder of the spool (default: ``heron/spool`` in the user cache).
    :param spool_max_bytes: size cap of the spool; past it new batches are dropped.
    :param timeout: seconds to connect and to wait for an answer.
    """

    #: Every batch goes to disk at once (the recorder waits for room rather than drop).
    spools = True

    def __init__(self, url: str, token: str | None, *, app: str = "default",
                 spool_dir: str | os.PathLike[str] | None = None,
                 spool_max_bytes: int = 1024 * 1024 * 1024, timeout: float = 10.0):
        self.url = url.rstrip("/") + "/api/v1/events"
        self.app = app
        self.headers = {"Content-Type": "application/json", "Content-Encoding": "gzip",
                        "User-Agent": "heron-client"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.spool_dir = Path(spool_dir) if spool_dir is not None else default_spool_dir()
        self.spool_max_bytes = spool_max_bytes
        self.timeout = timeout
        self.stats = DeliveryStats()
        self._unreported_drops = 0
        self._retry_at = 0.0
        self._failures = 0
        self._lock = threading.Lock()
        self._warn = RateLimitedWarning(30.0)
        self._drop_warn = RateLimitedWarning(30.0)
        self._high_water = 4_000
        self._spool: Spool | None = None
        self._http: urllib3.PoolManager | None = None
        self._backlog: Callable[[], int] = lambda: 0
        self._dead: Any = None  # the recorder's DeadLetters
        self.last_error: str | None = None
        self._head_failures = 0  # 5xx answers to the spool's oldest batch in a row
        self._next_look = 0.0  # when idle() next looks for folders left behind
        self._sender: ThreadPoolExecutor | None = None  # sends the second batch in flight
        self._client = new_id()  # this process's name in the server's client reports
        os.register_at_fork(after_in_child=self._after_fork)

    # -- set-up ------------------------------------------------------------------------
    def attach(self, recorder: Any) -> None:
        """Let the sink see the recorder's backlog (the recorder calls this)."""
        self._backlog = recorder.backlog
        self._high_water = recorder.batch_size * 2
        self._dead = recorder.dead_letters

    def _after_fork(self) -> None:
        self._client = new_id()
        # The parent keeps its spool folder and connection; the child opens its own.
        self._spool = None
        self._http = None
        self._sender = None  # the parent's thread is not in the child
        self._lock = threading.Lock()
        self.stats = DeliveryStats()

    @property
    def spool(self) -> Spool:
        if self._spool is None:
            self._spool = Spool(self.spool_dir, self.spool_max_bytes, name="client")
        return self._spool

    @property
    def http(self) -> urllib3.PoolManager:
        if self._http is None:
            self._http = urllib3.PoolManager(
                num_pools=2, maxsize=2, retries=False,  # two batches in flight
                timeout=urllib3.Timeout(connect=min(3.0, self.timeout), read=self.timeout))
        return self._http

    def get_json(self, path: str, fields: dict[str, str]) -> Any:
        """GET a JSON document from the same server with the same token (monitor levels).

        Its own connection pool: the delivery connection is the flusher thread's."""
        from urllib.parse import urlencode

        base = self.url.removesuffix("/api/v1/events")
        headers = {k: v for k, v in self.headers.items() if k == "Authorization"}
        with urllib3.PoolManager(retries=False, timeout=self.timeout) as pool:
            response = pool.request("GET", f"{base}{path}?{urlencode(fields)}",
                                    headers=headers)
        if response.status != 200:
            raise OSError(f"{base}{path} answered {response.status}")
        return json.loads(response.data)

    # -- the sink protocol ---------------------------------------------------------------
    def write(self, events: list[Event]) -> None:
        """Spool the batch, then deliver what the server will take now. Never raises."""
        with self._lock:
            payload = gzip.compress(encode(events), compresslevel=1)
            if self.spool.append(payload, len(events)):
                self.stats.spooled += len(events)
            else:
                self._drop(len(events))
            # Behind on a slow server: move the backlog from memory to disk first, so the
            # in-memory buffer never fills while the spool has room.
            if self._backlog() <= self._high_water:
                self._drain(time.monotonic() + DRAIN_SLICE)

    def idle(self) -> None:
        """Called by the recorder when it has nothing to write: deliver waiting batches,
        also those a dead process left in the spool folder (adopted even when this process
        has not sent anything yet)."""
        if self._spool is None and self._left_behind():
            with self._lock:
                self.spool  # noqa: B018 - opening the spool adopts the dead processes' folders
        if self._spool is None or not self._spool.has_pending():
            if self._unreported_drops and time.monotonic() >= self._retry_at:
                with self._lock:
                    self._report_drops()
            return
        with self._lock:
            self._drain(time.monotonic() + DRAIN_SLICE)

    def has_work(self) -> bool:
        """Whether there is something to deliver before anything is emitted: folders dead
        processes left in the spool (the recorder then starts its thread at once)."""
        if self._left_behind():
            self._next_look = 0.0  # and idle() adopts them at its first call
            return True
        return False

    def _left_behind(self) -> bool:
        """Whether the spool folder holds other processes' folders (looked at once every
        30 s at most, while this process has no spool open)."""
        now = time.monotonic()
        if now < self._next_look:
            return False
        self._next_look = now + 30.0
        try:
            return any(p.is_dir() for p in self.spool_dir.iterdir())
        except OSError:
            return False

    def close(self) -> None:
        """Deliver what can go within a few seconds; the rest waits on disk."""
        with self._lock:
            if self._spool is not None:
                self._retry_at = 0.0
                self._drain(time.monotonic() + 3.0)
                self.stats.corrupt_records = self._spool.corrupt
                self._spool.close()
                self._spool = None
            if self._sender is not None:
                self._sender.shutdown(wait=True)
                self._sender = None
            if self._http is not None:
                self._http.clear()
                self._http = None

    def pending_bytes(self) -> int:
        return self._spool.pending_bytes() if self._spool is not None else 0

    # -- delivery ------------------------------------------------------------------------
    def _drain(self, deadline: float) -> None:
        spool = self.spool
        while time.monotonic() < deadline and time.monotonic() >= self._retry_at:
            item = spool.peek()
            if item is None:
                break
            folder, record = item
            following = folder.peek_next(record) if self._failures == 0 else None
            second: Future[Any] | None = None
            if following is not None:
                second = self._send_later(following.payload)
            if not self._deliver(record.payload, record.events):
                if second is not None:
                    second.result()  # its answer is not used: it is sent again after this
                if self._head_failures < SPLIT_AFTER or not self._split(record.payload, True):
                    break
                second = None
            self._head_failures = 0
            spool.commit(folder, record)
            if second is not None and following is not None:
                if not self._answered(second.result(), following.payload, following.events):
                    break
                spool.commit(folder, following)
        self.stats.corrupt_records = spool.corrupt
        if self._unreported_drops and time.monotonic() >= self._retry_at:
            self._report_drops()

    def _report(self) -> dict[str, str]:
        """The headers of a batch: the fixed ones, and what this client reports of itself
        for the server's ``/metrics`` (its spool backlog and dead letters)."""
        dead = self._dead.rejected if self._dead is not None else self.stats.rejected
        return {**self.headers, "X-Heron-Client": self._client, "X-Heron-App": self.app,
                "X-Heron-Spool-Bytes": str(self.pending_bytes()),
                "X-Heron-Dead-Letters": str(dead)}

    def _post(self, payload: bytes) -> Any:
        """POST one batch: the response, or the error that stopped it (no state changes:
        it also runs on the sender thread)."""
        try:
            return self.http.request("POST", self.url, body=payload, headers=self._report())
        except urllib3.exceptions.HTTPError as exc:
            return exc

    def _send_later(self, payload: bytes) -> Future[Any]:
        """POST ``payload`` on the sender thread while this thread sends the batch before
        it."""
        if self._sender is None:
            self._sender = ThreadPoolExecutor(1, thread_name_prefix="heron-sender")
        return self._sender.submit(self._post, payload)

    def _deliver(self, payload: bytes, events: int) -> bool:
        """POST one batch. True when the server took it (or refused it for good)."""
        return self._answered(self._post(payload), payload, events)

    def _answered(self, response: Any, payload: bytes, events: int) -> bool:
        """What the server's answer to a batch means: True when it took the batch (or
        refused it for good), False when the batch must be sent again."""
        if isinstance(response, urllib3.exceptions.HTTPError):
            self._failed(f"cannot reach {self.url}: {response}")
            return False
        status = response.status
        if status == 200:
            self._succeeded(events)
            return True
        body = _json(response.data)
        if status == 422:  # the valid events were stored; the others never will be
            rejected = [r for r in body.get("rejected", []) if isinstance(r, dict)]
            self._succeeded(events - len(rejected))
            items = _items(payload)
            for entry in rejected:
                index = entry.get("index")
                item = items[index] if isinstance(index, int) and 0 <= index < len(items) \
                    else entry
                self._reject(item, f"refused by the server: {entry.get('error', '')}")
            return True
        if status == 413:
            return self._split(payload)
        if status == 400:
            for item in _items(payload):
                self._reject(item, f"refused by the server: {body.get('error')}")
            return True
        if status in (401, 403):
            self._failed(f"the server refused the token ({status}): set HERON_TOKEN to the "
                         "server's ingest token; events wait in the spool", floor=60.0)
            return False
        if status >= 500 and status not in UNAVAILABLE:
            self._head_failures += 1  # the server fails on this batch: a poison suspect
        self._failed(f"{self.url} answered {status}")
        return False

    def _reject(self, item: Any, reason: str) -> None:
        if self._dead is not None:
            self._dead.set_aside(item, reason)
        else:
            self.stats.rejected += 1
            self._warn.warn("heron set aside an event: %s", reason)

    def _split(self, payload: bytes, poison: bool = False) -> bool:
        """Send a batch in halves: one over the server's limit (413), or, with
        ``poison``, one the server keeps failing on (5xx), to find the events it fails on:
        those that fail alone while other parts are stored are set aside. True when the
        batch is done with; False when it must wait (the server fails on every part: it is
        down, or a part could not be sent)."""
        delivered = False
        misses = 0
        items = _items(payload)
        limit = 2 * len(items).bit_length() + 4  # parts tried with none stored: down
        suspects: list[Any] = []

        def send(part: list[Any]) -> bool:
            nonlocal delivered, misses
            body = gzip.compress(json.dumps(part).encode(), compresslevel=1)
            failures = self._head_failures
            if self._deliver(body, len(part)):
                delivered = True
                return True
            if not poison or self._head_failures == failures:
                return False  # not a 5xx (unreachable, token): the whole record waits
            if not delivered:
                misses += 1
                if misses > limit:
                    return False
            if len(part) == 1:
                suspects.append(part[0])
                return True
            middle = len(part) // 2
            return send(part[:middle]) and send(part[middle:])

        if len(items) <= 1 and not poison:
            for item in items:
                self._reject(item, "refused by the server as too large (413)")
            return True
        middle = max(1, len(items) // 2)
        done = send(items[:middle]) and (middle >= len(items) or send(items[middle:]))
        if poison and (not done or not delivered):
            self._head_failures = 0  # a few more failures, with backoff, before the next try
            return False  # the whole record is retried; the server ignores repeats
        if not done:
            return False
        for item in suspects:
            # once more alone, now that the server stores the others: an event that failed
            # while the server was failing on everything is stored, not set aside
            body = gzip.compress(json.dumps([item]).encode(), compresslevel=1)
            failures = self._head_failures
            if self._deliver(body, 1):
                continue
            if self._head_failures == failures:
                return False  # not its own failure (unreachable, unavailable): all wait
            self._reject(item, "the server fails on it (5xx) while it stores the others")
        self._retry_at = 0.0
        return True


    def _succeeded(self, events: int) -> None:
        if self._failures:
            with inside_heron():
                logger.warning("heron server %s answers again; delivering", self.url)
        self.stats.sent += events
        self._failures = 0
        self._retry_at = 0.0

    def _failed(self, why: str, floor: float = 0.0) -> None:
        self.last_error = why  #: why the last delivery failed (read by heron's pytest plugin)
        self._failures += 1
        self.stats.retried += 1
        backoff = min(MAX_BACKOFF, 0.25 * 2 ** min(self._failures, 10))
        delay = max(floor, backoff * random.uniform(0.5, 1.5))
        self._retry_at = time.monotonic() + delay
        self._warn.warn("heron: %s; retrying in %.1f s (%d bytes waiting in the spool)",
                        why, delay, self.pending_bytes())

    def _drop(self, events: int) -> None:
        self.stats.dropped += events
        self._unreported_drops += events
        self._drop_warn.warn("heron dropped %d events: the spool in %s is full (%d MiB); "
                        "%d dropped so far", events, self.spool_dir,
                        self.spool_max_bytes // 2**20, self.stats.dropped)

    def _report_drops(self) -> None:
        count = self._unreported_drops
        message = (f"heron client dropped {count} events: its spool in {self.spool_dir} was "
                   f"full ({self.spool_max_bytes // 2**20} MiB)")
        event = Log(id=new_id(), app=self.app, level=logging.WARNING, logger="heron",
                    message=message)
        payload = gzip.compress(encode([event]), compresslevel=1)
        if self._deliver(payload, 0):
            self._unreported_drops -= count


def _items(payload: bytes) -> list[Any]:
    """The events of a spooled batch, as JSON values."""
    try:
        items = json.loads(gzip.decompress(payload))
    except (OSError, ValueError):
        return []
    return items if isinstance(items, list) else []


def _json(data: bytes) -> dict:
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
