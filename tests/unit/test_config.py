from __future__ import annotations

import re
from pathlib import Path

import pytest

from heron import config as heron_config
from heron.config import SETTINGS, Config
from heron.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_defaults() -> None:
    cfg = Config.load(environ={})
    assert cfg.DATABASE == "sqlite:///heron.db"
    assert cfg.TABLE_PREFIX == "heron_"
    assert cfg.MONITOR_LEVEL == 1
    assert cfg.source("DATABASE") == "default"


def test_precedence_default_file_env_code(tmp_path: Path) -> None:
    toml = tmp_path / "heron.toml"
    toml.write_text('monitor_level = 2\napp_version = "from-file"\ntimezone = "Europe/Paris"\n')
    env = {"HERON_MONITOR_LEVEL": "3", "HERON_TIMEZONE": "Asia/Tokyo"}
    cfg = Config.load(file=toml, environ=env, timezone="America/New_York")
    assert cfg.APP_VERSION == "from-file"
    assert cfg.source("APP_VERSION") == f"config file {toml}"
    assert cfg.MONITOR_LEVEL == 3
    assert cfg.source("MONITOR_LEVEL") == "environment variable HERON_MONITOR_LEVEL"
    assert cfg.TIMEZONE == "America/New_York"
    assert cfg.source("TIMEZONE") == "code"


def test_heron_toml_in_working_directory_and_heron_config(tmp_path: Path) -> None:
    (tmp_path / "heron.toml").write_text('app = "cwd-app"\n')
    assert Config.load(environ={}).APP == "cwd-app"
    other = tmp_path / "other.toml"
    other.write_text('app = "named-app"\n')
    assert Config.load(environ={"HERON_CONFIG": str(other)}).APP == "named-app"


def test_every_key_settable_by_env() -> None:
    samples = {"str": "x", "int": "1", "float": "2.5", "bool": "true", "list": "a,b",
               "url": "sqlite:///x.db", "timezone": "UTC", "colors": "{'main': '[0,97,255]'}",
               "prefix": "p_", "path_segment": "mon", "http_url": "http://127.0.0.1:1",
               "log_level": "INFO",
               "alerts": '[{"name": "Errors", "query": "level:error", '
                         '"webhook_url": "http://127.0.0.1:9/hook"}]'}
    for setting in SETTINGS:
        value = samples[setting.kind]
        if setting.name == "PORT":
            value = "8080"
        if setting.minimum is not None and setting.kind in ("int", "float"):
            value = str(max(float(value), setting.minimum))
            value = value if setting.kind == "float" else str(int(float(value)))
        cfg = Config.load(environ={f"HERON_{setting.name}": value})
        assert cfg.source(setting.name) == f"environment variable HERON_{setting.name}"


def test_fmd_ini_layout(tmp_path: Path) -> None:
    ini = tmp_path / "config.cfg"
    ini.write_text(
        "[dashboard]\nAPP_VERSION=1.2.3\nGIT=/srv/app/.git/\nCUSTOM_LINK=monitor\n"
        "MONITOR_LEVEL=3\nOUTLIER_DETECTION_CONSTANT=2.5\nSAMPLING_PERIOD=20\n"
        "ENABLE_LOGGING=True\n"
        "[authentication]\nUSERNAME=boss\nPASSWORD=s3cret-pass\nGUEST_USERNAME=visitor\n"
        "GUEST_PASSWORD='visit-pass'\nSECURITY_TOKEN=cc83733cb0af8b884ff6577086b87909\n"
        "[database]\nTABLE_PREFIX=fmd_\nDATABASE=sqlite:////tmp/dashboard.db\n"
        "[visualization]\nTIMEZONE=Europe/Amsterdam\nCOLORS={'main':'[0,97,255]', "
        "'static':'[255,153,0]'}\n")
    cfg = heron_config.init_from(file=ini)
    assert cfg.APP_VERSION == "1.2.3"
    assert cfg.GIT == "/srv/app/.git/"
    assert cfg.CUSTOM_LINK == "monitor"
    assert cfg.MONITOR_LEVEL == 3
    assert cfg.SAMPLING_PERIOD == 20.0
    assert cfg.USERNAME == "boss" and cfg.PASSWORD == "s3cret-pass"
    assert cfg.GUEST_USERNAME == "visitor" and cfg.GUEST_PASSWORD == "visit-pass"
    assert cfg.SECURITY_TOKEN == "cc83733cb0af8b884ff6577086b87909"
    assert cfg.TABLE_PREFIX == "fmd_"
    assert cfg.DATABASE == "sqlite:////tmp/dashboard.db"
    assert cfg.TIMEZONE == "Europe/Amsterdam"
    assert cfg.COLORS == {"main": "#0061ff", "static": "#ff9900"}
    assert heron_config.get() is cfg


