"""Saved searches, alert rules, their deliveries, and the lease that lets one server at a
time run the alert engine."""

from __future__ import annotations

import os
import secrets
import socket
import time
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from heron.errors import HeronError
from heron.logs.rules import RuleSpec
from heron.store import Store

DASHBOARD = "dashboard"


class AlertStoreError(HeronError, ValueError):
    """A change to searches or rules that cannot be made; the message says why."""


# ------------------------------------------------------------------ saved searches
def saved_searches(store: Store) -> list[dict[str, Any]]:
    table = store.table("saved_search")
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.name))]


def saved_search(store: Store, seq: int) -> dict[str, Any] | None:
    table = store.table("saved_search")
    with store.read() as conn:
        row = conn.execute(select(table).where(table.c.seq == seq)).first()
    return dict(row._mapping) if row else None


def save_search(store: Store, name: str, params: dict[str, str], user: str | None) -> int:
    """Save (or replace) the search called ``name``; ``params`` are its URL parameters."""
    name = name.strip()
    if not name or len(name) > 200:
        raise AlertStoreError("a saved search needs a name of 1 to 200 characters")
    table = store.table("saved_search")
    query = params.get("q", "")
    filters = {k: v for k, v in params.items() if k != "q" and v}
    with store.write() as conn:
        seq = conn.execute(select(table.c.seq).where(table.c.name == name)).scalar()
        if seq is not None:
            conn.execute(update(table).where(table.c.seq == seq).values(
                query=query, filters=filters))
            return int(seq)
        return int(conn.execute(insert(table).values(
            name=name, query=query, filters=filters, created_by=user,
            created_ts=time.time()).returning(table.c.seq)).scalar_one())


def delete_saved_search(store: Store, seq: int) -> None:
    rules = store.table("alert_rule")
    table = store.table("saved_search")
    with store.write() as conn:
        users = conn.execute(select(rules.c.name).where(rules.c.saved_search_seq == seq)
                             ).scalars().all()
        if users:
            raise AlertStoreError(f"alert rule(s) {', '.join(users)} use this search; "
                                  "delete them first")
        conn.execute(delete(table).where(table.c.seq == seq))


# --------------------------------------------------------------------------- rules
def rules(store: Store) -> list[dict[str, Any]]:
    table = store.table("alert_rule")
    searches = store.table("saved_search")
    with store.read() as conn:
        rows = conn.execute(
            select(table, searches.c.name.label("search_name"),
                   searches.c.query.label("search_query"),
                   searches.c.filters.label("search_filters"))
            .select_from(table.outerjoin(searches, searches.c.seq == table.c.saved_search_seq))
            .order_by(table.c.name))
        return [dict(r._mapping) for r in rows]


def rule(store: Store, seq: int) -> dict[str, Any] | None:
    return next((r for r in rules(store) if r["seq"] == seq), None)


def add_rule(store: Store, spec: RuleSpec, source: str = DASHBOARD) -> int:
    table = store.table("alert_rule")
    try:
        with store.write() as conn:
            return int(conn.execute(insert(table).values(
                **spec.row(), source=source, created_ts=time.time()
            ).returning(table.c.seq)).scalar_one())
    except IntegrityError:
        raise AlertStoreError(f"a rule named {spec.name!r} exists already") from None


def delete_rule(store: Store, seq: int) -> bool:
    """Delete a dashboard rule; rules from the config file are changed there."""
    table = store.table("alert_rule")
    with store.write() as conn:
        source = conn.execute(select(table.c.source).where(table.c.seq == seq)).scalar()
        if source is None:
            return False
        if source != DASHBOARD:
            raise AlertStoreError(f"this rule comes from {source}; change it there")
        conn.execute(delete(table).where(table.c.seq == seq))
    return True


def set_enabled(store: Store, seq: int, enabled: bool) -> None:
    table = store.table("alert_rule")
    with store.write() as conn:
        conn.execute(update(table).where(table.c.seq == seq).values(enabled=enabled))


