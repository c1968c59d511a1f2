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
from heron.dashboard.params import int_arg
from heron.dashboard.state import state
from heron.logs.query import QueryError
from heron.logs.search import from_params
from heron.store.queries import logs as queries


def get_logs() -> tuple[Response, int]:
    if not _allowed():
        return jsonify(error="logs needs 'Authorization: Bearer <SECURITY_TOKEN>' or a "
                             "login"), 401
    try:
        search = from_params(request.args)
        limit = int_arg(request.args, "limit", queries.PAGE, low=1, high=queries.MAX_PAGE)
        after = int_arg(request.args, "after")
        items = queries.search(state().store, search.query, search.where,
                               before=int_arg(request.args, "before"), after=after,
                               limit=limit or queries.PAGE,
                               oldest_first=after is not None)
    except (QueryError, ValueError) as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(items=items, notes=list(search.query.notes),
                   newest_seq=queries.newest_seq(state().store)), 200
