"""``heron logs``: search and follow logs in the terminal; ``heron logs ingest`` ships files.

``heron logs [QUERY]`` is a search (the Logs tab's syntax); ``heron logs ingest FILE…``
is the one subcommand. The group tells them apart by the first word, so a search for the
word "ingest" is written ``heron logs -- ingest``. A word starting with ``-`` that is not
an option is part of the search: ``heron logs -arrived`` leaves out lines with "arrived".
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.markup import escape

from heron.errors import HeronError
from heron.timeparse import parse_time

out = Console(highlight=False, soft_wrap=True)
LEVEL_STYLES = {10: "dim", 20: "", 30: "yellow", 40: "bold red", 50: "bold white on red"}
FOLLOW_EVERY_S = 1.0


class _SearchByDefault(click.Group):
    """``heron logs QUERY`` searches; ``heron logs ingest …`` runs the subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["search", *args]  # also "--", which makes the next word a query
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("heron logs", "[QUERY] [OPTIONS] | ingest FILE...")


class _QueryWords(click.Command):
    """A search whose words may start with ``-``: ``heron logs -arrived`` excludes a word.
    An argument that looks like an option but is none of the command's is a query word
    (no ``--`` needed); real options and their values are read as usual."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value: set[str] = set()
        flags: set[str] = {"--help"}
        for param in self.params:
            if isinstance(param, click.Option):
                names = set(param.opts) | set(param.secondary_opts)
                (flags if param.is_flag else takes_value).update(names)
        kept: list[str] = []
        words: list[str] = []
        rest = list(args)
        while rest:
            arg = rest.pop(0)
            if arg == "--":
                words.extend(rest)
                break
            name = arg.split("=", 1)[0]
            if name in takes_value:
                kept.append(arg)
                if "=" not in arg and rest:
                    kept.append(rest.pop(0))  # its value, whatever it looks like
            elif name in flags or not arg.startswith("-") or arg == "-" \
                    or _is_number(arg):
                kept.append(arg)
            else:
                words.append(arg)
        return super().parse_args(ctx, [*kept, "--", *words] if words else kept)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@click.group("logs", cls=_SearchByDefault)
def logs() -> None:
    """Search logs, follow them, or ship log files.

    \b
      heron logs 'level:error timeout' --since 1h
      heron logs --app rig-1 --follow
      heron logs ingest /var/log/rig.log --app rig-1

    Search syntax: words (all must match), "a phrase", -exclude, prefix*, level:error
    (error and above), logger:name (and its children), app:id.

    \b
    Search options:
      --app ID            only this app
      --level LEVEL       at least this level (debug, info, warning, error, critical)
      --since, --until    10m, 2h, 7d, ISO 8601 or epoch seconds
      -n, --limit N       the newest N lines (default 50)
      -f, --follow        keep printing new lines, like tail -f
      --json              one JSON object per line
      --url, --token      read a heron server (HERON_URL, HERON_SECURITY_TOKEN)
      --database URL      the local store (config DATABASE)
    """


@logs.command("search", hidden=True, cls=_QueryWords)
@click.argument("query", nargs=-1)
@click.option("--app", help="Only this app.")
@click.option("--level", help="At least this level: debug, info, warning, error, critical.")
@click.option("--since", help="From this time: 10m, 2h, 7d, ISO 8601 or epoch seconds.")
@click.option("--until", help="Before this time (same forms as --since).")
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=50, show_default=True,
              help="Lines to show (the newest).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines, like tail -f.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.option("--url", envvar="HERON_URL", help="Read from this heron server (or HERON_URL).")
@click.option("--token", envvar="HERON_SECURITY_TOKEN",
              help="The server's SECURITY_TOKEN (or HERON_SECURITY_TOKEN).")
@click.option("--database", help="SQLAlchemy URL of the local store (config DATABASE).")
@click.pass_context
def search_cmd(ctx: click.Context, query: tuple[str, ...], app: str | None,
               level: str | None, since: str | None, until: str | None, limit: int,
               follow: bool, as_json: bool, url: str | None, token: str | None,
               database: str | None) -> None:
    """Print matching lines, oldest of the newest LIMIT first; --follow for new ones."""
    from heron.logs.query import QueryError

    params = {"q": " ".join(query), "app": app, "level": level, "since": since,
              "until": until}
    params = {k: v for k, v in params.items() if v}
    try:
        source = _Remote(url, token) if url else _Local(ctx, database)
    except HeronError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        lines, notes = source.fetch(params, limit=limit)
        for note in notes:
            click.echo(f"note: {note}", err=True)
        last = lines[0]["seq"] if lines else source.newest()
        for line in reversed(lines):
            _print(line, as_json)
        while follow:
            time.sleep(FOLLOW_EVERY_S)
            new, _ = source.fetch(params, limit=1000, after=last)
            for line in new:
                _print(line, as_json)
                last = line["seq"]
    except QueryError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass
    finally:
        source.close()


def _print(line: dict[str, Any], as_json: bool) -> None:
    if as_json:
        out.print(json.dumps(line, default=str, ensure_ascii=False), markup=False)
        return
    from heron.logs.query import level_name

    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(line["ts"]))
    level = int(line["level"])
    style = LEVEL_STYLES.get(min(50, level // 10 * 10), "")
    name = level_name(level)
    head = f"[dim]{stamp}[/] [{style}]{name:<8}[/]" if style else f"[dim]{stamp}[/] {name:<8}"
    out.print(f"{head} [cyan]{escape(line['app'])}[/] {escape(line['logger'])}: "
              f"{escape(line['message'])}")
    if line.get("exc_text"):
        out.print(escape(line["exc_text"]), style="dim")


class _Local:
    def __init__(self, ctx: click.Context, database: str | None):
        from heron.cli_common import cli_config, open_for_cli

        self.store = open_for_cli(cli_config(ctx, database=database), reading=True)

    def fetch(self, params: dict[str, str], *, limit: int, after: int | None = None
              ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        from heron.logs.search import from_params
        from heron.store.queries.logs import search

        found = from_params(params)
        rows = search(self.store, found.query, found.where, limit=limit, after=after,
                      oldest_first=after is not None)
        return rows, found.query.notes

    def newest(self) -> int:
        from heron.store.queries.logs import newest_seq

        return newest_seq(self.store)

    def close(self) -> None:
        self.store.dispose()


class _Remote:
    def __init__(self, url: str, token: str | None):
        self.url, self.token = url, token
        self._newest = 0

    def fetch(self, params: dict[str, str], *, limit: int, after: int | None = None
              ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
        from heron.cli_common import remote_json
        from heron.logs.query import QueryError

        fields = {**params, "limit": str(limit)}
        if after is not None:
            fields["after"] = str(after)
        try:
            body = remote_json(self.url, self.token, "/api/v1/logs", fields)
        except HeronError as exc:
            if " 400:" in str(exc):
                raise QueryError(str(exc).split(" 400: ", 1)[1]) from None
            raise
        self._newest = int(body.get("newest_seq") or 0)
        return body["items"], tuple(body.get("notes") or ())

    def newest(self) -> int:
        return self._newest

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------- ingest
_LEVEL_WORD = re.compile(r"\b(DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|FATAL|"
                         r"SEVERE)\b", re.I)
_LEVELS = {"debug": 10, "info": 20, "notice": 20, "warn": 30, "warning": 30, "error": 40,
           "err": 40, "critical": 50, "fatal": 50, "severe": 50}
_STAMP = re.compile(r"^\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?"
                    r"(?:Z|[+-]\d\d:?\d\d)?)\]?\s*")
BATCH = 5_000


def _entries(stream: IO[str]) -> Iterator[tuple[int, str, str | None]]:
    """(line number, first line, continuation) per entry: indented lines and a Python
    traceback's lines belong to the entry before them."""
    number, head, rest = 0, None, []  # type: tuple[int, str | None, list[str]]
    for index, raw in enumerate(stream, 1):
        line = raw.rstrip("\r\n")
        in_traceback = bool(rest) and rest[0].startswith("Traceback (")
        continued = head is not None and bool(line) and (
            line[0] in " \t" or line.startswith("Traceback (")
            or (in_traceback and rest[-1][:1] in (" ", "\t")))  # its closing "Error: …"
        if continued:
            rest.append(line)
            continue
        if head is not None:
            yield number, head, "\n".join(rest) or None
        if not line.strip():
            head, rest = None, []
            continue
        number, head, rest = index, line, []
    if head is not None:
        yield number, head, "\n".join(rest) or None


