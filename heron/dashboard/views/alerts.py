"""Alerts: saved searches, the rules watching them (or a metric), and every delivery.

Rules come from the dashboard or from the configuration (``[[alerts]]`` in heron.toml);
the page says which, and only dashboard rules are deleted here. Webhook URLs are secrets:
the page shows them masked.
"""

from __future__ import annotations

import time
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from heron.dashboard.formatting import format_ago, format_time
from heron.dashboard.registry import route
from heron.dashboard.security import admin_required, login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.errors import ConfigError
from heron.logs.alerts import send_test
from heron.logs.rules import METRICS, mask_url, parse_rule
from heron.store.queries import alerts as store_alerts


def _describe(rule: dict[str, Any]) -> str:
    if rule["metric"] == "new_app":
        return "an app sends its first events" + (f" ({rule['app']})" if rule["app"] else "")
    if rule["metric"]:
        bound = f"> {rule['above']:g}" if rule["above"] is not None else f"< {rule['below']:g}"
        target = rule["app"] + (f" {rule['endpoint']}" if rule["endpoint"] else "")
        return f"{rule['metric']} of {target} {bound}"
    search = rule["search_name"] and f"saved search “{rule['search_name']}”"
    text = search or f"search “{rule['query'] or '(all lines)'}”"
    return text + (f" in {rule['app']}" if rule["app"] else "") + \
        f", at least {rule['threshold']} line{'s' if rule['threshold'] != 1 else ''}"


@route("/alerts")
@login_required
def dashboard_alerts() -> str:
    s = state()
    tz = s.config.TIMEZONE
    now = time.time()
    counts = store_alerts.delivery_counts(s.store)
    rules = store_alerts.rules(s.store)
    for r in rules:
        r["describe"] = _describe(r)
        r["webhook"] = mask_url(r["webhook_url"])
        r["checked"] = format_ago(r["last_checked_ts"], now) if r["last_checked_ts"] else "not yet"
        r["fired"] = format_ago(r["last_fired_ts"], now) if r["last_fired_ts"] else "never"
        r["delivered"], r["failed"] = counts.get(r["seq"], (0, 0))
        r["from_dashboard"] = r["source"] == store_alerts.DASHBOARD
    deliveries = store_alerts.deliveries(s.store, limit=100)
    for d in deliveries:
        d["time"] = format_time(d["ts"], tz)
        d["text"] = (d["payload"] or {}).get("text", "")
    return render_template("heron/alerts.html", title="Alerts", rules=rules,
                           deliveries=deliveries, saved=store_alerts.saved_searches(s.store),
                           metrics=[m for m in METRICS], form=request.args)


@route("/alerts/add", methods=["POST"])
@admin_required
def alerts_add() -> Response:
    form = {k: v.strip() for k, v in request.form.items() if k != "csrf_token" and v.strip()}
    kind = form.pop("kind", "search")
    if kind == "search":
        form.pop("metric", None)
        form.pop("endpoint", None)
        form.pop("above", None)
        form.pop("below", None)
        form.pop("window", None)
    else:
        form.pop("saved_search", None)
        form.pop("query", None)
        bound = form.pop("bound", "above")
        if "value" in form:
            form[bound] = form.pop("value")
    try:
        spec = parse_rule(form, "the form")
        if spec.saved_search_seq is not None and \
                store_alerts.saved_search(state().store, spec.saved_search_seq) is None:
            raise ConfigError("that saved search no longer exists")
        store_alerts.add_rule(state().store, spec)
        flash(f"Added the alert rule {spec.name!r}.", "success")
    except (ConfigError, store_alerts.AlertStoreError) as exc:
        flash(f"Could not add the rule: {exc}", "danger")
    return redirect(url_for("dashboard.dashboard_alerts"))


def _rule_or_flash(seq: int) -> dict[str, Any] | None:
    rule = store_alerts.rule(state().store, seq)
    if rule is None:
        flash("That rule no longer exists.", "warning")
    return rule


@route("/alerts/<int:seq>/test", methods=["POST"])
@admin_required
def alerts_test(seq: int) -> Response:
    rule = _rule_or_flash(seq)
    if rule is not None:
        ok, what = send_test(state().store, state().config, rule)
        flash(f"Test message for {rule['name']!r}: {what}.", "success" if ok else "danger")
    return redirect(url_for("dashboard.dashboard_alerts"))


@route("/alerts/<int:seq>/enabled", methods=["POST"])
@admin_required
def alerts_enabled(seq: int) -> Response:
    rule = _rule_or_flash(seq)
    if rule is not None:
        enabled = request.form.get("enabled") == "1"
        store_alerts.set_enabled(state().store, seq, enabled)
        flash(f"{rule['name']!r} is {'on' if enabled else 'paused'}.", "success")
    return redirect(url_for("dashboard.dashboard_alerts"))


@route("/alerts/<int:seq>/delete", methods=["POST"])
@admin_required
def alerts_delete(seq: int) -> Response:
    rule = _rule_or_flash(seq)
    if rule is not None:
        try:
            store_alerts.delete_rule(state().store, seq)
            flash(f"Deleted the rule {rule['name']!r}.", "success")
        except store_alerts.AlertStoreError as exc:
            flash(f"Could not delete the rule: {exc}", "danger")
    return redirect(url_for("dashboard.dashboard_alerts"))


dashboard_tabs.insert_tab_after_route(DashboardTab("Alerts", "dashboard.dashboard_alerts"),
                                      "logs")
