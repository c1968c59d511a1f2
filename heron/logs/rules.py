"""Alert rules: what a rule may say, validated once, whether it comes from ``heron.toml``
(``[[alerts]]`` tables) or from the dashboard's form.

A rule watches either a log search (``query``, or a saved search) — it fires when at least
``threshold`` new lines match within a check — or a metric of an app (``metric`` with
``above``/``below``). ``quiet`` holds back repeats: one burst sends one message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from heron.errors import ConfigError
from heron.logs.query import QueryError, parse
from heron.timeparse import parse_duration

MIN_FREQUENCY_S = 60
DEFAULT_QUIET_S = 600
DEFAULT_WINDOW_S = 300
#: Metrics a rule can watch, with the bound each needs.
METRICS = {
    "error_rate": "above",       # share of requests answered 5xx in the window, 0..1
    "p95_ms": "above",           # 95th percentile of request duration in the window
    "yield": "below",            # approved / finished participants of an experiment app
    "silence_minutes": "above",  # minutes since the app's last event (and when it returns)
    "new_app": None,             # a message when an app sends its first event
}
KEYS = {"name", "query", "app", "webhook_url", "frequency", "threshold", "quiet", "metric",
        "endpoint", "above", "below", "window", "saved_search", "enabled"}


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule, as stored in ``alert_rule``."""

    name: str
    webhook_url: str
    query: str | None = None
    saved_search_seq: int | None = None
    metric: str | None = None
    app: str | None = None
    endpoint: str | None = None
    above: float | None = None
    below: float | None = None
    frequency_s: int = MIN_FREQUENCY_S
    threshold: int = 1
    quiet_s: int = DEFAULT_QUIET_S
    window_s: int | None = None
    enabled: bool = True

    def row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "name", "webhook_url", "query", "saved_search_seq", "metric", "app", "endpoint",
            "above", "below", "frequency_s", "threshold", "quiet_s", "window_s", "enabled")}


def check_webhook_url(url: str, where: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}: webhook_url is not an http(s) URL")
    return url.strip()


def mask_url(url: str | None) -> str:
    """A webhook URL as pages show it: scheme and host, the secret path hidden."""
    if not url:
        return ""
    parts = urlsplit(url)
    tail = parts.path.rstrip("/")[-4:] if len(parts.path) > 12 else ""
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}" \
           f"/…{tail}"


def _seconds(value: Any, key: str, where: str, minimum: float = 0) -> int:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {key} {exc}") from None
    if seconds < minimum:
        raise ConfigError(f"{where}: {key} must be at least {int(minimum)} s "
                          f"({int(minimum) // 60} min); got {value!r}")
    return int(seconds)


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be a number; got {value!r}") from None


def parse_rule(data: Mapping[str, Any], where: str) -> RuleSpec:
    """A rule from a mapping of the ``[[alerts]]`` keys; ConfigError names what is wrong.

    :param where: where the mapping came from, for error messages.
    """
    unknown = set(data) - KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; a rule has "
                          f"{', '.join(sorted(KEYS - {'saved_search', 'enabled'}))}")
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 200:
        raise ConfigError(f"{where}: every rule needs a name (up to 200 characters)")
    where = f"{where}, rule {name!r}"
    if not data.get("webhook_url"):
        raise ConfigError(f"{where}: webhook_url is missing")
    url = check_webhook_url(str(data["webhook_url"]), where)
    query = data.get("query")
    metric = data.get("metric")
    saved = data.get("saved_search")
    if sum(x is not None and x != "" for x in (query, metric, saved)) != 1:
        raise ConfigError(f"{where}: give exactly one of query (a log search) or metric "
                          f"({', '.join(METRICS)})")
    if query is not None:
        try:
            parse(str(query))
        except QueryError as exc:
            raise ConfigError(f"{where}: query: {exc}") from None
    above = _number(data["above"], "above", where) if data.get("above") is not None else None
    below = _number(data["below"], "below", where) if data.get("below") is not None else None
    if metric is not None:
        if metric not in METRICS:
            raise ConfigError(f"{where}: metric {metric!r} is not one of "
                              f"{', '.join(METRICS)}")
        bound = METRICS[metric]
        if bound == "above" and above is None and below is None:
            raise ConfigError(f"{where}: metric {metric} needs above = …")
        if bound == "below" and below is None and above is None:
            raise ConfigError(f"{where}: metric {metric} needs below = …")
        if metric != "new_app" and not data.get("app"):
            raise ConfigError(f"{where}: metric {metric} needs the app it watches")
        if metric == "error_rate" and above is not None and not 0 <= above <= 1:
            raise ConfigError(f"{where}: error_rate is a share between 0 and 1 "
                              f"(0.05 = 5%); got above = {above:g}")
    elif above is not None or below is not None:
        raise ConfigError(f"{where}: above/below are for metric rules")
    threshold = data.get("threshold", 1)
    if isinstance(threshold, bool) or not isinstance(threshold, int | str) or \
            not str(threshold).strip().isdigit() or int(threshold) < 1:
        raise ConfigError(f"{where}: threshold must be a whole number of at least 1")
    return RuleSpec(
        name=name, webhook_url=url, query=str(query) if query is not None else None,
        saved_search_seq=int(saved) if saved not in (None, "") else None,
        metric=metric, app=str(data["app"]).strip() if data.get("app") else None,
        endpoint=str(data["endpoint"]).strip() if data.get("endpoint") else None,
        above=above, below=below,
        frequency_s=_seconds(data.get("frequency", "1m"), "frequency", where,
                             MIN_FREQUENCY_S),
        threshold=int(threshold), quiet_s=_seconds(data.get("quiet", "10m"), "quiet", where),
        window_s=_seconds(data["window"], "window", where, 60) if data.get("window")
        else None,
        enabled=bool(data.get("enabled", True)))
