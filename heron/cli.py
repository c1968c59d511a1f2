"""The ``heron`` command: serve, demo, export, db, user.

Errors are one readable line on stderr and a non-zero exit; ``--help`` works on every
command. Options override the config file and ``HERON_*`` variables.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shlex
import socket
import sys
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from heron._version import __version__
from heron.cli_common import absolute_sqlite, cli_config, open_for_cli, remote_json
from heron.downloads import csv_cell
from heron.errors import HeronError

console = Console(stderr=True, highlight=False)


class HeronGroup(click.Group):
    """Turns heron's own errors into one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HeronError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=HeronGroup)
@click.version_option(__version__, prog_name="heron")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              envvar="HERON_CONFIG", help="heron.toml to read (default: ./heron.toml).")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """heron: monitoring for live experiments and the Python services behind them."""
    if config_file is not None:
        if not Path(config_file).is_file():
            raise click.BadParameter(f"config file {config_file} does not exist",
                                     param_hint="--config")
        os.environ["HERON_CONFIG"] = config_file  # one source for every layer below


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise HeronError(f"cannot listen on {host}:{port}: {exc.strerror}; "
                             "pass another --port") from None


# --------------------------------------------------------------------------------- serve
@cli.command()
@click.option("--host", help="Address to listen on (config HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (config PORT, default 8000).")
@click.option("--database", help="SQLAlchemy URL of the store (config DATABASE).")
@click.option("--workers", type=int, help="Worker processes (config WORKERS, default 1).")
@click.option("--experiment", metavar="MODULE:CLASS",
              help="A heron.Experiment subclass customising the experiment pages.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, database: str | None,
          workers: int | None, experiment: str | None) -> None:
    """Run the heron server: dashboard and ingest/export API."""
    from heron.server import dashboard_url, load_experiment, prepare
    from heron.server import serve as run

    cfg = cli_config(ctx, host=host, port=port, database=database, workers=workers)
    if experiment:
        load_experiment(experiment)  # a wrong MODULE:CLASS fails here, in one line
    store = open_for_cli(cfg)
    first = prepare(store, cfg)
    store.dispose()
    _check_port_free(cfg.HOST, cfg.PORT)
    url = dashboard_url(cfg, cfg.HOST, cfg.PORT)
    base = url.rsplit("/", 1)[0]
    if first.admin_password:
        click.echo(f"Dashboard: {url}  user: {cfg.USERNAME}  password: {first.admin_password}")
        click.echo("  (shown once; change it with: heron user passwd "
                   f"{cfg.USERNAME})")
    else:
        click.echo(f"Dashboard: {url}  user: {cfg.USERNAME}")
    if first.ingest_token:
        click.echo(f"Ingest:    POST {base}/api/v1/events  token: {first.ingest_token}")
        click.echo("  (shown once; set INGEST_TOKEN to choose your own)")
    else:
        click.echo(f"Ingest:    POST {base}/api/v1/events")
    sys.stdout.flush()
    run(cfg, host=cfg.HOST, port=cfg.PORT, experiment=experiment)


# ---------------------------------------------------------------------------------- demo
@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, help="Port to listen on (config PORT, i.e. HERON_PORT; "
              "default 8000).")
@click.option("--database", default="sqlite:///heron-demo.db", show_default=True,
              help="Store for the demo (kept apart from your own heron.db).")
@click.option("--open", "open_browser", is_flag=True,
              help="Open the dashboard in a browser, already logged in.")
@click.option("--interval", type=float, default=0.5, show_default=True,
              help="Seconds between rounds of simulated events.")
