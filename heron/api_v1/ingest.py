"""``POST /api/v1/events``: store a batch of events, exactly once.

* Authorization: ``Bearer <INGEST_TOKEN>``.
* Body: a JSON list of events, or ``{"events": [...]}``; ``Content-Encoding: gzip`` accepted.
* 200 ``{"stored", "duplicates", "rejected": []}`` when every item was valid.
* 422 with the same body plus ``error`` when some items were invalid: the valid ones are
  stored, each rejected one is named by index and id with the reason.
* An event the store refuses for its values (found by halving the batch) is named in
  ``rejected`` too; lone surrogates in strings (``\\udcff`` escapes) are replaced by
  U+FFFD and counted in ``repaired``.
* Each batch read is counted in heron's own health on ``/metrics`` (stored, duplicates,
  refused, its time), with the spool backlog and dead letters the client reports in its
  ``X-Heron-Client``, ``X-Heron-App``, ``X-Heron-Spool-Bytes`` and
  ``X-Heron-Dead-Letters`` headers (:mod:`heron.store.health`).
* 400 when the body is not a batch at all (not JSON, nested deeper than
  ``heron.events.MAX_DEPTH``), 401 without the right token, 413 when the body (however it
  arrives: with a length, chunked, compressed) or the number of events is over the limit,
  503 when the store cannot be written now (the client retries).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Any

from flask import abort, jsonify, request
from werkzeug.wrappers import Response

from heron._internal import RateLimitedWarning
from heron.api_v1.bearer import bearer_token
from heron.auth.tokens import check_ingest_token
from heron.dashboard.state import state
from heron.errors import EventError
from heron.events import BadItem, Event, Request, parse_body
from heron.setaside import is_data_error, isolate, reason_of


def _raw(limit: int) -> bytes:
    """The request body as sent, at most ``limit`` bytes, else 413.

    A body with a Content-Length over MAX_CONTENT_LENGTH is refused by Werkzeug; a chunked
    one (no length) would be cut at the limit without a word, so it is read here."""
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        return request.get_data(cache=False)
    stream = request.environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            abort(413, description=f"body is over {limit} bytes")


def read_body(limit: int) -> bytes:
    raw = _raw(limit)
    encoding = request.headers.get("Content-Encoding", "identity").lower().strip()
    if encoding in ("", "identity"):
        data = raw
    elif encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(raw, limit + 1)
        except zlib.error as exc:
            abort(400, description=f"body is not valid {encoding}: {exc}")
        if len(data) > limit or inflater.unconsumed_tail:
            abort(413, description=f"body is over {limit} bytes once decompressed")
    else:
        abort(415, description=f"Content-Encoding {encoding!r} is not supported; "
                               "use gzip or none")
    if len(data) > limit:
        abort(413, description=f"body is over {limit} bytes")
    return data


def post_events() -> tuple[Response, int]:
    s = state()
    if not check_ingest_token(s.store, s.config, bearer_token()):
        return jsonify(error="missing or wrong ingest token: send the header "
                             "'Authorization: Bearer <INGEST_TOKEN>'"), 401
    started = time.perf_counter()
    body = read_body(s.config.MAX_BODY_BYTES)
    decoding = time.time()
    try:
        parsed = parse_body(body)
    except EventError as exc:
        return jsonify(error=str(exc), stored=0, duplicates=0, rejected=[]), 400
    good, bad = parsed.good, list(parsed.bad)
    total = len(good) + len(bad)
    if total > s.config.MAX_BATCH_EVENTS:
        return jsonify(error=f"batch of {total} events is over the limit of "
                             f"{s.config.MAX_BATCH_EVENTS}; send smaller batches",
                       stored=0, duplicates=0, rejected=[]), 413
    note = BatchNote("api", started, len(bad))
    try:
        kept = store_all(s.store, good, note, made_up_times(s.store, good, decoding))
    except StoreUnavailable as exc:
        return unavailable(exc.__cause__ or exc)
    note.finish(len(kept.set_aside))
    stored, duplicates = kept.stored, kept.duplicates
    repaired = parsed.repaired + kept.repaired
    if kept.set_aside:
        bad.extend(BadItem(parsed.indexes[i], good[i].id, f"the store refused it: {reason}")
                   for i, reason in kept.set_aside)
        bad.sort(key=lambda b: b.index)
    payload = {
        "stored": stored,
        "duplicates": duplicates,
        "repaired": repaired,
        "rejected": [{"index": b.index, "id": b.id, "error": b.error} for b in bad],
    }
    if bad:
        payload["error"] = (f"{len(bad)} of {total} events were rejected (see 'rejected'); "
                            f"the other {len(good)} were kept")
        return jsonify(payload), 422
    return jsonify(payload), 200


def client_report() -> tuple[str, str, int, int] | None:
    """What a sending client reported in its headers (``X-Heron-Client``,
    ``X-Heron-App``, ``X-Heron-Spool-Bytes``, ``X-Heron-Dead-Letters``), or None."""
    headers = request.headers
    client = headers.get("X-Heron-Client", "").strip()
    if not client:
        return None
    try:
        spool = int(headers.get("X-Heron-Spool-Bytes", "0"))
        dead = int(headers.get("X-Heron-Dead-Letters", "0"))
    except ValueError:
        return None
    app = headers.get("X-Heron-App", "").strip()[:200] or "default"
    return client[:64], app, max(0, min(spool, 2**62)), max(0, min(dead, 2**62))


class BatchNote:
    """Counts a batch in heron's own health figures (:mod:`heron.store.health`), inside
    the batch's own transaction (``Store.ingest``'s ``note``): its events, refused
    items, time and the client's report. A batch stored in parts (a refused event found
    by halving) is counted part by part; one with nothing to store in a transaction of
    its own. A failure to count never changes the batch's answer."""

    def __init__(self, source: str, started: float, refused: int):
        self.source, self.started, self.refused = source, started, refused
        self.client = client_report()
        self.counted = False

    def __call__(self, conn: Any, result: Any) -> None:
        from heron.store.health import write_ingest

        write_ingest(conn, state().store, self.source, stored=result.stored,
                     duplicates=result.duplicates, refused=0 if self.counted else self.refused,
                     seconds=time.perf_counter() - self.started,
                     client=None if self.counted else self.client)
        self.counted = True

    def finish(self, refused_by_store: int) -> None:
        """After the batch: what the store refused, or the whole batch when no part of it
        reached a transaction."""
        from heron.store.health import record_ingest

        if self.counted and not refused_by_store:
            return
        try:
            record_ingest(state().store, self.source, stored=0, duplicates=0,
                          refused=refused_by_store + (0 if self.counted else self.refused),
                          seconds=0.0 if self.counted
                          else time.perf_counter() - self.started,
                          client=None if self.counted else self.client)
        except Exception as exc:  # noqa: BLE001 - said once a minute, the answer stands
            _HEALTH_WARNING.warn("heron: could not count a batch in /metrics: %s",
                                 reason_of(exc))


