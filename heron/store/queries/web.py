"""Web monitoring reads: endpoint levels, the overview, per-endpoint charts, outliers,
profiles and exceptions.

Counts, means and percentiles come from the rollups maintained at ingest
(:mod:`heron.store.rollups`), so pages stay fast with millions of requests stored; only
per-request detail (status codes, users, IPs, outliers) reads raw rows, within the time
window and through the ``(app, endpoint, ts)`` index.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select, update

from heron.store import Store, sketch
from heron.store.queries import time_bucket

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _ceil(value: float) -> int:
    """An integer bound for ``bucket < value``: a float would make PostgreSQL compare the
    bigint column as numeric, and then no index serves the range (measured: a seq scan of
    the whole hourly sketch table)."""
    return -int(-value // 1)


def _spans(since: float, until: float, unit: int) -> list[tuple[bool, float, float]]:
    """Split a window into ``(coarse, start, end)`` parts: the whole ``unit``s it covers
    (read from the coarse rollup) and its ragged ends (read from the fine one)."""
    first = -(-int(since) // unit) * unit  # the first unit boundary at or after since
    last = int(until // unit) * unit
    if first >= last:
        return [(False, since, until)]
    spans = [(True, float(first), float(last))]
    if since < first:
        spans.append((False, since, float(first)))
    if last < until:
        spans.append((False, float(last), until))
    return spans


def window_sums(store: Store, app: str, since: float, until: float,
                by: tuple[str, ...] = ("endpoint",), endpoint: str | None = None
                ) -> dict[tuple[Any, ...], list[float]]:
    """Requests, server errors, total ms, SQL queries and SQL ms per ``by`` key in the
    window: whole hours from the hourly rollup, the minutes at either end from the
    per-minute one."""
    out: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0, 0.0])
    with store.read() as conn:
        for coarse, start, end in _spans(since, until, 3600):
            table = store.table("rollup_request_hour" if coarse else "rollup_request")
            step = 3600 if coarse else 60
            keys = [table.c[name] for name in by]
            query = (select(*keys, func.sum(table.c["count"]), func.sum(table.c.errors),
                            func.sum(table.c.sum_ms), func.sum(table.c.sql_count),
                            func.sum(table.c.sql_ms))
                     .where(table.c.app == app, table.c.bucket >= int(start // step) * step,
                            table.c.bucket < _ceil(end))
                     .group_by(*keys))
            if endpoint is not None:
                query = query.where(table.c.endpoint == endpoint)
            for row in conn.execute(query):
                sums = out[tuple(row[:len(by)])]
                for i, value in enumerate(row[len(by):]):  # PostgreSQL sums are Decimal
                    sums[i] += (float if i in (2, 4) else int)(value or 0)
    return out


def endpoint_levels(store: Store, app: str) -> dict[str, int]:
    table = store.table("endpoint")
    with store.read() as conn:
        return {e: int(level) for e, level in conn.execute(
            select(table.c.endpoint, table.c.monitor_level).where(table.c.app == app))}


def set_level(store: Store, app: str, endpoint: str, level: int) -> bool:
    """Set one endpoint's monitor level; False when the endpoint is unknown."""
    if level not in (0, 1, 2, 3):
        raise ValueError(f"monitor level must be 0, 1, 2 or 3, got {level!r}")
    table = store.table("endpoint")
    with store.write() as conn:
        done = conn.execute(update(table).where(table.c.app == app, table.c.endpoint == endpoint)
                            .values(monitor_level=level))
    return done.rowcount == 1


def web_apps(store: Store) -> list[str]:
    """Apps with monitored endpoints."""
    table = store.table("endpoint")
    with store.read() as conn:
        return list(conn.execute(select(table.c.app).distinct().order_by(table.c.app))
                    .scalars())


def endpoints(store: Store, app: str) -> list[dict[str, Any]]:
    table = store.table("endpoint")
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(table).where(table.c.app == app).order_by(table.c.endpoint))]


