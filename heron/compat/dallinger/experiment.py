"""``dallinger.experiment`` on heron: the Experiment class dashboards customise."""

from __future__ import annotations

from typing import Any

from heron.experiment.hooks import Experiment as _HeronExperiment


class Experiment(_HeronExperiment):
    """Dallinger's ``Experiment(session=None)``: heron's :class:`heron.Experiment`, which
    has the dashboard hooks Dallinger documents (``monitoring_panels``,
    ``monitoring_statistics``, ``node_visualization_html``, ``table_data``,
    ``dashboard_database_actions``, ``dashboard_fail``). ``session`` is accepted and not
    used, as in Dallinger 12 ("managed automatically"); ``app`` names the heron app whose
    records the dashboard shows (default: the ``APP`` setting)."""

    def __init__(self, session: Any = None, no_configure: bool = False, *,
                 app: str | None = None):
        del session, no_configure
        super().__init__(app)


__all__ = ["Experiment"]
