"""``GET /api/v1/summary?app=ID`` and ``GET /api/v1/apps``: participants and yield.

Unlike Dallinger's open ``/summary``, these need ``Authorization: Bearer <SECURITY_TOKEN>``
or a login (guests included: they only read).
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from heron.api_v1.bearer import bearer_token
from heron.auth.tokens import check_security_token
from heron.dashboard.security import current_user
from heron.dashboard.state import state
from heron.store.queries.participants import UnknownApp, all_summaries, summary


def _allowed() -> bool:
    return check_security_token(state().config, bearer_token()) or current_user() is not None


def get_summary() -> tuple[Response, int]:
    if not _allowed():
        return jsonify(error="summary needs 'Authorization: Bearer <SECURITY_TOKEN>' or a "
                             "login"), 401
    app = request.args.get("app")
    if not app:
        return jsonify(error="pass the app: /api/v1/summary?app=ID"), 400
    try:
        result = summary(state().store, app)
    except UnknownApp as exc:
        return jsonify(error=str(exc), known=exc.known), 404
    return jsonify(result.as_json()), 200


def get_apps() -> tuple[Response, int]:
    if not _allowed():
        return jsonify(error="apps needs 'Authorization: Bearer <SECURITY_TOKEN>' or a "
                             "login"), 401
    return jsonify(apps=[s.as_json() | {"participants": s.total}
                         for s in all_summaries(state().store)]), 200
