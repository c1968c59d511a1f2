"""heron.Experiment: statistics, panels, table_data, actions and the fail cascade."""

from __future__ import annotations

import re
from collections import OrderedDict

import pytest
from markupsafe import Markup

import heron
from heron import events as ev
from heron.store import Store
from heron.store.queries.export import export_page
from tests.conftest import csrf_of


def seed(store: Store, app: str = "exp") -> None:
    store.ingest([
        ev.Participant(app=app, participant_id="p1", status="approved", worker_id="W1"),
        ev.Participant(app=app, participant_id="p2", status="working", worker_id="W2"),
        ev.Participant(app=app, participant_id="p3", status=104, worker_id="<b>W3</b>"),
        ev.Network(app=app, network_id="net1", role="practice"),
        ev.Network(app=app, network_id="net2", role="experiment", failed=True),
        ev.Node(app=app, node_id="n1", network_id="net1", participant_id="p1", type="agent"),
        ev.Node(app=app, node_id="n2", network_id="net1", participant_id="p2", type="agent"),
        ev.Node(app=app, node_id="n0", network_id="net1", type="source"),
        ev.Info(app=app, info_id="i1", origin_id="n1", contents="red"),
        ev.Transmission(app=app, transmission_id="t1", origin_id="n0", destination_id="n1",
                        info_id="i0"),
        ev.Vector(app=app, vector_id="v1", origin_id="n0", destination_id="n1"),
        ev.Participant(app="other", participant_id="p1", status="working"),
    ])


def attached(store: Store, cls: type[heron.Experiment] = heron.Experiment
             ) -> heron.Experiment:
    experiment = cls("exp")
    experiment.attach(store, None)
    return experiment


def test_default_statistics_have_dallingers_shape(store: Store) -> None:
    seed(store)
    stats = attached(store).monitoring_statistics(network_role=["practice"], bogus=["x"])
    assert isinstance(stats, OrderedDict)
    assert stats["Participants"] == {"approved": 1, "working": 1, "104": 1}
    assert stats["Networks"] == {"practice": {"count": 1, "failed": 0},
                                 "experiment": {"count": 1, "failed": 1}}
    assert stats["Nodes"] == {"count": 3, "failed": 0}
    assert stats["Infos"] == {"count": 1, "failed": 0}
    assert stats["Transmissions"] == {"pending": 1}
    assert stats["Yield"] == "50.00%"  # 1 approved of 2 not working (104 = abandoned)


def test_panels_are_rendered_and_escaped(store: Store) -> None:
    seed(store)

    class Custom(heron.Experiment):
        def monitoring_statistics(self, **kwargs):  # type: ignore[no-untyped-def]
            stats = super().monitoring_statistics(**kwargs)
            stats["Notes"] = "<script>alert(1)</script>"
            return stats

    panels = attached(store, Custom).monitoring_panels()
    assert panels["Nodes"] == "3 total, 0 failed (0.0%)"
    assert "&lt;script&gt;" in panels["Notes"] and "<script>" not in panels["Notes"]
    assert isinstance(panels["Networks"], Markup)


def test_table_data_paged_searched_filtered(store: Store) -> None:
    seed(store)
    experiment = attached(store)
    old_way = experiment.table_data("node", "agent")
    assert {r["node_id"] for r in old_way["data"]} == {"n1", "n2"}
    assert {c["data"] for c in old_way["columns"]} >= {"node_id", "network_id", "type",
                                                       "failed", "details"}
    page = experiment.table_data("participant", start=1, length=1, order_column="worker_id",
                                 order_dir="desc")
    assert (page["total_count"], page["filtered_count"], len(page["data"])) == (3, 3, 1)
    assert page["data"][0]["worker_id"] == "W1"  # W2, W1, <b>W3</b>: the second
    searched = experiment.table_data("participant", search_value="w3")
    assert [r["participant_id"] for r in searched["data"]] == ["p3"]
    assert searched["filtered_count"] == 1
    exact = experiment.table_data("participant", column_filters={"status": "104"})
    assert [r["participant_id"] for r in exact["data"]] == ["p3"]
    with pytest.raises(ValueError, match="unknown table"):
        experiment.table_data("users")