@click.pass_context
def demo(ctx: click.Context, host: str, port: int | None, database: str, open_browser: bool,
         interval: float) -> None:
    """Run heron with a simulated lab sending live events."""
    from heron.auth.tokens import create_login_token, rotate_ingest_token
    from heron.auth.users import get_user, set_password
    from heron.server import dashboard_url, prepare
    from heron.server import serve as run

    cfg = cli_config(ctx, host=host, port=port, database=database)
    port = int(cfg.PORT)  # --port, else HERON_PORT / PORT in heron.toml, else 8000
    store = open_for_cli(cfg)
    prepare(store, cfg)
    # The demo's store is the demo's own: give the admin a fresh password every start so
    # the login printed below always works.
    password = cfg.PASSWORD or secrets.token_urlsafe(9)
    if get_user(store, cfg.USERNAME) is not None and not cfg.PASSWORD:
        set_password(store, cfg.USERNAME, password)
    token = create_login_token(store, cfg.USERNAME)
    ingest_token = cfg.INGEST_TOKEN or rotate_ingest_token(store)
    store.dispose()
    _check_port_free(host, port)
    url = dashboard_url(cfg, host, port)
    server = url.removesuffix(f"/{cfg.CUSTOM_LINK}")
    link = f"{url}/login/token/{token}"
    click.echo("heron demo: a simulated lab is sending events (stop with Ctrl+C).")
    click.echo(f"Dashboard: {url}  user: {cfg.USERNAME}  password: {password}")
    click.echo(f"One-time login link (valid 5 minutes, once): {link}")
    click.echo(f"Ingest token of this run (events, and OpenTelemetry's OTLP/HTTP at "
               f"{server}/v1/traces, /v1/logs, /v1/metrics): {ingest_token}")
    store_url = absolute_sqlite(cfg.DATABASE)
    click.echo("The CLI reads the demo's store, from any folder, with:")
    click.echo(f"  export HERON_DATABASE={shlex.quote(store_url)}")
    click.echo("  heron apps; heron summary --app stroop-online; heron logs -f")
    sys.stdout.flush()

    def post_worker_init(worker: Any) -> None:
        from heron.demo import start_in_worker

        start_in_worker(cfg.DATABASE, cfg.TABLE_PREFIX, interval, server=server,
                        ingest_token=ingest_token)
        if open_browser:
            webbrowser.open(link)

    run(cfg, host=host, port=port, workers=1, post_worker_init=post_worker_init,
        experiment="heron.demo.experiment:StroopDemo")


# -------------------------------------------------------------------------------- export
@cli.command("export")
@click.option("--app", help="Only this app (default: all apps).")
@click.option("--kind", help="Kind to export (default: every kind; the kinds are listed "
              "above).")
@click.option("--since", help="From this time: 10m, 2h, 7d, ISO 8601 or epoch seconds.")
@click.option("--until", help="Before this time (same forms as --since).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="File to write (default: standard output).")
@click.option("--url", envvar="HERON_URL", help="Read from this heron server instead of "
              "the local store (or HERON_URL).")
@click.option("--token", envvar="HERON_SECURITY_TOKEN",
              help="The server's SECURITY_TOKEN (or HERON_SECURITY_TOKEN).")
@click.option("--database", help="SQLAlchemy URL of the local store (config DATABASE).")
@click.option("--no-scrub", is_flag=True,
              help="Keep participants' worker, assignment and HIT ids as stored (by default "
                   "they are replaced by a stable salted hash per app).")
@click.pass_context
def export_cmd(ctx: click.Context, app: str | None, kind: str | None, since: str | None,
               until: str | None, fmt: str, output: str | None, url: str | None,
               token: str | None, database: str | None, no_scrub: bool) -> None:
    """Export stored data as JSON lines or CSV.

    Kinds: request, outlier, profile, exception, endpoint, run, export, session,
    session_step, resource, log, test_result, participant, network, node, info,
    transmission, vector.

    Experiment records come scrubbed: worker, assignment and HIT ids are replaced by
    ``anon-`` and a hash, the same for the same id within an app (--no-scrub keeps them).
    In CSV, cells that a spreadsheet would run as a formula (=, +, -, @) start with '.
    """
    from heron.store.queries.export import EXPORT_KINDS
    from heron.timeparse import parse_time

    if kind is not None and kind not in EXPORT_KINDS:
        raise click.BadParameter(f"unknown kind {kind!r}; known kinds: "
                                 f"{', '.join(sorted(EXPORT_KINDS))}", param_hint="--kind")
    if fmt == "csv" and kind is None:
        raise click.UsageError("--format csv needs one --kind (kinds have different columns)")
    try:
        since_ts = parse_time(since) if since else None
        until_ts = parse_time(until) if until else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    kinds = [kind] if kind else sorted(EXPORT_KINDS)
    if url:
        source: _Source = _RemoteSource(url, token, scrub=not no_scrub)
    else:
        cfg = cli_config(ctx, database=database)
        source = _LocalSource(open_for_cli(cfg, reading=True), scrub=not no_scrub)
    out: IO[str]
    out = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
    written = 0
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                      MofNCompleteColumn(), console=console, transient=output is None,
                      disable=not console.is_terminal and output is None) as progress:
            for k in kinds:
                total = source.count(k, app, since_ts, until_ts)
                task = progress.add_task(f"export {k}", total=total)
                writer: Any = None
                for items in source.pages(k, app, since_ts, until_ts):
                    for item in items:
                        if fmt == "jsonl":
                            line = item if kind else {"kind": k, **item}
                            out.write(json.dumps(line, default=str, ensure_ascii=False) + "\n")
                        else:
                            if writer is None:
                                writer = csv.DictWriter(out, fieldnames=list(item))
                                writer.writeheader()
                            writer.writerow({key: csv_cell(v) for key, v in item.items()})
                    written += len(items)
                    progress.advance(task, len(items))
    finally:
        if output:
            out.close()
        source.close()
    if output:
        console.print(f"Exported {written:,} rows to {output}")


