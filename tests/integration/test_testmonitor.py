"""The Test Monitor's pytest plugin and FMD's collect_performance command, run by pytester
against a small Flask app and a FastAPI app (issue 21): repeats, outcomes, endpoint
coverage, build detection, upload to a real `heron serve`, spool on upload failure, exit
status unchanged; the Test Monitor page on what was sent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from heron.store import open_store
from heron.store.queries import testmonitor as queries
from heron.testmonitor import ci
from tests.conftest import free_port
from tests.procs import Proc, wait_http

pytest_plugins = ["pytester"]

SHOP = '''
import heron
from flask import Flask


def create_app():
    app = Flask("shop")

    @app.get("/items")
    def items():
        return "items"

    @app.get("/cart")
    def cart():
        return "cart"

    @app.get("/checkout")
    def checkout():
        return "paid"

    return heron.bind(app, database="sqlite:///{db}", password="a-long-password",
                      app_version="2.1.0")
'''

SHOP_TESTS = '''
import time

import pytest

from shop import create_app

app = create_app()
CALLS = []


@pytest.fixture(scope="module")
def client():
    CALLS.append("setup")
    return app.test_client()


def test_items(client):
    assert client.get("/items").status_code == 200


def test_cart_and_items(client):
    client.get("/cart")
    client.get("/items")
    time.sleep(0.002)


def test_fixture_set_up_once(client):
    assert CALLS == ["setup"]


def test_broken(client):
    client.get("/checkout")
    assert False, "on purpose"


@pytest.fixture
def optional_dependency():
    return pytest.importorskip("heron_test_no_such_module")  # absent: skipped at set-up


def test_skipped(optional_dependency):
    pass


@pytest.mark.xfail(reason="known")
def test_known_bug():
    assert False


def test_no_such_page(client):
    assert client.get("/nowhere").status_code == 404
'''

FASTAPI_APP = '''
from fastapi import FastAPI, APIRouter
from fastapi.testclient import TestClient

from heron.web import ASGIMiddleware

router = APIRouter(prefix="/users")


@router.get("/{user_id}")
def user(user_id: int):
    return {"id": user_id}


api = FastAPI()
api.include_router(router)


@api.get("/health")
def health():
    return {"ok": True}


app = ASGIMiddleware(api, "accounts", database="sqlite:///{db}")


def test_user():
    with TestClient(app) as client:
        assert client.get("/users/7").json() == {"id": 7}


def test_health():
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
'''

CI_VARIABLES = ("GITHUB_ACTIONS", "GITHUB_RUN_NUMBER", "GITHUB_RUN_ID", "GITHUB_SHA",
                "GITHUB_RUN_ATTEMPT", "GITLAB_CI", "CI_PIPELINE_IID", "CI_PIPELINE_ID",
                "CI_COMMIT_SHA", "TRAVIS", "TRAVIS_BUILD_NUMBER", "TRAVIS_COMMIT",
                "JENKINS_URL", "BUILD_NUMBER", "GIT_COMMIT", "PYTEST_ADDOPTS")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
            ) -> pytest.Pytester:
    for name in CI_VARIABLES:  # the machine's own CI must not decide the build here
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HERON_SPOOL_DIR", str(tmp_path / "spool"))
    pytester.makepyfile(shop=SHOP.replace("{db}", str(tmp_path / "shop.db")))
    pytester.makepyfile(test_shop=SHOP_TESTS)
    return pytester


def report(pytester: pytest.Pytester) -> dict:  # type: ignore[type-arg]
    return json.loads((pytester.path / "heron-tests.json").read_text())


def by_name(document: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {t["test_name"].split("::")[-1]: t for t in document["tests"]}


def test_repeats_outcomes_and_endpoints_in_the_local_report(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--heron-times", "3", "--heron-build", "b-1")
    result.assert_outcomes(passed=4, failed=1, skipped=1, xfailed=1)
    assert result.ret == 1  # the plugin leaves pytest's own verdict alone
    result.stdout.fnmatch_lines(["heron: 7 tests timed ×3 for app 'shop', build b-1: "
                                 "4 passed, 1 failed, 1 skipped, 1 xfailed; report in *"])
    document = report(project)
    assert document["build"]["id"] == "b-1" and document["app"] == "shop"
    assert document["version"] == "2.1.0" and document["times"] == 3
    tests = by_name(document)
    assert len(tests["test_items"]["durations_ms"]) == 3  # three timed calls
    assert tests["test_fixture_set_up_once"]["outcome"] == "passed"  # fixtures once
    assert tests["test_cart_and_items"]["duration_ms"] >= 2
    assert tests["test_cart_and_items"]["endpoints"] == ["cart", "items"]
    assert tests["test_items"]["endpoints"] == ["items"]
    assert tests["test_broken"]["outcome"] == "failed"
    assert len(tests["test_broken"]["durations_ms"]) == 1  # a failed call is not repeated
    assert tests["test_broken"]["endpoints"] == ["checkout"]
    assert tests["test_skipped"]["outcome"] == "skipped"
    assert tests["test_skipped"]["durations_ms"] == []
    assert tests["test_known_bug"]["outcome"] == "xfailed"
    assert tests["test_no_such_page"]["endpoints"] == []  # a 404 is not an endpoint


def test_off_unless_asked_for(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=4, failed=1, skipped=1, xfailed=1)
    assert not (project.path / "heron-tests.json").exists()
    assert "heron:" not in result.stdout.str()


def test_settings_from_the_ini_file_and_the_environment(project: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    project.makeini("[pytest]\nheron_times = 2\nheron_report = out/tests.json\n")
    monkeypatch.setenv("HERON_BUILD", "from-env")
    project.runpytest_subprocess("-k", "test_items")
    document = json.loads((project.path / "out" / "tests.json").read_text())
    assert document["build"]["id"] == "from-env" and document["times"] == 2
    project.runpytest_subprocess("-k", "test_items", "--heron-times", "4")  # CLI wins
    document = json.loads((project.path / "out" / "tests.json").read_text())
    assert document["times"] == 4


@pytest.mark.parametrize("value", ["0", "many"])
def test_bad_times_is_a_usage_error(project: pytest.Pytester, value: str) -> None:
    result = project.runpytest_subprocess("--heron-times", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--heron-times must be*"])


def test_bad_url_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--heron-url", "ftp://example")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--heron-url must be an http:// or https:// address*"])


def test_an_asgi_app_in_included_routers(pytester: pytest.Pytester, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_accounts=FASTAPI_APP.replace("{db}", str(tmp_path / "a.db")))
    result = pytester.runpytest_subprocess("--heron", "--heron-build", "7")
    result.assert_outcomes(passed=2)
    tests = by_name(report(pytester))
    assert report(pytester)["app"] == "accounts"
    assert tests["test_user"]["endpoints"] == ["/users/{user_id}"]
    assert tests["test_health"]["endpoints"] == ["/health"]


@pytest.mark.parametrize(("env", "build", "name", "commit"), [
    ({"GITHUB_ACTIONS": "true", "GITHUB_RUN_NUMBER": "41", "GITHUB_SHA": "abc"}, "41",
     "GitHub Actions", "abc"),
    ({"GITHUB_ACTIONS": "true", "GITHUB_RUN_NUMBER": "41", "GITHUB_RUN_ATTEMPT": "2"},
     "41.2", "GitHub Actions", None),
    ({"GITLAB_CI": "true", "CI_PIPELINE_IID": "9", "CI_COMMIT_SHA": "def"}, "9",
     "GitLab CI", "def"),
    ({"TRAVIS": "true", "TRAVIS_BUILD_NUMBER": "1234", "TRAVIS_COMMIT": "f00"}, "1234",
     "Travis CI", "f00"),
    ({"JENKINS_URL": "http://127.0.0.1/", "BUILD_NUMBER": "77", "GIT_COMMIT": "bee"}, "77",
     "Jenkins", "bee"),
])
def test_build_from_the_ci_environment(tmp_path: Path, env: dict[str, str], build: str,
                                       name: str, commit: str | None) -> None:
    found = ci.detect(env, tmp_path)  # tmp_path is no git checkout
    assert (found.id, found.ci, found.commit) == (build, name, commit)
    assert ci.detect(env, tmp_path, "given").id == "given"


def test_build_off_ci_is_the_git_commit_else_the_time(tmp_path: Path) -> None:
    import subprocess

    assert ci.detect({}, tmp_path).id.startswith("local-")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=a@b", "-c", "user.name=a",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    found = ci.detect({}, tmp_path)
    assert found.commit is not None and len(found.commit) == 40
    assert found.id == found.commit[:12] and found.ci is None


def test_the_environment_build_reaches_the_report(project: pytest.Pytester,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAVIS", "true")
    monkeypatch.setenv("TRAVIS_BUILD_NUMBER", "512")
    monkeypatch.setenv("TRAVIS_COMMIT", "0123456789abcdef")
    result = project.runpytest_subprocess("--heron", "-k", "test_items")
    result.stdout.fnmatch_lines(["heron: 1 tests timed ×1 for app 'shop', build 512 "
                                 "(Travis CI): 1 passed; *"])
    assert report(project)["build"] == {"id": "512", "ci": "Travis CI",
                                        "commit": "0123456789abcdef"}


@pytest.fixture
def server(db_url):  # type: ignore[no-untyped-def]
    url, prefix = db_url
    port = free_port()
    proc = Proc(["serve", "--port", str(port), "--database", url],
                env={"HERON_TABLE_PREFIX": prefix})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz")
        token = proc.wait_for_line(r"token: (\S+)$").group(1)
        yield base, token
    finally:
        proc.stop()


def test_upload_to_a_real_server_then_the_page_compares_builds(
        project: pytest.Pytester, server, db_url, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    base, token = server
    monkeypatch.setenv("HERON_TOKEN", token)
    for build in ("100", "101"):
        result = project.runpytest_subprocess("--heron-url", f"{base}/dashboard",
                                              "--heron-build", build, "--heron-times", "2")
        result.assert_outcomes(passed=4, failed=1, skipped=1, xfailed=1)
        result.stdout.fnmatch_lines([f"*build {build}: *; sent to {base}"])
    store = open_store(*db_url)
    try:
        builds = queries.results(store, "shop")
        assert [b["build"] for b, _ in builds] == ["100", "101"]
        summary, tests = builds[-1]
        # an expected failure counts as passing: the test says the bug is still there
        assert (summary["tests"], summary["passed"], summary["failed"], summary["skipped"]) \
            == (7, 5, 1, 1)
        assert summary["version"] == "2.1.0"
        name = "test_shop.py::test_cart_and_items"
        assert tests[name]["endpoints"] == ["cart", "items"]
        assert len(tests[name]["durations_ms"]) == 2
        assert [h["build"] for h in queries.history(store, "shop", name)] == ["100", "101"]
    finally:
        store.dispose()


def test_a_failed_upload_warns_once_keeps_the_results_and_the_exit_status(
        project: pytest.Pytester, tmp_path: Path, db_url, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    port = free_port()  # nothing listens here yet
    passing = ("-k", "test_items or test_fixture")
    result = project.runpytest_subprocess("--heron-url", f"http://127.0.0.1:{port}",
                                          "--heron-build", "1", *passing)
    assert result.ret == 0  # the tests passed: the upload's failure changes nothing
    warnings = [line for line in result.stdout.lines if "could not be sent" in line]
    assert len(warnings) == 1 and str(tmp_path / "spool" / "tests") in warnings[0]
    assert any((tmp_path / "spool" / "tests").rglob("*")), "the results wait in the spool"
    # the server comes up on that port: the next run sends the waiting results first
    url, prefix = db_url
    proc = Proc(["serve", "--port", str(port), "--database", url],
                env={"HERON_TABLE_PREFIX": prefix})
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        monkeypatch.setenv("HERON_TOKEN", proc.wait_for_line(r"token: (\S+)$").group(1))
        result = project.runpytest_subprocess("--heron-url", f"http://127.0.0.1:{port}",
                                              "--heron-build", "2", *passing)
        assert result.ret == 0
        assert "could not be sent" not in result.stdout.str()
    finally:
        proc.stop()
    store = open_store(url, prefix)
    try:
        assert [b["build"] for b, _ in queries.results(store, "shop")] == ["1", "2"]
    finally:
        store.dispose()


def test_fmd_collect_performance_command(project: pytest.Pytester) -> None:
    (project.path / "tests").mkdir()
    (project.path / "test_shop.py").rename(project.path / "tests" / "test_shop.py")
    (project.path / "tests" / "test_unittest_style.py").write_text(
        "import unittest\n\n\nclass Case(unittest.TestCase):\n"
        "    def test_adds(self):\n        self.assertEqual(1 + 1, 2)\n")
    result = project.run(sys.executable, "-m",
                         "heron.compat.flask_monitoringdashboard.collect_performance",
                         "--test_folder=./tests", "--times=3")
    assert result.ret == 1  # pytest's status: test_broken fails on purpose
    tests = by_name(report(project))
    assert report(project)["times"] == 3
    assert len(tests["test_items"]["durations_ms"]) == 3
    assert tests["test_adds"]["outcome"] == "passed"  # unittest suites are collected too
    assert len(tests["test_adds"]["durations_ms"]) == 3
    result = project.run(sys.executable, "-m",
                         "heron.compat.flask_monitoringdashboard.collect_performance",
                         "--times=zero")
    assert result.ret == 2
    assert "--times must be a whole number" in result.stderr.str()


def test_the_seeds_collect_performance_command_as_written(project: pytest.Pytester, server,
                                                          db_url, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:  # type: ignore[no-untyped-def]
    """FMD's docs (seed 002, section 2.3.2): the command block with its module path changed
    and its URL pointed at a heron server on this machine (only loopback, ever)."""
    import subprocess

    from tests.seeds import fenced_blocks, seed_text

    (block,) = [b for b in fenced_blocks(seed_text("002")) if "collect_performance" in b]
    base, token = server
    command = block.replace("python -m flask_monitoringdashboard.",
                            f"{sys.executable} -m heron.compat.flask_monitoringdashboard.")
    command = command.replace("https://yourdomain.org/dashboard", f"{base}/dashboard")
    assert "heron.compat" in command and base in command
    (project.path / "tests").mkdir()
    (project.path / "test_shop.py").rename(project.path / "tests" / "test_shop.py")
    monkeypatch.setenv("HERON_TOKEN", token)
    monkeypatch.setenv("TRAVIS", "true")  # FMD's CI: its build number names the run
    monkeypatch.setenv("TRAVIS_BUILD_NUMBER", "88")
    done = subprocess.run(["bash", "-c", command], cwd=project.path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # test_broken fails on purpose
    assert "build 88 (Travis CI)" in done.stdout and f"sent to {base}" in done.stdout
    store = open_store(*db_url)
    try:
        ((summary, tests),) = queries.results(store, "shop")
        assert summary["build"] == "88"
        assert {len(r["durations_ms"]) for r in tests.values() if r["outcome"] == "passed"} \
            == {5}  # the seed's --times=5
    finally:
        store.dispose()
