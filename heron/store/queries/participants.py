"""Participants per status, for ``heron summary``, ``heron apps`` and the summary API."""

from __future__ import annotations

from sqlalchemy import func, select

from heron.experiment.summary import Summary
from heron.store import Store
from heron.store.queries.apps import known_apps


class UnknownApp(LookupError):
    """No events of that app are stored; ``known`` lists the apps that are."""

    def __init__(self, app: str, known: list[str]):
        self.app, self.known = app, known
        listed = ", ".join(known) if known else "none yet"
        super().__init__(f"no app {app!r} in the store; known apps: {listed}")


def summary(store: Store, app: str) -> Summary:
    """Participant counts by status (as stored) of ``app``; UnknownApp if it has no events."""
    table = store.table("participant")
    with store.read() as conn:
        rows = conn.execute(select(table.c.status, func.count())
                            .where(table.c.app == app).group_by(table.c.status)).all()
    if not rows:
        known = known_apps(store)
        if app not in known:
            raise UnknownApp(app, known)
    return Summary(app, {str(status): int(n) for status, n in rows})


def all_summaries(store: Store) -> list[Summary]:
    """Every app with events, with its participant counts (empty when it has none)."""
    table = store.table("participant")
    with store.read() as conn:
        rows = conn.execute(select(table.c.app, table.c.status, func.count())
                            .group_by(table.c.app, table.c.status)).all()
    counts: dict[str, dict[str, int]] = {app: {} for app in known_apps(store)}
    for app, status, n in rows:
        counts.setdefault(app, {})[str(status)] = int(n)
    return [Summary(app, c) for app, c in sorted(counts.items())]
