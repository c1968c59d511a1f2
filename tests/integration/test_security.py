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
        assert "W1" in response.get_data(as_text=True)  # the stream is read (and closed)
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
                            "&format=csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    by_id = {row["participant_id"]: row for row in rows}
    for i, value in enumerate(formulas):
        assert by_id[f"p{i}"]["worker_id"] == "'" + value
    assert by_id["plain"]["worker_id"] == "W-1"
    assert by_id["plain"]["bonus"] == "-1.5"  # a number stays a number
    lines = admin_client.get("/dashboard/api/database/export?table=participant&app=exp"
                             "&format=json").get_data(as_text=True)
    assert '"worker_id": "=1+1"' in lines  # JSON carries values unchanged