class _Source:
    def count(self, kind: str, app: str | None, since: float | None,
              until: float | None) -> int | None:
        return None

    def pages(self, kind: str, app: str | None, since: float | None,
              until: float | None) -> Iterator[list[dict[str, Any]]]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _LocalSource(_Source):
    def __init__(self, store: Any, *, scrub: bool = True):
        self.store = store
        self.scrub = scrub

    def count(self, kind: str, app: str | None, since: float | None,
              until: float | None) -> int | None:
        from heron.store.queries.export import export_count

        return export_count(self.store, kind, app=app or None, since=since, until=until)

    def pages(self, kind: str, app: str | None, since: float | None,
              until: float | None) -> Iterator[list[dict[str, Any]]]:
        from heron.experiment.scrub import scrub_rows
        from heron.store.queries.export import MAX_LIMIT, export_page

        cursor = None
        while True:
            page = export_page(self.store, kind, app=app, since=since, until=until,
                               limit=MAX_LIMIT, cursor=cursor)
            yield scrub_rows(self.store, kind, page.items) if self.scrub else page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def close(self) -> None:
        self.store.dispose()


class _RemoteSource(_Source):
    def __init__(self, url: str, token: str | None, *, scrub: bool = True):
        self.base = url.rstrip("/")
        self.token = token
        self.scrub = scrub

    def pages(self, kind: str, app: str | None, since: float | None,
              until: float | None) -> Iterator[list[dict[str, Any]]]:
        fields: dict[str, str] = {"limit": "10000"}
        if not self.scrub:
            fields["scrub"] = "false"
        if app:
            fields["app"] = app
        if since is not None:
            fields["since"] = repr(since)
        if until is not None:
            fields["until"] = repr(until)
        while True:
            body = remote_json(self.base, self.token, f"/api/v1/export/{kind}", fields)
            yield body["items"]
            if not body.get("next_cursor"):
                return
            fields["cursor"] = body["next_cursor"]


