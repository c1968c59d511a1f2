"""``POST /api/v1/events``: store a batch of events, exactly once.

* Authorization: ``Bearer <INGEST_TOKEN>``.
* Body: a JSON list of events, or ``{"events": [...]}``; ``Content-Encoding: gzip`` accepted.
* 200 ``{"stored", "duplicates", "rejected": []}`` when every item was valid.
* 422 with the same body plus ``error`` when some items were invalid: the valid ones are
  stored, each rejected one is named by index and id with the reason.
* 400 when the body is not a batch at all, 401 without the right token, 413 when the
  body (after decompression) or the number of events is over the limit.
"""

from __future__ import annotations

import zlib

from flask import abort, jsonify, request
from werkzeug.wrappers import Response

from heron.api_v1.bearer import bearer_token
from heron.auth.tokens import check_ingest_token
from heron.dashboard.state import state
from heron.errors import EventError
from heron.events import parse_batch


def _body(limit: int) -> bytes:
    raw = request.get_data(cache=False)  # MAX_CONTENT_LENGTH bounds the raw size
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
    body = _body(s.config.MAX_BODY_BYTES)
    try:
        good, bad = parse_batch(body)
    except EventError as exc:
        return jsonify(error=str(exc), stored=0, duplicates=0, rejected=[]), 400
    total = len(good) + len(bad)
    if total > s.config.MAX_BATCH_EVENTS:
        return jsonify(error=f"batch of {total} events is over the limit of "
                             f"{s.config.MAX_BATCH_EVENTS}; send smaller batches",
                       stored=0, duplicates=0, rejected=[]), 413
    result = s.store.ingest(good)
    payload = {
        "stored": result.stored,
        "duplicates": result.duplicates,
        "rejected": [{"index": b.index, "id": b.id, "error": b.error} for b in bad],
    }
    if bad:
        payload["error"] = (f"{len(bad)} of {total} events were rejected (see 'rejected'); "
                            f"the other {len(good)} were kept")
        return jsonify(payload), 422
    return jsonify(payload), 200
