"""The Settings page (admins): the configuration in effect, each value with where it came
from (secrets masked), and the data exports — Flask-MonitoringDashboard's configuration and
export-data pages in one."""

from __future__ import annotations

from flask import render_template, request, url_for

from heron.config import SETTINGS
from heron.dashboard.registry import route
from heron.dashboard.security import admin_required
from heron.dashboard.state import state
from heron.store.queries.export import EXPORT_KINDS


@route("/settings")
@admin_required
def dashboard_settings() -> str:
    config = state().config
    values = config.as_dict()  # secrets masked
    rows = [{"name": s.name, "value": values[s.name], "source": config.source(s.name),
             "doc": s.help} for s in SETTINGS]
    app = request.args.get("app") or ""
    # the export API beside the dashboard (a bound app has no /api/v1 of heron's)
    exports = [{"kind": kind,
                "url": url_for("dashboard_export_api.export", kind=kind,
                               **({"app": app} if app else {}))}
               for kind in sorted(EXPORT_KINDS)]
    return render_template("heron/settings.html", title="Settings", rows=rows,
                           exports=exports, app=app)