def test_fail_cascades_with_chained_reasons(store: Store) -> None:
    seed(store)
    experiment = attached(store)
    result = experiment.dashboard_fail([{"id": "p1", "object_type": "Participant"}])
    assert result == {"message": "Failed 1 Participant"}
    nodes = {r["node_id"]: r for r in export_page(store, "node").items}
    assert nodes["n1"]["failed"] and not nodes["n2"]["failed"]
    assert nodes["n1"]["failed_reason"] == "failed from the dashboard->Participantp1"
    (info,) = export_page(store, "info").items
    assert info["failed"]
    assert info["failed_reason"] == "failed from the dashboard->Participantp1->Noden1"
    assert export_page(store, "vector").items[0]["failed"]
    assert export_page(store, "transmission").items[0]["failed"]
    other = [r for r in export_page(store, "participant").items if r["app"] == "other"]
    assert not other[0]["failed"]  # the same id in another app is untouched
    again = experiment.dashboard_fail([{"id": "p1", "object_type": "Participant"}])
    assert again == {"message": "No nodes found to fail"}
    two = experiment.dashboard_fail([{"id": "p2", "object_type": "Participant"},
                                     {"id": "p3", "object_type": "Participant"}])
    assert two == {"message": "Failed 2 Participants"}


def test_action_endpoint(app, admin_client, guest_client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    app.extensions["heron"].extras["experiment"].app = "exp"
    token = csrf_of(admin_client)
    body = {"data": [{"id": "n2", "object_type": "Node"}]}
    ok = admin_client.post("/dashboard/database/action/dashboard_fail", json=body,
                           headers={"X-CSRFToken": token})
    assert ok.status_code == 200
    assert ok.get_json() == {"status": "success", "message": "Failed 1 Node"}
    assert admin_client.post("/dashboard/database/action/delete_everything", json=body,
                             headers={"X-CSRFToken": token}).status_code == 403
    assert admin_client.post("/dashboard/database/action/dashboard_fail",
                             json=body).status_code == 400  # no CSRF token
    bad = admin_client.post("/dashboard/database/action/dashboard_fail", json={"x": 1},
                            headers={"X-CSRFToken": token})
    assert bad.status_code == 400
    guest = guest_client.post("/dashboard/database/action/dashboard_fail", json=body,
                              headers={"X-CSRFToken": csrf_of(guest_client)})
    assert guest.status_code == 403


def test_listed_action_without_method_is_404(config_for, store) -> None:  # type: ignore[no-untyped-def]
    from heron.server import create_app, prepare
    from tests.conftest import ADMIN_PASSWORD, login

    class Custom(heron.Experiment):
        def dashboard_database_actions(self):  # type: ignore[no-untyped-def]
            return [{"title": "Fail Selected", "name": "dashboard_fail"},
                    {"title": "Pay bonus", "name": "pay_bonus"}]

    cfg = config_for(password=ADMIN_PASSWORD)
    prepare(store, cfg)
    client = create_app(cfg, store=store, experiment=Custom("exp")).test_client()
    login(client, "admin", ADMIN_PASSWORD)
    response = client.post("/dashboard/database/action/pay_bonus", json={"data": []},
                           headers={"X-CSRFToken": csrf_of(client)})
    assert response.status_code == 404


def test_database_api_pages_and_exports_everything(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    import json

    seed(store)
    store.ingest([ev.Participant(app="exp", participant_id=f"x{i}", worker_id=f"X{i}")
                  for i in range(30)])
    page = admin_client.get("/dashboard/api/database?table=participant&app=exp&draw=3"
                            "&start=0&length=10&search[value]=x1").get_json()
    assert page["draw"] == 3 and page["recordsTotal"] == 33
    assert page["recordsFiltered"] == 11  # x1, x10..x19
    assert len(page["data"]) == 10
    csv_text = admin_client.get("/dashboard/api/database/export?table=participant&app=exp"
                                "&format=csv&search=x1").get_data(as_text=True)
    assert len(csv_text.strip().splitlines()) == 1 + 11  # header + every match, not a page
    lines = admin_client.get("/dashboard/api/database/export?table=participant&app=exp"
                             "&format=json&col.status=104").get_data(as_text=True)
    assert [json.loads(line)["participant_id"] for line in lines.splitlines()] == ["p3"]
    html = admin_client.get("/dashboard/database?app=exp").get_data(as_text=True)
    assert "Fail Selected" in html and "participant (33)" in html


def test_database_api_filters_orders_and_links_rows(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    columns = admin_client.get("/dashboard/api/database?table=node&app=exp&length=0"
                               ).get_json()
    assert columns["recordsTotal"] == 3
    from heron.store.queries.experiment import columns as table_columns

    names = table_columns(store, "node")
    type_column = 2 + names.index("type")  # after the selection box and the links
    page = admin_client.get(f"/dashboard/api/database?table=node&app=exp"
                            f"&columns[{type_column}][search][value]=source").get_json()
    assert [r["node_id"] for r in page["data"]] == ["n0"]
    ordered = admin_client.get(f"/dashboard/api/database?table=node&app=exp"
                               f"&order[0][column]={2 + names.index('node_id')}"
                               "&order[0][dir]=desc").get_json()
    assert [r["node_id"] for r in ordered["data"]] == ["n2", "n1", "n0"]
    row = ordered["data"][0]
    assert row["_time"]["ts"].endswith(" UTC") and row["_time"]["ts"].startswith("20")
    graph = admin_client.get(row["_links"]["graph"])
    assert graph.status_code == 302
    target = graph.headers["Location"]
    assert "focus=Node:n2" in target and "expand=net1" in target and "search=net1" in target
    info = admin_client.get("/dashboard/monitoring/locate/Info/i1?app=exp")
    assert "expand=net1" in info.headers["Location"]  # through its origin node
    opened = admin_client.get(target)
    assert opened.status_code == 200
    html = opened.get_data(as_text=True)
    assert 'data-focus="Node:n2"' in html and 'value="net1"' in html
    assert admin_client.get("/dashboard/monitoring/locate/Bogus/1?app=exp").status_code == 404


def test_database_page_hides_actions_from_guests(guest_client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    html = guest_client.get("/dashboard/database?app=exp").get_data(as_text=True)
    assert "participant (3)" in html and "Fail Selected" not in html


def test_network_structure_filters(store: Store) -> None:

    seed(store)
    full = attached(store).network_structure()
    assert {n["network_id"] for n in full["networks"]} == {"net1", "net2"}
    assert {n["node_id"] for n in full["nodes"]} == {"n0", "n1", "n2"}
    assert [v["vector_id"] for v in full["vectors"]] == ["v1"]
    assert [i["info_id"] for i in full["infos"]] == ["i1"]
    assert [t["transmission_id"] for t in full["trans"]] == ["t1"]
    assert {p["participant_id"] for p in full["participants"]} == {"p1", "p2"}
    practice = attached(store).network_structure(network_roles=["practice"])
    assert [n["network_id"] for n in practice["networks"]] == ["net1"]
    by_id = attached(store).network_structure(network_ids=["net2"])
    assert by_id["nodes"] == [] and [n["network_id"] for n in by_id["networks"]] == ["net2"]
    assert attached(store).network_structure(collapsed=True)["nodes"] == []
    no_failed = attached(store).network_structure(include_failed=False)
    assert [n["network_id"] for n in no_failed["networks"]] == ["net1"]
    assert {n["network_id"]: n["node_count"] for n in full["networks"]} == {"net1": 3,
                                                                            "net2": 0}


def test_network_structure_search_sort_top_and_clusters(store: Store) -> None:
    from heron.store.queries.experiment import network_structure

    store.ingest([ev.Network(app="big", network_id=f"net{i}", role="exp" if i % 2 else "warmup")
                  for i in range(20)])
    store.ingest([ev.Node(app="big", node_id=f"n{i}-{j}", network_id=f"net{i}", type="agent")
                  for i in range(20) for j in range(i)])  # net{i} has i nodes
    by_size = network_structure(store, "big", sort="size", top=3)
    assert [n["network_id"] for n in by_size["networks"]] == ["net19", "net18", "net17"]
    assert by_size["total_networks"] == 20 and by_size["total_nodes"] == 19 + 18 + 17
    newest = network_structure(store, "big", sort="newest", top=2, collapsed=True)
    assert [n["network_id"] for n in newest["networks"]] == ["net19", "net18"]
    found = network_structure(store, "big", search="NET1", collapsed=True)
    assert found["total_networks"] == 11  # net1, net10..net19
    warm = network_structure(store, "big", search="warm", collapsed=True)
    assert warm["total_networks"] == 10
    # more nodes than max_nodes: networks come as clusters; only expanded ones bring nodes
    clustered = network_structure(store, "big", max_nodes=50)
    assert clustered["clustered"] and clustered["nodes"] == []
    assert len(clustered["networks"]) == 20
    opened = network_structure(store, "big", max_nodes=50, expand=["net5"])
    assert {n["node_id"] for n in opened["nodes"]} == {f"n5-{j}" for j in range(5)}
    capped = network_structure(store, "big", max_nodes=3, expand=["net5"])
    assert capped["truncated"] and len(capped["nodes"]) == 3
    small = network_structure(store, "big", top=4)
    assert not small["clustered"] and len(small["nodes"]) == 0 + 1 + 2 + 3
    with pytest.raises(ValueError, match="unknown sort"):
        network_structure(store, "big", sort="bogus")


def test_monitoring_pages(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    store.ingest([ev.Network(app="exp", network_id="<b>x</b>", role="<i>r</i>")])
    page = admin_client.get("/dashboard/monitoring?app=exp&network_role=practice&junk=1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-panel="Participants"' in html and "3 total, 0 failed (0.0%)" in html
    assert "<i>r</i>" not in html and "&lt;i&gt;r&lt;/i&gt;" in html
    data = admin_client.get("/dashboard/api/network_structure?app=exp&network_roles=practice"
                            ).get_json()
    assert [n["network_id"] for n in data["networks"]] == ["net1"]
    details = admin_client.get("/dashboard/node_details/Participant/p3?app=exp")
    text = details.get_data(as_text=True)
    assert details.status_code == 200 and "&lt;b&gt;W3&lt;/b&gt;" in text
    # issue 18 #8: times in TIMEZONE and plain words, not epoch seconds and Python's False
    assert "<dt>failed</dt><dd>no</dd>" in text
    assert re.search(r"<dt>ts</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</dd>", text)
    assert "False" not in text and "None" not in text
    assert admin_client.get("/dashboard/node_details/Bogus/1?app=exp").status_code == 404
    bad = admin_client.get("/dashboard/api/network_structure?app=exp&sort=bogus")
    assert bad.status_code == 400 and "sort must be one of" in bad.get_json()["error"]
    by_participant = admin_client.get("/dashboard/api/network_structure?app=exp"
                                      "&participant=p2").get_json()
    assert [n["node_id"] for n in by_participant["nodes"]] == ["n2"]
    assert [n["network_id"] for n in by_participant["networks"]] == ["net1"]


def test_monitoring_stream_announces_changes(admin_client, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from heron.dashboard.views import monitoring

    monkeypatch.setattr(monitoring, "STREAM_TICK", 0.05)
    monkeypatch.setattr(monitoring, "STREAM_SECONDS", 2.0)
    seed(store)
    response = admin_client.get("/dashboard/api/network_structure/stream?app=exp")
    assert response.mimetype == "text/event-stream"
    chunks = iter(response.response)
    assert next(chunks).startswith(b"retry:")
    assert next(chunks).startswith(b"event: change")
    assert next(chunks).startswith(b": still here")  # nothing new: no reload asked for
    store.ingest([ev.Node(app="exp", node_id="n9", network_id="net1", type="agent")])
    seen = [next(chunks) for _ in range(3)]
    assert any(c.startswith(b"event: change") for c in seen)
    response.close()


def test_dashboard_tab_on_an_experiment_method(config_for, store) -> None:  # type: ignore[no-untyped-def]
    from heron.dashboard import dashboard_tab, dashboard_tabs
    from heron.dashboard.registry import _routes
    from heron.server import create_app, prepare
    from tests.conftest import ADMIN_PASSWORD, login

    before = list(dashboard_tabs.tabs)
    try:
        class Lab(heron.Experiment):
            @dashboard_tab("Lab page", after_route="index")
            def dashboard_lab_page(self) -> str:
                return f"page of {self.app}"

        cfg = config_for(password=ADMIN_PASSWORD)
        prepare(store, cfg)
        client = create_app(cfg, store=store, experiment=Lab("exp")).test_client()
        login(client, "admin", ADMIN_PASSWORD)
        page = client.get("/dashboard/lab_page")
        assert page.status_code == 200 and page.get_data(as_text=True) == "page of exp"
        other = create_app(cfg, store=store, experiment=heron.Experiment("x")).test_client()
        login(other, "admin", ADMIN_PASSWORD)
        assert other.get("/dashboard/lab_page").status_code == 404
    finally:
        dashboard_tabs.tabs = before
        _routes.pop("dashboard_lab_page", None)
