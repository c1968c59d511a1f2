from __future__ import annotations

import pytest

from heron.dashboard import DashboardTab, DashboardTabs, dashboard_tab, dashboard_tabs


def make() -> DashboardTabs:
    return DashboardTabs([
        DashboardTab("Home", "dashboard.dashboard_index"),
        DashboardTab("Monitoring", "dashboard.dashboard_monitoring"),
        DashboardTab("Plain", "plain"),
    ])


def titles(tabs: DashboardTabs) -> list[str]:
    return [t.title for t in tabs]


def test_tab_attributes_and_children() -> None:
    tab = DashboardTab("Database", "dashboard.dashboard_database",
                       lambda: [DashboardTab("Nodes", "dashboard.dashboard_database",
                                             params={"table": "node"})],
                       params={"x": 1})
    assert (tab.title, tab.route_name, tab.params) == ("Database",
                                                        "dashboard.dashboard_database", {"x": 1})
    (child,) = tab.children
    assert child.params == {"table": "node"} and child.children == []
    assert DashboardTab("A", "a").params is None


def test_registry_is_list_like() -> None:
    tabs = make()
    assert len(tabs) == 3
    assert titles(tabs) == ["Home", "Monitoring", "Plain"]


def test_insert_at_position_and_end() -> None:
    tabs = make()
    tabs.insert("First", "dashboard.first", 0)
    tabs.insert("Last", "dashboard.last")
    tabs.insert_tab(DashboardTab("Second", "dashboard.second"), 1)
    assert titles(tabs) == ["First", "Second", "Home", "Monitoring", "Plain", "Last"]


@pytest.mark.parametrize("route", ["monitoring", "dashboard.monitoring",
                                   "dashboard.dashboard_monitoring"])
def test_route_names_match_in_three_forms(route: str) -> None:
    tabs = make()
    tabs.insert_before_route("Before", "dashboard.before", route)
    tabs.insert_after_route("After", "dashboard.after", route)
    assert titles(tabs) == ["Home", "Before", "Monitoring", "After", "Plain"]


def test_a_tab_is_found_by_any_of_its_names() -> None:
    # issue 19: a tab inserted as "first" was not found as "dashboard.first"
    tabs = make()
    tabs.insert("First", "first", 0)
    tabs.insert_before_route("Zero", "zero", "dashboard.first")
    tabs.insert_after_route("One", "one", "dashboard.dashboard_first")
    assert titles(tabs)[:3] == ["Zero", "First", "One"]
    tabs.remove("dashboard.zero")
    assert titles(tabs)[:2] == ["First", "One"]


def test_plain_route_names_match_with_prefixes() -> None:
    tabs = make()
    tabs.insert_tab_after_route(DashboardTab("X", "x"), "plain")
    tabs.insert_tab_before_route(DashboardTab("Y", "y"), "index")
    assert titles(tabs) == ["Y", "Home", "Monitoring", "Plain", "X"]


def test_unknown_routes_raise() -> None:
    tabs = make()
    with pytest.raises(ValueError, match="^Route nowhere not found$"):
        tabs.insert_before_route("X", "x", "nowhere")
    with pytest.raises(ValueError, match="^Route nowhere not found$"):
        tabs.insert_tab_after_route(DashboardTab("X", "x"), "nowhere")
    with pytest.raises(ValueError, match="^Route nowhere not found$"):
        tabs.remove("nowhere")
    assert titles(tabs) == ["Home", "Monitoring", "Plain"]


def test_remove_matches_like_inserts() -> None:
    tabs = make()
    tabs.remove("monitoring")
    tabs.remove("dashboard.dashboard_index")
    assert titles(tabs) == ["Plain"]


def test_decorator_places_tab_and_registers_route() -> None:
    from heron.dashboard.registry import _routes

    before = list(dashboard_tabs.tabs)
    try:
        @dashboard_tab("Recruitment", after_route="index")
        def dashboard_recruitment() -> str:
            return "ok"

        @dashboard_tab("Both", after_route="index", before_route="users")
        def dashboard_both() -> str:
            return "ok"

        @dashboard_tab("Appended")
        def appended_page() -> str:
            return "ok"

        routes = [t.route_name for t in dashboard_tabs]
        assert routes.index("dashboard.dashboard_recruitment") == \
            routes.index("dashboard.dashboard_index") + 1
        assert routes.index("dashboard.dashboard_both") == \
            routes.index("dashboard.dashboard_users") - 1
        assert routes[-1] == "dashboard.appended_page"
        assert _routes["dashboard_recruitment"].rules == ["/recruitment"]
        assert _routes["appended_page"].rules == ["/appended_page"]
        with pytest.raises(ValueError, match="Route missing not found"):
            @dashboard_tab("Nope", before_route="missing")
            def dashboard_nope() -> str:
                return "no"
        assert "dashboard_nope" not in _routes  # a tab that could not be placed: no page
    finally:
        dashboard_tabs.tabs = before
        for name in ("dashboard_recruitment", "dashboard_both", "appended_page"):
            _routes.pop(name, None)