def sync_config_rules(store: Store, specs: list[RuleSpec], source: str) -> dict[str, int]:
    """Make the store's config rules exactly ``specs``: add new ones, update changed ones
    (keeping their state), remove those no longer configured. A dashboard rule with the
    same name is taken over by the config file."""
    table = store.table("alert_rule")
    done = {"added": 0, "updated": 0, "removed": 0}
    with store.write() as conn:
        existing = {r.name: r for r in conn.execute(select(table.c.seq, table.c.name,
                                                            table.c.source))}
        wanted = {spec.name for spec in specs}
        for spec in specs:
            row = existing.get(spec.name)
            if row is None:
                conn.execute(insert(table).values(**spec.row(), source=source,
                                                  created_ts=time.time()))
                done["added"] += 1
            else:
                conn.execute(update(table).where(table.c.seq == row.seq).values(
                    **spec.row(), source=source))
                done["updated"] += 1
        for name, row in existing.items():
            if row.source != DASHBOARD and name not in wanted:
                conn.execute(delete(table).where(table.c.seq == row.seq))
                done["removed"] += 1
    return done


def claim_check(store: Store, seq: int, seen_checked_ts: float | None, now: float) -> bool:
    """Take the rule's next check: True for exactly one caller among servers that read
    the same ``last_checked_ts`` (compare-and-set)."""
    table = store.table("alert_rule")
    same = (table.c.last_checked_ts.is_(None) if seen_checked_ts is None
            else table.c.last_checked_ts == seen_checked_ts)
    with store.write() as conn:
        result = conn.execute(update(table).where(table.c.seq == seq, same)
                              .values(last_checked_ts=now))
    return bool(result.rowcount == 1)


def update_rule_state(store: Store, seq: int, **values: Any) -> None:
    table = store.table("alert_rule")
    with store.write() as conn:
        conn.execute(update(table).where(table.c.seq == seq).values(**values))


# ---------------------------------------------------------------------- deliveries
def record_delivery(store: Store, *, rule_seq: int, rule_name: str, reason: str,
                    attempt: int, status_code: int | None, ok: bool, error: str | None,
                    payload: dict[str, Any]) -> None:
    table = store.table("alert_delivery")
    with store.write() as conn:
        conn.execute(insert(table).values(
            rule_seq=rule_seq, rule_name=rule_name, reason=reason, ts=time.time(),
            attempt=attempt, status_code=status_code, ok=ok, error=error, payload=payload))


def deliveries(store: Store, limit: int = 100, rule_seq: int | None = None
               ) -> list[dict[str, Any]]:
    table = store.table("alert_delivery")
    query = select(table).order_by(table.c.seq.desc()).limit(limit)
    if rule_seq is not None:
        query = query.where(table.c.rule_seq == rule_seq)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def delivery_counts(store: Store) -> dict[int, tuple[int, int]]:
    """Per rule: (deliveries that succeeded, attempts that failed)."""
    table = store.table("alert_delivery")
    with store.read() as conn:
        rows = conn.execute(select(table.c.rule_seq, table.c.ok, func.count())
                            .group_by(table.c.rule_seq, table.c.ok))
        out: dict[int, list[int]] = {}
        for seq, ok, n in rows:
            out.setdefault(seq, [0, 0])[0 if ok else 1] += n
    return {k: (v[0], v[1]) for k, v in out.items()}


# --------------------------------------------------------------------------- lease
def lease_holder() -> str:
    """A name for this process in the lease table: host, pid and a random part (a pid
    can come again after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def acquire_lease(store: Store, name: str, holder: str, ttl_s: float,
                  now: float | None = None) -> bool:
    """Hold the lease ``name`` for ``ttl_s`` seconds: True when ``holder`` has it now
    (it was free, expired, or already ``holder``'s). One atomic statement, so two servers
    asking at once cannot both get it."""
    now = time.time() if now is None else now
    table = store.table("lease")
    expires = now + ttl_s
    with store.write() as conn:
        taken = conn.execute(update(table).where(
            table.c.name == name,
            or_(table.c.holder == holder, table.c.expires_ts < now),
        ).values(holder=holder, expires_ts=expires)).rowcount
        if taken:
            return True
        exists = conn.execute(select(table.c.holder).where(table.c.name == name)).first()
        if exists is not None:
            return False
    try:
        with store.write() as conn:
            conn.execute(insert(table).values(name=name, holder=holder, expires_ts=expires))
        return True
    except IntegrityError:  # another server inserted it first
        return False


def release_lease(store: Store, name: str, holder: str) -> None:
    table = store.table("lease")
    with store.write() as conn:
        conn.execute(delete(table).where(and_(table.c.name == name,
                                              table.c.holder == holder)))
