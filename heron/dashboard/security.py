"""Login, roles and CSRF for every dashboard page and JSON endpoint.

* ``login_required``: pages redirect to the login page; JSON endpoints answer 401.
* ``admin_required``: guests get 403, whatever they post.
* CSRF: every POST must carry the session's token as form field ``csrf_token`` or header
  ``X-CSRFToken``; the blueprint checks it before any view runs.

The cookie holds a login session's id; the session lives in the store
(:mod:`heron.auth.logins`), so logout, a new password or a removed user ends it at once,
and it expires after SESSION_IDLE_HOURS idle and SESSION_MAX_DAYS in all. The user is
re-read from the store on each request, so a changed role takes effect at once too.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, g, jsonify, redirect, request, session, url_for

from heron.auth import logins
from heron.auth.users import User, get_user
from heron.dashboard.state import state

F = TypeVar("F", bound=Callable[..., Any])

SESSION_ID = "heron_sid"
SESSION_CSRF = "heron_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def current_user() -> User | None:
    """The logged-in user of this request, or None."""
    if "heron_current_user" not in g:
        sid = session.get(SESSION_ID)
        user = None
        if sid:
            s = state()
            name = logins.check(s.store, sid, **_lifetimes())
            user = get_user(s.store, name) if name else None
        g.heron_current_user = user
    return g.heron_current_user  # type: ignore[no-any-return]


def _lifetimes() -> dict[str, float]:
    config = state().config
    return {"idle_s": float(config.SESSION_IDLE_HOURS) * 3600.0,
            "max_s": float(config.SESSION_MAX_DAYS) * 86400.0}


def log_in(user: User) -> None:
    s = state()
    old = session.get(SESSION_ID)
    if old:
        logins.end(s.store, old)
    session.clear()  # a new session id on login: no session fixation
    session[SESSION_ID] = logins.start(s.store, user.username,
                                       s.extras["proxies"].client_ip(request.environ),
                                       **_lifetimes())
    session[SESSION_CSRF] = secrets.token_urlsafe(32)
    session.permanent = True
    g.heron_current_user = user


def log_out() -> None:
    logins.end(state().store, session.pop(SESSION_ID, None))
    session.pop(SESSION_CSRF, None)
    g.pop("heron_current_user", None)


def csrf_token() -> str:
    """The session's CSRF token (created on first use); templates put it in every form."""
    token = session.get(SESSION_CSRF)
    if not token:
        token = session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return str(token)


def check_csrf() -> None:
    """Abort with 400 when a state-changing request lacks the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(SESSION_CSRF)
    sent = request.headers.get("X-CSRFToken") or request.form.get("csrf_token")
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="The form's CSRF token is missing or expired; reload the "
                               "page and try again.")


def wants_json() -> bool:
    return "/api/" in request.path or request.accept_mimetypes.best == "application/json"


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            if wants_json():
                return jsonify(error="login required"), 401
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    wrapped.heron_login_required = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


def admin_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            if wants_json():
                return jsonify(error="login required"), 401
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        if not user.is_admin:
            if wants_json():
                return jsonify(error="admin role required"), 403
            abort(403, description="This action needs the admin role; you are logged in "
                                   "as a guest (read only).")
        return view(*args, **kwargs)

    wrapped.heron_login_required = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]
