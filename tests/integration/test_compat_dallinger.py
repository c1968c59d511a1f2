"""Dallinger's dashboard code runs on heron with one import changed (issue 19): the code
blocks of seeds 000 and 001, ported by changing ``dallinger.`` to ``heron.compat.dallinger.``
and nothing else, are loaded the way ``heron serve --experiment module:Class`` loads an
experiment, and their pages and tabs are checked in the dashboard; what the seeds only say
in words is checked by hand (classmethods and staticmethods, route names in every form,
HTML panels, keyword filters, the dashboard login's config names)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heron import config as heron_config
from heron import events as ev
from heron.dashboard.registry import _routes
from heron.dashboard.tabs import dashboard_tabs
from heron.server import create_app, load_experiment, prepare
from heron.store import Store
from tests.conftest import ADMIN_PASSWORD, login
from tests.seeds import code_blocks, ported, reindented, rst_code_blocks, seed_text

# The pages do not depend on the database: SQLite only.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def experiment_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path for the experiment modules, and the tab and page registry put
    back as it was afterwards."""
    tabs, routes = list(dashboard_tabs.tabs), dict(_routes)
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("seedexp")]:
        del sys.modules[name]
    dashboard_tabs.tabs = tabs
    _routes.clear()
    _routes.update(routes)


def dallinger(block: str) -> str:
    return ported(block, "dallinger", "heron.compat.dallinger")


def serve(config_for: Any, store: Store, spec: str | None = None, **settings: Any) -> Any:
    """What ``heron serve [--experiment spec]`` builds, as a logged-in test client."""
    cfg = config_for(password=ADMIN_PASSWORD, **settings)
    prepare(store, cfg)
    experiment = load_experiment(spec) if spec else None
    client = create_app(cfg, store=store, experiment=experiment).test_client()
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 302
    return client


def nav(client: Any) -> str:
    return client.get("/dashboard/").get_data(as_text=True).split('id="heron-nav"')[1] \
        .split("</nav>")[0]


@sqlite_only
def test_seed_000_a_tab_on_an_experiment_function_without_self(
        experiment_dir: Path, config_for: Any, store: Store) -> None:
    [block] = code_blocks(seed_text("000"), "from dallinger.experiment import", reindented)
    assert "def my_experiment():" in block  # no self: Dallinger calls it on the class
    (experiment_dir / "seedexp_000.py").write_text(dallinger(block), encoding="utf-8")
    client = serve(config_for, store, "seedexp_000:MyExperimentClass")
    page = client.get("/dashboard/my_experiment")
    assert page.status_code == 200
    assert page.get_data(as_text=True) == \
        "Hello, World. This is some information about My Experiment"
    assert 'href="/dashboard/my_experiment"' in nav(client) and "My Experiment" in nav(client)


@sqlite_only
def test_seed_001_a_route_on_the_dashboard_blueprint_and_nested_tabs(
        experiment_dir: Path, config_for: Any, store: Store) -> None:
    route_block, nested_block = rst_code_blocks(seed_text("001"))
    assert '@dashboard.route("my-experiment")' in route_block
    source = dallinger(route_block) + "\n" + dallinger(nested_block)
    (experiment_dir / "seedexp_001.py").write_text(source, encoding="utf-8")
    importlib.import_module("seedexp_001")  # an experiment module, imported at start
    client = serve(config_for, store)
    page = client.get("/dashboard/my-experiment")
    assert page.status_code == 200
    assert "This is some information about My Experiment" in page.get_data(as_text=True)
    menu = nav(client)
    # the tab was inserted under the URL rule "my-experiment": it names the same page
    assert 'href="/dashboard/my-experiment"' in menu and "My Experiment" in menu
    # the nested tab's routes ("route_name", "child1") are not pages: left out, no error
    assert "Child1" not in menu
    assert client.get("/dashboard/").status_code == 200
    # logged out, the page needs the login like every dashboard page
    assert client.get("/dashboard/my-experiment").status_code == 200
    anonymous = create_app(config_for(password=ADMIN_PASSWORD), store=store).test_client()
    assert anonymous.get("/dashboard/my-experiment").status_code in (302, 401)


EXPERIMENT = '''
from heron.compat.dallinger.experiment import Experiment
from heron.compat.dallinger.experiment_server.dashboard import dashboard_tab, dashboard_tabs


class Lab(Experiment):
    label = "lab"

    @dashboard_tab("Over classmethod")
    @classmethod
    def over_class(cls):
        return "over " + cls.label

    @classmethod
    @dashboard_tab("Under classmethod")
    def under_class(cls):
        return "under " + cls.label

    @dashboard_tab("Static")
    @staticmethod
    def static_page():
        return "static"

    @staticmethod
    @dashboard_tab("Static under")
    def static_under():
        return "static under"

    @dashboard_tab("With self", after_route="dashboard.index")
    def dashboard_with_self(self):
        return "self " + str(self.app)

    def monitoring_panels(self, **kw):
        panels = super().monitoring_panels(**kw)
        panels["<Custom>"] = '<b class="mine">bold</b>'  # "a valid HTML string"
        return panels


dashboard_tabs.insert("First", "dashboard.with_self", 0)
'''


