"""``GET /metrics`` (``heron serve``) and ``GET /<CUSTOM_LINK>/metrics`` (a bound app): the
store's figures for Prometheus (:mod:`heron.prometheus`).

Open to ``Authorization: Bearer <SECURITY_TOKEN>`` (Prometheus' ``authorization``
setting), to a logged-in admin, and to the addresses or networks listed in
``METRICS_ALLOW`` (e.g. the Prometheus server's), and to no one else.
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from heron.api_v1.bearer import bearer_token
from heron.auth.tokens import check_security_token
from heron.dashboard.security import current_user
from heron.dashboard.state import state
from heron.web.proxies import TrustedProxies


def get_metrics() -> Response | tuple[Response, int]:
    s = state()
    try:
        allowed = TrustedProxies(s.config.METRICS_ALLOW).trusted(request.remote_addr)
    except ValueError as exc:
        return jsonify(error=f"METRICS_ALLOW holds something that is not an address or "
                             f"network: {exc}"), 500
    if not allowed and not check_security_token(s.config, bearer_token()):
        user = current_user()
        if user is None or not user.is_admin:
            return jsonify(error="metrics need 'Authorization: Bearer <SECURITY_TOKEN>', an "
                                 "address listed in METRICS_ALLOW, or an admin login"), 401
    from heron.prometheus import exposition

    body, content_type = exposition(s.store, request.headers.get("Accept"),
                                    s.config.METRICS_EXPORTS)
    return Response(body, content_type=content_type)
