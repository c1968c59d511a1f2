"""Tokens: one-time login links, the ingest token, the session-signing key.

Tokens are stored as SHA-256 digests, never in clear: a copy of the database does not
let anyone log in or send events.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import select, update

from heron.config import Config
from heron.store import Store
from heron.store.queries.settings import get_setting, put_setting, set_default

LOGIN_TOKEN_TTL = 300.0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_login_token(store: Store, username: str, ttl: float = LOGIN_TOKEN_TTL) -> str:
    """A token that logs ``username`` in once, within ``ttl`` seconds."""
    token = secrets.token_urlsafe(32)
    table = store.table("login_token")
    now = time.time()
    with store.write() as conn:
        conn.execute(table.delete().where(table.c.expires_ts < now))
        conn.execute(table.insert().values(token_hash=_digest(token), username=username,
                                           expires_ts=now + ttl, used_ts=None))
    return token


def redeem_login_token(store: Store, token: str) -> str | None:
    """The user name the token was made for, if it is valid and unused; it is then used up."""
    table = store.table("login_token")
    digest = _digest(token)
    now = time.time()
    with store.write() as conn:
        # One UPDATE decides: of two requests racing with the same link, one wins.
        result = conn.execute(
            update(table)
            .where(table.c.token_hash == digest, table.c.used_ts.is_(None),
                   table.c.expires_ts >= now)
            .values(used_ts=now))
        if result.rowcount != 1:
            return None
        return conn.execute(select(table.c.username)
                            .where(table.c.token_hash == digest)).scalar_one()


def ensure_ingest_token(store: Store, config: Config) -> str | None:
    """Make an ingest token at first start when INGEST_TOKEN is unset.

    Returns the new token (to print once), or None when one exists or is configured.
    """
    if config.INGEST_TOKEN:
        return None
    token = secrets.token_urlsafe(24)
    stored = set_default(store, "ingest_token_sha256", _digest(token))
    return token if stored == _digest(token) else None


def rotate_ingest_token(store: Store) -> str:
    """A new stored ingest token replacing the old one (``heron demo``: its store is its
    own, and the token is printed at every start). Clients holding the old one get 401."""
    token = secrets.token_urlsafe(24)
    put_setting(store, "ingest_token_sha256", _digest(token))
    return token


def check_ingest_token(store: Store, config: Config, presented: str | None) -> bool:
    """True when ``presented`` is the ingest token (configured, or generated and stored)."""
    if not presented:
        return False
    if config.INGEST_TOKEN:
        return hmac.compare_digest(presented.encode(), config.INGEST_TOKEN.encode())
    stored = get_setting(store, "ingest_token_sha256")
    return stored is not None and hmac.compare_digest(_digest(presented), stored)


def check_security_token(config: Config, presented: str | None) -> bool:
    """True when SECURITY_TOKEN is configured and ``presented`` matches it."""
    if not presented or not config.SECURITY_TOKEN:
        return False
    return hmac.compare_digest(presented.encode(), config.SECURITY_TOKEN.encode())


def ensure_secret_key(store: Store, config: Config) -> str:
    """SECRET_KEY, or a key generated once and shared through the store by all servers."""
    if config.SECRET_KEY:
        return config.SECRET_KEY
    return set_default(store, "secret_key", secrets.token_hex(32))