class StoreUnavailable(Exception):
    """The store cannot be written now (down, locked): the client retries (a 503)."""


@dataclass
class Kept:
    """What :func:`store_all` did: events new and already stored, the ``(index,
    reason)`` of each the store refused for its values, strings repaired."""

    stored: int
    duplicates: int
    set_aside: list[tuple[int, str]]
    repaired: int


def made_up_times(store: Any, events: list[Event], decoding: float) -> frozenset[str]:
    """The ids of requests that came without ``ts`` (decoding gave them the time it ran):
    on a time-partitioned store they are kept once by id alone
    (:func:`heron.store.requests.claim`). A request sent with a time inside that instant
    is taken for one too, which costs it a ledger row and nothing else."""
    if not store.partitioned:
        return frozenset()
    decoded = time.time()
    return frozenset(e.id for e in events if e.__class__ is Request
                     and decoding <= e.ts <= decoded and e.id)


def store_all(store: Any, events: list[Event], note: BatchNote | None = None,
              by_id: frozenset[str] = frozenset()) -> Kept:
    """Store ``events`` exactly once. An event the store refuses for its values is found
    by halving the batch and set aside; the rest are kept. Raises StoreUnavailable when
    the store itself fails (every ingest path answers that with a 503). ``note`` counts
    the batch in the same transactions; ``by_id``: requests sent without a time."""
    kept = Kept(0, 0, [], 0)

    def ingest(batch: list[Event]) -> None:
        result = store.ingest(batch, note, by_id)
        kept.stored += result.stored
        kept.duplicates += result.duplicates

    try:
        ingest(events)
    except Exception as exc:  # noqa: BLE001 - classified: a value, or the store
        if not is_data_error(exc):
            raise StoreUnavailable(reason_of(exc)) from exc
        done = isolate(ingest, events, exc)
        if done.left:
            raise StoreUnavailable(reason_of(exc)) from exc
        kept.repaired = done.repaired
        kept.set_aside = list(done.set_aside)
    return kept


def unavailable(exc: BaseException) -> tuple[Response, int]:
    """The store cannot be written now (down, locked): 503, and the client retries."""
    from heron._internal import logger

    _STORE_WARNING.warn("heron: the store refused a batch: %s", reason_of(exc))
    logger.debug("store error", exc_info=exc)
    return jsonify(error=f"the store cannot be written now: {reason_of(exc)}; retry later",
                   stored=0, duplicates=0, rejected=[]), 503


_STORE_WARNING = RateLimitedWarning(60.0)
_HEALTH_WARNING = RateLimitedWarning(60.0)
