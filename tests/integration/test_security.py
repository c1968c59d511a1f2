"""What an attacker or an unlucky user sends (issue 17, items 5, 7, 8, 9, 11): a 4xx with
a message, never a 500; a login only on POST; a cookie that is Secure behind HTTPS
proxies; downloads whose names and cells cannot be turned against the user."""

from __future__ import annotations

import csv
import io

import pytest

from heron import events as ev
from heron.server import create_app, prepare
from tests.conftest import ADMIN_PASSWORD

EXPORT = {"Authorization": "Bearer export-secret-1"}
HUGE = str(10**30)


def test_paging_values_out_of_range_are_a_400(admin_client, client, store) -> None:  # type: ignore[no-untyped-def]
    store.ingest([ev.Participant(app="exp", participant_id="p1")])
    for path in (f"/api/v1/export/log?cursor={HUGE}", f"/api/v1/export/request?cursor=-{HUGE}",
                 f"/api/v1/logs?before={HUGE}", f"/api/v1/logs?after={HUGE}",
                 f"/api/v1/logs?limit={HUGE}", "/api/v1/export/log?since=1e400",
                 f"/api/v1/logs?after={'9' * 5000}"):
        response = client.get(path, headers=EXPORT)
        assert response.status_code == 400, path
        assert response.get_json()["error"], path
    for path in (f"/dashboard/api/logs?before={HUGE}", f"/dashboard/api/logs?after={HUGE}",
                 f"/dashboard/api/database?table=participant&app=exp&start={HUGE}",
                 f"/dashboard/api/database?table=participant&app=exp&draw={HUGE}"):
        response = admin_client.get(path)
        assert response.status_code == 400, path
        assert "between 0 and" in response.get_json()["error"], path
    # in range, the same routes answer
    assert client.get("/api/v1/logs?after=5", headers=EXPORT).status_code == 200
    assert client.get(f"/api/v1/export/log?cursor={2**62}", headers=EXPORT).status_code == 200


def test_head_with_a_form_body_never_logs_in(client) -> None:  # type: ignore[no-untyped-def]
    response = client.open("/dashboard/login", method="HEAD",
                           data={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    page = client.get("/dashboard/")
    assert page.status_code == 302 and "/dashboard/login" in page.location  # logged out
    assert "heron_session=" not in response.headers.get("Set-Cookie", "") or \
        client.get("/dashboard/").status_code == 302


def _set_cookie(response) -> str:  # type: ignore[no-untyped-def]
    (cookie,) = [v for k, v in response.headers.items()
                 if k == "Set-Cookie" and v.startswith("heron_session=")]
    return cookie


def _login_as_admin(client, **kwargs):  # type: ignore[no-untyped-def]
    page = client.get("/dashboard/login", **kwargs)
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/dashboard/login", data={"username": "admin",
                                                 "password": ADMIN_PASSWORD,
                                                 "csrf_token": token}, **kwargs)