@sqlite_only
def test_classmethods_staticmethods_and_methods_are_called_as_dallinger_does(
        experiment_dir: Path, config_for: Any, store: Store) -> None:
    (experiment_dir / "seedexp_lab.py").write_text(EXPERIMENT, encoding="utf-8")
    client = serve(config_for, store, "seedexp_lab:Lab", app="exp")
    for path, text in (("over_class", "over lab"), ("under_class", "under lab"),
                       ("static_page", "static"), ("static_under", "static under"),
                       ("with_self", "self exp")):
        page = client.get(f"/dashboard/{path}")
        assert (page.status_code, page.get_data(as_text=True)) == (200, text), path
    menu = nav(client)
    for title in ("Over classmethod", "Under classmethod", "Static", "With self", "First"):
        assert f">{title}<" in menu, title
    # route names in every form name one tab: "dashboard.with_self" found the page
    # registered as "dashboard_with_self", and placed "First" at the start
    assert menu.index(">First<") < menu.index(">Apps<")


def test_route_names_with_and_without_the_prefix_name_the_same_tab(
        experiment_dir: Path) -> None:
    from heron.compat.dallinger.experiment_server.dashboard import dashboard_tabs as tabs

    tabs.insert("First", "first", 0)
    tabs.insert_before_route("Zero", "zero", "dashboard.first")  # raised ValueError before
    tabs.insert_tab_after_route(tabs[0].__class__("One", "one"), "dashboard.dashboard_first")
    assert [t.title for t in tabs][:3] == ["Zero", "First", "One"]
    tabs.remove("dashboard.zero")
    tabs.remove("one")
    assert [t.title for t in tabs][0] == "First"


@sqlite_only
def test_panels_are_html_and_table_data_filters_by_keyword(
        experiment_dir: Path, config_for: Any, store: Store) -> None:
    (experiment_dir / "seedexp_lab.py").write_text(EXPERIMENT, encoding="utf-8")
    store.ingest([ev.Participant(app="exp", participant_id="p1", status="101"),
                  ev.Participant(app="exp", participant_id="p2", status="working")])
    client = serve(config_for, store, "seedexp_lab:Lab", app="exp")
    page = client.get("/dashboard/monitoring?app=exp").get_data(as_text=True)
    assert '<b class="mine">bold</b>' in page  # the experiment's HTML, as Dallinger renders it
    assert "&lt;Custom&gt;" in page  # titles stay text
    lab = importlib.import_module("seedexp_lab").Lab(session=None, app="exp")  # as Dallinger
    lab.attach(store, None)
    rows = lab.table_data(status="101")["data"]
    assert [r["participant_id"] for r in rows] == ["p1"]
    assert {r["participant_id"] for r in lab.table_data("participant")["data"]} == {"p1", "p2"}


def test_dallingers_dashboard_login_settings_are_accepted(tmp_path: Path) -> None:
    file = tmp_path / "heron.toml"
    file.write_text('dashboard_user = "lab-admin"\ndashboard_password = "from-file-1"\n',
                    encoding="utf-8")
    cfg = heron_config.Config.load(file=file, environ={})
    assert (cfg.USERNAME, cfg.PASSWORD) == ("lab-admin", "from-file-1")
    cfg = heron_config.Config.load(environ={"DASHBOARD_USER": "env-admin",
                                            "DASHBOARD_PASSWORD": "from-env-1"})
    assert (cfg.USERNAME, cfg.PASSWORD) == ("env-admin", "from-env-1")
    assert cfg.source("PASSWORD") == "environment variable DASHBOARD_PASSWORD"
    cfg = heron_config.Config.load(environ={"DASHBOARD_USER": "theirs",
                                            "HERON_USERNAME": "ours"})
    assert cfg.USERNAME == "ours"  # heron's own name wins where both are set


@sqlite_only
def test_seed_000_under_heron_serve(experiment_dir: Path, db_url: tuple[str, str]) -> None:
    """The same block, as a user runs it: ``heron serve --experiment module:Class``."""
    import http.cookiejar
    import urllib.request

    from tests.conftest import free_port
    from tests.procs import Proc, wait_http

    [block] = code_blocks(seed_text("000"), "from dallinger.experiment import", reindented)
    (experiment_dir / "seedexp_serve.py").write_text(dallinger(block), encoding="utf-8")
    url, prefix = db_url
    port = free_port()
    env = {"HERON_TABLE_PREFIX": prefix, "HERON_PASSWORD": ADMIN_PASSWORD,
           "PYTHONPATH": os.pathsep.join([str(experiment_dir), os.environ.get("PYTHONPATH", "")])}
    proc = Proc(["serve", "--port", str(port), "--database", url,
                 "--experiment", "seedexp_serve:MyExperimentClass"], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz")
        link = subprocess.run(
            [sys.executable, "-m", "heron.cli", "user", "login-link", "admin", "--url", base,
             "--database", url], env={**os.environ, **env}, capture_output=True, text=True,
            check=True).stdout.strip().splitlines()[-1]
        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        browser.open(link).read()
        with browser.open(f"{base}/dashboard/my_experiment") as page:
            assert page.read().decode() == \
                "Hello, World. This is some information about My Experiment"
        with browser.open(f"{base}/dashboard/") as home:
            assert 'href="/dashboard/my_experiment"' in home.read().decode()
    finally:
        proc.stop()
