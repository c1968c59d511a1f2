"""Property tests (Hypothesis): whatever a client sends, heron answers with a 2xx or 4xx,
never a 5xx (issue 17). Generated bodies go to ``POST /api/v1/events``; generated query
strings go to every ``/api/v1/*`` and dashboard JSON route; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heron import events as ev
from tests.integration.test_api import EXPORT, INGEST

SETTINGS = settings(max_examples=250, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

# numbers at and past every edge a database column has
EDGE_INTS = st.sampled_from([0, -1, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1,
                             2**64, 10**30, -(10**30)])
NUMBERS = st.one_of(st.integers(), EDGE_INTS, st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([1e300, -1e300, 1.5e308, 5e-324]))
TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["", "\x00", "\udcff", "=1+1",
                                                        "a\r\nb", "<script>", "'; --"]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)
FIELDS = sorted({name for cls in ev.KINDS.values() for name in cls.__struct_fields__})


def _event(kind: str, fields: dict[str, Any], keep_id: bool) -> dict[str, Any]:
    item = {"kind": kind, **fields}
    if keep_id:
        item.setdefault("id", "fuzz")
    return item


EVENTS = st.builds(_event, st.sampled_from(sorted(ev.KINDS) + ["nope"]),
                   st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6), st.booleans())


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    shape = draw(st.sampled_from(["events", "wrapped", "json", "bytes", "deep"]))
    if shape == "events":
        return json.dumps(draw(st.lists(EVENTS, max_size=5))).encode()
    if shape == "wrapped":
        return json.dumps({"events": draw(st.lists(EVENTS, max_size=3))}).encode()
    if shape == "json":
        return json.dumps(draw(JSON)).encode()
    if shape == "deep":
        return _deep(draw(st.integers(1, 20_000))).encode()
    return draw(st.binary(max_size=200))


@given(body=bodies())
@SETTINGS
def test_any_body_to_the_events_api_is_answered_without_a_5xx(client, body: bytes) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/events", data=body,
                           headers={"Content-Type": "application/json", **INGEST})
    assert response.status_code < 500, (response.status_code, response.get_data()[:300])
    assert "error" in response.get_json() or response.status_code == 200


PARAMS = ["app", "q", "level", "since", "until", "cursor", "limit", "before", "after", "run",
          "session", "request", "start", "length", "draw", "search", "search[value]",
          "order[0][column]", "order[0][dir]", "table", "format", "scrub", "top", "sort",
          "endpoint", "window", "version", "collapsed", "failed", "participant", "expand",
          "network_ids", "network_roles", "columns[2][search][value]", "col.status"]
VALUES = st.one_of(TEXT, EDGE_INTS.map(str), NUMBERS.map(str),
                   st.sampled_from(["1e400", "nan", "-inf", "10m", "9" * 5000, "participant",
                                    "node", "json", "csv", "false", "2026-13-45"]))
ROUTES = ["/api/v1/export/log", "/api/v1/export/participant", "/api/v1/export/endpoint",
          "/api/v1/export/nope", "/api/v1/summary", "/api/v1/apps", "/api/v1/logs",
          "/api/v1/endpoints", "/dashboard/api/home", "/dashboard/api/runs/series",
          "/dashboard/api/database", "/dashboard/api/database/export",
          "/dashboard/api/network_structure", "/dashboard/api/web/overview",
          "/dashboard/api/web/endpoint", "/dashboard/api/sessions/nope", "/dashboard/api/logs"]


@given(route=st.sampled_from(ROUTES),
       query=st.dictionaries(st.sampled_from(PARAMS), VALUES, max_size=5))
@SETTINGS
def test_any_query_string_is_answered_without_a_5xx(admin_client, store, route: str,
                                                    query: dict[str, str]) -> None:
    if not getattr(store, "_fuzz_seeded", False):  # something to page through, once
        store.ingest([ev.Participant(app="exp", participant_id="p1", worker_id="W"),
                      ev.Log(app="exp", message="hello", id="l1"),
                      ev.Request(app="web", endpoint="index", duration_ms=1.0, id="r1")])
        store._fuzz_seeded = True  # type: ignore[attr-defined]
    # encoded by hand: a lone surrogate goes out as the bytes a broken client sends
    encoded = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}"
                       for k, v in query.items())
    response = admin_client.get(f"{route}?{encoded}", headers=EXPORT)
    body = response.get_data()  # read it all (an export streams)
    response.close()
    assert response.status_code < 500, (route, query, response.status_code, body[:300])
