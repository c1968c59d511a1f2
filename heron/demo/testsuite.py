"""The demo's test suite: builds of ``recommender-api``'s tests, as heron's pytest plugin
sends them from CI, so the Test Monitor tab has data.

Eight builds over the last days, then a new one every few minutes. Each test covers some
of the demo web service's endpoints (``rate`` has no test: it shows up as untested, with
its share of the live traffic); ``test_search_filters`` failed once (a flaky build);
``test_recommend_ranks_by_score`` got slower in the newest history build, beyond its spread,
and stays slower in the builds that follow.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable

from heron import events as ev
from heron.demo.web import APP

#: test -> (usual median ms, endpoints it requests)
TESTS: dict[str, tuple[float, tuple[str, ...]]] = {
    "tests/test_api.py::test_index_lists_endpoints": (4.0, ("index",)),
    "tests/test_api.py::test_items_by_id": (6.5, ("items",)),
    "tests/test_api.py::test_unknown_item_is_404": (3.2, ("items",)),
    "tests/test_api.py::test_login_sets_user": (9.0, ("login",)),
    "tests/test_recommend.py::test_recommend_ranks_by_score": (28.0, ("recommend",)),
    "tests/test_recommend.py::test_recommend_for_new_user": (21.0, ("login", "recommend")),
    "tests/test_search.py::test_search_filters": (14.0, ("search",)),
    "tests/test_search.py::test_search_empty_query": (2.1, ("search",)),
    "tests/test_model.py::test_scores_are_normalised": (1.4, ()),
    "tests/test_model.py::test_cold_start_fallback[v1]": (3.3, ()),
    "tests/test_model.py::test_cold_start_fallback[v2]": (3.6, ()),
}
SLOWER = "tests/test_recommend.py::test_recommend_ranks_by_score"
FLAKY = "tests/test_search.py::test_search_filters"
TIMES = 5  # repeats per test, as `pytest --heron-times 5`


class DemoTestSuite:
    def __init__(self, emit: Callable[[ev.Event], None], *, seed: int | None = None):
        self.emit = emit
        self.rng = random.Random(seed)
        self.number = 140  # the CI's build number
        self.regressed = False  # from the newest history build on, SLOWER is slower

    def history(self, builds: int = 8, days: float = 4.0) -> None:
        now = time.time()
        for i in range(builds):
            self.regressed = self.regressed or i == builds - 1
            self.build(now - days * 86400 * (builds - i) / builds, flaky=i == builds - 4)

    def build(self, ts: float | None = None, *, flaky: bool = False) -> None:
        """One CI build of the suite: every test, ``TIMES`` runs each."""
        self.number += 1
        ts = time.time() if ts is None else ts
        build = str(self.number)
        commit = hashlib.sha1(build.encode()).hexdigest()
        for name, (median, endpoints) in TESTS.items():
            factor = 1.6 if self.regressed and name == SLOWER else 1.0
            runs = [max(0.1, self.rng.gauss(median * factor, median * 0.04))
                    for _ in range(TIMES)]
            outcome = "failed" if flaky and name == FLAKY else "passed"
            if outcome == "failed":
                runs = runs[:1]  # a failed call is not repeated
            ts += sum(runs) / 1000 + 0.05
            self.emit(ev.TestResult(
                app=APP, ts=ts, test_name=name, suite=name.split("::")[0], outcome=outcome,
                duration_ms=sorted(runs)[len(runs) // 2], durations_ms=runs,
                endpoints=list(endpoints), build=build, commit=commit, version="1.5.0"))
