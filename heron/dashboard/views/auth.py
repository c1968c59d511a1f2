"""Login, logout and one-time login links."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from heron.auth import throttle
from heron.auth.tokens import redeem_login_token
from heron.auth.users import authenticate, get_user
from heron.dashboard.registry import route
from heron.dashboard.security import current_user, log_in, log_out
from heron.dashboard.state import state


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not bounce to someone else's site."""
    default = url_for("dashboard.dashboard_index")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    next_url = _safe_next(request.values.get("next"))
    if current_user() is not None:
        return redirect(next_url)
    if request.method != "POST":  # GET, HEAD: a page, never a login (HEAD skips CSRF)
        return render_template("heron/login.html", next=next_url)
    s = state()
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    ip = state().extras["proxies"].client_ip(request.environ)
    wait = throttle.retry_after(s.store, username, ip, s.config.LOGIN_ATTEMPTS_PER_MINUTE)
    if wait:
        flash(f"Too many failed logins. Try again in {wait} seconds.", "danger")
        return render_template("heron/login.html", next=next_url, username=username), 429
    user = authenticate(s.store, username, password)
    if user is None:
        throttle.record_failure(s.store, username, ip)
        flash("Wrong user name or password.", "danger")
        return render_template("heron/login.html", next=next_url, username=username), 401
    throttle.clear_failures(s.store, username, ip)
    log_in(user)
    return redirect(next_url)


@route("/login/token/<token>")
def login_token(token: str) -> Response:
    s = state()
    username = redeem_login_token(s.store, token)
    user = get_user(s.store, username) if username else None
    if user is None:
        flash("That login link has expired or was already used. Log in with your password.",
              "warning")
        return redirect(url_for("dashboard.login"))
    log_in(user)
    return redirect(url_for("dashboard.dashboard_index"))


@route("/logout", methods=["POST"])
def logout() -> Response:
    if current_user() is None:
        abort(401)
    log_out()
    flash("You are logged out.", "info")
    return redirect(url_for("dashboard.login"))
