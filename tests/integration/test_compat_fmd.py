"""Flask-MonitoringDashboard's setup runs on heron with its import changed (issue 20): the
seed's (002) two-line example and its configuration file, read from the seed as they are,
through ``heron.compat.flask_monitoringdashboard``, with FMD's documented semantics: GIT
relative to the configuration file, MONITOR_LEVEL 3 by default, routes defined after
``bind`` listed at once, the token export under the dashboard, FMD's addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import heron
from heron.store import open_store
from heron.store.queries import web
from tests.conftest import ADMIN_PASSWORD
from tests.seeds import fenced_blocks, ported, seed_text

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def seed_app_block() -> str:
    # the first complete app of the page ("Together, it becomes: ...")
    block = next(b for b in fenced_blocks(seed_text("002"))
                 if "dashboard.bind(app)" in b and "def index" in b and "app = Flask" in b)
    return ported(block, "flask_monitoringdashboard", "heron.compat.flask_monitoringdashboard")


def seed_config_file() -> str:
    """The seed's configuration file: its two blocks, split by a page break in the PDF."""
    blocks = fenced_blocks(seed_text("002"))
    start = next(i for i, b in enumerate(blocks) if b.startswith("[dashboard]"))
    return blocks[start] + blocks[start + 1]


@pytest.fixture
def project(tmp_path: Path, db_url: tuple[str, str], monkeypatch: pytest.MonkeyPatch
            ) -> Path:
    """The user's project: a git work tree holding the app and its config.cfg, the config
    named by DASHBOARD_CONFIG (as the seed's init_from(envvar=...) line reads it), and the
    process in another folder (GIT is relative to the config file, not to where one runs)."""
    git = tmp_path / "project" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text(COMMIT + "\n")
    config = tmp_path / "project" / "config.cfg"
    url, prefix = db_url
    config.write_text(seed_config_file() + f"[database]\nDATABASE={url}\nTABLE_PREFIX={prefix}\n"
                      f"[authentication]\nPASSWORD={ADMIN_PASSWORD}\nSECURITY_TOKEN=fmd-token\n",
                      encoding="utf-8")
    monkeypatch.setenv("DASHBOARD_CONFIG", str(config))  # the seed's own variable name
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return config


def load_app(code: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "fmdapp"}
    exec(compile(code, "app.py", "exec"), namespace)  # noqa: S102 - the seed's own code
    return namespace["app"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_seeds_setup_and_config_file_run_as_written(project: Path, db_url) -> None:  # type: ignore[no-untyped-def]
    code = seed_app_block()
    assert "import heron.compat.flask_monitoringdashboard as dashboard" in code
    # the seed's configuration section: the file named by DASHBOARD_CONFIG, then bind
    code = code.replace("dashboard.bind(app)",
                        "dashboard.config.init_from(envvar='DASHBOARD_CONFIG')\n"
                        "dashboard.bind(app)")
    app = load_app(code)
    client = app.test_client()
    assert client.get("/").get_data(as_text=True) == "Hello World!"
    assert heron.flush(10)
    url, prefix = db_url
    store = open_store(url, prefix)
    try:
        # MONITOR_LEVEL: FMD's default of 3; the index route, defined after bind, is listed
        assert web.endpoint_levels(store, "fmdapp")["index"] == 3
        # GIT=/ : the repository holding the configuration file, wherever the app runs
        with store.read() as conn:
            versions = {r[0] for r in conn.exec_driver_sql(
                f"SELECT version FROM {store.table('request').name}")}
        assert versions == {COMMIT}
        cfg = heron.config.get()
        assert cfg.COLORS == {"main": "#0061ff", "static": "#ff9900"}  # the seed's RGB
        assert cfg.SAMPLING_PERIOD == 1.0  # unset: as often as the profiler can
    finally:
        store.dispose()
    exported = client.get("/dashboard/api/v1/export/request",
                          headers={"Authorization": "Bearer fmd-token"})
    assert exported.status_code == 200 and exported.get_json()["items"]
    assert client.get("/dashboard/rules").status_code == 302


def test_values_set_by_the_user_win_over_fmds_defaults(tmp_path: Path) -> None:
    from flask import Flask

    import heron.compat.flask_monitoringdashboard as dashboard

    dashboard.config.database_name = f"sqlite:///{tmp_path / 'fmd.db'}"
    dashboard.config.monitor_level = 1
    dashboard.config.group_by = lambda: "ana"
    assert heron.config.group_by() == "ana"
    assert dashboard.config.database_name.endswith("fmd.db")
    app = Flask("mine")
    dashboard.bind(app)

    @app.get("/x")
    def x() -> str:
        return "x"

    app.test_client().get("/x")
    assert heron.flush(10)
    store = open_store(f"sqlite:///{tmp_path / 'fmd.db'}")
    try:
        assert web.endpoint_levels(store, "mine")["x"] == 1
    finally:
        store.dispose()
    with pytest.raises(AttributeError, match="no 'not_a_key'"):
        dashboard.config.not_a_key  # noqa: B018


def test_fmd_paths_resolve_from_the_config_file(tmp_path: Path) -> None:
    from heron.config import Config

    (tmp_path / "cfg").mkdir()
    file = tmp_path / "cfg" / "config.cfg"
    file.write_text("[dashboard]\nGIT=../repo/.git\n", encoding="utf-8")
    assert Config.load(ini_file=file, environ={}).GIT == str(tmp_path / "repo" / ".git")
    file.write_text("[dashboard]\nGIT=/\n", encoding="utf-8")
    assert Config.load(ini_file=file, environ={}).GIT == str(tmp_path / "cfg")
    file.write_text("[dashboard]\nGIT=/srv/app/.git\n", encoding="utf-8")
    assert Config.load(ini_file=file, environ={}).GIT == "/srv/app/.git"  # absolute: as is