@pytest.mark.parametrize("remote, secure", [("10.1.2.3", True), ("192.0.2.9", False)])
def test_cookie_is_secure_behind_a_trusted_https_proxy(config_for, store, remote, secure) -> None:  # type: ignore[no-untyped-def]
    cfg = config_for(password=ADMIN_PASSWORD, trusted_proxies=["10.0.0.0/8"])
    prepare(store, cfg)
    client = create_app(cfg, store=store).test_client()
    forwarded = {"environ_base": {"REMOTE_ADDR": remote},
                 "headers": {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"}}
    response = _login_as_admin(client, **forwarded)
    assert response.status_code == 302
    cookie = _set_cookie(response)
    assert ("; Secure" in cookie) is secure
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookie_secure_setting_marks_it_always(config_for, store) -> None:  # type: ignore[no-untyped-def]
    cfg = config_for(password=ADMIN_PASSWORD, cookie_secure=True)
    prepare(store, cfg)
    client = create_app(cfg, store=store).test_client()
    assert "; Secure" in _set_cookie(_login_as_admin(client))


EVIL_APP = "q\"; filename*=UTF-8''evil.html; x=\""


def test_download_names_cannot_add_parameters_or_headers(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    for app in (EVIL_APP, "line\r\nSet-Cookie: a=b", "café"):
        store.ingest([ev.Participant(app=app, participant_id="p1", worker_id="W1")])
        response = admin_client.get("/dashboard/api/database/export",
                                    query_string={"table": "participant", "app": app})
        assert response.status_code == 200, app
        assert "p1" in response.get_data(as_text=True)  # the stream is read (and closed)
        disposition = response.headers["Content-Disposition"]
        assert disposition.count("filename=") == 1 and disposition.count("filename*=") == 1
        assert "evil.html;" not in disposition and "\r" not in disposition
        plain = disposition.split('filename="')[1].split('"')[0]
        assert set(plain) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789._-")
        assert all(v != "a=b" for k, v in response.headers.items() if k == "Set-Cookie")


def test_csv_cells_that_are_formulas_are_neutralised(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    formulas = ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"]
    store.ingest([ev.Participant(app="exp", participant_id=f"p{i}", worker_id=value)
                  for i, value in enumerate(formulas)]
                 + [ev.Participant(app="exp", participant_id="plain", worker_id="W-1",
                                   bonus=-1.5)])
    text = admin_client.get("/dashboard/api/database/export?table=participant&app=exp"
                            "&format=csv&scrub=false").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    by_id = {row["participant_id"]: row for row in rows}
    for i, value in enumerate(formulas):
        assert by_id[f"p{i}"]["worker_id"] == "'" + value
    assert by_id["plain"]["worker_id"] == "W-1"
    assert by_id["plain"]["bonus"] == "-1.5"  # a number stays a number
    lines = admin_client.get("/dashboard/api/database/export?table=participant&app=exp"
                             "&format=json&scrub=false").get_data(as_text=True)
    assert '"worker_id": "=1+1"' in lines  # JSON carries values unchanged


# -- item 6: sessions end on the server ------------------------------------------------
def _copy_cookie(source, target) -> None:  # type: ignore[no-untyped-def]
    """What a thief of the cookie has: the same cookie in another browser."""
    cookie = source.get_cookie("heron_session", path="/")
    assert cookie is not None
    target.set_cookie("heron_session", cookie.value, path="/")


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import csrf_of

    browser, thief = app.test_client(), app.test_client()
    assert _login_as_admin(browser).status_code == 302
    _copy_cookie(browser, thief)
    assert thief.get("/dashboard/").status_code == 200  # a copy works while logged in
    browser.post("/dashboard/logout", data={"csrf_token": csrf_of(browser)})
    assert browser.get("/dashboard/").status_code == 302
    assert thief.get("/dashboard/").status_code == 302  # the old cookie is dead too
    assert thief.get("/api/v1/logs").status_code == 401


def test_a_new_password_or_a_removed_user_ends_all_their_sessions(app, store) -> None:  # type: ignore[no-untyped-def]
    from heron.auth.users import add_user, delete_user, set_password

    add_user(store, "ana", "ana-password-1", "admin")
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        page = client.get("/dashboard/login").get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        assert client.post("/dashboard/login", data={
            "username": "ana", "password": "ana-password-1",
            "csrf_token": token}).status_code == 302
    set_password(store, "ana", "ana-password-2")  # what `heron user passwd` does
    assert first.get("/dashboard/").status_code == 302
    third = app.test_client()
    page = third.get("/dashboard/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    third.post("/dashboard/login", data={"username": "ana", "password": "ana-password-2",
                                         "csrf_token": token})
    assert third.get("/dashboard/").status_code == 200
    delete_user(store, "ana")
    assert third.get("/dashboard/").status_code == 302


def test_sessions_expire_when_idle_and_when_old(config_for, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import time as time_module

    from heron.auth import logins

    cfg = config_for(password=ADMIN_PASSWORD, session_idle_hours=1, session_max_days=1)
    prepare(store, cfg)
    app = create_app(cfg, store=store)
    client = app.test_client()
    assert _login_as_admin(client).status_code == 302
    now = time_module.time()
    assert client.get("/dashboard/").status_code == 200
    monkeypatch.setattr(logins.time, "time", lambda: now + 3 * 3600)  # idle 3 h > 1 h
    assert client.get("/dashboard/").status_code == 302
    monkeypatch.setattr(logins.time, "time", lambda: now)
    assert _login_as_admin(client).status_code == 302
    for hours in range(1, 25):  # used every 50 minutes, yet older than a day at the end
        monkeypatch.setattr(logins.time, "time", lambda h=hours: now + h * 3000)
        assert client.get("/dashboard/").status_code == 200, hours
    monkeypatch.setattr(logins.time, "time", lambda: now + 25 * 3000)  # 20.8 h: live
    assert client.get("/dashboard/").status_code == 200
    monkeypatch.setattr(logins.time, "time", lambda: now + 30 * 3000)  # 25 h: too old
    assert client.get("/dashboard/").status_code == 302


def test_the_store_keeps_only_a_digest_of_the_session_id(app, store) -> None:  # type: ignore[no-untyped-def]
    client = app.test_client()
    _login_as_admin(client)
    cookie = client.get_cookie("heron_session", path="/").value  # type: ignore[union-attr]
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT id_hash, username FROM {store.prefix}login_session").all()
    assert [r[1] for r in rows] == ["admin"]
    assert all(r[0] not in cookie for r in rows)


# -- research data is scrubbed by default ----------------------------------------------
def _participants(store) -> None:  # type: ignore[no-untyped-def]
    store.ingest([
        ev.Participant(app="exp", participant_id="p1", worker_id="A1WORKER",
                       assignment_id="ASSIGN1", details={"hit_id": "HIT1", "age": 30}),
        ev.Participant(app="exp", participant_id="p2", worker_id="A1WORKER"),
        ev.Participant(app="other", participant_id="p1", worker_id="A1WORKER"),
    ])


def _export(client, *query: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    import json

    text = client.get("/dashboard/api/database/export?table=participant&app=exp&format=json"
                      + "".join(query)).get_data(as_text=True)
    return [json.loads(line) for line in text.splitlines()]


def test_exports_hide_worker_ids_unless_admins_ask(admin_client, guest_client, store) -> None:  # type: ignore[no-untyped-def]
    _participants(store)
    rows = {r["participant_id"]: r for r in _export(admin_client)}
    assert rows["p1"]["worker_id"].startswith("anon-")
    assert rows["p1"]["worker_id"] == rows["p2"]["worker_id"]  # stable within the app
    assert rows["p1"]["assignment_id"].startswith("anon-")
    assert rows["p1"]["details"]["hit_id"].startswith("anon-")
    assert rows["p1"]["details"]["age"] == 30
    raw = {r["participant_id"]: r for r in _export(admin_client, "&scrub=false")}
    assert raw["p1"]["worker_id"] == "A1WORKER" and raw["p1"]["details"]["hit_id"] == "HIT1"
    for row in _export(guest_client, "&scrub=false"):  # a guest cannot ask
        assert row["worker_id"].startswith("anon-")
    grid = guest_client.get("/dashboard/api/database?table=participant&app=exp").get_json()
    assert all(r["worker_id"].startswith("anon-") for r in grid["data"])
    assert "A1WORKER" not in guest_client.get(
        "/dashboard/api/database?table=participant&app=exp").get_data(as_text=True)
    grid = admin_client.get("/dashboard/api/database?table=participant&app=exp").get_json()
    assert {r["worker_id"] for r in grid["data"]} == {"A1WORKER"}  # admins see them


def test_api_and_cli_exports_are_scrubbed_by_default(client, store, db_url) -> None:  # type: ignore[no-untyped-def]
    import json

    from click.testing import CliRunner

    from heron.cli import cli

    _participants(store)
    items = client.get("/api/v1/export/participant", headers=EXPORT).get_json()["items"]
    by_app = {(r["app"], r["participant_id"]): r["worker_id"] for r in items}
    assert all(v.startswith("anon-") for v in by_app.values())
    assert by_app[("exp", "p1")] != by_app[("other", "p1")]  # unlinkable across apps
    raw = client.get("/api/v1/export/participant?scrub=false", headers=EXPORT).get_json()
    assert {r["worker_id"] for r in raw["items"]} == {"A1WORKER"}
    url, prefix = db_url
    runner = CliRunner()
    for flags, scrubbed in (([], True), (["--no-scrub"], False)):
        result = runner.invoke(cli, ["export", "--kind", "participant", "--database", url,
                                     *flags], env={"HERON_TABLE_PREFIX": prefix})
        assert result.exit_code == 0, result.output
        workers = {json.loads(line)["worker_id"] for line in result.stdout.splitlines()
                   if line.startswith("{")}
        assert workers and all(w.startswith("anon-") == scrubbed for w in workers), workers
