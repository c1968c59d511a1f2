"""The log search syntax, parsed into something no database can misread.

``disk full`` (every word), ``"connection reset"`` (a phrase), ``-heartbeat`` (exclude),
``conn*`` (prefix), ``level:error`` (that level and above), ``logger:myapp.db`` (that
logger and its children; ``-logger:werkzeug`` leaves one out), ``app:rig-1``.

User text never reaches the full-text engine as syntax. Each word or phrase is cut into
tokens (runs of letters and digits, as both indexes cut the stored text), and the engine's
expression is written from those tokens only. So ``id=123`` searches the phrase "id 123",
``NOT`` alone searches the word "not", and an unbalanced quote searches the rest of the
line as a phrase. What could not be searched is said in :attr:`LogQuery.notes`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from heron.errors import HeronError

#: Level names the syntax knows, with their numbers (``level:warn`` = 30).
LEVELS: dict[str, int] = {"debug": 10, "info": 20, "warning": 30, "warn": 30,
                          "error": 40, "err": 40, "critical": 50, "fatal": 50}
MAX_TERMS = 32
_TOKEN = re.compile(r"[^\W_]+")
_FIELDS = ("level", "logger", "app")


class QueryError(HeronError, ValueError):
    """A search that cannot mean anything; the message says how to write it."""


@dataclass(frozen=True)
class Term:
    """One word or phrase: the tokens it searches, in order."""

    tokens: tuple[str, ...]
    exclude: bool = False
    prefix: bool = False  # the last token matches as a prefix (``conn*``)

    def fts5(self) -> str:
        # Tokens are letters and digits only, so quoting them cannot break out.
        phrase = '"' + " ".join(self.tokens) + '"'
        return phrase + " *" if self.prefix else phrase

    def tsquery(self) -> str:
        words = [t.lower() for t in self.tokens]
        if self.prefix:
            words[-1] += ":*"
        return " <-> ".join(words)


@dataclass(frozen=True)
class LogQuery:
    """A parsed search: full-text terms plus field filters."""

    text: str = ""
    terms: tuple[Term, ...] = ()
    level: int | None = None           # at least this level
    loggers: tuple[str, ...] = ()      # any of these loggers (or their children)
    excluded_loggers: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def included(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.exclude)

    @property
    def excluded(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.exclude)

    def fts5_match(self) -> str | None:
        """The FTS5 MATCH expression, or None when no term must be present."""
        included = self.included
        if not included:
            return None
        expr = "(" + " AND ".join(t.fts5() for t in included) + ")"
        return expr + "".join(f" NOT {t.fts5()}" for t in self.excluded)

    def fts5_excluded(self) -> str | None:
        """FTS5 expression of lines to leave out, for a query of exclusions only."""
        if self.included or not self.excluded:
            return None
        return " OR ".join(t.fts5() for t in self.excluded)

    def tsquery(self) -> str | None:
        """PostgreSQL ``to_tsquery('simple', ...)`` text, or None without terms."""
        if not self.terms:
            return None
        parts = [f"({t.tsquery()})" for t in self.included]
        parts += [f"!({t.tsquery()})" for t in self.excluded]
        return " & ".join(parts)

    def with_level(self, level: int | None) -> LogQuery:
        """This query with a level floor (the form's level menu), the stricter one kept."""
        if level is None or (self.level is not None and self.level >= level):
            return self
        return LogQuery(self.text, self.terms, level, self.loggers, self.excluded_loggers,
                        self.apps, self.notes)


def parse_level(value: str) -> int:
    """A level name (``error``, ``WARN``) or number (``40``)."""
    text = value.strip().lower()
    if text.isdigit() and int(text) <= 100:
        return int(text)
    if text in LEVELS:
        return LEVELS[text]
    raise QueryError(f"level {value!r} is not a level; use debug, info, warning, error, "
                     "critical or a number")


def level_name(level: int) -> str:
    return logging.getLevelName(level) if level in (10, 20, 30, 40, 50) else f"LEVEL {level}"


def _lex(text: str) -> list[tuple[str, str, bool, bool]]:
    """Split into (head, body, quoted, unbalanced) pieces. A quoted piece's head is what
    was glued before its quote: ``-`` or ``field:`` (``-"a b"``, ``logger:"my app"``)."""
    pieces: list[tuple[str, str, bool, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] != '"':
            i += 1
        head = text[start:i]
        if i < n and text[i] == '"' and (head in ("", "-") or head.endswith(":")):
            close = text.find('"', i + 1)
            if close == -1:
                pieces.append((head, text[i + 1:], True, True))
                break
            pieces.append((head, text[i + 1:close], True, False))
            i = close + 1
            continue
        if i < n and text[i] == '"':  # a quote inside a word: part of the word
            while i < n and not text[i].isspace():
                i += 1
            head = text[start:i]
        pieces.append(("", head, False, False))
    return pieces


def parse(text: str | None) -> LogQuery:
    """Parse the search box; raises :class:`QueryError` only for a bad field value."""
    text = (text or "").strip()
    terms: list[Term] = []
    loggers: list[str] = []
    excluded_loggers: list[str] = []
    apps: list[str] = []
    notes: list[str] = []
    level: int | None = None
    for head, chunk, quoted, unbalanced in _lex(text):
        if unbalanced:
            notes.append("a quote was not closed: searched the rest as a phrase")
        if quoted:
            exclude = head.startswith("-")
            name, colon = head.lstrip("-").rstrip(":"), head.endswith(":")
            body, value = chunk, chunk
        else:
            exclude = chunk.startswith("-") and len(chunk) > 1
            body = chunk[1:] if exclude else chunk
            name, colon, value = body.partition(":")
        if colon and name.lower() in _FIELDS and (value or quoted):
            value = value.strip()
            if not value:
                raise QueryError(f"{name}: needs a value, e.g. {name}:error")
            if name.lower() == "level":
                if exclude:
                    raise QueryError("level: cannot be excluded; level:warning already "
                                     "means warning and above")
                parsed = parse_level(value)
                level = parsed if level is None else max(level, parsed)
            elif name.lower() == "logger":
                (excluded_loggers if exclude else loggers).append(value)
            else:
                if exclude:
                    raise QueryError("app: cannot be excluded; pick the apps to search")
                apps.append(value)
            continue
        if quoted and colon:  # an unknown field with a quoted value: search it all
            body = f"{name} {chunk}"
        prefix = not quoted and body.endswith("*")
        tokens = tuple(_TOKEN.findall(body))
        if not tokens:
            if body.strip():
                notes.append(f"{body!r} has no letters or digits to search for; ignored")
            continue
        terms.append(Term(tokens, exclude=exclude, prefix=prefix))
    if len(terms) > MAX_TERMS:
        raise QueryError(f"a search can have at most {MAX_TERMS} words and phrases")
    return LogQuery(text, tuple(terms), level, tuple(loggers), tuple(excluded_loggers),
                    tuple(apps), tuple(notes))
