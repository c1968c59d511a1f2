"""Who may see and do what: dashboard users, login tokens, API tokens, login throttling.

Used by the dashboard, the server's APIs and the ``heron user`` commands alike.
"""

from __future__ import annotations

from heron.auth.tokens import (
    check_ingest_token,
    create_login_token,
    ensure_ingest_token,
    ensure_secret_key,
    redeem_login_token,
)
from heron.auth.users import (
    ROLES,
    User,
    add_user,
    authenticate,
    delete_user,
    ensure_default_users,
    get_user,
    list_users,
    set_password,
)

__all__ = [
    "ROLES", "User", "add_user", "authenticate", "check_ingest_token", "create_login_token",
    "delete_user", "ensure_default_users", "ensure_ingest_token", "ensure_secret_key",
    "get_user", "list_users", "redeem_login_token", "set_password",
]
