"""Dallinger's dashboard names on heron: ``dallinger.…`` becomes ``heron.compat.dallinger.…``.

* :mod:`heron.compat.dallinger.experiment`: ``Experiment``;
* :mod:`heron.compat.dallinger.experiment_server.dashboard`: ``dashboard`` (whose
  ``route()`` adds a dashboard page), ``dashboard_tab``, ``dashboard_tabs``,
  ``DashboardTab``, ``DashboardTabs``.

See docs/experiments.md ("Coming from Dallinger").
"""
