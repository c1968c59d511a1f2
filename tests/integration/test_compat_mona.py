"""mona-client's code runs on heron with one import changed (issue 19): the code blocks of
seed 003, ported by changing ``mona_client`` to ``heron.compat.mona_client`` and nothing
else, run as scripts against a heron server the test starts, with mona-client's own
environment variables; what the seed only says in words is checked by hand-written
scripts (the kill switch and its hot reload, ``MONA_`` fields, logging, sub-contexts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from heron.store import Store
from tests.conftest import LiveServer
from tests.seeds import code_blocks, ported, seed_text

TOKEN = "ingest-secret-1"  # the server_config fixture's INGEST_TOKEN


@pytest.fixture
def server(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    live = LiveServer(app)
    yield live
    live.stop()


def seed_blocks() -> list[str]:
    blocks = code_blocks(seed_text("003"), "from mona_client")
    assert len(blocks) == 2, blocks  # the quick start and the MonaThread example
    return [ported(b, "mona_client", "heron.compat.mona_client") for b in blocks]


def run_script(code: str, tmp_path: Path, server: LiveServer, **env: str
               ) -> subprocess.CompletedProcess[str]:
    """``code`` as a user's script, in its own interpreter, with mona-client's variables
    naming the test's server."""
    script = tmp_path / "instrumented.py"
    script.write_text(code, encoding="utf-8")
    host, _, port = server.url.removeprefix("http://").partition(":")
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("HERON_", "MONA_"))}
    full.update(MONA_HOST=host, MONA_PORT=port, MONA_USER_ID="cool-algorithm",
                HERON_TOKEN=TOKEN, HERON_SPOOL_DIR=str(tmp_path / "spool"),
                MONA_CLIENT_CONFIG_FILE=str(tmp_path / "mona_client_config.json"),
                HERON_CONFIG=str(tmp_path / "none.toml"), **env)
    (tmp_path / "none.toml").touch()
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=full,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def rows(store: Store, sql: str) -> list[dict[str, Any]]:
    with store.read() as conn:
        out = [dict(r._mapping) for r in conn.exec_driver_sql(sql)]
    for row in out:
        for key in ("metrics", "dimensions"):
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
    return out


def runs(store: Store) -> list[dict[str, Any]]:
    return rows(store, f"SELECT app, run_id, run_class, parent_id, outcome FROM "
                       f"{store.table('run').name} ORDER BY ts")


def exports(store: Store) -> list[dict[str, Any]]:
    return rows(store, f"SELECT app, run_id, ts, metrics, dimensions FROM "
                       f"{store.table('export').name} ORDER BY ts")


def test_the_quick_start_records_a_context_and_its_export(tmp_path: Path, server: LiveServer,
                                                          store: Store) -> None:
    quick_start = seed_blocks()[0]
    assert "client.init_client()" in quick_start
    run_script(quick_start, tmp_path, server)
    [run] = runs(store)
    assert run["app"] == "cool-algorithm"  # MONA_USER_ID
    assert run["run_class"] == "MY_COOL_ALGORITHM_NAME" and run["outcome"] == "ok"
    [export] = exports(store)
    assert export["run_id"] == run["run_id"]
    assert export["dimensions"] == {"foo": "bar"}


def test_mona_thread_carries_the_context_to_the_new_thread(tmp_path: Path,
                                                          server: LiveServer) -> None:
    result = run_script(seed_blocks()[1], tmp_path, server)
    assert result.stdout.strip() == "True"
    # the same, checked with a context id that really exists (the seed's code never calls
    # init_client, so its ids may both be empty), and a plain thread that starts empty
    result = run_script(textwrap.dedent("""
        import threading
        from heron.compat.mona_client import client
        from heron.compat.mona_client.mona_thread import MonaThread

        client.init_client()
        seen = {}
        with client.new_mona_context(arc_class="threaded"):
            main = client.get_full_context_id()
            t = MonaThread(target=lambda: seen.update(mona=client.get_full_context_id()))
            p = threading.Thread(target=lambda: seen.update(plain=client.get_full_context_id()))
            t.start(); p.start(); t.join(); p.join()
        print(bool(main), seen["mona"] == main, repr(seen["plain"]))
    """), tmp_path, server)
    assert result.stdout.split() == ["True", "True", "''"]  # Mona's empty id: no context