# ----------------------------------------------------------------------- summary, apps
@cli.command()
@click.option("--app", "app_id", required=True, help="The experiment's app id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
@click.option("--watch", type=click.FloatRange(min=0.5), metavar="SECONDS",
              help="Print it again every SECONDS, until Ctrl+C.")
@click.option("--url", envvar="HERON_URL", help="Ask this heron server (or HERON_URL).")
@click.option("--token", envvar="HERON_SECURITY_TOKEN",
              help="The server's SECURITY_TOKEN (or HERON_SECURITY_TOKEN).")
@click.option("--database", help="SQLAlchemy URL of the local store (config DATABASE).")
@click.pass_context
def summary(ctx: click.Context, app_id: str, as_json: bool, watch: float | None,
            url: str | None, token: str | None, database: str | None) -> None:
    """Participants per status and the yield of an experiment, as Dallinger prints them.

    Yield = approved / participants whose status is not working.
    """
    from heron.experiment.summary import Summary, format_summary
    from heron.store.queries.participants import UnknownApp
    from heron.store.queries.participants import summary as local_summary

    store = None if url else open_for_cli(cli_config(ctx, database=database), reading=True)

    def fetch() -> Summary:
        if store is None:
            assert url is not None
            body = remote_json(url, token, "/api/v1/summary", {"app": app_id})
            return Summary(body["app"], body["counts"])
        try:
            return local_summary(store, app_id)
        except UnknownApp as exc:
            raise HeronError(str(exc)) from None

    try:
        while True:
            result = fetch()
            if as_json:
                click.echo(json.dumps(result.as_json()))
            else:
                click.echo(format_summary(result))
            if watch is None:
                return
            sys.stdout.flush()
            time.sleep(watch)
            if not as_json:
                click.echo("")
    except KeyboardInterrupt:
        return
    finally:
        if store is not None:
            store.dispose()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
@click.option("--url", envvar="HERON_URL", help="Ask this heron server (or HERON_URL).")
@click.option("--token", envvar="HERON_SECURITY_TOKEN",
              help="The server's SECURITY_TOKEN (or HERON_SECURITY_TOKEN).")
@click.option("--database", help="SQLAlchemy URL of the local store (config DATABASE).")
@click.pass_context
def apps(ctx: click.Context, as_json: bool, url: str | None, token: str | None,
         database: str | None) -> None:
    """List apps with their participant counts and yield."""
    from heron.experiment.summary import Summary
    from heron.store.queries.participants import all_summaries

    if url:
        body = remote_json(url, token, "/api/v1/apps", {})
        results = [Summary(a["app"], a["counts"]) for a in body["apps"]]
    else:
        store = open_for_cli(cli_config(ctx, database=database), reading=True)
        try:
            results = all_summaries(store)
        finally:
            store.dispose()
    if as_json:
        click.echo(json.dumps([r.as_json() | {"participants": r.total} for r in results]))
        return
    table = Table("app", "participants", "yield")
    for r in results:
        value = r.yield_
        table.add_row(r.app, f"{r.total:,}", "n/a" if value is None else f"{value * 100:.2f}%")
    Console().print(table)


@cli.command("watch-dallinger")
@click.argument("database_url", envvar="DATABASE_URL")
@click.option("--app", "app_id", required=True, help="The app id to record the experiment as.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between polls of the Dallinger database.")
@click.option("--once", is_flag=True, help="Copy the current state once and exit.")
@click.option("--full", is_flag=True,
              help="Send every row at start, not only what changed since this watcher last "
                   "ran (PostgreSQL).")
@click.option("--url", envvar="HERON_URL", help="Send to this heron server (or HERON_URL).")
@click.option("--token", envvar="HERON_TOKEN",
              help="The server's ingest token (or HERON_TOKEN).")
@click.option("--database", help="SQLAlchemy URL of the local store (config DATABASE).")
@click.pass_context
def watch_dallinger(ctx: click.Context, database_url: str, app_id: str, interval: float,
                    once: bool, full: bool, url: str | None, token: str | None,
                    database: str | None) -> None:
    """Monitor a running Dallinger experiment: read its DATABASE_URL read-only (as
    Dallinger's DATABASE_URL) and keep heron's records of it in sync, polling for changes.

    On PostgreSQL each poll reads only the rows written since the last one, in one
    snapshot, and a restarted watcher goes on from where it stopped (--full sends
    everything again).
    """
    import heron
    from heron.experiment.dallinger import DallingerSource, safe_url

    settings = {"database": database} if database and not url else {}
    source = DallingerSource(database_url, app_id, interval=interval, full=full)
    heron.init(url=url, token=token, app=app_id, **settings)
    where = url or cli_config(ctx, database=database).DATABASE

    def report(changed: dict[str, int]) -> None:
        if source.last_error:
            click.echo(f"{time.strftime('%H:%M:%S')} cannot read the Dallinger database: "
                       f"{source.last_error}; retrying", err=True)
        if changed:
            heron.flush(30)
            parts = ", ".join(f"{n:,} {table}" for table, n in changed.items())
            click.echo(f"{time.strftime('%H:%M:%S')} recorded changes: {parts}")
            sys.stdout.flush()

    click.echo(f"Watching {safe_url(database_url)} as app {app_id!r}, into {where}"
               + ("" if once else f", every {interval:g} s (stop with Ctrl+C)") + ".")
    try:
        source.run(polls=1 if once else None, on_poll=report)
    except KeyboardInterrupt:
        pass
    finally:
        source.stop()
        heron.shutdown()
    if once and source.polls == 0:
        raise HeronError(f"could not read the Dallinger database: {source.last_error}")


@cli.group("session")
def session_group() -> None:
    """Run experiment sessions on a rig."""


@session_group.command("run")
@click.argument("params_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override a parameter (params.NAME for the experiment's own); repeatable.")
@click.option("--rig-defaults", type=click.Path(exists=True, dir_okay=False),
              help="The rig's default parameters, under the file's.")
def session_run(params_file: str, settings: tuple[str, ...], rig_defaults: str | None) -> None:
    """Run a whole session from PARAMS_FILE (JSON or TOML): pre-acquisition modules, the
    acquisition command as a child process, post-acquisition modules. Exit status 0 only
    when the session succeeded."""
    import heron
    from heron.sessions import SessionFailed, SessionTerminated, from_params

    overrides = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        try:
            overrides[key] = json.loads(value)
        except ValueError:
            overrides[key] = value
    session = from_params(params_file, rig_defaults, **overrides)
    for note in session.start_notes:  # keys kept as the experiment's parameters
        click.echo(f"heron: {note}", err=True)
    plan = session.plan  # type: ignore[attr-defined]
    acquisition = plan.get("acquisition")
    if isinstance(acquisition, str):
        acquisition = [sys.executable, acquisition]
    if heron.api.recorder() is None:
        heron.init(app=session.app if session.app != "default" else None)
    try:
        with session as s:
            s.run_pipeline("pre_acquisition", plan.get("pre_acquisition") or [])
            if acquisition:
                s.spawn(acquisition)
            s.run_pipeline("post_acquisition", plan.get("post_acquisition") or [])
    except (SessionFailed, SessionTerminated, KeyboardInterrupt) as exc:
        click.echo(f"session {session.outcome}: {exc}; see {session.metadata}", err=True)
        sys.exit(1)
    finally:
        heron.shutdown()
    failed = [step["name"] for step in session.steps if step["outcome"] != "ok"]
    click.echo(f"session {session.id} finished in {session.folder}"
               + (f" ({len(failed)} module(s) failed: {', '.join(failed)})" if failed else ""))
    if failed:
        sys.exit(1)


# ------------------------------------------------------------------------------------ db
@cli.group()
def db() -> None:
    """Manage the store's schema."""


@db.command()
@click.option("--database", help="SQLAlchemy URL of the store (config DATABASE).")
@click.pass_context
def upgrade(ctx: click.Context, database: str | None) -> None:
    """Apply pending migrations (also done automatically at start)."""
    from heron.store import Store
    from heron.store.engine import make_engine

    cfg = cli_config(ctx, database=database)
    store = Store(make_engine(cfg.DATABASE), cfg.TABLE_PREFIX)
    before = store.revision()
    try:
        upgraded = open_for_cli(cfg)
        after = upgraded.revision()
        upgraded.dispose()
    finally:
        store.dispose()
    if before == after:
        click.echo(f"Store is up to date (revision {after}).")
    else:
        click.echo(f"Store upgraded from {before or 'empty'} to revision {after}.")


@db.command()
@click.argument("revision")
@click.option("--database", help="SQLAlchemy URL of the store (config DATABASE).")
@click.pass_context
def downgrade(ctx: click.Context, revision: str, database: str | None) -> None:
    """Take the store's schema back to REVISION (e.g. 0009: PostgreSQL's raw tables
    unpartitioned, rows kept). Stop every heron on the store first: one that starts
    upgrades it again."""
    from sqlalchemy.exc import SQLAlchemyError

    from heron.errors import HeronError
    from heron.store import Store, migrate
    from heron.store.engine import make_engine

    cfg = cli_config(ctx, database=database)
    if not re.fullmatch(r"\d{4}|base", revision):
        raise HeronError(f"{revision!r} is not a revision: give one such as 0009 (heron's "
                         f"newest is {migrate.head_revision()})")
    store = Store(make_engine(cfg.DATABASE), cfg.TABLE_PREFIX)
    try:
        before = store.revision()
        if before is None:
            raise HeronError("the store has no heron schema to downgrade")
        if revision != "base" and revision > before:
            raise HeronError(f"the store is at {before}, before {revision}: use heron db "
                             "upgrade")
        try:
            after = migrate.downgrade(store.engine, cfg.TABLE_PREFIX, revision)
        except SQLAlchemyError as exc:
            raise HeronError(f"cannot downgrade the store: {exc}") from None
    finally:
        store.dispose()
    click.echo(f"Store downgraded from {before} to revision {after or 'empty'}.")


# ---------------------------------------------------------------------------------- user
@cli.group()
def user() -> None:
    """Manage dashboard users."""


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "guest"]), default="guest",
              show_default=True, help="admin: everything; guest: read only.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--database", help="SQLAlchemy URL of the store (config DATABASE).")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str, password_stdin: bool,
             database: str | None) -> None:
    """Add a user NAME."""
    from heron.auth.users import add_user

    store = open_for_cli(cli_config(ctx, database=database))
    try:
        add_user(store, name, _read_password(password_stdin), role)
    finally:
        store.dispose()
    click.echo(f"Added {role} user {name}.")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.option("--database", help="SQLAlchemy URL of the store (config DATABASE).")
