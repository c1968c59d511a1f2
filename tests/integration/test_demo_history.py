"""The demo's history agrees with itself (issue 18 #13): a researcher distrusts a dashboard
that contradicts itself, so every session's stages lie inside the session, every history
session ends, nothing is stamped in the future, and vectors and transmissions stay inside
their network and carry the sender's info, as in Dallinger."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import heron
from heron import events as ev
from heron.demo.lab import DemoLab
from heron.sinks.memory import MemorySink


@pytest.fixture
def history() -> Iterator[list[ev.Event]]:
    sink = MemorySink()
    heron.init(app="recommender-api", sink=sink)
    try:
        before = time.time()
        DemoLab(heron.emit, seed=7).history()
        heron.flush(10)
        assert all(e.ts <= time.time() for e in sink.events)
        assert min(e.ts for e in sink.events) < before - 25 * 60  # half an hour of it
        yield sink.events
    finally:
        heron.shutdown()


def test_sessions_stages_fall_inside_their_session(history: list[ev.Event]) -> None:
    starts = {e.session_id: e for e in history if isinstance(e, ev.SessionStart)}
    ends = {e.session_id: e for e in history if isinstance(e, ev.SessionEnd)}
    assert len(starts) >= 2
    assert set(ends) == set(starts)  # no history session left running for ever
    steps = [e for e in history if isinstance(e, ev.SessionStep)]
    assert {s.session_id for s in steps} == set(starts)
    for step in steps:
        start, end = starts[step.session_id].ts, ends[step.session_id].ts
        assert start - 1 <= step.start_ts <= step.end_ts <= end, (step, start, end)
    for session_id in starts:  # one stage after another, not all at one moment
        mine = sorted((s for s in steps if s.session_id == session_id),
                      key=lambda s: s.start_ts)
        assert len({s.start_ts for s in mine}) == len(mine)
        assert all(a.end_ts <= b.start_ts for a, b in zip(mine, mine[1:], strict=False))


def test_vectors_and_transmissions_stay_in_their_network(history: list[ev.Event]) -> None:
    network_of = {e.node_id: e.network_id for e in history if isinstance(e, ev.Node)}
    origin_of = {e.info_id: e.origin_id for e in history if isinstance(e, ev.Info)}
    vectors = [e for e in history if isinstance(e, ev.Vector)]
    transmissions = [e for e in history if isinstance(e, ev.Transmission)]
    assert vectors and transmissions
    for v in vectors:
        assert network_of[v.origin_id] == network_of[v.destination_id] == v.network_id
    for t in transmissions:
        assert network_of[t.origin_id] == network_of[t.destination_id]
        assert origin_of[t.info_id] == t.origin_id  # a node sends what it made
    assert len(set(network_of.values())) > 1  # several networks, each its own chain
