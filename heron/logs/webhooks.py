"""Webhook deliveries: a Slack-compatible message, posted with retries and recorded.

The body is what Slack's incoming webhooks take: ``text`` (what Mattermost, Discord's
``/slack`` endpoint and plain notifiers show) plus ``blocks`` with the rule, the count,
the first matching lines and a link back to the search. Every attempt is stored with its
HTTP result. Webhook URLs are secrets: they are never logged or stored with a delivery.

One thread per server posts, so a slow receiver never delays the checks; a failed post
(a network error or a non-2xx answer) is tried again after :data:`BACKOFF_S`.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from heron._internal import capture_internal_exceptions, inside_heron, logger
from heron.store import Store
from heron.store.queries import alerts as store_alerts

#: Seconds to wait before each retry; the number of entries is the number of retries.
BACKOFF_S: tuple[float, ...] = (5.0, 30.0, 120.0)
TIMEOUT_S = 10.0
MAX_LINES = 5


def _mrkdwn(text: str) -> str:
    """Slack's three control characters escaped, so a log line cannot forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(title: str, summary: str, *, lines: list[str] | None = None,
            link: str | None = None, link_text: str = "Open in heron") -> dict[str, Any]:
    """A Slack-compatible body: ``text`` for every receiver, ``blocks`` for Slack."""
    text = f"{title}: {summary}"
    if link:
        text += f" {link}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(summary)}},
    ]
    if lines:
        shown = "\n".join(line[:300] for line in lines[:MAX_LINES])
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": "```" + _mrkdwn(shown) + "```"}})
    if link:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                  "text": f"<{link}|{_mrkdwn(link_text)}>"}})
    return {"text": text, "blocks": blocks}


def post(url: str, payload: dict[str, Any], timeout: float = TIMEOUT_S
         ) -> tuple[int | None, str | None]:
    """POST ``payload``; (HTTP status or None, error text or None). Never raises."""
    import urllib3  # here: a bound app's dashboard imports this module and never posts

    try:
        response = urllib3.request("POST", url, body=json.dumps(payload).encode(),
                                   headers={"Content-Type": "application/json"},
                                   timeout=timeout, retries=False, redirect=False)
    except urllib3.exceptions.HTTPError as exc:
        # the exception text can carry the URL (a secret): name the failure only
        return None, f"no answer ({type(exc).__name__})"
    if 200 <= response.status < 300:
        return response.status, None
    body = (response.data or b"")[:200].decode("utf-8", "replace").strip()
    return response.status, f"answered {response.status}" + (f": {body}" if body else "")


@dataclass(order=True)
class _Job:
    due: float
    order: int
    rule_seq: int = field(compare=False)
    rule_name: str = field(compare=False)
    url: str = field(compare=False)
    reason: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False)
    attempt: int = field(compare=False, default=1)


class Deliverer:
    """Posts queued messages from one thread, retrying failures with backoff."""

    def __init__(self, store: Store, backoff: tuple[float, ...] = BACKOFF_S):
        self.store = store
        self.backoff = backoff
        self._jobs: list[_Job] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._busy = 0
        self._thread = threading.Thread(target=self._run, name="heron-webhooks", daemon=True)
        self._thread.start()

    def send(self, rule_seq: int, rule_name: str, url: str, reason: str,
             payload: dict[str, Any]) -> None:
        with self._wake:
            heapq.heappush(self._jobs, _Job(time.monotonic(), next(self._counter), rule_seq,
                                            rule_name, url, reason, payload))
            self._wake.notify()

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is due now (retries scheduled later do not count)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._wake:
                due = any(j.due <= time.monotonic() for j in self._jobs)
                if not due and not self._busy:
                    return True
            time.sleep(0.02)
        return False

    def pending(self) -> int:
        with self._wake:
            return len(self._jobs) + self._busy

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(TIMEOUT_S + 1)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (not self._jobs or
                                            self._jobs[0].due > time.monotonic()):
                    wait = self._jobs[0].due - time.monotonic() if self._jobs else None
                    self._wake.wait(wait)
                if self._closed:
                    return
                job = heapq.heappop(self._jobs)
                self._busy += 1
            try:
                with inside_heron(), capture_internal_exceptions("delivering an alert"):
                    self._attempt(job)
            finally:
                with self._wake:
                    self._busy -= 1

    def _attempt(self, job: _Job) -> None:
        status, error = post(job.url, job.payload)
        ok = error is None
        retry = not ok and job.attempt <= len(self.backoff)
        if retry:
            error = f"{error}; retrying in {self.backoff[job.attempt - 1]:g} s"
        store_alerts.record_delivery(
            self.store, rule_seq=job.rule_seq, rule_name=job.rule_name, reason=job.reason,
            attempt=job.attempt, status_code=status, ok=ok, error=error, payload=job.payload)
        if ok:
            return
        logger.warning("heron: alert %r could not be delivered (attempt %d): %s",
                       job.rule_name, job.attempt, error)
        if retry:
            job.due = time.monotonic() + self.backoff[job.attempt - 1]
            job.attempt += 1
            with self._wake:
                heapq.heappush(self._jobs, job)
                self._wake.notify()
