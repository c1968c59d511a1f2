"""``GET /api/v1/export/<kind>``: page through any stored kind as JSON.

Authorised by ``Authorization: Bearer <SECURITY_TOKEN>`` or a logged-in admin. With no
SECURITY_TOKEN configured only admins can export: the data is never open to anyone.
Query: ``app``, ``since``, ``until`` (epoch seconds, ISO 8601 or ``10m``), ``limit``
(1-10,000, default 1,000), ``cursor`` (the previous page's ``next_cursor``), ``scrub``
(default true: participants' worker, assignment and HIT ids are replaced by a stable
salted hash per app, :mod:`heron.experiment.scrub`; ``false`` keeps them).
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from heron.api_v1.bearer import bearer_token
from heron.auth.tokens import check_security_token
from heron.dashboard.security import current_user
from heron.dashboard.state import state
from heron.experiment.scrub import scrub_rows, wants_raw
from heron.store.queries.export import DEFAULT_LIMIT, EXPORT_KINDS, export_page
from heron.timeparse import parse_time


def _authorised() -> bool:
    s = state()
    if check_security_token(s.config, bearer_token()):
        return True
    user = current_user()
    return user is not None and user.is_admin


def get_export(kind: str) -> tuple[Response, int]:
    if not _authorised():
        return jsonify(error="export needs 'Authorization: Bearer <SECURITY_TOKEN>' or an "
                             "admin login"), 401
    if kind not in EXPORT_KINDS:
        return jsonify(error=f"unknown kind {kind!r}; known kinds: "
                             f"{', '.join(sorted(EXPORT_KINDS))}"), 404
    args = request.args
    try:
        since = parse_time(args["since"]) if args.get("since") else None
        until = parse_time(args["until"]) if args.get("until") else None
        limit_text = args.get("limit", str(DEFAULT_LIMIT))
        try:
            limit = int(limit_text)
        except ValueError:
            raise ValueError(f"limit {limit_text!r} is not a whole number") from None
        page = export_page(state().store, kind, app=args.get("app") or None, since=since,
                           until=until, limit=limit, cursor=args.get("cursor"))
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    items = page.items if wants_raw(args.get("scrub")) else \
        scrub_rows(state().store, kind, page.items)
    return jsonify(items=items, next_cursor=page.next_cursor), 200
