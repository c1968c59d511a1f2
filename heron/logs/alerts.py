"""The alert engine: checks each rule when it is due and sends what fires to its webhook.

One engine thread runs in every server process, but only the holder of the database
lease ``alerts`` checks rules, and each check is claimed with a compare-and-set on the
rule's ``last_checked_ts``: with several servers on one PostgreSQL a rule is checked once
per period, never once per server.

Log rules count the lines received since the previous check (by ``seq``, so lines that
arrive late with an old time are still seen once). Metric rules compare a value over a
window with a bound; crossing it sends an alert, coming back sends a recovery message.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import select

from heron._internal import capture_internal_exceptions, inside_heron
from heron.config import Config
from heron.logs.query import level_name
from heron.logs.rules import DEFAULT_WINDOW_S, parse_rule
from heron.logs.search import from_params
from heron.logs.webhooks import Deliverer, message, post
from heron.store import Store
from heron.store.queries import alerts as store_alerts
from heron.store.queries import logs as log_queries
from heron.store.queries.settings import get_setting, put_setting

LEASE = "alerts"
LEASE_TTL_S = 30.0
TICK_S = 5.0


@dataclass(frozen=True)
class Outcome:
    """What one check found: whether it sent a message, and why."""

    rule: str
    sent: str | None  # alert, recovery, new_app, or None
    detail: str


def base_url(config: Config) -> str:
    root = config.PUBLIC_URL or f"http://{config.HOST}:{config.PORT}"
    return f"{root.rstrip('/')}/{config.CUSTOM_LINK}"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class AlertEngine:
    """Checks rules and hands messages to a :class:`Deliverer`."""

    def __init__(self, store: Store, config: Config, *, deliverer: Deliverer | None = None,
                 holder: str | None = None):
        self.store = store
        self.config = config
        self.deliverer = deliverer or Deliverer(store)
        self.holder = holder or store_alerts.lease_holder()
        self.link = base_url(config)

    # ------------------------------------------------------------------ the schedule
    def tick(self, now: float | None = None) -> list[Outcome]:
        """Check the rules that are due, if this server holds the lease. Alerts read the
        primary: a replica's lag would fire on stale data, or miss lines."""
        with self.store.primary():
            return self._tick(time.time() if now is None else now)

    def _tick(self, now: float) -> list[Outcome]:
        if not store_alerts.acquire_lease(self.store, LEASE, self.holder, LEASE_TTL_S, now):
            return []
        outcomes = []
        for rule in store_alerts.rules(self.store):
            if not rule["enabled"]:
                continue
            last = rule["last_checked_ts"]
            if last is not None and now - last < rule["frequency_s"] - 0.5:
                continue
            if not store_alerts.claim_check(self.store, rule["seq"], last, now):
                continue  # another server took this check
            with inside_heron(), capture_internal_exceptions(f"checking alert {rule['name']}"):
                outcomes.append(self.check(rule, now))
        return outcomes

    def run(self, closing: threading.Event, tick_s: float = TICK_S) -> threading.Thread:
        """Start the engine's thread; it stops when ``closing`` is set."""
        def loop() -> None:
            while not closing.wait(tick_s):
                with capture_internal_exceptions("running alert checks"):
                    self.tick()
            with capture_internal_exceptions("releasing the alert lease"):
                store_alerts.release_lease(self.store, LEASE, self.holder)
            self.deliverer.close()

        thread = threading.Thread(target=loop, name="heron-alerts", daemon=True)
        thread.start()
        return thread

    # ------------------------------------------------------------------- the checks
    def check(self, rule: dict[str, Any], now: float) -> Outcome:
        if rule["metric"] is None:
            return self._check_search(rule, now)
        if rule["metric"] == "new_app":
            return self._check_new_apps(rule, now)
        return self._check_metric(rule, now)

    def _search_params(self, rule: dict[str, Any]) -> dict[str, str]:
        if rule["saved_search_seq"] is not None and rule.get("search_query") is not None:
            params = {k: str(v) for k, v in (rule.get("search_filters") or {}).items()}
            params["q"] = rule["search_query"] or ""
        else:
            params = {"q": rule["query"] or ""}
        for key in ("since", "until"):  # a rule looks at new lines, not a fixed window
            params.pop(key, None)
        if rule["app"]:
            params["app"] = rule["app"]
        return params

    def _check_search(self, rule: dict[str, Any], now: float) -> Outcome:
        params = self._search_params(rule)
        search = from_params(params)
        newest = log_queries.newest_seq(self.store)
        last_seq = rule["last_seq"]
        where = search.where
        if last_seq is None:  # first check: lines since the rule was made
            where = replace(where, since=rule["created_ts"] or now - rule["frequency_s"])
        count = log_queries.count(self.store, search.query, where, after=last_seq,
                                  before=newest + 1)
        state: dict[str, Any] = {"last_seq": newest}
        sent = None
        if count >= rule["threshold"]:
            quiet = rule["last_fired_ts"] is not None and \
                now - rule["last_fired_ts"] < rule["quiet_s"]
            if not quiet:
                lines = log_queries.search(self.store, search.query, where, after=last_seq,
                                           before=newest + 1, limit=5)
                shown = [f"{level_name(r['level'])} {r['app']} {r['logger']}: {r['message']}"
                         for r in lines]
                window = f"since the last check ({rule['frequency_s'] // 60} min)"
                link = f"{self.link}/logs?{search.url_params()}"
                payload = message(
                    f"heron alert: {rule['name']}",
                    f"{count} matching log line{'s' if count != 1 else ''} {window}"
                    f" for search {params.get('q') or '(all lines)'!r}"
                    + (f" in app {rule['app']}" if rule["app"] else ""),
                    lines=shown, link=link, link_text="Open the search in heron")
                self._send(rule, "alert", payload)
                state["last_fired_ts"] = now
                sent = "alert"
        store_alerts.update_rule_state(self.store, rule["seq"], **state)
        return Outcome(rule["name"], sent, f"{count} matching line(s)")

    def _metric_value(self, rule: dict[str, Any], now: float) -> tuple[float | None, int, str]:
        """(value, how many things it is measured over, what it is about)."""
        from heron.store.queries.apps import app_summaries
        from heron.store.queries.participants import UnknownApp, summary
        from heron.store.queries.web import window_sums
        from heron.store.requests import endpoints_of

        app, endpoint, metric = rule["app"], rule["endpoint"], rule["metric"]
        window = rule["window_s"] or DEFAULT_WINDOW_S
        about = f"{app}{' ' + endpoint if endpoint else ''}"
        if metric == "error_rate":
            sums = window_sums(self.store, app, now - window, now)
            rows = [v for k, v in sums.items() if endpoint is None or k[0] == endpoint]
            requests = sum(int(v[0]) for v in rows)
            errors = sum(int(v[1]) for v in rows)
            return (errors / requests if requests else None), requests, about
        if metric == "p95_ms":
            table = self.store.table("request")
            with self.store.read() as conn:  # endpoint by endpoint, on their index
                names = [endpoint] if endpoint is not None else \
                    [e for _, e in endpoints_of(conn, self.store, app)]
                values: list[float] = []
                for name in names:
                    query = select(table.c.duration_ms).where(
                        table.c.app == app, table.c.endpoint == name,
                        table.c.ts >= now - window, table.c.ts < now)
                    values.extend(float(v) for v in conn.execute(
                        query.limit(200_000 - len(values))).scalars())
                    if len(values) >= 200_000:
                        break
            return _percentile(values, 0.95), len(values), about
        if metric == "yield":
            try:
                result = summary(self.store, app)
            except UnknownApp:
                return None, 0, about
            from heron.experiment.statuses import normalize

            finished = sum(n for s, n in result.counts.items() if normalize(s) != "working")
            return result.yield_, finished, about
        if metric == "silence_minutes":
            apps = app_summaries(self.store, app)
            if not apps or apps[0].last_received_at is None:
                return None, 0, about
            return (now - apps[0].last_received_at) / 60, 1, about
        raise AssertionError(metric)  # pragma: no cover - parse_rule allows no other

    def _check_metric(self, rule: dict[str, Any], now: float) -> Outcome:
        value, n, about = self._metric_value(rule, now)
        metric = rule["metric"]
        if value is None or n < rule["threshold"]:
            return Outcome(rule["name"], None, f"{metric}: not enough data")
        above, below = rule["above"], rule["below"]
        bad = (above is not None and value > above) or (below is not None and value < below)
        shown = self._format(metric, value)
        bound = (f"above {self._format(metric, above)}" if above is not None
                 else f"below {self._format(metric, below)}")
        window = rule["window_s"] or DEFAULT_WINDOW_S
        link = self._metric_link(rule)
        sent = None
        if bad and not rule["firing"]:
            quiet = rule["last_fired_ts"] is not None and \
                now - rule["last_fired_ts"] < rule["quiet_s"]
            if metric == "silence_minutes":
                text = f"no events from {about} for {shown} (alert {bound})"
            else:
                text = f"{metric} of {about} is {shown} over the last {window // 60} min " \
                       f"({bound}, {n} measured)"
            if not quiet:
                self._send(rule, "alert", message(f"heron alert: {rule['name']}", text,
                                                  link=link))
                sent = "alert"
            store_alerts.update_rule_state(self.store, rule["seq"], firing=True,
                                           last_fired_ts=now if sent else rule["last_fired_ts"])
        elif not bad and rule["firing"]:
            text = (f"{about} is sending events again" if metric == "silence_minutes"
                    else f"{metric} of {about} is back to {shown} ({bound} no more)")
            self._send(rule, "recovery", message(f"heron resolved: {rule['name']}", text,
                                                 link=link))
            sent = "recovery"
            store_alerts.update_rule_state(self.store, rule["seq"], firing=False)
        return Outcome(rule["name"], sent, f"{metric} = {shown}")

    def _check_new_apps(self, rule: dict[str, Any], now: float) -> Outcome:
        from heron.store.queries.apps import app_summaries

        key = f"alert_rule:{rule['seq']}:announced"  # the checker's own record, at once
        announced = set(json.loads(get_setting(self.store, key) or "[]"))
        since = rule["created_ts"] or now
        new = [s for s in app_summaries(self.store)
               if s.app not in announced and (s.first_ts or 0) >= since
               and (rule["app"] is None or s.app == rule["app"])]
        for app_summary in new:
            version = self._app_version(app_summary.app)
            payload = message(f"heron: new app {app_summary.app}",
                              f"{app_summary.app} (version {version or 'unknown'}) sent its "
                              f"first events", link=f"{self.link}/?app={quote(app_summary.app)}",
                              link_text="Open its dashboard")
            payload["app"] = app_summary.app
            self._send(rule, "new_app", payload)
        if new:
            put_setting(self.store, key, json.dumps(sorted(announced | {s.app for s in new})))
            store_alerts.update_rule_state(self.store, rule["seq"], last_fired_ts=now)
        return Outcome(rule["name"], "new_app" if new else None,
                       f"{len(new)} new app(s)")

    # ---------------------------------------------------------------------- helpers
    def _app_version(self, app: str) -> str | None:
        table = self.store.table("request")
        with self.store.read() as conn:
            version = conn.execute(select(table.c.version).where(table.c.app == app)
                                   .order_by(table.c.seq.desc()).limit(1)).scalar()
        return str(version) if version else None

    @staticmethod
    def _format(metric: str, value: float | None) -> str:
        if value is None:
            return "—"
        if metric in ("error_rate", "yield"):
            return f"{value * 100:.1f}%"
        if metric == "p95_ms":
            return f"{value:.0f} ms"
        return f"{value:.0f} min"

    def _metric_link(self, rule: dict[str, Any]) -> str:
        app = quote(rule["app"] or "")
        if rule["metric"] in ("error_rate", "p95_ms") and rule["endpoint"]:
            return f"{self.link}/endpoints/e/{app}/{quote(rule['endpoint'])}"
        if rule["metric"] in ("error_rate", "p95_ms"):
            return f"{self.link}/endpoints?{urlencode({'app': rule['app']})}"
        return f"{self.link}/?{urlencode({'app': rule['app'] or ''})}"

    def _send(self, rule: dict[str, Any], reason: str, payload: dict[str, Any]) -> None:
        self.deliverer.send(rule["seq"], rule["name"], rule["webhook_url"], reason, payload)


