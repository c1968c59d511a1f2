"""``heron demo``: a simulated lab, one room of its own.

* :mod:`heron.demo.lab` runs the lab: the rounds that send every kind of event, and the
  demo's alert rules;
* :mod:`heron.demo.web` is the ``recommender-api`` app, a real Flask app bound with heron;
* :mod:`heron.demo.testsuite` is that app's CI builds for the Test Monitor;
* :mod:`heron.demo.rig` is ``rig-2``, a rig running a real ``heron.session``;
* :mod:`heron.demo.dallinger` is ``dallinger-chain``, a Dallinger database heron watches;
* :mod:`heron.demo.experiment` is the Stroop experiment's custom dashboard tab.

Nothing outside ``heron demo`` imports this package.
"""

from heron.demo.lab import start_in_worker

__all__ = ["start_in_worker"]