def test_init_from_envvar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = tmp_path / "fmd.cfg"
    ini.write_text("[dashboard]\nAPP_VERSION=9\n")
    monkeypatch.setenv("FMD_CONFIG", str(ini))
    assert heron_config.init_from(envvar="FMD_CONFIG").APP_VERSION == "9"
    with pytest.raises(ConfigError, match="FMD_UNSET is not set"):
        heron_config.init_from(envvar="FMD_UNSET")


def test_env_overrides_ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ini = tmp_path / "fmd.cfg"
    ini.write_text("[database]\nDATABASE=sqlite:///ini.db\n")
    monkeypatch.setenv("HERON_DATABASE", "sqlite:///env.db")
    assert heron_config.init_from(file=ini).DATABASE == "sqlite:///env.db"


@pytest.mark.parametrize(("env", "message"), [
    ({"HERON_MONITOR_LEVEL": "high"},
     "MONITOR_LEVEL: 'high' is not an integer (from environment variable HERON_MONITOR_LEVEL)"),
    ({"HERON_MONITOR_LEVEL": "7"}, "MONITOR_LEVEL: 7 is above the maximum 3"),
    ({"HERON_TIMEZONE": "Mars/Olympus"},
     "TIMEZONE: 'Mars/Olympus' is not a known time zone"),
    ({"HERON_DATABASE": "not a url"}, "DATABASE: 'not a url' is not a database URL"),
    ({"HERON_DATABASE": "mysql://x/y"}, "names a database heron does not support"),
    ({"HERON_SAMPLING_PERIOD": "0.001"}, "SAMPLING_PERIOD: 0.001 is below the minimum 1"),
    ({"HERON_CONFIG": "/nonexistent/heron.toml"},
     "config file /nonexistent/heron.toml does not exist (from environment variable "
     "HERON_CONFIG)"),
])
def test_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.load(environ=env)
    assert message in str(info.value)


def test_errors_from_file_name_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "heron.toml"
    toml.write_text("monitor_level = true\n")
    with pytest.raises(ConfigError, match=re.escape(
            f"MONITOR_LEVEL: True is not an integer (from config file {toml})")):
        Config.load(file=toml, environ={})
    toml.write_text('databse = "sqlite:///x.db"\n')
    with pytest.raises(ConfigError, match="databse: unknown setting .did you mean DATABASE"):
        Config.load(file=toml, environ={})
    toml.write_text("this is = not toml [")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        Config.load(file=toml, environ={})


def test_missing_files() -> None:
    with pytest.raises(ConfigError, match="config file /no/such.cfg does not exist"):
        heron_config.init_from(file="/no/such.cfg")
    with pytest.raises(ConfigError, match="does not exist"):
        Config.load(file="/no/such.toml", environ={})


def test_secret_values_never_in_errors_or_repr() -> None:
    with pytest.raises(ConfigError) as info:
        Config.load(environ={}, password=12345678)
    assert "12345678" not in str(info.value) and "'***'" in str(info.value)
    cfg = Config.load(environ={"HERON_SECURITY_TOKEN": "tok-very-secret"})
    assert "tok-very-secret" not in repr(cfg)


def test_unknown_code_setting() -> None:
    with pytest.raises(ConfigError, match="monitorlevel: unknown setting"):
        Config.load(environ={}, monitorlevel=2)


def test_every_setting_documented_with_its_default() -> None:
    docs = DOCS.read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in docs, f"{setting.name} is not in docs/configuration.md"
        row = next(line for line in docs.splitlines() if line.startswith(f"| `{setting.name}`"))
        assert heron_config.format_default(setting) in row, setting.name