def test_timestamps_sub_contexts_and_reserved_fields(tmp_path: Path, server: LiveServer,
                                                    store: Store) -> None:
    result = run_script(textwrap.dedent("""
        from heron.compat.mona_client import client

        client.init_client()
        with client.new_mona_context(arc_class="ranker"):
            client.export({"foo": "bar"}, 1552903200.0)   # the seed's historical export
            with client.new_mona_sub_context(arc_class="scorer"):
                client.export({"score": 0.7, "MONA_internal": 1, "MONA_x": "y"})
            with client.new_mona_context(ARC_class="other") as same:  # keeps the outer
                client.export({"n": 1})
                inner = same
            outer = client.get_full_context_id()
        with client.new_mona_sub_context(arc_class="orphan") as orphan:  # never raises
            client.export({"k": 2})
        print(inner == outer, repr(orphan))
    """), tmp_path, server)
    # as in Mona: a context inside a context keeps the outer one; a sub-context outside any
    # context opens nothing, and its exports belong to no context
    assert result.stdout.split() == ["True", "''"]
    by_class = {r["run_class"]: r for r in runs(store)}
    assert set(by_class) == {"ranker", "scorer"}
    assert by_class["scorer"]["parent_id"] == by_class["ranker"]["run_id"]
    stored = exports(store)
    assert {e["run_id"] for e in stored if e["metrics"] == {"n": 1}} == \
        {by_class["ranker"]["run_id"]}
    assert [e["run_id"] for e in stored if e["metrics"] == {"k": 2}] == [None]
    historical = [e for e in stored if e["dimensions"] == {"foo": "bar"}]
    assert [e["ts"] for e in historical] == [1552903200.0]
    [scored] = [e for e in stored if "score" in e["metrics"]]
    assert scored["metrics"] == {"score": 0.7} and scored["dimensions"] == {}  # MONA_ gone
    assert scored["run_id"] == by_class["scorer"]["run_id"]


def test_mona_disable_all_sends_nothing(tmp_path: Path, server: LiveServer,
                                        store: Store) -> None:
    run_script(seed_blocks()[0] + "client.export({'after': 1})\n", tmp_path, server,
               MONA_DISABLE_ALL="1")
    assert runs(store) == [] and exports(store) == []


def test_the_config_file_turns_everything_off_while_running(tmp_path: Path,
                                                           server: LiveServer,
                                                           store: Store) -> None:
    config = tmp_path / "mona_client_config.json"
    config.write_text('{"disable_all": false}', encoding="utf-8")
    result = run_script(textwrap.dedent(f"""
        import json, time
        from pathlib import Path
        from heron.compat.mona_client import client

        client.init_client()
        with client.new_mona_context(arc_class="before"):
            client.export({{"n": 1}})
        Path({str(config)!r}).write_text(json.dumps({{"disable_all": True}}))
        time.sleep(1.5)   # the file is looked at once a second
        with client.new_mona_context(arc_class="after"):
            client.export({{"n": 2}})
    """), tmp_path, server, MONA_LOGGING_LEVEL="10", MONA_PRINT_LOGS="true")
    assert [r["run_class"] for r in runs(store)] == ["before"]
    assert [e["metrics"] for e in exports(store)] == [{"n": 1}]
    # MONA_PRINT_LOGS: mona-logger prints to stdout, starting with the config file's path
    assert "mona-logger" in result.stdout and str(config) in result.stdout
    assert "disable_all=True" in result.stdout  # the switch turning, said on mona-logger
