"""Participants, `heron summary` and yield, as Dallinger prints them, on both databases."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import heron
from heron import experiment
from heron.cli import cli
from heron.events import Participant
from heron.experiment import format_summary
from heron.experiment.summary import Summary
from heron.sinks.memory import MemorySink
from heron.store import Store
from heron.store.queries.export import export_page
from heron.store.queries.participants import UnknownApp, all_summaries, summary

DALLINGER_EXAMPLE = """status | count
----------------
1   | 26
101 | 80
103 | 43
104 | 2

Yield: 64.00%"""


def seed(store: Store, app: str, counts: dict[str | int, int]) -> None:
    n = 0
    events = []
    for status, count in counts.items():
        for _ in range(count):
            n += 1
            events.append(Participant(app=app, participant_id=f"p{n}", status=status,
                                      id=f"{app}-{n}"))
    store.ingest(events)


def test_summary_exactly_as_dallinger(store: Store) -> None:
    seed(store, "exp", {1: 26, 101: 80, 103: 43, 104: 2})
    assert format_summary(summary(store, "exp")) == DALLINGER_EXAMPLE


def test_cli_summary_and_json(store: Store, db_url) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    seed(store, "exp", {1: 26, 101: 80, 103: 43, 104: 2})
    runner = CliRunner()
    env = {"HERON_TABLE_PREFIX": prefix}
    out = runner.invoke(cli, ["summary", "--app", "exp", "--database", url], env=env)
    assert out.exit_code == 0 and out.stdout == DALLINGER_EXAMPLE + "\n"
    as_json = runner.invoke(cli, ["summary", "--app", "exp", "--json", "--database", url],
                            env=env)
    assert json.loads(as_json.stdout) == {
        "app": "exp", "counts": {"1": 26, "101": 80, "103": 43, "104": 2}, "yield": 0.64}
    unknown = runner.invoke(cli, ["summary", "--app", "nope", "--database", url], env=env)
    assert unknown.exit_code == 1
    assert unknown.output.endswith("Error: no app 'nope' in the store; known apps: exp\n")


def test_mixed_codes_and_names_count_together(store: Store) -> None:
    seed(store, "mix", {"approved": 3, 101: 1, "working": 2, 1: 2, "returned": 4})
    result = summary(store, "mix")
    assert result.yield_ == pytest.approx(4 / 8)  # 4 approved of 8 not working
    text = format_summary(result)
    assert "Yield: 50.00%" in text


def test_long_status_names_stay_aligned() -> None:
    text = format_summary(Summary("x", {"recruiter_submission_started": 2, "approved": 5}))
    lines = text.splitlines()
    assert lines[2] == "approved                     | 5"
    assert lines[3] == "recruiter_submission_started | 2"
    assert {line.index("|") for line in lines[2:4]} == {29}


def test_no_yield_while_everyone_works() -> None:
    assert Summary("x", {"working": 4}).yield_ is None
    assert format_summary(Summary("x", {"working": 4})).endswith(
        "Yield: n/a (all participants still working)")
    assert Summary("x", {"1": 2, "working": 1}).as_json()["yield"] is None


def test_unknown_app_lists_known(store: Store) -> None:
    seed(store, "a", {"working": 1})
    with pytest.raises(UnknownApp, match="known apps: a"):
        summary(store, "b")


def test_recording_api_upserts_through_the_recorder(store: Store) -> None:
    sink = MemorySink()
    heron.init(app="stroop", sink=sink)
    experiment.participant("p1", worker_id="W1", mode="live", condition="B")
    experiment.participant("p1", status=101, bonus=0.5)
    experiment.participant("p2")
    experiment.network("net1", role="practice", max_size=10)
    experiment.node("n1", network_id="net1", participant_id="p1", type="agent")
    experiment.info("i1", origin_id="n1", contents="red")
    experiment.transmission("t1", origin_id="n1", destination_id="n2", info_id="i1",
                            status="received")
    experiment.vector("v1", origin_id="n1", destination_id="n2", network_id="net1")
    with pytest.raises(ValueError, match="'finished' is not a participant status"):
        experiment.participant("p3", status="finished")
    with pytest.raises(ValueError, match="is not pending or received"):
        experiment.transmission("t2", status="lost")
    heron.flush(5)
    store.ingest(sink.events)
    store.ingest(sink.events)  # replayed: changes nothing
    rows = {r["participant_id"]: r for r in export_page(store, "participant").items}
    assert rows["p1"]["status"] == "101" and rows["p1"]["worker_id"] == "W1"
    assert rows["p1"]["details"] == {"condition": "B"} and rows["p1"]["bonus"] == 0.5
    assert rows["p2"]["status"] == "working"
    assert summary(store, "stroop").counts == {"101": 1, "working": 1}
    for kind in ("network", "node", "info", "transmission", "vector"):
        assert len(export_page(store, kind).items) == 1, kind


def test_apps_listing(store: Store, db_url) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    seed(store, "exp", {1: 26, 101: 80, 103: 43, 104: 2})
    seed(store, "other", {"working": 3})
    listed = {s.app: s for s in all_summaries(store)}
    assert listed["exp"].total == 151 and listed["other"].yield_ is None
    out = CliRunner().invoke(cli, ["apps", "--json", "--database", url],
                             env={"HERON_TABLE_PREFIX": prefix})
    assert {a["app"]: (a["participants"], a["yield"]) for a in json.loads(out.stdout)} == {
        "exp": (151, 0.64), "other": (3, None)}


def test_summary_api_needs_token_or_login(client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store, "exp", {1: 26, 101: 80, 103: 43, 104: 2})
    assert client.get("/api/v1/summary?app=exp").status_code == 401
    ok = client.get("/api/v1/summary?app=exp",
                    headers={"Authorization": "Bearer export-secret-1"})
    assert ok.status_code == 200 and ok.get_json()["yield"] == 0.64
    missing = client.get("/api/v1/summary?app=zzz",
                         headers={"Authorization": "Bearer export-secret-1"})
    assert missing.status_code == 404 and missing.get_json()["known"] == ["exp"]
    from tests.conftest import GUEST_PASSWORD, login
    login(client, "guest", GUEST_PASSWORD)
    assert client.get("/api/v1/summary?app=exp").status_code == 200


def test_cli_summary_from_a_server(live_server, store) -> None:  # type: ignore[no-untyped-def]
    seed(store, "exp", {1: 26, 101: 80, 103: 43, 104: 2})
    runner = CliRunner()
    out = runner.invoke(cli, ["summary", "--app", "exp", "--url", live_server.url,
                              "--token", "export-secret-1"])
    assert out.exit_code == 0 and out.stdout == DALLINGER_EXAMPLE + "\n"
    denied = runner.invoke(cli, ["summary", "--app", "exp", "--url", live_server.url])
    assert denied.exit_code == 1 and "answered 401" in denied.output


def test_watch_reprints_until_interrupted(store: Store, db_url) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys
    import time

    url, prefix = db_url
    seed(store, "exp", {1: 2, 101: 2})
    proc = subprocess.Popen([sys.executable, "-m", "heron.cli", "summary", "--app", "exp",
                             "--watch", "0.5", "--database", url], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "HERON_TABLE_PREFIX": prefix})
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert out.count("Yield: 100.00%") >= 2  # 2 approved of the 2 not working
