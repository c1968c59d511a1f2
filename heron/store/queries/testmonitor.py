"""The Test Monitor's reading of ``test_result``: builds, one test across builds, which
endpoints the tests cover, and two builds compared.

A build run more than once (the same commit tested again) keeps its latest result per
test. A test got *slower* from build A to build B when even its fastest run in B took
longer than its slowest run in A (beyond the spread of its repeats) and its median grew
by more than :data:`SLOWER_BY`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from heron.events import UNMATCHED
from heron.store import Store

#: A median must grow by more than this share, beyond the spread, to count as slower.
SLOWER_BY = 0.05
#: Builds read at most (the newest).
MAX_BUILDS = 50
PASSING = frozenset({"passed", "xfailed"})
FAILING = frozenset({"failed", "error", "xpassed"})


def test_apps(store: Store) -> list[str]:
    """Apps with test results, most recently tested first."""
    t = store.table("test_result")
    with store.read() as conn:
        rows = conn.execute(select(t.c.app, func.max(t.c.ts).label("last"))
                            .group_by(t.c.app).order_by(func.max(t.c.ts).desc())).all()
    return [r.app for r in rows]


def _build_ids(store: Store, app: str, limit: int) -> list[tuple[str, float]]:
    t = store.table("test_result")
    with store.read() as conn:
        rows = conn.execute(
            select(t.c.build, func.min(t.c.ts).label("started"))
            .where(t.c.app == app, t.c.build.is_not(None))
            .group_by(t.c.build).order_by(func.min(t.c.ts).desc()).limit(limit)).all()
    return [(r.build, float(r.started)) for r in reversed(rows)]


def results(store: Store, app: str, limit: int = MAX_BUILDS
            ) -> list[tuple[dict[str, Any], dict[str, dict[str, Any]]]]:
    """The newest ``limit`` builds, oldest first: each with its results by test name."""
    builds = _build_ids(store, app, limit)
    if not builds:
        return []
    t = store.table("test_result")
    names = [b for b, _ in builds]
    by_build: dict[str, dict[str, dict[str, Any]]] = {b: {} for b in names}
    meta: dict[str, dict[str, Any]] = {b: {"build": b, "started": s} for b, s in builds}
    with store.read() as conn:
        for start in range(0, len(names), 500):
            query = (select(t.c.build, t.c.test_name, t.c.suite, t.c.outcome, t.c.duration_ms,
                            t.c.durations_ms, t.c.endpoints, t.c.commit, t.c.version, t.c.ts)
                     .where(t.c.app == app, t.c.build.in_(names[start:start + 500]))
                     .order_by(t.c.ts))
            for row in conn.execute(query):
                r = dict(row._mapping)
                durations = [float(d) for d in (r["durations_ms"] or [])] \
                    or [float(r["duration_ms"])]
                r["durations_ms"] = durations
                r["min_ms"], r["max_ms"] = min(durations), max(durations)
                r["endpoints"] = list(r["endpoints"] or [])
                by_build[r["build"]][r["test_name"]] = r  # the latest run of a build wins
                m = meta[r["build"]]
                m["commit"] = r["commit"] or m.get("commit")
                m["version"] = r["version"] or m.get("version")
    out = []
    for name in names:
        tests = by_build[name]
        out.append((_summary(meta[name], tests), tests))
    return out


def _summary(meta: dict[str, Any], tests: dict[str, dict[str, Any]]) -> dict[str, Any]:
    outcomes = [r["outcome"] for r in tests.values()]
    passed = sum(o in PASSING for o in outcomes)
    failed = sum(o in FAILING for o in outcomes)
    ran = passed + failed
    return {**meta, "commit": meta.get("commit"), "version": meta.get("version"),
            "tests": len(tests), "passed": passed, "failed": failed,
            "skipped": len(tests) - ran,
            "pass_rate": passed / ran if ran else None,
            "total_ms": sum(r["duration_ms"] for r in tests.values())}


def history(store: Store, app: str, test_name: str, limit: int = MAX_BUILDS
            ) -> list[dict[str, Any]]:
    """One test in each of the newest builds that ran it, oldest first: outcome, median,
    fastest and slowest run."""
    out = []
    for build, tests in results(store, app, limit):
        r = tests.get(test_name)
        if r is not None:
            out.append({"build": build["build"], "started": build["started"],
                        "commit": build["commit"], "outcome": r["outcome"],
                        "median_ms": r["duration_ms"], "min_ms": r["min_ms"],
                        "max_ms": r["max_ms"], "runs": len(r["durations_ms"]),
                        "endpoints": r["endpoints"]})
    return out


def coverage(tests: dict[str, dict[str, Any]], live: dict[str, int]
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Endpoints the build's tests requested, each with its tests; and the endpoints live
    traffic used (``live``: requests per endpoint) that no test requested, with their
    share of that traffic, busiest first."""
    covered: dict[str, list[str]] = {}
    for name, r in sorted(tests.items()):
        for endpoint in r["endpoints"]:
            covered.setdefault(endpoint, []).append(name)
    live = {e: n for e, n in live.items() if e != UNMATCHED}  # not an endpoint of the app
    total = sum(live.values())
    tested = [{"endpoint": e, "tests": names, "requests": live.get(e, 0),
               "share": live.get(e, 0) / total if total else None}
              for e, names in sorted(covered.items())]
    untested = sorted(({"endpoint": e, "requests": n, "share": n / total if total else None}
                       for e, n in live.items() if e not in covered and n),
                      key=lambda u: -u["requests"])
    return tested, untested


def compare(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]
            ) -> list[dict[str, Any]]:
    """Every test of either build: its median in each, the change, and whether it got
    slower beyond its spread (those first, the largest change first)."""
    rows = []
    for name in sorted(set(a) | set(b)):
        ra, rb = a.get(name), b.get(name)
        row: dict[str, Any] = {"test_name": name, "a": ra, "b": rb, "change": None,
                               "slower": False}
        if ra is not None and rb is not None and ra["duration_ms"] > 0:
            row["change"] = rb["duration_ms"] / ra["duration_ms"] - 1
            row["slower"] = (rb["min_ms"] > ra["max_ms"]
                             and row["change"] > SLOWER_BY
                             and ra["outcome"] in PASSING and rb["outcome"] in PASSING)
        rows.append(row)
    rows.sort(key=lambda r: (not r["slower"], -(r["change"] if r["change"] is not None
                                                 else float("-inf")), r["test_name"]))
    return rows


def spread(r: dict[str, Any]) -> float:
    """The spread of a test's repeats: slowest minus fastest, in ms."""
    return float(r["max_ms"] - r["min_ms"])


