"""Users: who can log in, and with which role. Admins add, remove and re-role users."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from heron.auth.users import add_user, delete_user, list_users, set_role
from heron.dashboard.registry import route
from heron.dashboard.security import admin_required, current_user, login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.errors import AuthError


@route("/users")
@login_required
def dashboard_users() -> str:
    return render_template("heron/users.html", title="Users", users=list_users(state().store))


@route("/users/add", methods=["POST"])
@admin_required
def users_add() -> Response:
    form = request.form
    try:
        add_user(state().store, form.get("username", "").strip(), form.get("password", ""),
                 form.get("role", "guest"))
        flash(f"Added user {form.get('username', '').strip()}.", "success")
    except AuthError as exc:
        flash(f"Could not add the user: {exc}.", "danger")
    return redirect(url_for("dashboard.dashboard_users"))


def _change_user(username: str, refuse_self: str | None, action, done: str,  # type: ignore[no-untyped-def]
                 failed: str) -> Response:
    """Run ``action`` on another user (never on yourself when ``refuse_self`` says why)."""
    me = current_user()
    if refuse_self and me is not None and username == me.username:
        flash(refuse_self, "danger")
    else:
        try:
            action()
            flash(done, "success")
        except AuthError as exc:
            flash(f"{failed}: {exc}.", "danger")
    return redirect(url_for("dashboard.dashboard_users"))


@route("/users/<username>/role", methods=["POST"])
@admin_required
def users_role(username: str) -> Response:
    role = request.form.get("role", "")
    return _change_user(
        username, "You cannot take the admin role from yourself." if role != "admin" else None,
        lambda: set_role(state().store, username, role), f"{username} is now {role}.",
        "Could not change the role")


@route("/users/<username>/delete", methods=["POST"])
@admin_required
def users_delete(username: str) -> Response:
    return _change_user(username, "You cannot remove yourself.",
                        lambda: delete_user(state().store, username),
                        f"Removed user {username}.", "Could not remove the user")


dashboard_tabs.insert_tab(DashboardTab("Users", "dashboard.dashboard_users"))
