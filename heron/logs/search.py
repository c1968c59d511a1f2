"""A log search as a URL carries it: ``?q=…&level=…&since=…``, parsed in one place for the
dashboard, the API and alerts, so a link, a saved search and an alert mean the same lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from heron.logs.query import LogQuery, QueryError, parse, parse_level
from heron.store.queries.logs import LogFilter
from heron.timeparse import parse_time

#: URL parameters of a search, in the order links write them.
PARAMS = ("q", "level", "app", "since", "until", "run", "session", "request")


@dataclass(frozen=True)
class Search:
    """A parsed search and the parameters it came from."""

    query: LogQuery
    where: LogFilter
    params: dict[str, str]

    def url_params(self, **more: str) -> str:
        return urlencode({**self.params, **more})


def from_params(args: Mapping[str, str | None], *, now: float | None = None) -> Search:
    """Parse URL-style parameters; raises QueryError (a ValueError) saying what is wrong."""
    params = {k: str(args[k]).strip() for k in PARAMS if args.get(k) and str(args[k]).strip()}
    query = parse(params.get("q"))
    if "level" in params:
        query = query.with_level(parse_level(params["level"]))
    try:
        since = parse_time(params["since"], now=now) if "since" in params else None
        until = parse_time(params["until"], now=now) if "until" in params else None
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    where = LogFilter(app=params.get("app"), since=since, until=until,
                      run_id=params.get("run"), session_id=params.get("session"),
                      request_id=params.get("request"))
    return Search(query, where, params)
