"""``GET /api/v1/endpoints?app=ID``: an app's endpoints with their monitor levels.

Monitored apps that send to this server read it every few seconds, so a level set on the
Rules page reaches them; they authenticate with the ingest token they send events with.
The security token and a login work too.
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from heron.api_v1.bearer import bearer_token
from heron.auth.tokens import check_ingest_token, check_security_token
from heron.dashboard.security import current_user
from heron.dashboard.state import state
from heron.store.queries.web import endpoints


def get_endpoints() -> tuple[Response, int]:
    s = state()
    token = bearer_token()
    if not (check_ingest_token(s.store, s.config, token)
            or check_security_token(s.config, token) or current_user() is not None):
        return jsonify(error="endpoints needs 'Authorization: Bearer <INGEST_TOKEN>' (or "
                             "the SECURITY_TOKEN, or a login)"), 401
    app = request.args.get("app")
    if not app:
        return jsonify(error="pass the app: /api/v1/endpoints?app=ID"), 400
    return jsonify(app=app, endpoints=[
        {"endpoint": e["endpoint"], "monitor_level": e["monitor_level"],
         "first_ts": e["first_ts"], "last_ts": e["last_ts"] or None}
        for e in endpoints(s.store, app)]), 200
