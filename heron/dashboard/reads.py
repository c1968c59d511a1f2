"""Which database a dashboard request reads, when the store has a read replica.

Pages read the replica (DATABASE_READ_URL), which may lag the primary by a moment. A
user who has just changed something (saved a search, changed a level, added a user) must
see it on the page that follows, so a request that writes reads the primary, and so does
every request of that login for :data:`OWN_WRITES_S` seconds after it: heron's session
cookie carries the time of the login's last write. Without a replica nothing changes.
"""

from __future__ import annotations

import time
from typing import Any

from flask import g, request, session

from heron.dashboard.state import state

#: How long after a write a login's pages read the primary: well past a healthy
#: replica's lag (milliseconds), short enough to keep the primary for ingest.
OWN_WRITES_S = 30.0
WROTE_AT = "heron_wrote_at"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Logging in and out write only the login, which is always read on the primary
#: (:mod:`heron.auth`): they do not send the pages after them to the primary.
SESSION_VIEWS = frozenset({"dashboard.login", "dashboard.logout"})


def choose() -> None:
    """Before a dashboard view: read the primary if this request writes or follows a
    write of the same login."""
    store = state().store
    if store.read_engine is None:
        return
    wrote_at = session.get(WROTE_AT)
    writes = request.method not in SAFE_METHODS
    recent = isinstance(wrote_at, (int, float)) and time.time() - wrote_at < OWN_WRITES_S
    if writes or recent:
        manager = store.primary()
        manager.__enter__()
        g.heron_primary_reads = manager


def note_write(response: Any) -> Any:
    """After a dashboard view that wrote: remember when, in heron's own cookie."""
    if (request.method not in SAFE_METHODS and response.status_code < 400
            and request.endpoint not in SESSION_VIEWS
            and state().store.read_engine is not None):
        session[WROTE_AT] = time.time()
    return response


def release(_error: BaseException | None = None) -> None:
    """At the end of the request: reads go back to the replica."""
    manager = g.pop("heron_primary_reads", None)
    if manager is not None:
        try:
            manager.__exit__(None, None, None)
        except ValueError:  # ended in another context than it began: no token to reset
            pass
