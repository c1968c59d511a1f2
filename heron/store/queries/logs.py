"""Log search over the database's own full-text index, newest first.

SQLite: the FTS5 table ``log_fts`` drives the query (``CROSS JOIN`` keeps it outside) in
rowid order, so a page of a common word reads one page of the index. PostgreSQL: the
stored ``search`` tsvector (:data:`~heron.store.schema.LOG_SEARCH_PG`) with its GIN index,
the planner choosing between the index (rare words) and a backwards walk of the primary
key (common ones). Lines are ordered by ``seq``, the order they
were received in, as a live tail shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from heron.logs.query import LogQuery
from heron.store import Store

PAGE = 100
MAX_PAGE = 1_000


@dataclass(frozen=True)
class LogFilter:
    """What narrows a search besides its text (the form's fields, the URL's parameters)."""

    app: str | None = None
    since: float | None = None
    until: float | None = None
    run_id: str | None = None
    session_id: str | None = None
    request_id: str | None = None


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ".%"


def _conditions(store: Store, query: LogQuery, where: LogFilter, alias: str
                ) -> tuple[list[str], dict[str, Any]]:
    conds: list[str] = []
    params: dict[str, Any] = {}
    col = f"{alias}." if alias else ""
    apps = list(query.apps) + ([where.app] if where.app else [])
    if where.app and query.apps and where.app not in query.apps:
        conds.append("1 = 0")  # the app chosen above and app: in the text disagree
    elif apps:
        names = sorted(set(apps))
        conds.append(f"{col}app IN ({', '.join(f':app{i}' for i in range(len(names)))})")
        params.update({f"app{i}": name for i, name in enumerate(names)})
    if query.level is not None:
        conds.append(f"{col}level >= :level")
        params["level"] = query.level
    for key, names, negate in (("lg", query.loggers, False),
                               ("xlg", query.excluded_loggers, True)):
        parts = []
        for i, name in enumerate(names):
            parts.append(f"({col}logger = :{key}{i} OR {col}logger LIKE :{key}p{i} "
                         "ESCAPE '\\')")
            params[f"{key}{i}"], params[f"{key}p{i}"] = name, _like_prefix(name)
        if parts:
            joined = " OR ".join(parts)
            conds.append(f"NOT ({joined})" if negate else f"({joined})")
    for name, value, op in (("since", where.since, ">="), ("until", where.until, "<")):
        if value is not None:
            conds.append(f"{col}ts {op} :{name}")
            params[name] = value
    for name in ("run_id", "session_id", "request_id"):
        value = getattr(where, name)
        if value:
            conds.append(f"{col}{name} = :{name}")
            params[name] = value
    if store.dialect == "postgresql":
        tsquery = query.tsquery()
        if tsquery is not None:
            # Written into the statement, not bound: a prepared statement's generic plan
            # cannot tell a rare word (read the index) from a common one (walk the newest
            # lines). The text is tokens of letters and digits and operators only.
            if "'" in tsquery or "\\" in tsquery:  # parse() never makes one; never pass it
                raise ValueError("search text could not be made safe")
            conds.append(f"{col}search @@ to_tsquery('simple', '{tsquery}')")
    else:
        excluded = query.fts5_excluded()
        if excluded is not None:
            conds.append(f"{col}seq NOT IN (SELECT rowid FROM {store.prefix}log_fts "
                         f"WHERE {store.prefix}log_fts MATCH :excluded)")
            params["excluded"] = excluded
    return conds, params


def _statement(store: Store, query: LogQuery, where: LogFilter, *, before: int | None,
               after: int | None, limit: int | None, oldest_first: bool,
               count: bool = False, recent: int | None = None) -> tuple[str, dict[str, Any]]:
    """The SQL of a search. ``recent``: look only at that many newest lines (before
    ``before``) — PostgreSQL's first try, see :func:`search`."""
    p = store.prefix
    match = query.fts5_match() if store.dialect == "sqlite" else None
    alias = "l"
    conds, params = _conditions(store, query, where, alias)
    if match is not None:
        source = f"{p}log_fts CROSS JOIN {p}log AS l ON l.seq = {p}log_fts.rowid"
        conds.insert(0, f"{p}log_fts MATCH :match")
        params["match"] = match
        order_col = f"{p}log_fts.rowid"
    elif recent is not None:
        bound = " WHERE seq < :before" if before is not None else ""
        source = f"(SELECT * FROM {p}log{bound} ORDER BY seq DESC LIMIT :recent) AS l"
        params["recent"] = recent
        order_col = "l.seq"
    else:
        source = f"{p}log AS l"
        order_col = "l.seq"
    if before is not None:
        conds.append(f"{order_col} < :before")
        params["before"] = before
    if after is not None:
        conds.append(f"{order_col} > :after")
        params["after"] = after
    sql_where = f" WHERE {' AND '.join(conds)}" if conds else ""
    if count:
        return f"SELECT count(*) FROM {source}{sql_where}", params
    columns = ", ".join(f"l.{name}" for name in store.table("log").c.keys())
    sql = (f"SELECT {columns} FROM {source}{sql_where} "
           f"ORDER BY {order_col} {'ASC' if oldest_first else 'DESC'}")
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return sql, params


