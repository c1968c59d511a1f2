"""The ingest and export APIs, through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json

from heron import events as ev
from tests.conftest import ADMIN_PASSWORD, login

INGEST = {"Authorization": "Bearer ingest-secret-1"}
EXPORT = {"Authorization": "Bearer export-secret-1"}


def post(client, events, headers=INGEST, **kwargs):  # type: ignore[no-untyped-def]
    if not isinstance(events, bytes):
        ev.ensure_ids(events)  # clients make the ids, as the recorder does
    body = ev.encode(events) if not isinstance(events, bytes) else events
    return client.post("/api/v1/events", data=body,
                       headers={"Content-Type": "application/json", **headers}, **kwargs)


def test_ingest_needs_the_token(client) -> None:  # type: ignore[no-untyped-def]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = post(client, [ev.Log(message="x")], headers=headers)
        assert response.status_code == 401
        assert "Authorization: Bearer <INGEST_TOKEN>" in response.get_json()["error"]


def test_batch_of_ten_thousand_posted_twice_is_stored_once(client) -> None:  # type: ignore[no-untyped-def]
    batch = [ev.Request(app="svc", endpoint="e", duration_ms=1.0) for _ in range(10_000)]
    first = post(client, batch)
    assert first.status_code == 200
    assert first.get_json() == {"stored": 10_000, "duplicates": 0, "repaired": 0, "rejected": []}
    second = post(client, batch)
    assert second.get_json() == {"stored": 0, "duplicates": 10_000, "repaired": 0, "rejected": []}
    page = client.get("/api/v1/export/request?limit=10000", headers=EXPORT).get_json()
    assert len(page["items"]) == 10_000 and page["next_cursor"] == str(
        page["items"][-1]["seq"])
    assert client.get(f"/api/v1/export/request?cursor={page['next_cursor']}",
                      headers=EXPORT).get_json() == {"items": [], "next_cursor": None}


def test_bad_items_are_named_and_good_ones_kept(client) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps([
        {"kind": "log", "id": "good-1", "message": "fine"},
        {"kind": "log", "id": "bad-1", "level": "loud", "message": "x"},
        {"kind": "teleport", "id": "bad-2"},
        {"kind": "log", "id": "good-2", "message": "also fine"},
    ]).encode()
    response = post(client, body)
    assert response.status_code == 422
    data = response.get_json()
    assert data["stored"] == 2
    assert "2 of 4 events were rejected" in data["error"]
    assert "the other 2 were kept" in data["error"]
    assert [(r["index"], r["id"]) for r in data["rejected"]] == [(1, "bad-1"), (2, "bad-2")]
    assert "level" in data["rejected"][0]["error"]
    assert "unknown kind 'teleport'" in data["rejected"][1]["error"]
    messages = [i["message"] for i in
                client.get("/api/v1/export/log", headers=EXPORT).get_json()["items"]]
    assert sorted(messages) == ["also fine", "fine"]


def test_not_a_batch(client) -> None:  # type: ignore[no-untyped-def]
    response = post(client, b"{oops")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]


def test_gzip_bodies(client) -> None:  # type: ignore[no-untyped-def]
    body = gzip.compress(ev.encode([ev.Log(message="zipped", id=ev.new_id())]))
    response = post(client, body, headers={**INGEST, "Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.get_json()["stored"] == 1
    broken = post(client, b"not gzip", headers={**INGEST, "Content-Encoding": "gzip"})
    assert broken.status_code == 400


def test_size_limits(app, client) -> None:  # type: ignore[no-untyped-def]
    limit = app.extensions["heron"].config.MAX_BODY_BYTES
    big = b"[" + b" " * limit + b"]"
    assert post(client, big).status_code == 413
    # a small gzip body that inflates past the limit (a zip bomb) is refused too
    bomb = gzip.compress(b"[" + b" " * (limit + 10) + b"]")
    assert len(bomb) < limit
    response = post(client, bomb, headers={**INGEST, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "decompressed" in response.get_json()["error"]


def test_export_auth(app, client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/export/log").status_code == 401
    assert client.get("/api/v1/export/log",
                      headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/export/log", headers=EXPORT).status_code == 200
    guest = app.test_client()
    login(guest, "guest", "guest-pass-123")
    assert guest.get("/api/v1/export/log").status_code == 401
    admin = app.test_client()
    login(admin, "admin", ADMIN_PASSWORD)
    assert admin.get("/api/v1/export/log").status_code == 200


def test_export_without_security_token_is_admin_only(config_for, store) -> None:  # type: ignore[no-untyped-def]
    from heron.server import create_app, prepare

    cfg = config_for(password=ADMIN_PASSWORD)
    prepare(store, cfg)
    app = create_app(cfg, store=store)
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/export/log").status_code == 401
    assert anonymous.get("/api/v1/export/log",
                         headers={"Authorization": "Bearer "}).status_code == 401
    admin = app.test_client()
    login(admin, "admin", ADMIN_PASSWORD)
    assert admin.get("/api/v1/export/log").status_code == 200


def test_export_errors(client) -> None:  # type: ignore[no-untyped-def]
    unknown = client.get("/api/v1/export/nonsense", headers=EXPORT)
    assert unknown.status_code == 404 and "known kinds" in unknown.get_json()["error"]
    for query, message in [("cursor=abc", "cursor 'abc' is not valid"),
                           ("limit=0", "limit must be between 1 and 10000"),
                           ("limit=many", "not a whole number"),
                           ("since=yesterday", "is not a time")]:
        response = client.get(f"/api/v1/export/log?{query}", headers=EXPORT)
        assert response.status_code == 400, query
        assert message in response.get_json()["error"]


def test_export_filters(client) -> None:  # type: ignore[no-untyped-def]
    base = 1_700_000_000.0
    post(client, [ev.Log(app="a", message="old", ts=base),
                  ev.Log(app="a", message="new", ts=base + 100),
                  ev.Log(app="b", message="other", ts=base + 100)])
    items = client.get(f"/api/v1/export/log?app=a&since={base + 50}",
                       headers=EXPORT).get_json()["items"]
    assert [i["message"] for i in items] == ["new"]
    items = client.get("/api/v1/export/log?until=2023-11-14T22:14:00Z",
                       headers=EXPORT).get_json()["items"]
    assert [i["message"] for i in items] == ["old"]
