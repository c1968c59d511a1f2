"""The demo's Experiment: a custom panel and a custom tab, as an experimenter would add.

Loaded only by ``heron demo`` (``heron serve --experiment heron.demo.experiment:StroopDemo``),
so its tab does not appear in other dashboards.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from typing import Any

from flask import render_template_string

import heron
from heron.compat.dallinger.experiment_server.dashboard import dashboard_tab as dallinger_tab
from heron.dashboard import dashboard_tab

PAGE = """{% extends "heron/base.html" %}
{% block explanation %}<p class="text-body-secondary">A tab added by the demo's own
<code>Experiment</code> with <code>@dashboard_tab</code>: participants per Stroop condition.</p>
{% endblock %}
{% block content %}<section class="card"><div class="card-body">
<table class="table table-sm mb-0" id="conditions"><thead><tr><th scope="col">Condition</th>
<th scope="col" class="text-end">Participants</th></tr></thead><tbody>
{% for name, n in counts %}<tr><td>{{ name }}</td><td class="text-end">{{ n }}</td></tr>{% endfor %}
</tbody></table></div></section>{% endblock %}"""


class StroopDemo(heron.Experiment):
    """The simulated Stroop experiment of ``heron demo``."""

    app = "stroop-online"

    def conditions(self) -> Counter[str]:
        rows = self.table_data("participant")["data"]
        return Counter(str((row.get("details") or {}).get("condition", "unknown"))
                       for row in rows)

    def monitoring_statistics(self, **kwargs: Any) -> OrderedDict[str, Any]:
        stats = super().monitoring_statistics(**kwargs)
        stats["Conditions"] = dict(sorted(self.conditions().items()))
        return stats

    @dashboard_tab("Stroop conditions", after_route="monitoring")
    def dashboard_stroop_conditions(self) -> str:
        """A tab of the experiment's own: participants per condition."""
        return render_template_string(PAGE, title="Stroop conditions",
                                      counts=sorted(self.conditions().items()))

    @dallinger_tab("About Stroop", after_route="dashboard.stroop_conditions")
    @classmethod
    def about_stroop(cls) -> str:
        """A tab written as a Dallinger experiment writes one (a classmethod, through
        ``heron.compat.dallinger``): Dallinger calls it on the class, and so does heron."""
        return render_template_string(
            '{% extends "heron/base.html" %}{% block content %}<p id="about">{{ text }}</p>'
            '{% endblock %}', title="About Stroop",
            text=f"{cls.__name__}: participants name the ink colour of colour words.")