def send_test(store: Store, config: Config, rule: dict[str, Any]) -> tuple[bool, str]:
    """Post a test message for ``rule`` now; (ok, what happened). Recorded as a delivery."""
    payload = message(f"heron test message: {rule['name']}",
                      "This webhook will receive the alerts of this rule.",
                      link=f"{base_url(config)}/alerts", link_text="Open heron's alerts")
    status, error = post(rule["webhook_url"], payload)
    store_alerts.record_delivery(store, rule_seq=rule["seq"], rule_name=rule["name"],
                                 reason="test", attempt=1, status_code=status,
                                 ok=error is None, error=error, payload=payload)
    return error is None, error or f"delivered ({status})"


def sync_from_config(store: Store, config: Config) -> dict[str, int]:
    """Store the ``[[alerts]]`` rules of the configuration (see ``sync_config_rules``)."""
    specs = [parse_rule(r, "alerts") for r in config.ALERTS]
    source = config.source("ALERTS")
    label = source if source != "default" else "config file"
    return store_alerts.sync_config_rules(store, specs, label)


def start(store: Store, config: Config, closing: threading.Event) -> AlertEngine:
    """Sync the configured rules and run the engine until ``closing`` is set."""
    sync_from_config(store, config)
    engine = AlertEngine(store, config)
    engine.run(closing)
    return engine
