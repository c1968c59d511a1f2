"""``/metrics``: heron's own health and exported metrics' last values (issue 22), on both
stores. The figures are read back with prometheus-client's own parser.

Checked: events the ingest APIs stored, found stored before and refused, per source; the
batch-time histogram; what a real ``HttpSink`` reports of its spool and dead letters; alert
deliveries; the newest value of the metrics ``METRICS_EXPORTS`` lists.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from heron import events as ev
from heron.sinks.http import HttpSink
from heron.store.queries.alerts import record_delivery

INGEST = {"Authorization": "Bearer ingest-secret-1", "Content-Type": "application/json"}
SCRAPE = {"Authorization": "Bearer export-secret-1"}


def scrape(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics``: (name, sorted labels) -> value."""
    text = client.get("/metrics", headers=SCRAPE).get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_ingest_counts_stored_duplicates_and_refused_per_source(client) -> None:  # type: ignore[no-untyped-def]
    batch = [{"kind": "log", "id": f"line-{i}", "app": "svc", "message": f"m{i}"}
             for i in range(3)] + [{"kind": "log", "id": "bad", "level": "loud"},
                                   {"kind": "nope", "id": "x"}]
    assert client.post("/api/v1/events", data=json.dumps(batch), headers=INGEST
                       ).status_code == 422
    assert client.post("/api/v1/events", data=json.dumps(batch[:3]), headers=INGEST
                       ).status_code == 200
    assert client.post("/api/v1/events", data=json.dumps(batch[3:4]), headers=INGEST
                       ).status_code == 422  # nothing to store: counted on its own
    otlp = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "otel-svc"}}]},
        "scopeSpans": [{"spans": [
            {"traceId": "01" * 16, "spanId": "02" * 8, "name": "job",
             "startTimeUnixNano": "1700000000000000000",
             "endTimeUnixNano": "1700000001000000000"},
            {"traceId": "", "spanId": "", "name": "broken"}]}]}]}
    assert client.post("/v1/traces", data=json.dumps(otlp), headers=INGEST).status_code == 200
    samples = scrape(client)
    total = "heron_ingested_events_total"
    assert value(samples, total, source="api", outcome="stored") == 3
    assert value(samples, total, source="api", outcome="duplicate") == 3
    assert value(samples, total, source="api", outcome="refused") == 3
    assert value(samples, total, source="otlp", outcome="stored") == 2  # run start and end
    assert value(samples, total, source="otlp", outcome="refused") == 1
    batches = "heron_ingest_batch_duration_seconds"
    assert value(samples, batches + "_count", source="api") == 3
    assert value(samples, batches + "_count", source="otlp") == 1
    assert value(samples, batches + "_bucket", source="api", le="+Inf") == 3
    assert 0 < value(samples, batches + "_sum", source="api") < 60  # type: ignore[operator]


def test_a_real_http_sink_reports_its_spool_and_dead_letters(live_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sink = HttpSink(live_server.url, "ingest-secret-1", app="sender",
                    spool_dir=tmp_path / "spool")
    try:
        sink.write([ev.Log(id="a-line", app="sender", message="hello")])
        # an event the server refuses: set aside as a dead letter, then reported
        bad = gzip.compress(json.dumps([{"kind": "log", "id": "b", "level": "loud",
                                         "app": "sender", "message": "x"}]).encode())
        sink.spool.append(bad, 1)
        sink.idle()
        sink.write([ev.Log(id="c-line", app="sender", message="again")])
    finally:
        sink.close()
    import urllib.request

    request = urllib.request.Request(f"{live_server.url}/metrics", headers=SCRAPE)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert value(samples, "heron_client_dead_letters", app="sender") == 1
    assert value(samples, "heron_client_spool_bytes", app="sender") is not None


def test_exported_metrics_last_values_and_alert_deliveries(config_for, store) -> None:  # type: ignore[no-untyped-def]
    from heron.server import create_app, prepare

    config = config_for(password="admin-pass-123", security_token="export-secret-1",
                        metrics_exports=["loss", "queue_depth"])
    prepare(store, config)
    app = create_app(config, store=store)
    store.ingest([
        ev.Export(id="e1", app="trainer", ts=1_700_000_010, metrics={"loss": 1.0, "acc": 0.5}),
        ev.Export(id="e2", app="trainer", ts=1_700_000_020, metrics={"loss": 2.0}),
        ev.Export(id="e3", app="other", ts=1_700_000_005, metrics={"queue_depth": 7.0}),
    ])
    store.ingest([ev.Export(id="e4", app="trainer", ts=1_700_000_015,  # late, and older
                            metrics={"loss": 9.0})])
    for ok in (True, False, False):
        record_delivery(store, rule_seq=1, rule_name="Errors", reason="alert", attempt=1,
                        status_code=200 if ok else 500, ok=ok, error=None if ok else "500",
                        payload={})
    samples = scrape(app.test_client())
    assert value(samples, "heron_exported_metric", app="trainer", metric="loss") == 2.0
    assert value(samples, "heron_exported_metric", app="other", metric="queue_depth") == 7.0
    assert value(samples, "heron_exported_metric", app="trainer", metric="acc") is None
    assert value(samples, "heron_alert_deliveries_total", rule="Errors", outcome="ok") == 1
    assert value(samples, "heron_alert_deliveries_total", rule="Errors",
                 outcome="failed") == 2


@pytest.mark.parametrize("listed", [[], ["loss"]])
def test_metrics_exports_is_a_list_setting(config_for, listed) -> None:  # type: ignore[no-untyped-def]
    assert config_for(metrics_exports=listed).METRICS_EXPORTS == listed
