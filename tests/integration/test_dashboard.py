"""The dashboard shell: login, roles, CSRF, throttling, one-time links, tabs, home data."""

from __future__ import annotations

from heron import events as ev
from heron.auth.tokens import create_login_token
from heron.auth.users import get_user
from tests.conftest import ADMIN_PASSWORD, csrf_of, login


def test_every_page_needs_login(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert "/dashboard/login?next=/dashboard/" in response.headers["Location"]
    assert client.get("/dashboard/api/home").status_code == 401
    assert client.get("/dashboard/users").status_code == 302
    assert client.get("/dashboard/login").status_code == 200
    assert client.get("/").headers["Location"].endswith("/dashboard/")


def test_login_and_logout(client) -> None:  # type: ignore[no-untyped-def]
    response = login(client, "admin", ADMIN_PASSWORD)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "admin" in page and "Apps" in page
    assert client.post("/dashboard/logout", data={"csrf_token": csrf_of(client)}
                       ).status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_wrong_password(client) -> None:  # type: ignore[no-untyped-def]
    response = login(client, "admin", "not-the-password")
    assert response.status_code == 401
    assert "Wrong user name or password" in response.get_data(as_text=True)
    assert login(client, "nobody", "whatever1").status_code == 401


def test_failed_logins_are_slowed_down(client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        assert login(client, "admin", "guess-guess").status_code == 401
    blocked = login(client, "admin", ADMIN_PASSWORD)  # even the right one, for a minute
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(admin_client) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.post("/dashboard/users/add",
                                 data={"username": "mallory", "password": "x" * 10})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    response = admin_client.post("/dashboard/logout")
    assert response.status_code == 400


def test_login_form_needs_csrf(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/dashboard/login",
                           data={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 400


def test_next_cannot_leave_the_site(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/dashboard/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/dashboard/login", data={
        "username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token,
        "next": "https://evil.example/steal"})
    assert response.headers["Location"] == "/dashboard/"


def test_one_time_login_link(app, store) -> None:  # type: ignore[no-untyped-def]
    token = create_login_token(store, "admin")
    first = app.test_client()
    assert first.get(f"/dashboard/login/token/{token}").headers["Location"] == "/dashboard/"
    assert first.get("/dashboard/").status_code == 200
    second = app.test_client()
    again = second.get(f"/dashboard/login/token/{token}")
    assert again.headers["Location"].startswith("/dashboard/login")
    assert second.get("/dashboard/").status_code == 302
    expired = create_login_token(store, "admin", ttl=-1)
    assert app.test_client().get(f"/dashboard/login/token/{expired}"
                                 ).headers["Location"].startswith("/dashboard/login")


def test_guest_reads_but_cannot_act(guest_client, store) -> None:  # type: ignore[no-untyped-def]
    page = guest_client.get("/dashboard/users")
    assert page.status_code == 200
    assert "Add a user" not in page.get_data(as_text=True)
    response = guest_client.post("/dashboard/users/add", data={
        "username": "sneaky", "password": "sneaky-pass", "role": "admin",
        "csrf_token": csrf_of(guest_client)})
    assert response.status_code == 403
    assert get_user(store, "sneaky") is None


def test_admin_manages_users(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(admin_client)
    admin_client.post("/dashboard/users/add", data={
        "username": "ana", "password": "ana-password", "role": "guest", "csrf_token": token})
    assert get_user(store, "ana").role == "guest"
    admin_client.post("/dashboard/users/ana/role", data={"role": "admin", "csrf_token": token})
    assert get_user(store, "ana").role == "admin"
    short = admin_client.post("/dashboard/users/add", data={
        "username": "bo", "password": "short", "csrf_token": token}, follow_redirects=True)
    assert "at least 8 characters" in short.get_data(as_text=True)
    admin_client.post("/dashboard/users/ana/delete", data={"csrf_token": token})
    assert get_user(store, "ana") is None
    admin_client.post("/dashboard/users/admin/delete", data={"csrf_token": token})
    assert get_user(store, "admin") is not None  # nobody removes themselves


def test_deleted_user_is_logged_out_at_once(admin_client, app, store) -> None:  # type: ignore[no-untyped-def]
    from heron.auth.users import add_user, delete_user

    add_user(store, "temp", "temp-password", "guest")
    temp = app.test_client()
    login(temp, "temp", "temp-password")
    assert temp.get("/dashboard/").status_code == 200
    delete_user(store, "temp")
    assert temp.get("/dashboard/").status_code == 302


def test_home_shows_apps_and_counts(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    empty = admin_client.get("/dashboard/").get_data(as_text=True)
    assert "No events yet" in empty
    store.ingest([ev.Log(app="stroop", message="m"), ev.Log(app="stroop", message="n"),
                  ev.Participant(app="stroop", participant_id="p1")])
    data = admin_client.get("/dashboard/api/home").get_json()
    (app_row,) = data["apps"]
    assert app_row["app"] == "stroop" and app_row["total"] == 3
    assert app_row["kinds"] == {"log": 2, "participant": 1}
    assert app_row["health"] == "live"
    assert len(data["recent"]) == 3
    page = admin_client.get("/dashboard/").get_data(as_text=True)
    assert 'data-app="stroop"' in page


def test_app_names_are_escaped(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    store.ingest([ev.Log(app='<script>alert("x")</script>', message="m")])
    page = admin_client.get("/dashboard/").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page


def test_hidden_tabs(config_for, store) -> None:  # type: ignore[no-untyped-def]
    from heron.server import create_app, prepare

    cfg = config_for(password=ADMIN_PASSWORD, hidden_tabs=["users"])
    prepare(store, cfg)
    client = create_app(cfg, store=store).test_client()
    login(client, "admin", ADMIN_PASSWORD)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'data-route="dashboard.dashboard_users"' not in page
    assert 'data-route="dashboard.dashboard_index"' in page


def test_custom_link_moves_the_dashboard(config_for, store) -> None:  # type: ignore[no-untyped-def]
    from heron.server import create_app, prepare

    cfg = config_for(password=ADMIN_PASSWORD, custom_link="/monitor/")
    prepare(store, cfg)
    client = create_app(cfg, store=store).test_client()
    assert client.get("/monitor/login").status_code == 200
    assert client.get("/dashboard/login").status_code == 404


def test_first_start_generates_and_prints_once(config_for, store) -> None:  # type: ignore[no-untyped-def]
    from heron.auth.users import authenticate
    from heron.server import prepare

    cfg = config_for()
    first = prepare(store, cfg)
    assert first.admin_password and first.ingest_token
    assert authenticate(store, "admin", first.admin_password) is not None
    again = prepare(store, cfg)
    assert again.admin_password is None and again.ingest_token is None


def test_an_unknown_dashboard_url_gets_herons_own_404_page(admin_client, client) -> None:  # type: ignore[no-untyped-def]
    # issue 18 #14: /dashboard/nope was Werkzeug's bare page
    for c in (admin_client, client):
        response = c.get("/dashboard/nope")
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "<strong>404</strong>" in html and "heron" in html.lower()
        assert 'href="/dashboard/static/' in html  # the dashboard's own frame and styles
    assert admin_client.get("/dashboard/nope", headers={"Accept": "application/json"}
                            ).get_json()["error"]
    assert admin_client.post("/dashboard/", data={}).status_code in (400, 405)