def parse_entry(head: str, rest: str | None, default_ts: float) -> dict[str, Any]:
    """Time (a leading ISO 8601 stamp, else ``default_ts``), level (a level word near the
    start, else INFO) and message of one entry."""
    ts = default_ts
    stamp = _STAMP.match(head)
    if stamp:
        try:
            ts = parse_time(stamp.group(1).replace(",", ".").replace(" ", "T", 1))
        except ValueError:
            pass
    level_match = _LEVEL_WORD.search(head[:120])
    level = _LEVELS[level_match.group(1).lower()] if level_match else logging.INFO
    if rest and not rest.startswith("Traceback ("):
        return {"ts": ts, "level": level, "message": f"{head}\n{rest}", "exc_text": None}
    return {"ts": ts, "level": level, "message": head, "exc_text": rest}


@logs.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False,
                                                                  allow_dash=True))
@click.option("--app", required=True, help="App id to record the lines under.")
@click.option("--logger", "logger_name", help="Logger name (default: the file's name).")
@click.option("--url", envvar="HERON_URL", help="Send to this heron server (or HERON_URL).")
@click.option("--token", envvar="HERON_TOKEN", help="The server's ingest token (or HERON_TOKEN).")
@click.option("--database", help="SQLAlchemy URL of the local store (config DATABASE).")
def ingest_cmd(files: tuple[str, ...], app: str, logger_name: str | None, url: str | None,
               token: str | None, database: str | None) -> None:
    """Ship log files (or - for standard input) line by line, for processes that are not
    Python. A line starting with an ISO 8601 time keeps it; a level word (ERROR, WARN…)
    near the start sets the level; indented lines and tracebacks join the line before.
    Shipping a file again stores nothing twice."""
    import heron
    from heron import events as ev

    settings: dict[str, Any] = {"app": app}
    if url:
        settings.update(url=url, token=token)
    elif database:
        settings["database"] = database
    heron.init(**settings)
    sent = 0
    try:
        for name in files:
            path = None if name == "-" else Path(name)
            stream = sys.stdin if path is None else path.open(encoding="utf-8",
                                                             errors="replace")
            source = "stdin" if path is None else str(path.resolve())
            logger = logger_name or ("stdin" if path is None else path.name)
            started = time.time()
            try:
                for number, head, rest in _entries(stream):
                    entry = parse_entry(head, rest, started)
                    key = f"{app}\0{source}\0{number}\0{head}".encode()
                    heron.emit(ev.Log(
                        id="file-" + hashlib.sha256(key).hexdigest()[:40], app=app,
                        logger=logger[:500], pathname=source, lineno=number,
                        **entry))
                    sent += 1
                    if sent % BATCH == 0 and not heron.flush(60):
                        raise click.ClickException("the store did not keep up; stopped "
                                                   f"after {sent:,} lines")
            finally:
                if path is not None:
                    stream.close()
        if not heron.flush(60):
            raise click.ClickException("not every line was written within 60 s")
        stats = heron.stats()
    finally:
        heron.shutdown()
    click.echo(f"Shipped {sent:,} log entries for app {app!r}"
               + (f"; {stats['spooled']:,} wait in the spool" if stats["spooled"] else ""),
               err=True)
