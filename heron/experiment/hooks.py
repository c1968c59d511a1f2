"""``heron.Experiment``: customise the dashboard with Dallinger's method names.

Subclass it and register it with ``heron.bind(app, experiment=MyExperiment())`` or
``heron serve --experiment module:Class``. Every method has Dallinger's default behaviour;
override the ones you need.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

from markupsafe import Markup, escape

from heron.dashboard.formatting import format_field
from heron.store import Store
from heron.store.queries import experiment as queries


class Experiment:
    """The dashboard's view of one experiment (one ``app``).

    :param app: the app id; default the ``APP`` setting.
    """

    #: The app id, when a subclass prefers a class attribute.
    app: str | None = None

    def __init__(self, app: str | None = None):
        if app is not None:
            self.app = app
        self.store: Store | None = None

    def attach(self, store: Store, default_app: str | None) -> None:
        """Called by heron when the dashboard is set up."""
        self.store = store
        if self.app is None:
            self.app = default_app

    def for_app(self, app: str) -> Experiment:
        """This experiment's hooks over another app (the dashboard's app selector)."""
        other = copy.copy(self)
        other.app = app
        return other

    def _store(self) -> Store:
        if self.store is None or self.app is None:
            raise RuntimeError("this Experiment is not attached to a store yet: register it "
                               "with heron.bind(app, experiment=...) or heron serve "
                               "--experiment")
        return self.store

    # -- monitoring ------------------------------------------------------------------------
    def monitoring_statistics(self, **kwargs: Any) -> OrderedDict[str, Any]:
        """Panel title → data. Request arguments arrive as lists; unknown ones are ignored."""
        return queries.statistics(self._store(), str(self.app))

    def monitoring_panels(self, **kwargs: Any) -> OrderedDict[str, Markup]:
        """Panel title → HTML, rendered from :meth:`monitoring_statistics`, escaped."""
        panels: OrderedDict[str, Markup] = OrderedDict()
        for title, data in self.monitoring_statistics(**kwargs).items():
            panels[str(title)] = _panel_html(data)
        return panels

    def node_visualization_html(self, object_type: str, obj_id: str) -> Markup:
        """HTML shown for a selected object: its fields, escaped."""
        table = queries.OBJECT_TYPES.get(object_type)
        if table is None:
            return Markup("<p>Unknown object type {}</p>").format(object_type)
        page = queries.table_page(self._store(), str(self.app), table,
                                  column_filters={f"{table}_id": obj_id})
        if not page["data"]:
            return Markup("<p>No {} {} found.</p>").format(object_type, obj_id)
        row = page["data"][0]
        timezone = _timezone()
        items = Markup("").join(Markup("<dt>{}</dt><dd>{}</dd>").format(
            k, format_field(k, v, timezone)) for k, v in row.items() if k != "object_type")
        return Markup('<dl class="heron-details">{}</dl>').format(items)

    def network_structure(self, network_roles: list[str] | None = None,
                          network_ids: list[str] | None = None, collapsed: bool = False,
                          include_failed: bool = True, **options: Any) -> dict[str, Any]:
        """``{networks, nodes, vectors, infos, participants, trans}`` for the graph.

        ``options``: ``search``, ``sort``, ``top``, ``expand``, ``max_nodes`` (see
        :func:`heron.store.queries.experiment.network_structure`)."""
        return queries.network_structure(
            self._store(), str(self.app), network_roles=network_roles,
            network_ids=network_ids, collapsed=collapsed, include_failed=include_failed,
            **options)

    def node_visualization_options(self) -> dict[str, Any]:
        """vis-network options for the graph."""
        return {}

    # -- database view ---------------------------------------------------------------------
    def table_data(self, table: str = "participant", polymorphic_identity: str | None = None,
                   start: int = 0, length: int | None = None, search_value: str = "",
                   order_column: str | int | None = None, order_dir: str = "asc",
                   column_filters: dict[str, Any] | None = None,
                   **filters: Any) -> dict[str, Any]:
        """``{"data", "columns", "total_count", "filtered_count"}`` for one record table.

        Called the old way (``table_data("node", "agent")``) it returns every row.
        Further keyword arguments filter by column, exact match, as in Dallinger
        (``table_data(status="101")``).
        """
        if filters:
            column_filters = {**(column_filters or {}),
                              **{k: str(v) for k, v in filters.items()}}
        return queries.table_page(
            self._store(), str(self.app), table, polymorphic_identity=polymorphic_identity,
            start=start, length=length, search_value=search_value, order_column=order_column,
            order_dir=order_dir, column_filters=column_filters)

    def dashboard_database_actions(self) -> list[dict[str, str]]:
        """Actions offered on selected rows: ``{"title", "name"}``; name is a method."""
        return [{"title": "Fail Selected", "name": "dashboard_fail"}]

    def dashboard_fail(self, data: list[dict[str, Any]]) -> dict[str, str]:
        """Fail each selected object (and its dependents) that is not failed yet."""
        counts = queries.fail(self._store(), str(self.app), data)
        if not counts:
            return {"message": "No nodes found to fail"}
        parts = [f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items()]
        return {"message": "Failed " + ", ".join(parts)}


def _panel_html(data: Any) -> Markup:
    if isinstance(data, dict) and set(data) == {"count", "failed"}:
        count, failed = int(data["count"]), int(data["failed"])
        share = f"{failed / count * 100:.1f}%" if count else "0.0%"
        return Markup("{} total, {} failed ({})").format(count, failed, share)
    if isinstance(data, dict):
        rows = Markup("").join(Markup("<li>{}: {}</li>").format(k, _panel_html(v))
                               for k, v in data.items())
        return Markup('<ul class="list-unstyled mb-0">{}</ul>').format(rows)
    return Markup("{}").format(escape(data))


def _timezone() -> str:
    """The dashboard's TIMEZONE while serving it; UTC when called outside a request."""
    from flask import has_app_context

    if has_app_context():
        from heron.dashboard.state import state

        try:
            return str(state().config.TIMEZONE)
        except (KeyError, RuntimeError, AttributeError):
            pass
    return "UTC"
