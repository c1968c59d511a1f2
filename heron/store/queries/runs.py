"""Runs and their exports: classes, runs of a class, metric series, one run's tree.

Every query is bounded by a time window (and the ``(app, run_class, ts)`` index), so pages
stay fast however many runs are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select

from heron.store import Store
from heron.store.queries import time_bucket

MAX_RUNS = 500


@dataclass
class RunClass:
    app: str
    run_class: str
    sub: bool
    runs: int
    ok: int
    errors: int
    open: int
    mean_duration_s: float | None
    last_ts: float | None

    @property
    def success_rate(self) -> float | None:
        finished = self.ok + self.errors
        return self.ok / finished if finished else None


def run_classes(store: Store, *, app: str | None, since: float) -> list[RunClass]:
    """Run classes seen since ``since``, with counts, success and mean duration."""
    run = store.table("run")
    sub = run.c.parent_id.is_not(None)
    query = (
        select(run.c.app, run.c.run_class, sub.label("sub"), func.count(),
               func.sum(case((run.c.outcome == "ok", 1), else_=0)),
               func.sum(case((run.c.outcome == "error", 1), else_=0)),
               func.sum(case((run.c.outcome.is_(None), 1), else_=0)),
               func.avg(run.c.end_ts - run.c.ts), func.max(run.c.ts))
        .where(run.c.ts >= since, run.c.run_class.is_not(None))
        .group_by(run.c.app, run.c.run_class, sub)
        .order_by(run.c.app, sub, run.c.run_class)
    )
    if app is not None:
        query = query.where(run.c.app == app)
    with store.read() as conn:
        return [RunClass(a, c, bool(s), int(n), int(ok or 0), int(err or 0), int(op or 0),
                         float(d) if d is not None else None, last)
                for a, c, s, n, ok, err, op, d, last in conn.execute(query)]


def _dimension(column: Any, key: str) -> Any:
    return column[key].as_string()


def runs_of_class(store: Store, *, app: str, run_class: str, since: float,
                  until: float | None = None, dimensions: dict[str, str] | None = None,
                  limit: int = 100) -> list[dict[str, Any]]:
    """The newest runs of one class, optionally only those with given dimension values."""
    run = store.table("run")
    query = select(run).where(run.c.app == app, run.c.run_class == run_class,
                              run.c.ts >= since)
    if until is not None:
        query = query.where(run.c.ts < until)
    for key, value in (dimensions or {}).items():
        query = query.where(_dimension(run.c.dimensions, key) == value)
    query = query.order_by(run.c.ts.desc()).limit(min(limit, MAX_RUNS))
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _root_of(store: Store, run_id: Any) -> Any:
    """The root run's id of a (sub-)run id: the part before the first dot."""
    if store.dialect == "postgresql":
        return func.split_part(run_id, ".", 1)
    return func.substr(run_id, 1, func.instr(run_id + ".", ".") - 1)


def _exports_of_class(store: Store, app: str, run_class: str) -> tuple[Any, Any]:
    """(join condition, where clause) pairing exports with runs of ``run_class``.

    A class of root runs owns the exports of its sub-runs too (``classify`` → the
    confidence its ``model`` sub-run exported); a sub-run class owns its own.
    """
    run, export = store.table("run"), store.table("export")
    with store.read() as conn:
        is_sub = conn.execute(select(run.c.parent_id.is_not(None))
                              .where(run.c.app == app, run.c.run_class == run_class)
                              .limit(1)).scalar()
    key = export.c.run_id if is_sub else _root_of(store, export.c.run_id)
    return run.c.run_id == key, and_(run.c.app == app, run.c.run_class == run_class,
                                     export.c.app == app)


def export_keys(store: Store, *, app: str, run_class: str, since: float,
                sample: int = 500) -> tuple[list[str], list[str]]:
    """Metric names and dimension names seen in recent exports and runs of a class."""
    run, export = store.table("run"), store.table("export")
    on, where = _exports_of_class(store, app, run_class)
    query = (select(export.c.metrics, export.c.dimensions, run.c.dimensions)
             .join(run, on).where(where, export.c.ts >= since)
             .order_by(export.c.ts.desc()).limit(sample))
    metrics: set[str] = set()
    dimensions: set[str] = set()
    with store.read() as conn:
        for m, d, rd in conn.execute(query):
            metrics.update(m or {})
            dimensions.update(k for k, v in (d or {}).items() if not isinstance(v, list))
            dimensions.update(k for k, v in (rd or {}).items() if isinstance(v, str | bool))
    return sorted(metrics), sorted(dimensions)


def metric_series(store: Store, *, app: str, run_class: str, metric: str,
                  segment: str | None, since: float, until: float,
                  buckets: int = 60) -> dict[str, Any]:
    """Mean of ``metric`` over time, one series per value of dimension ``segment``.

    The segment value is taken from the export's dimensions, else from its run's.
    """
    run, export = store.table("run"), store.table("export")
    step = max(1, int((until - since) // buckets))
    value = export.c.metrics[metric].as_float()
    bucket = time_bucket(store.dialect, export.c.ts, step)
    seg = (func.coalesce(_dimension(export.c.dimensions, segment),
                         _dimension(run.c.dimensions, segment))
           if segment else literal("all"))
    on, where = _exports_of_class(store, app, run_class)
    query = (
        select(bucket.label("b"), seg.label("s"), func.avg(value), func.count(value))
        .select_from(export).join(run, on)
        .where(where, export.c.ts >= since, export.c.ts < until, value.is_not(None))
        .group_by("b", "s")
    )
    start = int(since // step) * step
    times = list(range(start, int(until) + 1, step))
    index = {t: i for i, t in enumerate(times)}
    series: dict[str, list[float | None]] = {}
    counts: dict[str, int] = {}
    with store.read() as conn:
        for b, s, mean, n in conn.execute(query):
            i = index.get(int(b))
            if i is None:
                continue
            name = "(none)" if s is None else str(s)
            series.setdefault(name, [None] * len(times))[i] = float(mean)
            counts[name] = counts.get(name, 0) + int(n)
    return {"step": step, "buckets": times, "series": dict(sorted(series.items())),
            "counts": counts}


def run_tree(store: Store, run_id: str) -> dict[str, Any] | None:
    """The whole tree ``run_id`` belongs to: its root run with every sub-run nested under
    ``children``, each with its exports. None when ``run_id`` is not stored."""
    run, export = store.table("run"), store.table("export")
    root_id = run_id.split(".", 1)[0]
    with store.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(run).where(or_(run.c.run_id == root_id,
                                  run.c.run_id.like(root_id + ".%")))
            .order_by(run.c.ts))]
        if not rows:
            return None
        ids = [r["run_id"] for r in rows]
        exports: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), 500):
            for e in conn.execute(select(export).where(and_(
                    export.c.run_id.in_(ids[start:start + 500]))).order_by(export.c.ts)):
                exports.setdefault(e.run_id, []).append(dict(e._mapping))
    nodes = {r["run_id"]: {**r, "children": [], "exports": exports.get(r["run_id"], [])}
             for r in rows}
    for node in nodes.values():
        parent = node["parent_id"]
        if parent in nodes:
            nodes[parent]["children"].append(node)
    if run_id not in nodes:
        return None
    return nodes.get(root_id) or nodes[run_id]
