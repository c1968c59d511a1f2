"""Runs recorded through the client API, read back by the Runs pages, on both databases."""

from __future__ import annotations

import time

import heron
from heron import events as ev
from heron.sinks.memory import MemorySink
from heron.store import Store
from heron.store.queries.runs import metric_series, run_classes, run_tree, runs_of_class


def record(store: Store) -> dict[str, str]:
    """Six classify runs (two failing) with sub-runs and exports, through heron's API."""
    sink = MemorySink()
    heron.init(app="algo", sink=sink, app_version="2.0")
    ids: dict[str, str] = {}
    for i in range(6):
        source = "web" if i % 2 else "mobile"
        try:
            with heron.run("classify", source=source) as run:
                with heron.sub_run("model") as model:
                    with heron.sub_run("embedding"):
                        heron.export({"dim": 128})
                    heron.export({"confidence": 0.9 if source == "web" else 0.5,
                                  "model": "v2"})
                if i >= 4:
                    raise RuntimeError("late failure")
        except RuntimeError:
            pass
        ids[f"run{i}"] = run.id
        ids[f"model{i}"] = model.id
    heron.flush(5)
    store.ingest(sink.events)
    heron.shutdown()
    return ids


def test_classes_runs_and_filters(store: Store) -> None:
    ids = record(store)
    classes = {c.run_class: c for c in run_classes(store, app="algo", since=0)}
    classify = classes["classify"]
    assert (classify.runs, classify.ok, classify.errors, classify.sub) == (6, 4, 2, False)
    assert classify.success_rate == 4 / 6
    assert classes["model"].sub and classes["embedding"].runs == 6
    web = runs_of_class(store, app="algo", run_class="classify", since=0,
                        dimensions={"source": "web"})
    assert {r["run_id"] for r in web} == {ids["run1"], ids["run3"], ids["run5"]}
    versions = runs_of_class(store, app="algo", run_class="classify", since=0,
                             dimensions={"version": "2.0"})
    assert len(versions) == 6  # APP_VERSION is recorded with every run


def test_metric_series_split_by_a_run_dimension(store: Store) -> None:
    record(store)
    now = time.time()
    data = metric_series(store, app="algo", run_class="classify", metric="confidence",
                         segment="source", since=now - 600, until=now + 1)
    means = {name: [v for v in values if v is not None] for name, values in
             data["series"].items()}
    assert set(means) == {"web", "mobile"}
    assert all(abs(v - 0.9) < 1e-9 for v in means["web"])
    assert all(abs(v - 0.5) < 1e-9 for v in means["mobile"])
    assert data["counts"] == {"web": 3, "mobile": 3}
    by_model = metric_series(store, app="algo", run_class="model", metric="confidence",
                             segment="model", since=now - 600, until=now + 1)
    assert by_model["counts"] == {"v2": 6}


def test_run_tree(store: Store) -> None:
    ids = record(store)
    tree = run_tree(store, ids["run4"])
    assert tree is not None and tree["outcome"] == "error"
    assert run_tree(store, ids["model4"]) == tree  # a sub-run shows in its whole tree
    assert tree["error_type"] == "RuntimeError"
    (model,) = tree["children"]
    assert model["run_id"] == ids["model4"]
    assert [e["metrics"] for e in model["exports"]] == [{"confidence": 0.5}]
    (embedding,) = model["children"]
    assert embedding["exports"][0]["metrics"] == {"dim": 128}
    assert run_tree(store, "no-such-run") is None


def test_runs_pages(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    empty = admin_client.get("/dashboard/runs").get_data(as_text=True)
    assert "No runs in this time window" in empty
    ids = record(store)
    page = admin_client.get("/dashboard/runs").get_data(as_text=True)
    assert 'data-class="classify"' in page and "66.7%" in page
    cls = admin_client.get("/dashboard/runs/algo/classify?segment=source")
    assert cls.status_code == 200
    text = cls.get_data(as_text=True)
    assert "confidence" in text and ids["run5"] in text
    filtered = admin_client.get("/dashboard/runs/algo/classify?dim.source=web").get_data(
        as_text=True)
    assert ids["run5"] in filtered and ids["run4"] not in filtered
    series = admin_client.get("/dashboard/api/runs/series?app_id=algo&run_class=classify"
                              "&metric=confidence&segment=source").get_json()
    assert series["counts"] == {"mobile": 3, "web": 3}
    assert admin_client.get("/dashboard/api/runs/series").status_code == 400
    run = admin_client.get(f"/dashboard/runs/r/{ids['model4']}").get_data(as_text=True)
    assert "embedding" in run and "RuntimeError" in run and "heron-run-selected" in run
    assert admin_client.get("/dashboard/runs/r/nope").status_code == 404


def test_exports_outside_runs_are_kept(store: Store) -> None:
    sink = MemorySink()
    heron.init(app="loose", sink=sink)
    heron.export({"temperature": 21.5})
    heron.flush(5)
    store.ingest(sink.events)
    (event,) = [e for e in sink.events if isinstance(e, ev.Export)]
    assert event.run_id is None
