"""Flask-MonitoringDashboard's API on heron:
``import heron.compat.flask_monitoringdashboard as dashboard``, and the rest of an FMD
setup runs as written::

    dashboard.config.init_from(file="config.cfg")   # or envvar="DASHBOARD_CONFIG"
    dashboard.config.group_by = get_user_id
    dashboard.bind(app)

``bind`` keeps FMD 2.0's documented defaults where they differ from heron's own
``heron.bind``: ``MONITOR_LEVEL`` 3 (heron: 1, so a new endpoint costs the least until
someone asks for more) and, with ``SAMPLING_PERIOD`` unset, the profiler sampling as often
as it can (1 ms; heron: 5 ms). A value set in the config file, a ``HERON_*`` variable or on
``dashboard.config`` wins over both. docs/web.md ("Coming from Flask-MonitoringDashboard")
lists what differs.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from heron import config as _heron_config
from heron.compat.flask_monitoringdashboard.settings import FMDConfig

#: FMD's ``dashboard.config``.
config = FMDConfig()

#: FMD 2.0's defaults where heron's differ (the docs' "default value is 3"; "if this value
#: is not set, the profiler monitors continuously": heron samples at most every 1 ms).
FMD_DEFAULTS = {"MONITOR_LEVEL": 3, "SAMPLING_PERIOD": 1.0}


def bind(app: Flask, schedule: bool = True, include_dashboard: bool = True,
         **settings: Any) -> Flask:
    """Monitor ``app`` and serve the dashboard at ``/<CUSTOM_LINK>``, as FMD's ``bind``.

    ``schedule`` (FMD's background jobs) and ``include_dashboard`` are accepted; heron has
    no jobs to schedule, and the dashboard is what it shows the records in."""
    del schedule, include_dashboard
    import heron

    current = _heron_config.get()
    defaults = {name.lower(): value for name, value in FMD_DEFAULTS.items()
                if current.source(name) == "default" and name.lower() not in settings}
    return heron.bind(app, **defaults, **settings)


__all__ = ["bind", "config"]
