"""What every ``heron`` command shares: the configuration with its options on top, the
store it reads (and says so), and a heron server's JSON API. The root command and its
subcommands (``heron logs``) both import from here, so neither imports the other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from heron import config as heron_config
from heron.errors import HeronError


def cli_config(ctx: click.Context, **overrides: Any) -> heron_config.Config:
    """The configuration with command-line options (those given) on top."""
    given = {k.upper(): v for k, v in overrides.items() if v is not None}
    return heron_config.configure(**given)


def open_for_cli(cfg: heron_config.Config, *, reading: bool = False):  # type: ignore[no-untyped-def]
    """The store on DATABASE. ``reading`` (apps, summary, logs, export): say on standard
    error which store is read, and refuse to create an empty SQLite file where none is (a
    command run in the wrong folder would read nothing, silently)."""
    from sqlalchemy.engine import make_url

    from heron.store import open_store

    url = make_url(cfg.DATABASE)
    if reading:
        database = url.database or ""
        if url.get_backend_name() == "sqlite" and database and database != ":memory:" \
                and not Path(database).expanduser().exists():
            raise HeronError(
                f"no store at {absolute_sqlite(cfg.DATABASE)} (DATABASE, "
                f"{cfg.source('DATABASE')}); point HERON_DATABASE or --database at one "
                "(heron demo prints the line for its store)")
        click.echo(f"reading {absolute_sqlite(url.render_as_string(hide_password=True))}",
                   err=True)
    return open_store(cfg.DATABASE, cfg.TABLE_PREFIX, read_url=cfg.DATABASE_READ_URL)


def absolute_sqlite(url: str) -> str:
    """A SQLite URL with its file made absolute (the same store from any folder)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(Path(url[len(prefix):]).resolve())
    return url


def remote_json(url: str, token: str | None, path: str, fields: dict[str, str]) -> Any:
    """GET a heron server's JSON API; HeronError with the server's own message."""
    import urllib3

    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    base = url.rstrip("/")
    ctx = click.get_current_context(silent=True)
    announced = ctx.meta.setdefault("heron.servers_read", set()) if ctx else set()
    if base not in announced:  # which server is read, once a command, as a store says its file
        announced.add(base)
        click.echo(f"reading {base}", err=True)
    try:
        response = urllib3.request("GET", f"{base}{path}", fields=fields, headers=headers,
                                   timeout=10, retries=urllib3.Retry(2, backoff_factor=0.3))
    except urllib3.exceptions.HTTPError as exc:
        raise HeronError(f"cannot reach {base}: {exc}") from None
    try:
        body = json.loads(response.data or b"{}")
    except json.JSONDecodeError:
        body = {}
    if response.status != 200:
        reason = body.get("error") if isinstance(body, dict) else None
        raise HeronError(f"{base} answered {response.status}: {reason or response.reason}")
    return body
