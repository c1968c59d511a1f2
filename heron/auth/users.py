"""Dashboard users: admin (everything) and guest (read only), passwords hashed.

Passwords are hashed with werkzeug (scrypt by default); the store never holds one in
clear. At first start the admin user is created with PASSWORD, or with a random password
that is returned once so the caller can print it.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from heron.auth import logins
from heron.config import Config
from heron.errors import AuthError
from heron.store import Store

ROLES = ("admin", "guest")
MIN_PASSWORD = 8
_NAME = re.compile(r"[A-Za-z0-9_.@+\-]{1,200}")
# Checked against when a user does not exist, so a wrong name takes as long as a wrong
# password and does not reveal which names exist.
_DUMMY_HASH = generate_password_hash("heron-dummy-password")


@dataclass(frozen=True)
class User:
    username: str
    role: str
    created_ts: float

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _check_name(username: str) -> None:
    if not _NAME.fullmatch(username or ""):
        raise AuthError(f"user name {username!r} is not valid: use 1-200 letters, digits "
                        "or . _ @ + -")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthError(f"role {role!r} is not valid: use one of {', '.join(ROLES)}")


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AuthError(f"password must be at least {MIN_PASSWORD} characters")


def get_user(store: Store, username: str) -> User | None:
    table = store.table("user")
    with store.read(primary=True) as conn:
        row = conn.execute(
            select(table.c.username, table.c.role, table.c.created_ts)
            .where(table.c.username == username)).first()
    return User(*row) if row else None


def list_users(store: Store) -> list[User]:
    table = store.table("user")
    with store.read(primary=True) as conn:
        rows = conn.execute(select(table.c.username, table.c.role, table.c.created_ts)
                            .order_by(table.c.username)).all()
    return [User(*r) for r in rows]


def add_user(store: Store, username: str, password: str, role: str = "guest") -> User:
    """Create a user; AuthError when the name is taken or a value is not acceptable."""
    _check_name(username)
    _check_role(role)
    _check_password(password)
    table = store.table("user")
    now = time.time()
    try:
        with store.write() as conn:
            conn.execute(table.insert().values(
                username=username, password_hash=generate_password_hash(password),
                role=role, created_ts=now))
    except IntegrityError:
        raise AuthError(f"user {username!r} already exists") from None
    return User(username, role, now)


def set_password(store: Store, username: str, password: str) -> None:
    _check_password(password)
    table = store.table("user")
    with store.write() as conn:
        result = conn.execute(update(table).where(table.c.username == username)
                              .values(password_hash=generate_password_hash(password)))
    if result.rowcount == 0:
        raise AuthError(f"no user named {username!r}")
    logins.end_all(store, username)  # whoever held an old session must log in again


def set_role(store: Store, username: str, role: str) -> None:
    _check_role(role)
    table = store.table("user")
    with store.write() as conn:
        result = conn.execute(update(table).where(table.c.username == username)
                              .values(role=role))
    if result.rowcount == 0:
        raise AuthError(f"no user named {username!r}")


def delete_user(store: Store, username: str) -> None:
    table = store.table("user")
    with store.write() as conn:
        result = conn.execute(delete(table).where(table.c.username == username))
    if result.rowcount == 0:
        raise AuthError(f"no user named {username!r}")
    logins.end_all(store, username)


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user when ``password`` is theirs, else None."""
    table = store.table("user")
    with store.read(primary=True) as conn:
        row = conn.execute(
            select(table.c.username, table.c.role, table.c.created_ts, table.c.password_hash)
            .where(table.c.username == username)).first()
    if row is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(row.password_hash, password or ""):
        return None
    return User(row.username, row.role, row.created_ts)


def ensure_default_users(store: Store, config: Config) -> str | None:
    """Create the admin (and guest, when GUEST_PASSWORD is set) users on first start.

    A configured PASSWORD / GUEST_PASSWORD is applied to its user at every start, so the
    config file stays the source of truth. Returns the generated admin password when one
    was made (to be printed once), else None.
    """
    generated = None
    admin = get_user(store, config.USERNAME)
    if admin is None:
        password = config.PASSWORD
        if password is None:
            password = generated = secrets.token_urlsafe(12)
        try:
            add_user(store, config.USERNAME, password, "admin")
        except AuthError as exc:
            if "already exists" not in str(exc):  # another server made it just now
                raise
            generated = None
    elif config.PASSWORD is not None:
        if authenticate(store, config.USERNAME, config.PASSWORD) is None:
            set_password(store, config.USERNAME, config.PASSWORD)
    if config.GUEST_PASSWORD is not None:
        guest = get_user(store, config.GUEST_USERNAME)
        if guest is None:
            try:
                add_user(store, config.GUEST_USERNAME, config.GUEST_PASSWORD, "guest")
            except AuthError as exc:
                if "already exists" not in str(exc):
                    raise
        elif authenticate(store, config.GUEST_USERNAME, config.GUEST_PASSWORD) is None:
            set_password(store, config.GUEST_USERNAME, config.GUEST_PASSWORD)
    return generated