@click.pass_context
def user_passwd(ctx: click.Context, name: str, password_stdin: bool,
                database: str | None) -> None:
    """Set the password of user NAME."""
    from heron.auth.users import get_user, set_password

    store = open_for_cli(cli_config(ctx, database=database))
    try:
        if get_user(store, name) is None:
            raise HeronError(f"no user named {name!r} (see: heron user list)")
        set_password(store, name, _read_password(password_stdin))
    finally:
        store.dispose()
    click.echo(f"Password of {name} changed.")


@user.command("list")
@click.option("--database", help="SQLAlchemy URL of the store (config DATABASE).")
@click.pass_context
def user_list(ctx: click.Context, database: str | None) -> None:
    """List users and their roles."""
    from heron.auth.users import list_users

    store = open_for_cli(cli_config(ctx, database=database))
    try:
        users = list_users(store)
    finally:
        store.dispose()
    table = Table("user", "role")
    for u in users:
        table.add_row(u.username, u.role)
    Console().print(table)


@user.command("remove")
@click.argument("name")
@click.option("--database", help="SQLAlchemy URL of the store (config DATABASE).")
@click.pass_context
def user_remove(ctx: click.Context, name: str, database: str | None) -> None:
    """Remove user NAME."""
    from heron.auth.users import delete_user

    store = open_for_cli(cli_config(ctx, database=database))
    try:
        delete_user(store, name)
    finally:
        store.dispose()
    click.echo(f"Removed user {name}.")


@user.command("login-link")
@click.argument("name")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True,
              help="Address of the heron server.")
@click.option("--database", help="SQLAlchemy URL of the store (config DATABASE).")
@click.pass_context
def user_login_link(ctx: click.Context, name: str, url: str, database: str | None) -> None:
    """Print a one-time login link for NAME (valid 5 minutes, once)."""
    from heron.auth.tokens import create_login_token
    from heron.auth.users import get_user

    cfg = cli_config(ctx, database=database)
    store = open_for_cli(cfg)
    try:
        if get_user(store, name) is None:
            raise HeronError(f"no user named {name!r} (see: heron user list)")
        token = create_login_token(store, name)
    finally:
        store.dispose()
    click.echo(f"{url.rstrip('/')}/{cfg.CUSTOM_LINK}/login/token/{token}")


def main() -> None:
    cli(prog_name="heron")


if __name__ == "__main__":  # pragma: no cover
    main()


def _add_subcommands() -> None:
    from heron.logs.cli import logs

    cli.add_command(logs)


_add_subcommands()
