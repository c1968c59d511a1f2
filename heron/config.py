"""heron's one configuration object.

Every setting is declared once, in :data:`SETTINGS`, with its type, default and help
text; ``docs/configuration.md`` documents each of them and a test checks that it does.

A value comes from the first of these that sets it (highest precedence first):

1. keyword arguments in code (``heron.config.configure(DATABASE=...)``, ``heron.init(...)``),
2. ``HERON_<KEY>`` environment variables,
3. a config file: ``heron.toml`` in the working directory, the file named by
   ``HERON_CONFIG``, or Flask-MonitoringDashboard's INI file given to :func:`init_from`,
4. the defaults below.

Every value is validated when the configuration is built; an error names the key, the
value (masked for secrets) and where it came from, so it can be fixed at its source.

Module-level state mirrors Flask-MonitoringDashboard's ``dashboard.config`` so that its
users find the same names: ``heron.config.init_from(file=...)`` and
``heron.config.group_by = ...``.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from heron.errors import ConfigError

ENV_PREFIX = "HERON_"

#: Other tools' names for heron's settings, accepted as they are: Dallinger's dashboard
#: login (``dashboard_user`` in a config file, ``DASHBOARD_USER`` in the environment, with
#: or without ``HERON_``). heron's own name wins where both are set.
ALIASES = {"DASHBOARD_USER": "USERNAME", "DASHBOARD_PASSWORD": "PASSWORD"}
DEFAULT_FILE = "heron.toml"


@dataclass(frozen=True)
class Setting:
    """One configuration key: its type, default, FMD INI section and documentation."""

    name: str
    kind: str  # str, int, float, bool, list, url, timezone, colors, prefix, path_segment
    default: Any
    help: str
    section: str | None = None  # Flask-MonitoringDashboard INI section, when FMD has the key
    secret: bool = False
    minimum: float | None = None
    maximum: float | None = None


SETTINGS: tuple[Setting, ...] = (
    # -- application -------------------------------------------------------------------
    Setting("APP", "str", None,
            "Id of the monitored application or experiment this process records for. "
            "Defaults to the Flask app's name for a bound app, else `default`."),
    Setting("APP_VERSION", "str", "1.0",
            "Version recorded with every request, unless GIT names a repository.",
            section="dashboard"),
    Setting("GIT", "str", None,
            "Path of a `.git` folder; its current commit id becomes the version.",
            section="dashboard"),
    Setting("CUSTOM_LINK", "path_segment", "dashboard",
            "URL prefix of the dashboard (`/dashboard`).", section="dashboard"),
    Setting("MONITOR_LEVEL", "int", 1,
            "Monitor level given to newly seen endpoints: 0 off, 1 requests, 2 plus outliers, "
            "3 plus profiler.", section="dashboard", minimum=0, maximum=3),
    Setting("OUTLIER_DETECTION_CONSTANT", "float", 2.5,
            "A request is an outlier when slower than this many times the endpoint's "
            "recent average.", section="dashboard", minimum=1.0),
    Setting("OUTLIER_MIN_MS", "float", 10.0,
            "Requests faster than this many milliseconds are never outliers.", minimum=0.0),
    Setting("SAMPLING_PERIOD", "float", 5.0,
            "Milliseconds between two profiler samples; at least 1.", section="dashboard",
            minimum=1.0),
    Setting("TRUSTED_PROXIES", "list", [],
            "Addresses (or networks) of reverse proxies in front of the app or the "
            "dashboard. Only a request arriving from one of them is read through its "
            "headers: its client is the first address of `X-Forwarded-For` (recorded "
            "requests, login throttling) and `X-Forwarded-Proto: https` makes the login "
            "cookie `Secure`; from any other address those headers are ignored."),
    Setting("REDACT", "list", [],
            "More header or field names to redact from outliers, besides Authorization, "
            "Cookie, Set-Cookie and any name containing password, secret, token, key, "
            "session, csrf or auth (case-insensitive substrings)."),
    Setting("OUTLIER_BODY_BYTES", "int", 10_000,
            "Largest request body (form or JSON) kept with an outlier, in bytes.", minimum=0),
    Setting("RETENTION_DAYS", "float", 30.0,
            "Raw requests, outliers, profiles and exceptions older than this many days are "
            "pruned by the server every hour (rollups are kept). 0 keeps everything.",
            minimum=0.0),
    Setting("LOG_RETENTION_DAYS", "float", 30.0,
            "Log lines older than this many days are pruned by the server every hour. "
            "0 keeps everything.", minimum=0.0),
    Setting("ALERTS", "alerts", [],
            "Alert rules brought by the deployment: `[[alerts]]` tables in heron.toml with "
            "`name`, `query` or `metric`, `app`, `endpoint`, `above`/`below`, "
            "`webhook_url`, `frequency`, `threshold`, `quiet`, `window` (see "
            "`docs/alerts.md`).", secret=True),
    Setting("PUBLIC_URL", "http_url", None,
            "Address people reach the server at (`https://heron.example.org`), for links in "
            "alert messages. Unset: `http://HOST:PORT`."),
    Setting("HIDDEN_TABS", "list", [],
            "Route names of built-in dashboard tabs to hide, e.g. `[\"home\"]`."),
    # -- authentication ----------------------------------------------------------------
    Setting("USERNAME", "str", "admin",
            "Name of the admin user created at first start.", section="authentication"),
    Setting("PASSWORD", "str", None,
            "Password of the admin user. Unset: a random one is generated at first start "
            "and printed once.", section="authentication", secret=True),
    Setting("GUEST_USERNAME", "str", "guest",
            "Name of the read-only guest user.", section="authentication"),
    Setting("GUEST_PASSWORD", "str", None,
            "Password of the guest user. Unset: no guest user is created.",
            section="authentication", secret=True),
    Setting("SECURITY_TOKEN", "str", None,
            "Bearer token for the export API. Unset: only logged-in admins may export.",
            section="authentication", secret=True),
    Setting("METRICS_ALLOW", "list", [],
            "Addresses or networks that may read `/metrics` without a token (e.g. the "
            "Prometheus server's, `10.0.0.5` or `10.0.0.0/24`). Anyone else needs "
            "`Authorization: Bearer <SECURITY_TOKEN>` or an admin login. See "
            "[metrics.md](metrics.md).",
            section="authentication"),
    Setting("METRICS_EXPORTS", "list", [],
            "Exported metrics (`heron.export({...})`, OTLP metrics) whose newest value per "
            "app `/metrics` shows as `heron_exported_metric{app,metric}`, e.g. "
            "`[\"loss\", \"queue_depth\"]`. Listed by name, so the series stay few. See "
            "[metrics.md](metrics.md)."),
    Setting("INGEST_TOKEN", "str", None,
            "Bearer token clients send to `POST /api/v1/events`. Unset: generated, stored "
            "and printed at first start.", secret=True),
    Setting("SECRET_KEY", "str", None,
            "Key signing dashboard session cookies. Unset: generated once and kept in the "
            "store, so every server on one store shares it.", secret=True),
    Setting("COOKIE_SECURE", "bool", False,
            "Mark the dashboard's login cookie `Secure` on every response. Off, it is "
            "`Secure` whenever the request came over HTTPS: directly, or per "
            "`X-Forwarded-Proto: https` from a TRUSTED_PROXIES address."),
    Setting("SESSION_IDLE_HOURS", "float", 12.0,
            "A dashboard login ends after this many hours without a request.",
            minimum=0.01),
    Setting("SESSION_MAX_DAYS", "float", 7.0,
            "A dashboard login ends this many days after it began, used or not.",
            minimum=0.01),
    Setting("LOGIN_ATTEMPTS_PER_MINUTE", "int", 5,
            "Failed logins allowed per user and IP address per minute.", minimum=1),
    # -- database ----------------------------------------------------------------------
    Setting("DATABASE", "url", "sqlite:///heron.db",
            "SQLAlchemy URL of the store: SQLite (default) or PostgreSQL "
            "(`postgresql+psycopg://user@host/db`).", section="database"),
    Setting("DATABASE_READ_URL", "url", None,
            "SQLAlchemy URL of a read replica of DATABASE (PostgreSQL streaming "
            "replication): dashboard pages and exports read there; ingest, alerts, logins "
            "and every write, and the page after a write, use DATABASE.",
            section="database"),
    Setting("PARTITION_DAYS", "int", 1,
            "Days per time partition of the raw tables on PostgreSQL (requests, log lines, "
            "exports, resource samples): retention drops whole partitions. "
            "Applies to partitions made from now on.", minimum=1, section="database"),
    Setting("TABLE_PREFIX", "prefix", "heron_",
            "Prefix of every table heron creates.", section="database"),
    # -- visualization -----------------------------------------------------------------
    Setting("TIMEZONE", "timezone", "UTC",
            "IANA time zone in which the dashboard shows times, e.g. `Europe/Amsterdam`.",
            section="visualization"),
    Setting("COLORS", "colors", {},
            "Fixed chart colours per endpoint or app: `{\"main\": \"[0,97,255]\"}` or "
            "`{\"main\": \"#0061ff\"}`.", section="visualization"),
    # -- instrumentation client --------------------------------------------------------
    Setting("URL", "http_url", None,
            "Address of a heron server (`http://host:8000`). Unset: events go to the local "
            "store in DATABASE."),
    Setting("TOKEN", "str", None,
            "The server's ingest token, sent as `Authorization: Bearer ...`.", secret=True),
    Setting("WRITER", "str", "auto",
            "Where events recorded into the local store are written: `thread` (a thread of "
            "this process), `process` (a writer process of heron's own, started with the "
            "first batch and ended with this one: the app's interpreter only hands batches "
            "over), or `auto` (a process for a bound app or a web middleware, whose "
            "request threads would share the interpreter with the writer; a thread "
            "otherwise)."),
    Setting("SPOOL_DIR", "str", None,
            "Folder where undelivered batches wait on disk. Unset: `heron/spool` in the "
            "user cache folder (`~/.cache/heron/spool` on Linux)."),
    Setting("SPOOL_MAX_MB", "float", 1024.0,
            "Largest size of the spool in MiB; past it new events are dropped and counted.",
            minimum=1.0),
    Setting("CLIENT_CONFIG_FILE", "str", None,
            "JSON file with the kill switch `{\"disable_all\": false}`, watched for changes. "
            "Unset: `heron/client_config.json` in the user config folder "
            "(`~/.config/heron/client_config.json` on Linux)."),
    Setting("DISABLE_ALL", "bool", False,
            "Turn every `run`, `sub_run` and `export` into a no-op (the kill switch)."),
    Setting("LOGGING_LEVEL", "log_level", "WARNING",
            "Level of heron's logger `heron`: a name (`INFO`) or a number (`20`)."),
    Setting("PRINT_LOGS", "bool", False,
            "Also print heron's own log records on standard output."),
    # -- server ------------------------------------------------------------------------
    Setting("HOST", "str", "127.0.0.1", "Address `heron serve` listens on."),
    Setting("PORT", "int", 8000, "Port `heron serve` listens on.", minimum=0, maximum=65535),
    Setting("WORKERS", "int", 1, "Worker processes of `heron serve`.", minimum=1),
    Setting("THREADS", "int", 16,
            "Threads per worker process of `heron serve`.", minimum=1),
    Setting("MAX_BODY_BYTES", "int", 16 * 1024 * 1024,
            "Largest accepted ingest request body (after decompression), in bytes.",
            minimum=1024),
    Setting("MAX_BATCH_EVENTS", "int", 50_000,
            "Largest number of events accepted in one ingest request.", minimum=1),
)

_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

# Flask-MonitoringDashboard INI keys heron has no use for; accepted and ignored so an
# existing FMD config file loads unchanged.
_FMD_IGNORED = {
    "BLUEPRINT_NAME", "ENABLE_LOGGING", "BRAND_NAME", "TITLE_NAME", "DESCRIPTION",
    "SHOW_LOGIN_BANNER", "SHOW_LOGIN_FOOTER", "TELEMETRY",
}

_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no", ""}


def _where(source: str) -> str:
    return f"(from {source})"


def _show(setting: Setting, value: Any) -> str:
    return "'***'" if setting.secret else repr(value)


def _fail(setting: Setting, value: Any, source: str, why: str) -> ConfigError:
    return ConfigError(f"{setting.name}: {_show(setting, value)} {why} {_where(source)}")


def _parse_literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _coerce(setting: Setting, value: Any, source: str) -> Any:
    """Turn a raw value from any source into the setting's type, or raise ConfigError."""
    kind = setting.kind
    if value is None:
        return None
    from_text = isinstance(value, str)
    if kind == "log_level":
        return _log_level(setting, value, source)
    if kind in ("str", "url", "http_url", "timezone", "prefix", "path_segment"):
        if not isinstance(value, str):
            raise _fail(setting, value, source, "is not a string")
        if kind == "url":
            return _check_url(setting, value, source)
        if kind == "http_url":
            return _check_http_url(setting, value, source)
        if kind == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise _fail(setting, value, source,
                            "is not a known time zone (use an IANA name such as "
                            "'Europe/Amsterdam' or 'UTC')") from None
            return value
        if kind == "prefix":
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,30}|", value):
                raise _fail(setting, value, source,
                            "is not a valid table prefix (letters, digits and _ only)")
            return value
        if kind == "path_segment":
            stripped = value.strip("/")
            if not re.fullmatch(r"[A-Za-z0-9_\-/]+", stripped or "-") or not stripped:
                raise _fail(setting, value, source,
                            "is not a valid URL path (letters, digits, - and _)")
            return stripped
        return value
    if kind == "int":
        if isinstance(value, bool):
            raise _fail(setting, value, source, "is not an integer")
        if from_text:
            try:
                value = int(value.strip())
            except ValueError:
                raise _fail(setting, value, source, "is not an integer") from None
        if not isinstance(value, int):
            raise _fail(setting, value, source, "is not an integer")
        return _check_range(setting, value, source)
    if kind == "float":
        if isinstance(value, bool):
            raise _fail(setting, value, source, "is not a number")
        if from_text:
            try:
                value = float(value.strip())
            except ValueError:
                raise _fail(setting, value, source, "is not a number") from None
        if not isinstance(value, int | float):
            raise _fail(setting, value, source, "is not a number")
        return _check_range(setting, float(value), source)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if from_text and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _fail(setting, value, source,
                    "is not a boolean (use 1, true or yes to turn it on; 0, false, no or "
                    "nothing to turn it off)")
    if kind == "list":
        if from_text:
            parsed = _parse_literal(value) if value.strip().startswith("[") else None
            value = parsed if isinstance(parsed, list) else [
                part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise _fail(setting, value, source, "is not a list of strings")
        return list(value)
    if kind == "alerts":
        return _alerts(setting, value, source)
    if kind == "colors":
        if from_text:
            value = _parse_literal(value)
        if not isinstance(value, Mapping):
            raise _fail(setting, value, source,
                        "is not a mapping of name to colour, e.g. {'main': '[0,97,255]'}")
        return {str(k): _colour(setting, v, source) for k, v in value.items()}
    raise AssertionError(f"unknown setting kind {kind}")  # pragma: no cover


def _alerts(setting: Setting, value: Any, source: str) -> list[dict[str, Any]]:
    """``[[alerts]]`` tables (a JSON list in HERON_ALERTS), each checked as a rule."""
    import json

    from heron.logs.rules import parse_rule

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(f"ALERTS is not a JSON list of rules {_where(source)}") from None
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(f"ALERTS must be [[alerts]] tables (a list of rules) "
                          f"{_where(source)}")
    names: set[str] = set()
    for index, rule in enumerate(value):
        spec = parse_rule(rule, f"alerts[{index}] {_where(source)}")
        if spec.name in names:
            raise ConfigError(f"alerts: two rules are named {spec.name!r} {_where(source)}")
        names.add(spec.name)
    return [dict(v) for v in value]


def _check_range(setting: Setting, value: float, source: str) -> Any:
    if setting.minimum is not None and value < setting.minimum:
        raise _fail(setting, value, source, f"is below the minimum {setting.minimum:g}")
    if setting.maximum is not None and value > setting.maximum:
        raise _fail(setting, value, source, f"is above the maximum {setting.maximum:g}")
    return value


def _check_url(setting: Setting, value: str, source: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except ArgumentError:
        raise _fail(setting, value, source,
                    "is not a database URL (e.g. 'sqlite:///heron.db' or "
                    "'postgresql+psycopg://user@host/db')") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise _fail(setting, value, source,
                    "names a database heron does not support (use sqlite or postgresql)")
    return value


def _check_http_url(setting: Setting, value: str, source: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _fail(setting, value, source,
                    "is not an http(s) URL (e.g. 'http://127.0.0.1:8000')")
    return value.rstrip("/")


def _log_level(setting: Setting, value: Any, source: str) -> int:
    import logging

    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        level = logging.getLevelName(text.upper())
        if isinstance(level, int):
            return level
    raise _fail(setting, value, source,
                "is not a logging level (use DEBUG, INFO, WARNING, ERROR or a number)")


def _colour(setting: Setting, value: Any, source: str) -> str:
    if isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return value.lower()
    if isinstance(value, str):
        value = _parse_literal(value)
    if (isinstance(value, list | tuple) and len(value) == 3
            and all(isinstance(c, int) and 0 <= c <= 255 for c in value)):
        return "#{:02x}{:02x}{:02x}".format(*value)
    raise _fail(setting, value, source, "has a colour that is not '[r,g,b]' or '#rrggbb'")


class Config:
    """Validated settings with the source of each value.

    Read a value as an attribute (``config.DATABASE``) and its origin with
    :meth:`source`. Build one with :meth:`load`; instances are immutable once built.
    """

    def __init__(self, values: dict[str, Any], sources: dict[str, str]):
        self._values = values
        self._sources = sources

    @classmethod
    def load(
        cls,
        *,
        file: str | os.PathLike[str] | None = None,
        ini_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Config:
        """Build a configuration from defaults, a file, the environment and ``overrides``.

        :param file: a heron TOML file. Without it, ``HERON_CONFIG`` or ``./heron.toml``
            (when present) is read.
        :param ini_file: a Flask-MonitoringDashboard INI file, read on top of the TOML file.
        :param environ: the environment to read ``HERON_*`` variables from.
        :param overrides: values set in code; keys are setting names, any case.
        """
        env = os.environ if environ is None else environ
        values = {s.name: s.default for s in SETTINGS}
        sources = {s.name: "default" for s in SETTINGS}

        def put(name: str, raw: Any, source: str) -> None:
            setting = _BY_NAME[name]
            values[name] = _coerce(setting, raw, source)
            sources[name] = source

        toml_path = _toml_path(file, env)
        if toml_path is not None:
            for name, raw in _read_toml(toml_path).items():
                put(name, raw, f"config file {toml_path}")
        if ini_file is not None:
            path = Path(ini_file)
            for name, raw in _read_ini(path).items():
                put(name, raw, f"config file {path}")
        for alias, name in ALIASES.items():
            for var in (alias, ENV_PREFIX + alias):
                if var in env:
                    put(name, env[var], f"environment variable {var}")
        for setting in SETTINGS:
            var = ENV_PREFIX + setting.name
            if var in env:
                put(setting.name, env[var], f"environment variable {var}")
        for key, raw in overrides.items():
            name = ALIASES.get(key.upper(), key.upper())
            if name not in _BY_NAME:
                raise ConfigError(f"{key}: unknown setting {_suggest(name)}(from code)")
            put(name, raw, "code")
        return cls(values, sources)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(f"heron has no setting {name!r}") from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def source(self, name: str) -> str:
        """Where the value of setting ``name`` came from."""
        return self._sources[name]

    def as_dict(self, *, mask_secrets: bool = True) -> dict[str, Any]:
        """All values; secrets replaced by ``'***'`` unless asked otherwise."""
        return {
            name: ("***" if mask_secrets and _BY_NAME[name].secret and value else value)
            for name, value in self._values.items()
        }

    def __repr__(self) -> str:
        return f"Config({self.as_dict()!r})"


def _suggest(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, _BY_NAME, n=1)
    return f"(did you mean {close[0]}?) " if close else ""


def _toml_path(file: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if file is not None:
        path = Path(file)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist (from code)")
        return path
    named = env.get(ENV_PREFIX + "CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(
                f"config file {path} does not exist (from environment variable HERON_CONFIG)")
        return path
    default = Path(DEFAULT_FILE)
    return default if default.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key.upper()
        if name in ALIASES:
            if ALIASES[name] in {k.upper() for k in data}:
                continue  # heron's own name, also in the file, wins
            name = ALIASES[name]
        if name not in _BY_NAME:
            raise ConfigError(f"{key}: unknown setting {_suggest(name)}(from config file {path})")
        out[name] = value
    return out


def _read_ini(path: Path) -> dict[str, Any]:
    """Read Flask-MonitoringDashboard's INI layout: keys under their FMD sections."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str.upper  # type: ignore[assignment,method-assign]
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"config file {path} is not a valid INI file: {exc}") from None
    out: dict[str, Any] = {}
    for section in parser.sections():
        for name, raw in parser.items(section):
            setting = _BY_NAME.get(name)
            if setting is None or setting.section is None:
                if name in _FMD_IGNORED:
                    continue
                raise ConfigError(
                    f"{name}: unknown setting in section [{section}] {_suggest(name)}"
                    f"(from config file {path})")
            value = raw.strip()
            # FMD writes strings with or without quotes; unquote a quoted literal.
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            if name == "GIT" and value:
                value = _beside(path, value)
            out[name] = value
    return out


def _beside(config_file: Path, git: str) -> str:
    """GIT as Flask-MonitoringDashboard documents it, "relative to the configuration
    file": a relative path is taken from the file's folder, and so is ``GIT=/``, the docs'
    own example (the repository holding that folder is found from there:
    :func:`heron.web.version.git_commit`); any other absolute path stays as it is."""
    if git.strip() == "/" or not Path(git).expanduser().is_absolute():
        return str((config_file.resolve().parent / git.strip().lstrip("/")).resolve())
    return git


# --------------------------------------------------------------------------- module state
_lock = threading.Lock()
_current: Config | None = None
_ini_file: Path | None = None
_overrides: dict[str, Any] = {}

#: Flask-MonitoringDashboard's ``group_by``: a value or callable naming who made a request.
group_by: Any = None


def get() -> Config:
    """The process-wide configuration, built on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = Config.load(ini_file=_ini_file, **_overrides)
        return _current


def configure(**overrides: Any) -> Config:
    """Set values in code (highest precedence) and rebuild the process-wide configuration."""
    global _current
    with _lock:
        merged = {**_overrides, **{k.upper(): v for k, v in overrides.items()}}
        config = Config.load(ini_file=_ini_file, **merged)
        _overrides.clear()
        _overrides.update(merged)
        _current = config
        return config


def init_from(file: str | os.PathLike[str] | None = None, envvar: str | None = None) -> Config:
    """Read a Flask-MonitoringDashboard INI file, as ``dashboard.config.init_from`` does.

    :param file: path of the INI file.
    :param envvar: name of an environment variable holding that path.
    """
    global _current, _ini_file
    if file is None and envvar is None:
        raise ConfigError("init_from needs file=... or envvar=...")
    if file is None:
        assert envvar is not None
        named = os.environ.get(envvar)
        if not named:
            raise ConfigError(f"environment variable {envvar} is not set; it should name "
                              "a Flask-MonitoringDashboard config file")
        file = named
    path = Path(file)
    with _lock:
        config = Config.load(ini_file=path, **_overrides)
        _ini_file = path
        _current = config
        return config


def reset() -> None:
    """Forget code overrides and the INI file (tests use this between cases)."""
    global _current, _ini_file, group_by
    with _lock:
        _current = None
        _ini_file = None
        _overrides.clear()
        group_by = None


def setting(name: str) -> Setting:
    """The declaration of setting ``name``."""
    return _BY_NAME[name.upper()]



def format_default(setting: Setting) -> str:
    """The default as ``docs/configuration.md`` shows it."""
    value = setting.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, list | dict):
        return f"`{value!r}`".replace("'", '"')
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def markdown_table() -> str:
    """The settings table of ``docs/configuration.md`` (``python scripts/config_docs.py``)."""
    lines = ["| Key | Type | Default | FMD section | What it does |",
             "| --- | --- | --- | --- | --- |"]
    for s in SETTINGS:
        kind = {"alerts": "tables", "url": "database URL", "path_segment": "URL path",
                "prefix": "identifier", "colors": "mapping", "http_url": "URL", "log_level": "level"
                }.get(s.kind, s.kind)
        section = f"`[{s.section}]`" if s.section else ""
        lines.append(f"| `{s.name}` | {kind} | {format_default(s)} | {section} | {s.help} |")
    return "\n".join(lines) + "\n"
