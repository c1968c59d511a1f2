"""Experiment records: the default monitoring statistics, table pages, and failing records.

Failing follows Dallinger's cascade: a participant's nodes; a network's nodes; a node's
infos, vectors and transmissions; an info's transmissions. Each dependent's reason is its
parent's chained with the parent: ``reason->Participant p1->Node n3``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_, select, update

from heron.store import Store

TABLES = ("participant", "network", "node", "info", "transmission", "vector")
OBJECT_TYPES = {"Participant": "participant", "Network": "network", "Node": "node",
                "Info": "info", "Transmission": "transmission", "Vector": "vector"}
HIDDEN_COLUMNS = {"seq", "last_event_id"}


def statistics(store: Store, app: str) -> OrderedDict[str, Any]:
    """Dallinger's default monitoring statistics for ``app``."""
    from heron.store.queries.participants import summary

    t = {name: store.table(name) for name in TABLES}
    stats: OrderedDict[str, Any] = OrderedDict()
    with store.read() as conn:
        stats["Participants"] = {str(s): int(n) for s, n in conn.execute(
            select(t["participant"].c.status, func.count())
            .where(t["participant"].c.app == app).group_by(t["participant"].c.status))}
        network = t["network"]
        stats["Networks"] = {role: {"count": int(n), "failed": int(f or 0)} for role, n, f in
                             conn.execute(select(network.c.role, func.count(),
                                                 _failed(network))
                                          .where(network.c.app == app)
                                          .group_by(network.c.role))}
        for name, title in (("node", "Nodes"), ("info", "Infos")):
            table = t[name]
            n, f = conn.execute(select(func.count(), _failed(table))
                                .where(table.c.app == app)).one()
            stats[title] = {"count": int(n), "failed": int(f or 0)}
        transmission = t["transmission"]
        stats["Transmissions"] = {s: int(n) for s, n in conn.execute(
            select(transmission.c.status, func.count()).where(transmission.c.app == app)
            .group_by(transmission.c.status))}
    value = summary(store, app).yield_ if stats["Participants"] else None
    stats["Yield"] = "n/a" if value is None else f"{value * 100:.2f}%"
    return stats


def _failed(table: Any) -> Any:
    return func.sum(case((table.c.failed.is_(True), 1), else_=0))


def columns(store: Store, table: str) -> list[str]:
    return [c for c in store.table(table).c.keys() if c not in HIDDEN_COLUMNS]