def _latency_buckets(store: Store, app: str, since: float, until: float,
                     group: str = "endpoint", endpoint: str | None = None,
                     version: str | None = None) -> dict[str, list[tuple[int, int]]]:
    """Sketch buckets per endpoint (or version) over the window: whole UTC days from the
    daily sketch, the hours at either end from the hourly one."""
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with store.read() as conn:
        for coarse, start, end in _spans(since, until, 86400):
            table = store.table("rollup_latency_day" if coarse else "rollup_latency")
            step = 86400 if coarse else 3600
            key = table.c[group]
            query = (select(key, table.c.idx, func.sum(table.c["count"]))
                     .where(table.c.app == app, table.c.bucket >= int(start // step) * step,
                            table.c.bucket < _ceil(end))
                     .group_by(key, table.c.idx))
            if endpoint is not None:
                query = query.where(table.c.endpoint == endpoint)
            if version is not None:
                query = query.where(table.c.version == version)
            for name, idx, count in conn.execute(query):
                out[name].append((int(idx), int(count)))
    return out


def overview(store: Store, app: str, *, since: float, today_start: float,
             now: float | None = None) -> list[dict[str, Any]]:
    """Every endpoint of ``app``: level, last requested, hits today / 7 days / total, and
    median, p95, mean and error rate over the window starting at ``since``."""
    now = time.time() if now is None else now
    until = now + 60
    today = window_sums(store, app, today_start, until)
    week = window_sums(store, app, now - 7 * 86400, until)
    window = window_sums(store, app, since, until)
    hour = store.table("rollup_request_hour")
    with store.read() as conn:
        total = {e: int(n) for e, n in conn.execute(
            select(hour.c.endpoint, func.sum(hour.c["count"])).where(hour.c.app == app)
            .group_by(hour.c.endpoint))}
    latency = _latency_buckets(store, app, since, until)
    out = []
    for e in endpoints(store, app):
        name = e["endpoint"]
        hits, errors, sum_ms = window.get((name,), [0, 0, 0.0])[:3]
        buckets = latency.get(name, [])
        out.append({
            "endpoint": name, "monitor_level": e["monitor_level"],
            "last_ts": e["last_ts"] or None,
            "hits_today": int(today.get((name,), [0])[0]),
            "hits_7d": int(week.get((name,), [0])[0]),
            "hits_total": total.get(name, 0),
            "hits_window": int(hits),
            "median_ms": sketch.quantile(buckets, 0.5),
            "p95_ms": sketch.quantile(buckets, 0.95),
            "mean_ms": (sum_ms / hits) if hits else None,
            "error_rate": (errors / hits) if hits else None,
        })
    return out


def _if(condition: Any, value: Any) -> Any:
    from sqlalchemy import case

    return case((condition, value), else_=None)


def percentiles(store: Store, app: str, endpoint: str | None, since: float, until: float,
                group: str = "endpoint") -> dict[str, dict[str, float | None]]:
    """Box-plot quantiles (5, 25, 50, 75, 95%) per endpoint or per version."""
    buckets = _latency_buckets(store, app, since, until, group=group, endpoint=endpoint)
    return {name: {f"p{int(q * 100)}": sketch.quantile(b, q) for q in QUANTILES}
            for name, b in sorted(buckets.items())}


def series(store: Store, app: str, endpoint: str | None, since: float, until: float,
           step: int, by: str = "version") -> dict[str, Any]:
    """Hits and mean duration per ``step`` seconds, one series per version (or endpoint)."""
    rollup = store.table("rollup_request_hour" if step % 3600 == 0 else "rollup_request")
    with store.read() as conn:
        bucket = time_bucket(conn.dialect.name, rollup.c.bucket, step)
        unit = 3600 if step % 3600 == 0 else 60
        query = (select(bucket.label("t"), rollup.c[by], func.sum(rollup.c["count"]),
                        func.sum(rollup.c.sum_ms), func.sum(rollup.c.errors))
                 .where(rollup.c.app == app, rollup.c.bucket >= int(since // unit) * unit,
                        rollup.c.bucket < _ceil(until))
                 .group_by(bucket, rollup.c[by]).order_by(bucket))
        if endpoint is not None:
            query = query.where(rollup.c.endpoint == endpoint)
        out: dict[str, list[list[float]]] = defaultdict(list)
        for t, name, n, total, errors in conn.execute(query):
            out[name or "(none)"].append([int(t), int(n), float(total) / int(n) if n else 0.0,
                                          int(errors)])
    return {"step": step, "series": dict(out)}


def hits_by_endpoint_version(store: Store, app: str, since: float, until: float
                             ) -> dict[str, dict[str, int]]:
    """Requests per endpoint and version in the window."""
    out: dict[str, dict[str, int]] = {e["endpoint"]: {} for e in endpoints(store, app)}
    for (endpoint, version), sums in window_sums(store, app, since, until,
                                                  by=("endpoint", "version")).items():
        out.setdefault(endpoint, {})[version or "(none)"] = int(sums[0])
    return out


def heatmap(store: Store, app: str, since: float, until: float, offset_s: float = 0.0,
            endpoint: str | None = None) -> list[list[int]]:
    """Requests per (day of week 0=Monday, hour) in the window, in the zone ``offset_s``
    (of one endpoint, or all)."""
    rollup = store.table("rollup_request_hour")
    query = (select(rollup.c.bucket, func.sum(rollup.c["count"]))
             .where(rollup.c.app == app, rollup.c.bucket >= int(since // 3600) * 3600,
                    rollup.c.bucket < _ceil(until)).group_by(rollup.c.bucket))
    if endpoint is not None:
        query = query.where(rollup.c.endpoint == endpoint)
    with store.read() as conn:
        rows = conn.execute(query).all()
    grid = [[0] * 24 for _ in range(7)]
    for t, n in rows:
        local = int(t) + offset_s
        day = int(((local // 86400) + 3) % 7)  # 1970-01-01 was a Thursday
        grid[day][int(local % 86400 // 3600)] += int(n)
    return grid


def _grouped(store: Store, app: str, endpoint: str, since: float, until: float, dim: str,
             by_hour: bool = False) -> list[tuple[Any, ...]]:
    """(hour if ``by_hour``, key, version, requests, total ms) per ``dim`` (status, user,
    ip): whole hours from ``rollup_group``, the window's ragged ends from raw requests."""
    from heron.store.rollups import GROUP_DIMS

    out: list[tuple[Any, ...]] = []
    with store.read() as conn:
        for coarse, start, end in _spans(since, until, 3600):
            if coarse:
                t = store.table("rollup_group")
                hour_cols = [t.c.bucket] if by_hour else []
                query = (select(*hour_cols, t.c.key, t.c.version, func.sum(t.c["count"]),
                                func.sum(t.c.sum_ms))
                         .where(t.c.app == app, t.c.endpoint == endpoint, t.c.dim == dim,
                                t.c.bucket >= int(start), t.c.bucket < _ceil(end))
                         .group_by(*hour_cols, t.c.key, t.c.version))
            else:
                r = store.table("request")
                column = r.c[GROUP_DIMS[dim]]
                hour_cols = [time_bucket(conn.dialect.name, r.c.ts, 3600)] if by_hour else []
                query = (select(*hour_cols, column, r.c.version, func.count(),
                                func.sum(r.c.duration_ms))
                         .where(r.c.app == app, r.c.endpoint == endpoint, r.c.ts >= start,
                                r.c.ts < end)
                         .group_by(*hour_cols, column, r.c.version))
            out.extend(tuple(row) for row in conn.execute(query))
    return out


def hour_of_day(store: Store, app: str, endpoint: str, since: float, until: float,
                offset_s: float = 0.0) -> list[int]:
    """Requests of one endpoint per hour of the day (0-23, in the zone ``offset_s``) in the
    window: when in the day the endpoint is used."""
    return [sum(day[hour] for day in heatmap(store, app, since, until, offset_s, endpoint))
            for hour in range(24)]


#: Users shown in the per-user box plot (the busiest), and raw requests read for it.
BOX_USERS = 20
BOX_ROWS = 200_000


def user_percentiles(store: Store, app: str, endpoint: str, since: float, until: float
                     ) -> dict[str, dict[str, float]]:
    """Box-plot quantiles (5, 25, 50, 75, 95%) of one endpoint's durations per user
    (``group_by``), for the busiest :data:`BOX_USERS` users, from the raw requests kept in
    the window (the newest :data:`BOX_ROWS`), with each user's request count as ``n``."""
    import statistics

    table = store.table("request")
    with store.read() as conn:
        rows = conn.execute(
            select(table.c.group_by, table.c.duration_ms)
            .where(table.c.app == app, table.c.endpoint == endpoint, table.c.ts >= since,
                   table.c.ts < until)
            .order_by(table.c.ts.desc()).limit(BOX_ROWS)).all()
    per_user: dict[str, list[float]] = defaultdict(list)
    for user, ms in rows:
        per_user["(none)" if user in (None, "") else str(user)].append(float(ms))
    busiest = sorted(per_user, key=lambda u: (-len(per_user[u]), u))[:BOX_USERS]
    out: dict[str, dict[str, float]] = {}
    for user in sorted(busiest):
        values = sorted(per_user[user])
        if len(values) == 1:
            cuts = [values[0]] * 19
        else:
            cuts = statistics.quantiles(values, n=20, method="inclusive")
        out[user] = {"p5": cuts[0], "p25": cuts[4], "p50": cuts[9], "p75": cuts[14],
                     "p95": cuts[18], "n": len(values)}
    return out


def raw_groups(store: Store, app: str, endpoint: str, since: float, until: float,
               column: str) -> dict[str, Any]:
    """Per ``group_by`` value (``column="group_by"``) or IP and version: requests and mean
    duration in the window."""
    dim = {"group_by": "user", "ip": "ip"}[column]
    merged: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for key, version, n, total in _grouped(store, app, endpoint, since, until, dim):
        row = merged[("(none)" if key in (None, "") else str(key), version or "")]
        row[0] += int(n)
        row[1] += float(total or 0)
    return {"rows": [{"key": k, "version": v, "count": int(n), "mean_ms": total / n}
                     for (k, v), (n, total) in sorted(merged.items()) if n]}


def status_series(store: Store, app: str, endpoint: str, since: float, until: float,
                  step: int) -> dict[str, list[list[int]]]:
    """Requests per status code per ``step`` seconds (hourly steps read the rollup)."""
    out: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    if step % 3600 == 0:
        for hour, status, _version, n, _total in _grouped(store, app, endpoint, since,
                                                          until, "status", by_hour=True):
            out[str(status)][int(hour) // step * step] += int(n)
    else:
        request = store.table("request")
        with store.read() as conn:
            bucket = time_bucket(conn.dialect.name, request.c.ts, step)
            for t, status, n in conn.execute(
                    select(bucket, request.c.status, func.count())
                    .where(request.c.app == app, request.c.endpoint == endpoint,
                           request.c.ts >= since, request.c.ts < until)
                    .group_by(bucket, request.c.status)):
                out[str(status)][int(t)] += int(n)
    return {status: [[t, n] for t, n in sorted(points.items())]
            for status, points in out.items()}


def sql_summary(store: Store, app: str, endpoint: str, since: float, until: float
                ) -> dict[str, float]:
    """Requests, and SQL queries and SQL time per request, in the window (rollups)."""
    n, _errors, _ms, queries, sql_ms = window_sums(store, app, since, until, by=("endpoint",),
                                                   endpoint=endpoint).get((endpoint,),
                                                                          [0, 0, 0.0, 0, 0.0])
    return {"requests": int(n), "mean_queries": float(queries) / n if n else 0.0,
            "mean_sql_ms": float(sql_ms) / n if n else 0.0}


def outliers(store: Store, app: str, endpoint: str | None, since: float, until: float,
             limit: int = 100) -> list[dict[str, Any]]:
    table = store.table("outlier")
    query = (select(table.c.seq, table.c.id, table.c.ts, table.c.endpoint,
                    table.c.duration_ms, table.c.cpu_percent, table.c.memory_bytes)
             .where(table.c.app == app, table.c.ts >= since, table.c.ts < until)
             .order_by(table.c.duration_ms.desc()).limit(limit))
    if endpoint is not None:
        query = query.where(table.c.endpoint == endpoint)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def record(store: Store, kind: str, app: str, record_id: str) -> dict[str, Any] | None:
    """One stored outlier or profile (``kind``) by its id."""
    table = store.table(kind)
    with store.read() as conn:
        row = conn.execute(select(table).where(table.c.app == app, table.c.id == record_id)
                           ).first()
    return dict(row._mapping) if row else None


def request_detail(store: Store, request_id: str) -> dict[str, Any] | None:
    """One request by its id, with the outliers, profiles and exceptions recorded for it
    (ids are kept only for requests something links to: an outlier, a profile, an
    exception or a log line)."""
    table = store.table("request")
    with store.read() as conn:
        row = conn.execute(select(table).where(table.c.id == request_id)).first()
        if row is None:
            return None
        out = dict(row._mapping)
        for kind in ("outlier", "profile", "exception"):
            linked = store.table(kind)
            out[kind + "s"] = [dict(r._mapping) for r in conn.execute(
                select(linked.c.id, linked.c.ts).where(linked.c.request_id == request_id,
                                                       linked.c.app == out["app"]))]
    return out


def profiles(store: Store, app: str, endpoint: str, since: float, until: float,
             limit: int = 50) -> list[dict[str, Any]]:
    table = store.table("profile")
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(table.c.id, table.c.ts, table.c.duration_ms, table.c.request_id)
            .where(table.c.app == app, table.c.endpoint == endpoint, table.c.ts >= since,
                   table.c.ts < until).order_by(table.c.ts.desc()).limit(limit))]


def grouped_profile(store: Store, app: str, endpoint: str, since: float, until: float,
                    limit: int = 500) -> dict[str, Any]:
    """Every sampled request of the window merged into one tree (the grouped profiler):
    ``{"name", "value" (ms), "children"}`` nodes keyed by code line, plus a flat table of
    lines with their total and self time."""
    table = store.table("profile")
    with store.read() as conn:
        trees = [r[0] for r in conn.execute(
            select(table.c.tree).where(table.c.app == app, table.c.endpoint == endpoint,
                                       table.c.ts >= since, table.c.ts < until)
            .order_by(table.c.ts.desc()).limit(limit))]
    root: dict[str, Any] = {"name": endpoint, "value": 0.0, "children": {}}
    lines: dict[str, dict[str, Any]] = {}
    for tree in trees:
        period = float(tree.get("period_ms", 0))
        root["value"] += tree.get("samples", 0) * period
        _merge(tree["root"], root, tree.get("lines", []), period, lines)

    def listify(node: dict[str, Any]) -> dict[str, Any]:
        children = sorted(node["children"].values(), key=lambda c: -c["value"])
        return {**node, "children": [listify(c) for c in children]}

    return {"requests": len(trees), "tree": listify(root),
            "lines": sorted(lines.values(), key=lambda r: -r["total_ms"])}


def _merge(node: list[Any], into: dict[str, Any], code: list[dict[str, Any]], period: float,
           lines: dict[str, dict[str, Any]]) -> None:
    """Add one stored tree's ``[line, samples, children]`` node into a merged tree."""
    for child in node[2]:
        info = code[child[0]]
        name = f"{info['function']} ({info['file'].rsplit('/', 1)[-1]}:{info['line']})"
        ms = child[1] * period
        target = into["children"].setdefault(
            name, {"name": name, "value": 0.0, "children": {}, "code": info["code"]})
        target["value"] += ms
        row = lines.setdefault(name, {"line": name, "code": info["code"], "total_ms": 0.0,
                                      "self_ms": 0.0, "hits": 0})
        row["total_ms"] += ms
        row["self_ms"] += ms - sum(c[1] for c in child[2]) * period
        row["hits"] += child[1]
        _merge(child, target, code, period, lines)


def exception_groups(store: Store, app: str, since: float, until: float,
                     endpoint: str | None = None) -> list[dict[str, Any]]:
    table = store.table("exception")
    query = (select(table.c.fingerprint, table.c.type, table.c.endpoint, func.count(),
                    func.min(table.c.ts), func.max(table.c.ts), func.max(table.c.seq))
             .where(table.c.app == app, table.c.ts >= since, table.c.ts < until)
             .group_by(table.c.fingerprint, table.c.type, table.c.endpoint)
             .order_by(func.max(table.c.ts).desc()))
    if endpoint is not None:
        query = query.where(table.c.endpoint == endpoint)
    with store.read() as conn:
        groups = conn.execute(query).all()
        latest = {}
        seqs = [g[6] for g in groups]
        for start in range(0, len(seqs), 500):
            for row in conn.execute(select(table).where(table.c.seq.in_(seqs[start:start + 500]))):
                latest[row.seq] = row
    return [{"fingerprint": f, "type": t, "endpoint": e, "count": int(n), "first_ts": first,
             "last_ts": last, "message": latest[s].message if s in latest else "",
             "stack": latest[s].stack if s in latest else ""}
            for f, t, e, n, first, last, s in groups]


def latency_sketches(store: Store, app: str, since: float, until: float,
                     version: str | None = None) -> dict[str, list[tuple[int, int]]]:
    """Each endpoint's latency sketch over a window (of one version): what reporting
    tests, every request counted, from the rollups."""
    return _latency_buckets(store, app, since, until, version=version)


def versions(store: Store, app: str) -> list[str]:
    rollup = store.table("rollup_request_hour")
    with store.read() as conn:
        return [v for v in conn.execute(select(rollup.c.version).distinct()
                                         .where(rollup.c.app == app)
                                         .order_by(rollup.c.version)).scalars()]