def search(store: Store, query: LogQuery, where: LogFilter | None = None, *,
           before: int | None = None, after: int | None = None, limit: int = PAGE,
           oldest_first: bool = False) -> list[dict[str, Any]]:
    """Matching lines, newest first (``oldest_first`` for a tail's new lines).

    :param before: only lines received before this ``seq`` (the next page).
    :param after: only lines received after this ``seq`` (what is new since).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    where = where or LogFilter()
    table = store.table("log")
    if store.dialect == "postgresql" and query.terms and after is None:
        return _search_newest_pg(store, query, where, before, limit)
    sql, params = _statement(store, query, where, before=before, after=after,
                             limit=limit, oldest_first=oldest_first)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql).columns(*table.c), params)]


#: Lines PostgreSQL's first try looks at (about 5 ms to walk).
RECENT = 20_000


def _search_newest_pg(store: Store, query: LogQuery, where: LogFilter, before: int | None,
                      limit: int) -> list[dict[str, Any]]:
    """Newest matches on PostgreSQL, in two steps that do not depend on the planner
    guessing how common the words are (with a small vocabulary its guesses are off by
    1,000×: it walked 5M lines for a rare word, and read 50,000 heap pages for a phrase a
    short walk finds):

    1. the newest :data:`RECENT` lines, walked backwards: enough for common words;
    2. if that found fewer than ``limit``, the words are rare: the GIN index for the
       lines before those, with plain index scans off so the planner cannot walk.
    """
    table = store.table("log")
    with store.read() as conn:
        sql, params = _statement(store, query, where, before=before, after=None,
                                 limit=limit, oldest_first=False, recent=RECENT)
        rows = [dict(r._mapping) for r in conn.execute(text(sql).columns(*table.c), params)]
        if len(rows) == limit:
            return rows
        bound_sql = (f"SELECT min(seq), count(*) FROM (SELECT seq FROM {store.prefix}log"
                     + (" WHERE seq < :before" if before is not None else "")
                     + " ORDER BY seq DESC LIMIT :recent) AS w")
        oldest, walked = conn.execute(text(bound_sql), {"before": before, "recent": RECENT}
                                      ).one()
        if oldest is None or walked < RECENT:
            return rows  # the walk saw every line there is
        conn.execute(text("SET LOCAL enable_indexscan = off"))
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        sql, params = _statement(store, query, where, before=int(oldest), after=None,
                                 limit=limit - len(rows), oldest_first=False)
        rows += [dict(r._mapping) for r in conn.execute(text(sql).columns(*table.c), params)]
        return rows


def count(store: Store, query: LogQuery, where: LogFilter | None = None, *,
          after: int | None = None, before: int | None = None) -> int:
    """How many lines match (received after ``seq`` ``after`` and before ``before``)."""
    sql, params = _statement(store, query, where or LogFilter(), before=before, after=after,
                             limit=None, oldest_first=False, count=True)
    with store.read() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def newest_seq(store: Store) -> int:
    """The ``seq`` of the newest line stored (0 with none): where a tail starts."""
    with store.read() as conn:
        value = conn.execute(text(f"SELECT max(seq) FROM {store.prefix}log")).scalar()
    return int(value or 0)


def loggers(store: Store, app: str | None = None, limit: int = 200) -> list[str]:
    """Logger names seen recently, for the form's suggestions."""
    table = store.table("log")
    sql = f"SELECT DISTINCT logger FROM (SELECT logger FROM {table.name}"
    params: dict[str, Any] = {"limit": 5_000}
    if app:
        sql += " WHERE app = :app"
        params["app"] = app
    sql += " ORDER BY seq DESC LIMIT :limit) AS recent"
    with store.read() as conn:
        names = sorted(r[0] for r in conn.execute(text(sql), params))
    return names[:limit]
