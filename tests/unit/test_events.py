from __future__ import annotations

import json

import msgspec
import pytest

from heron import events as ev


def test_ids_are_unique_and_time_ordered() -> None:
    ids = [ev.new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 32 and i[12] == "7" and i[16] in "89ab" for i in ids)  # UUIDv7


def test_every_kind_round_trips_through_the_wire_format() -> None:
    samples = [
        ev.Request(endpoint="index", duration_ms=0.3),
        ev.Outlier(request_id="r", endpoint="index", duration_ms=900, headers={"a": "b"}),
        ev.Profile(request_id="r", endpoint="index", duration_ms=5, tree={"name": "x"}),
        ev.Endpoint(endpoint="index", monitor_level=2),
        ev.ExceptionRaised(endpoint="index", type="KeyError", message="'x'", fingerprint="f1"),
        ev.RunStart(run_id="r1", run_class="ranker", dimensions={"source": "web"}),
        ev.RunEnd(run_id="r1", outcome="error", error_type="ValueError"),
        ev.Export(run_id="r1", metrics={"confidence": 0.9}, dimensions={"ok": True}),
        ev.SessionStart(session_id="s1", subject_id="mouse-42"),
        ev.SessionStep(session_id="s1", stage="pre_acquisition"),
        ev.SessionEnd(session_id="s1", outcome="failed"),
        ev.Resource(cpu_percent=12.5),
        ev.Log(message="hello", level=40),
        ev.Participant(participant_id="p1", status=101),
        ev.Network(network_id="n1", role="practice"),
        ev.Node(node_id="x1", network_id="n1"),
        ev.Info(info_id="i1", origin_id="x1", contents="red"),
        ev.Transmission(transmission_id="t1", status="received"),
        ev.Vector(vector_id="v1", origin_id="x1", destination_id="x2"),
        ev.TestResult(test_name="test_a", duration_ms=12),
    ]
    assert {e.kind for e in samples} == set(ev.KINDS)
    ev.ensure_ids(samples)
    good, bad = ev.parse_batch(ev.encode(samples))
    assert bad == []
    assert good == samples


def test_ids_are_filled_from_the_event_time_once() -> None:
    old, new = ev.Log(message="a", ts=1_700_000_000.0), ev.Log(message="b")
    assert old.id == "" and new.id == ""
    ev.ensure_ids([old, new])
    assert old.id.startswith("018bcfe568007") and old.id < new.id
    first = old.id
    ev.ensure_ids([old])
    assert old.id == first


def test_timestamps_keep_microseconds() -> None:
    event = ev.Log(message="m", ts=1_790_000_000.123456, id=ev.new_id())
    (back,), _ = ev.parse_batch(ev.encode([event]))
    assert back.ts == pytest.approx(1_790_000_000.123456, abs=1e-7)


def test_entity_updates_only_carry_the_fields_set() -> None:
    wire = json.loads(ev.encode(ev.Participant(participant_id="p1", status="approved")))
    assert "worker_id" not in wire and wire["status"] == "approved"


def test_batch_keeps_good_items_and_names_bad_ones() -> None:
    body = json.dumps([
        {"kind": "log", "id": "a", "message": "fine"},
        {"kind": "request", "id": "b", "endpoint": "x", "duration_ms": -1},
        {"kind": "nope", "id": "c"},
        {"kind": "log", "message": "no id"},
        "not an object",
        {"kind": "log", "id": "d", "message": "m", "surprise": 1},
    ]).encode()
    good, bad = ev.parse_batch(body)
    assert [e.id for e in good] == ["a"]
    assert [(b.index, b.id) for b in bad] == [(1, "b"), (2, "c"), (3, None), (4, None),
                                             (5, "d")]
    reasons = [b.error for b in bad]
    assert "duration_ms" in reasons[0] and ">= 0" in reasons[0]
    assert "unknown kind 'nope'" in reasons[1]
    assert "missing field `id`" in reasons[2]
    assert "expected an object" in reasons[3]
    assert "unknown field `surprise`" in reasons[4]


@pytest.mark.parametrize("body", [b"{not json", b'{"x": 1}', b"42"])
def test_bodies_that_are_not_batches(body: bytes) -> None:
    with pytest.raises(ev.EventError):
        ev.parse_batch(body)


def test_envelope_form_is_accepted() -> None:
    good, bad = ev.parse_batch(msgspec.json.encode({"events": [ev.Log(message="x", id="a")]}))
    assert len(good) == 1 and bad == []