def table_page(store: Store, app: str, table: str = "participant", *,
               polymorphic_identity: str | None = None, start: int = 0,
               length: int | None = None, search_value: str = "",
               order_column: str | int | None = None, order_dir: str = "asc",
               column_filters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rows of one record table, as DataTables' server-side protocol wants them.

    Global search is case-insensitive over every column; column filters are exact.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    t = store.table(table)
    names = columns(store, table)
    base = [t.c.app == app]
    if polymorphic_identity is not None and "type" in t.c:
        base.append(t.c.type == polymorphic_identity)
    filters = list(base)
    for name, value in (column_filters or {}).items():
        if name not in names:
            raise ValueError(f"unknown column {name!r} in {table}")
        column = t.c[name]
        # compare strings as they are, so an index on the column (ids) can serve the filter
        target = column if isinstance(column.type, String) else cast(column, String)
        filters.append(target == str(value))
    if search_value:
        needle = f"%{search_value.lower()}%"
        filters.append(or_(*(func.lower(cast(t.c[n], String)).like(needle) for n in names)))
    if isinstance(order_column, int):
        order_column = names[order_column] if 0 <= order_column < len(names) else None
    if order_column is not None and order_column not in names:
        raise ValueError(f"unknown column {order_column!r} in {table}")
    order = t.c[order_column] if order_column else t.c.seq
    query = select(*(t.c[n] for n in names)).where(and_(*filters))
    query = query.order_by(order.desc() if order_dir == "desc" else order.asc(), t.c.seq)
    if start:
        query = query.offset(max(0, int(start)))
    if length is not None and length >= 0:
        query = query.limit(int(length))
    with store.read() as conn:
        total = conn.execute(select(func.count()).select_from(t).where(and_(*base))).scalar()
        filtered = conn.execute(select(func.count()).select_from(t)
                                .where(and_(*filters))).scalar()
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["object_type"] = table.capitalize()
    return {"data": rows, "columns": [{"data": n, "title": n} for n in names],
            "total_count": int(total or 0), "filtered_count": int(filtered or 0)}


def fail(store: Store, app: str, items: list[dict[str, Any]],
         reason: str = "failed from the dashboard") -> dict[str, int]:
    """Fail each selected record not failed yet, with its dependents; counts per type."""
    counts: dict[str, int] = {}
    now = time.time()
    with store.write() as conn:
        def mark(table: str, key: str, ident: str, why: str) -> bool:
            t = store.table(table)
            done = conn.execute(update(t).where(t.c.app == app, t.c[key] == ident,
                                                t.c.failed.is_(False))
                                .values(failed=True, failed_reason=why, failed_ts=now))
            return done.rowcount == 1

        def ids(table: str, key: str, *conditions: Any) -> list[str]:
            t = store.table(table)
            return list(conn.execute(select(t.c[key]).where(t.c.app == app, *conditions))
                        .scalars())

        def cascade(table: str, ident: str, why: str, top: bool) -> None:
            key = f"{table}_id"
            if not mark(table, key, ident, why):
                return
            if top:
                label = table.capitalize()
                counts[label] = counts.get(label, 0) + 1
            why = f"{why}->{table.capitalize()}{ident}"
            node, info = store.table("node"), store.table("info")
            vector, trans = store.table("vector"), store.table("transmission")
            if table in ("participant", "network"):
                column = node.c.participant_id if table == "participant" else node.c.network_id
                for child in ids("node", "node_id", column == ident):
                    cascade("node", child, why, False)
            elif table == "node":
                for child in ids("info", "info_id", info.c.origin_id == ident):
                    cascade("info", child, why, False)
                for child in ids("vector", "vector_id", or_(vector.c.origin_id == ident,
                                                           vector.c.destination_id == ident)):
                    cascade("vector", child, why, False)
                for child in ids("transmission", "transmission_id",
                                 or_(trans.c.origin_id == ident,
                                     trans.c.destination_id == ident)):
                    cascade("transmission", child, why, False)
            elif table == "info":
                for child in ids("transmission", "transmission_id", trans.c.info_id == ident):
                    cascade("transmission", child, why, False)

        for item in items:
            table = OBJECT_TYPES.get(str(item.get("object_type")))
            if table is None or item.get("id") is None:
                raise ValueError(f"cannot fail {item!r}: give an id and an object_type "
                                 f"({', '.join(OBJECT_TYPES)})")
            cascade(table, str(item["id"]), reason, True)
    return counts


SORTS = ("id", "newest", "size", "role")


def network_structure(store: Store, app: str, *, network_roles: list[str] | None = None,
                      network_ids: list[str] | None = None, collapsed: bool = False,
                      include_failed: bool = True, search: str | None = None,
                      sort: str = "id", top: int | None = None,
                      expand: list[str] | None = None, participant_id: str | None = None,
                      max_nodes: int = 2_000) -> dict[str, Any]:
    """Dallinger's ``network_structure``: networks with their nodes, vectors, infos,
    participants and transmissions (``trans``), filtered by role and id.

    Beyond Dallinger: ``search`` matches network ids and roles (case-insensitive); ``sort``
    is ``id`` (creation order), ``newest``, ``size`` (most nodes first) or ``role``; ``top``
    keeps the first N networks after sorting; ``participant_id`` keeps that participant's
    nodes and the networks holding them. Every network carries ``node_count``.

    ``collapsed`` keeps only the networks (no nodes), as in Dallinger. When the selected
    networks hold more than ``max_nodes`` nodes, the answer is ``clustered``: networks
    without their nodes, except those listed in ``expand`` (still at most ``max_nodes``
    nodes, ``truncated`` saying when more were left out), so a page with thousands of
    networks draws boxes a person can open one at a time instead of hanging.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; sorts: {', '.join(SORTS)}")
    if top is not None and top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    t = {name: store.table(name) for name in TABLES}
    net, node = t["network"], t["node"]
    size_query = select(node.c.network_id, func.count().label("node_count")).where(
        node.c.app == app)
    if not include_failed:
        size_query = size_query.where(node.c.failed.is_(False))
    sizes = size_query.group_by(node.c.network_id).subquery()
    node_count = func.coalesce(sizes.c.node_count, 0).label("node_count")
    query = (select(net, node_count)
             .select_from(net.outerjoin(sizes, sizes.c.network_id == net.c.network_id))
             .where(net.c.app == app))
    if network_roles:
        query = query.where(net.c.role.in_(network_roles))
    if network_ids:
        query = query.where(net.c.network_id.in_([str(i) for i in network_ids]))
    if not include_failed:
        query = query.where(net.c.failed.is_(False))
    if participant_id:
        query = query.where(net.c.network_id.in_(
            select(node.c.network_id).where(node.c.app == app,
                                            node.c.participant_id == str(participant_id))))
    if search:
        needle = f"%{search.lower()}%"
        query = query.where(or_(func.lower(net.c.network_id).like(needle),
                                func.lower(net.c.role).like(needle)))
    order = {"id": [net.c.seq], "newest": [net.c.seq.desc()],
             "size": [node_count.desc(), net.c.seq], "role": [net.c.role, net.c.seq]}[sort]
    with store.read() as conn:
        total_networks = conn.execute(
            select(func.count()).select_from(query.subquery())).scalar() or 0
        if top is not None:
            query = query.limit(top)
        networks = [dict(r._mapping) for r in conn.execute(query.order_by(*order))]
        out: dict[str, Any] = {"networks": networks, "nodes": [], "vectors": [], "infos": [],
                               "participants": [], "trans": [], "truncated": False,
                               "clustered": False, "total_networks": int(total_networks),
                               "total_nodes": sum(n["node_count"] for n in networks)}
        if collapsed or not networks:
            return out
        ids = [n["network_id"] for n in networks]
        if out["total_nodes"] > max_nodes:
            out["clustered"] = True
            wanted = {str(i) for i in expand or ()}
            ids = [i for i in ids if i in wanted]
        node_query = select(node).where(node.c.app == app, node.c.network_id.in_(ids))
        if not include_failed:
            node_query = node_query.where(node.c.failed.is_(False))
        if participant_id:
            node_query = node_query.where(node.c.participant_id == str(participant_id))
        nodes = [dict(r._mapping) for r in conn.execute(
            node_query.order_by(node.c.seq).limit(max_nodes + 1))] if ids else []
        out["truncated"] = len(nodes) > max_nodes
        nodes = nodes[:max_nodes]
        out["nodes"] = nodes
        node_ids = [n["node_id"] for n in nodes]

        def related(name: str, *conditions: Any) -> list[dict[str, Any]]:
            table = t[name]
            rows: list[dict[str, Any]] = []
            for start in range(0, len(node_ids), 500):
                chunk = node_ids[start:start + 500]
                q = select(table).where(table.c.app == app, or_(*(c(table, chunk)
                                                                   for c in conditions)))
                if not include_failed:
                    q = q.where(table.c.failed.is_(False))
                rows.extend(dict(r._mapping) for r in conn.execute(q))
            unique = {r["seq"]: r for r in rows}
            return list(unique.values())

        out["vectors"] = related("vector", lambda tb, c: tb.c.origin_id.in_(c),
                                 lambda tb, c: tb.c.destination_id.in_(c))
        out["infos"] = related("info", lambda tb, c: tb.c.origin_id.in_(c))
        out["trans"] = related("transmission", lambda tb, c: tb.c.origin_id.in_(c),
                               lambda tb, c: tb.c.destination_id.in_(c))
        participant_ids = sorted({n["participant_id"] for n in nodes if n["participant_id"]})
        participant = t["participant"]
        for start in range(0, len(participant_ids), 500):
            out["participants"].extend(dict(r._mapping) for r in conn.execute(
                select(participant).where(participant.c.app == app,
                                          participant.c.participant_id.in_(
                                              participant_ids[start:start + 500]))))
    return out


def locate_network(store: Store, app: str, object_type: str, obj_id: str) -> str | None:
    """The network a record belongs to (through its node for infos and transmissions)."""
    table_name = OBJECT_TYPES[object_type]
    if table_name == "network":
        return obj_id
    t = store.table(table_name)
    node = store.table("node")
    key = t.c[f"{table_name}_id"]
    with store.read() as conn:
        if table_name in ("node", "vector"):
            return conn.execute(select(t.c.network_id).where(t.c.app == app, key == obj_id)
                                ).scalar()
        if table_name == "participant":
            return conn.execute(select(node.c.network_id).where(
                node.c.app == app, node.c.participant_id == obj_id).limit(1)).scalar()
        origin = conn.execute(select(t.c.origin_id).where(t.c.app == app, key == obj_id)
                              ).scalar()
        if origin is None:
            return None
        return conn.execute(select(node.c.network_id).where(
            node.c.app == app, node.c.node_id == origin)).scalar()


def change_mark(store: Store, app: str) -> tuple[int, float]:
    """A value that changes whenever an experiment record of ``app`` is written: the count
    of its experiment events and the time the last one arrived (from ingest's counters, so
    asking every second costs one indexed read, whatever the size of the experiment)."""
    counts = store.table("app_kind")
    with store.read() as conn:
        n, last = conn.execute(
            select(func.coalesce(func.sum(counts.c.count), 0),
                   func.coalesce(func.max(counts.c.last_received_at), 0.0))
            .where(counts.c.app == app, counts.c.kind.in_(TABLES))).one()
    return int(n), float(last)
