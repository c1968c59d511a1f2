"""group_by, version from git, redaction, outlier thresholds, latency sketches."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from heron.errors import ConfigError
from heron.store import sketch
from heron.web.groupby import group_of, resolve
from heron.web.outliers import OutlierDetector
from heron.web.profiler import Sampler
from heron.web.redact import REDACTED, Redactor
from heron.web.version import app_version, git_commit


@pytest.mark.parametrize(("value", "expected"), [
    (lambda: 3, "3"),
    (lambda: ("User", 3), "(User,3)"),
    (lambda: lambda: 3, "3"),
    (("User", lambda: 3), "(User,3)"),
    (lambda: "username", "username"),
    (lambda: ["Username", "username"], "(Username,username)"),
    (lambda: [("User", lambda: 3), ("Username", lambda: "username")],
     "((User,3),(Username,username))"),
    (3, "3"),
    (None, None),
])
def test_group_by_follows_flask_monitoringdashboard(value, expected) -> None:  # type: ignore[no-untyped-def]
    assert resolve(value) == expected


def test_a_failing_group_by_is_logged_once_and_means_no_group(caplog) -> None:  # type: ignore[no-untyped-def]
    from heron.web import groupby

    groupby._warned.clear()

    def broken() -> str:
        raise KeyError("no user")

    assert group_of(broken) is None
    assert group_of(broken) is None
    assert caplog.text.count("group_by raised") == 1


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_version_from_git_branch_packed_refs_and_detached_head(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q",
         "--allow-empty", "-m", "one")
    first = _git(repo, "rev-parse", "HEAD")
    assert git_commit(repo / ".git") == first   # loose ref
    assert git_commit(repo) == first            # the work tree works too
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert git_commit(repo / ".git") == first   # packed ref
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q",
         "--allow-empty", "-m", "two")
    _git(repo, "checkout", "-q", first)          # detached HEAD
    assert git_commit(repo / ".git") == first
    assert app_version(str(repo / ".git"), "1.0") == first  # GIT wins over APP_VERSION
    assert app_version(None, "1.0") == "1.0"
    with pytest.raises(ConfigError, match="GIT="):
        git_commit(tmp_path / "nowhere")


def test_redaction_of_headers_fields_and_query() -> None:
    r = Redactor(["x-api"])
    headers = r.headers({"HTTP_AUTHORIZATION": "Bearer s3cret", "HTTP_COOKIE": "sid=abc",
                         "HTTP_X_API_THING": "k", "HTTP_ACCEPT": "text/html",
                         "HTTP_X_CSRF_TOKEN": "t0k"})
    assert headers == {"Authorization": REDACTED, "Cookie": REDACTED,
                       "X-Api-Thing": REDACTED, "Accept": "text/html",
                       "X-Csrf-Token": REDACTED}
    assert r.mapping({"user": "ana", "password": "pw", "nested": {"api_key": "k", "n": 1}}) == {
        "user": "ana", "password": REDACTED, "nested": {"api_key": REDACTED, "n": 1}}
    assert r.query("q=books&token=abc") == "q=books&token=%5Bredacted%5D"


def test_outlier_threshold_needs_20_requests_and_follows_recent_speed() -> None:
    detector = OutlierDetector(2.5, 10.0)
    for _ in range(19):
        detector.observe("e", 100.0)
    assert detector.threshold("e") is None
    detector.observe("e", 100.0)
    assert detector.threshold("e") == pytest.approx(250.0)
    for _ in range(200):  # the endpoint got fast: the old slow average fades
        detector.observe("e", 2.0)
    assert detector.threshold("e") == pytest.approx(10.0, rel=0.05)  # the floor


def test_sampling_period_below_one_ms_is_refused() -> None:
    with pytest.raises(ConfigError, match="at most every 1 ms"):
        Sampler(0.005)


def test_sketch_percentiles_are_within_two_percent() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(3, 1.2) for _ in range(50_000)]
    buckets: dict[int, int] = {}
    for v in values:
        buckets[sketch.index(v)] = buckets.get(sketch.index(v), 0) + 1
    ordered = sorted(values)
    for q in (0.5, 0.95, 0.99):
        exact = ordered[int(q * (len(ordered) - 1))]
        assert sketch.quantile(buckets.items(), q) == pytest.approx(exact, rel=0.02)


def test_mann_whitney_finds_a_known_shift_and_no_false_one() -> None:
    """By hand for a small sample (ranks of a: 1-6, 8, 10 → U = 3; z = 28.5 / 9.52 →
    p = 0.0028 with the continuity correction), then raw values against their sketches."""
    import random

    from heron.store import sketch
    from heron.web.stats import mann_whitney, mann_whitney_sketch

    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    b = [6.5, 7.5, 8.5, 9.0, 10.0, 11.0, 12.0, 13.0]
    result = mann_whitney(a, b)
    assert result.u == 3.0 and abs(result.p_value - 0.00276) < 1e-4
    rng = random.Random(3)
    before = [rng.lognormvariate(3.0, 0.3) for _ in range(3000)]
    slower = [rng.lognormvariate(3.0, 0.3) * 1.2 for _ in range(3000)]
    same = [rng.lognormvariate(3.0, 0.3) for _ in range(3000)]

    def sk(values: list[float]) -> list[tuple[int, int]]:
        return [(sketch.index(v), 1) for v in values]

    raw, approx = mann_whitney(before, slower), mann_whitney_sketch(sk(before), sk(slower))
    assert raw.p_value < 1e-6 and approx.p_value < 1e-6
    assert abs(approx.change - raw.change) < 0.03 and 0.15 < approx.change < 0.25
    assert abs(approx.u - raw.u) / raw.u < 0.01
    assert mann_whitney_sketch(sk(before), sk(same)).p_value > 0.01
    with pytest.raises(ValueError):
        mann_whitney_sketch(sk([1.0]), sk(same))


def test_one_sampler_whose_period_starts_afresh_after_shutdown() -> None:
    from heron.web import profiler

    first = profiler.shared_sampler(5.0)
    assert profiler.shared_sampler(1.0) is first and first.period_ms == 1.0  # the shortest
    assert profiler.shared_sampler(5.0).period_ms == 1.0
    profiler.forget_periods()  # what heron.shutdown() does
    assert profiler.shared_sampler(5.0) is first and first.period_ms == 5.0
