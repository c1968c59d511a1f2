"""The heron command, run as a user would (click's CliRunner, real stores)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from heron import __version__
from heron import events as ev
from heron.cli import cli
from heron.store import open_store


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def local_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(runner: CliRunner, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def test_version_and_help(runner: CliRunner) -> None:
    assert run(runner, "--version").output.strip() == f"heron, version {__version__}"
    for command in ([], ["serve"], ["demo"], ["export"], ["db", "upgrade"], ["user", "add"]):
        result = run(runner, *command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_db_upgrade(runner: CliRunner, local_db: str) -> None:
    from heron.store.migrate import head_revision

    first = run(runner, "db", "upgrade", "--database", local_db)
    assert first.exit_code == 0
    assert f"upgraded from empty to revision {head_revision()}" in first.output
    again = run(runner, "db", "upgrade", "--database", local_db)
    assert f"up to date (revision {head_revision()})" in again.output


def test_users(runner: CliRunner, local_db: str) -> None:
    added = run(runner, "user", "add", "ana", "--role", "admin", "--password-stdin",
                "--database", local_db, input="ana-password\n")
    assert added.exit_code == 0 and "Added admin user ana" in added.output
    dup = run(runner, "user", "add", "ana", "--password-stdin", "--database", local_db,
              input="ana-password\n")
    assert dup.exit_code == 1
    assert dup.output.strip() == "Error: user 'ana' already exists"
    short = run(runner, "user", "add", "bo", "--password-stdin", "--database", local_db,
                input="short\n")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    bad_role = run(runner, "user", "add", "cy", "--role", "root", "--database", local_db)
    assert bad_role.exit_code == 2 and "'root' is not one of" in bad_role.output
    prompted = run(runner, "user", "passwd", "ana", "--database", local_db,
                   input="new-password\nnew-password\n")
    assert prompted.exit_code == 0 and "Password of ana changed" in prompted.output
    from heron.auth.users import authenticate
    store = open_store(local_db)
    assert authenticate(store, "ana", "new-password") is not None
    store.dispose()
    listed = run(runner, "user", "list", "--database", local_db)
    assert "ana" in listed.output and "admin" in listed.output
    missing = run(runner, "user", "passwd", "zed", "--password-stdin", "--database", local_db,
                  input="whatever-pass\n")
    assert missing.exit_code == 1 and "no user named 'zed'" in missing.output
    assert run(runner, "user", "remove", "ana", "--database", local_db).exit_code == 0
    assert "ana" not in run(runner, "user", "list", "--database", local_db).output


def test_login_link(runner: CliRunner, local_db: str) -> None:
    run(runner, "user", "add", "ana", "--password-stdin", "--database", local_db,
        input="ana-password\n")
    link = run(runner, "user", "login-link", "ana", "--url", "http://127.0.0.1:9999",
               "--database", local_db).output.strip()
    assert link.startswith("http://127.0.0.1:9999/dashboard/login/token/")


def test_config_errors_are_one_line(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                    local_db: str) -> None:
    monkeypatch.setenv("HERON_MONITOR_LEVEL", "abc")
    result = run(runner, "db", "upgrade", "--database", local_db)
    assert result.exit_code == 1
    assert result.output == ("Error: MONITOR_LEVEL: 'abc' is not an integer (from "
                             "environment variable HERON_MONITOR_LEVEL)\n")


def test_unreachable_database(runner: CliRunner) -> None:
    result = run(runner, "user", "list", "--database",
                 "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/none")
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot open the store at postgresql+psycopg://"
                                    "nobody:***@127.0.0.1:1/none")
    assert "secret-pw" not in result.output


def test_missing_config_file(runner: CliRunner) -> None:
    result = run(runner, "--config", "/nope/heron.toml", "user", "list")
    assert result.exit_code == 2 and "config file /nope/heron.toml does not exist" in \
        result.output


def _seed(url: str) -> None:
    store = open_store(url)
    store.ingest([ev.Log(app="a", message=f"line {i}", ts=1_700_000_000 + i)
                  for i in range(25)] +
                 [ev.Participant(app="b", participant_id="p1", status="approved",
                                 details={"age": 30})])
    store.dispose()


def test_export_jsonl_and_csv(runner: CliRunner, local_db: str, tmp_path: Path) -> None:
    _seed(local_db)
    out = tmp_path / "logs.jsonl"
    result = run(runner, "export", "--kind", "log", "--app", "a", "--output", str(out),
                 "--database", local_db)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["message"] for line in lines] == [f"line {i}" for i in range(25)]
    everything = run(runner, "export", "--database", local_db)
    rows = [json.loads(line) for line in everything.stdout.splitlines()]
    assert {row["kind"] for row in rows} == {"log", "participant"}
    assert len(rows) == 26
    since = run(runner, "export", "--kind", "log", "--since", "2023-11-14T22:13:40Z",
                "--database", local_db)
    assert len(since.stdout.splitlines()) == 5
    as_csv = run(runner, "export", "--kind", "participant", "--format", "csv",
                 "--database", local_db)
    (row,) = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert row["participant_id"] == "p1" and json.loads(row["details"]) == {"age": 30}


def test_export_usage_errors(runner: CliRunner, local_db: str) -> None:
    assert "unknown kind 'logs'" in run(runner, "export", "--kind", "logs").output
    csv_all = run(runner, "export", "--format", "csv", "--database", local_db)
    assert csv_all.exit_code == 2 and "--format csv needs one --kind" in csv_all.output
    bad_since = run(runner, "export", "--since", "last week", "--database", local_db)
    assert bad_since.exit_code == 2 and "is not a time" in bad_since.output


def test_export_from_a_server(runner: CliRunner, live_server, store) -> None:  # type: ignore[no-untyped-def]
    store.ingest([ev.Log(app="srv", message=f"remote {i}") for i in range(12_345)])
    result = run(runner, "export", "--kind", "log", "--url", live_server.url,
                 "--token", "export-secret-1")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 12_345
    # which server was read, once, on standard error (as a local store names its file)
    assert result.stderr.count(f"reading {live_server.url}") == 1
    denied = run(runner, "export", "--kind", "log", "--url", live_server.url,
                 "--token", "wrong")
    assert denied.exit_code == 1
    assert f"Error: {live_server.url} answered 401" in denied.output


def test_export_since_a_duration_ago_covers_every_kind(runner: CliRunner, local_db: str) -> None:
    # issue 18 #3: the docs' own example ended in a traceback (endpoints have no `ts`)
    store = open_store(local_db)
    try:
        store.ingest([ev.Log(app="a", message="recent"),
                      ev.Endpoint(app="a", endpoint="index"),
                      ev.Request(app="a", endpoint="index", duration_ms=2.0)])
    finally:
        store.dispose()
    everything = run(runner, "export", "--since", "10m", "--database", local_db)
    assert everything.exit_code == 0, everything.output
    kinds = {json.loads(line)["kind"] for line in everything.stdout.splitlines()}
    assert {"log", "request", "endpoint"} <= kinds
    endpoints = run(runner, "export", "--since", "10m", "--kind", "endpoint",
                    "--database", local_db)
    assert endpoints.exit_code == 0, endpoints.output
    assert [json.loads(line)["endpoint"] for line in endpoints.stdout.splitlines()] == ["index"]
    assert "exception, endpoint" in run(runner, "export", "--help").output


def test_reading_commands_say_which_store_and_never_create_an_empty_one(
        runner: CliRunner, local_db: str, tmp_path: Path) -> None:
    # issue 18 #2: next to the demo, `heron apps` read (and created) an empty ./heron.db
    _seed(local_db)
    for args in (["apps"], ["summary", "--app", "b"], ["logs"], ["export", "--kind", "log"]):
        result = run(runner, *args, "--database", local_db)
        assert result.exit_code == 0, result.output
        assert f"reading {local_db}" in result.stderr
        assert "reading" not in result.stdout  # standard output stays the data
    missing = tmp_path / "elsewhere" / "heron.db"
    for args in (["apps"], ["logs"], ["export"], ["summary", "--app", "b"]):
        result = run(runner, *args, "--database", f"sqlite:///{missing}")
        assert result.exit_code == 1, result.output
        assert f"no store at sqlite:///{missing}" in result.output
        assert "HERON_DATABASE" in result.output
    assert not missing.exists()
