"""``GET /api/v1/logs``: log search for ``heron logs --url`` and scripts.

Parameters are the Logs tab's (``q``, ``level``, ``app``, ``since``, ``until``, ``run``,
``session``, ``request``) plus ``before``/``after`` (a line's ``seq``, for paging back and
for following) and ``limit`` (1–1,000, default 100). Needs ``Authorization: Bearer
<SECURITY_TOKEN>`` or a login, as the dashboard's Logs tab does.
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from heron.api_v1.summary import _allowed
from heron.dashboard.state import state
from heron.logs.query import QueryError
from heron.logs.search import from_params
from heron.store.queries import logs as queries


def _int(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise QueryError(f"{name} {value!r} is not a whole number") from None


def get_logs() -> tuple[Response, int]:
    if not _allowed():
        return jsonify(error="logs needs 'Authorization: Bearer <SECURITY_TOKEN>' or a "
                             "login"), 401
    try:
        search = from_params(request.args)
        limit = _int("limit") or queries.PAGE
        after = _int("after")
        items = queries.search(state().store, search.query, search.where,
                               before=_int("before"), after=after, limit=limit,
                               oldest_first=after is not None)
    except (QueryError, ValueError) as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(items=items, notes=list(search.query.notes),
                   newest_seq=queries.newest_seq(state().store)), 200
