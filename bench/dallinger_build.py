"""Build a Dallinger experiment database with Dallinger's own models (run by
``bench/dallinger_watch.py`` in the virtualenv that has ``dallinger`` installed, never in
heron's).

    python bench/dallinger_build.py DATABASE_URL SCHEMA PARTICIPANTS INFOS_PER_NODE
    python bench/dallinger_build.py DATABASE_URL SCHEMA --change N   # N updates + N inserts

Tables come from Dallinger's metadata (``dallinger.db.Base``), rows are written through its
models' tables, in bulk: one network per 50 participants, one node per participant, and
``INFOS_PER_NODE`` infos per node, with questions, vectors and transmissions along.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta

from sqlalchemy import create_engine, text


def engine_for(url: str, schema: str):  # type: ignore[no-untyped-def]
    return create_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def build(url: str, schema: str, participants: int, infos_per_node: int) -> None:
    import dallinger.models as m
    from dallinger.db import Base

    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = engine_for(url, schema)
    Base.metadata.create_all(engine)
    rng = random.Random(1)
    start = datetime.utcnow() - timedelta(days=1)
    t0 = time.perf_counter()
    networks = max(1, participants // 50)
    chunk = 5_000
    with engine.begin() as conn:
        conn.execute(m.Network.__table__.insert(), [
            {"creation_time": start, "type": "chain", "max_size": 50, "full": False,
             "role": rng.choice(["experiment", "practice"]), "details": {}}
            for _ in range(networks)])
        for first in range(0, participants, chunk):
            n = min(chunk, participants - first)
            conn.execute(m.Participant.__table__.insert(), [
                {"creation_time": start + timedelta(seconds=first + i), "type": "participant",
                 "worker_id": f"W{first + i}", "assignment_id": f"A{first + i}",
                 "unique_id": f"W{first + i}:A{first + i}", "hit_id": "H1", "mode": "live",
                 "status": rng.choice(["working", "submitted", "approved", "approved",
                                       "returned"]), "base_pay": 1.5, "details": {}}
                for i in range(n)])
            conn.execute(m.Node.__table__.insert(), [
                {"creation_time": start + timedelta(seconds=first + i), "type": "agent",
                 "network_id": (first + i) % networks + 1, "participant_id": first + i + 1,
                 "details": {}} for i in range(n)])
            conn.execute(m.Question.__table__.insert(), [
                {"creation_time": start + timedelta(seconds=first + i), "type": "question",
                 "participant_id": first + i + 1, "number": 1, "question": "engagement",
                 "response": str(rng.randint(1, 7)), "details": {}} for i in range(n)])
        nodes = participants
        for first in range(0, nodes * infos_per_node, chunk):
            n = min(chunk, nodes * infos_per_node - first)
            conn.execute(m.Info.__table__.insert(), [
                {"creation_time": start + timedelta(seconds=(first + i) // infos_per_node),
                 "type": "info", "origin_id": (first + i) // infos_per_node + 1,
                 "network_id": ((first + i) // infos_per_node) % networks + 1,
                 "contents": rng.choice(["red", "blue"]), "details": {}} for i in range(n)])
    with engine.connect() as conn:
        rows = sum(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                   for t in ("participant", "network", "node", "info", "question"))
    print(f"built {rows:,} rows with Dallinger's models in {time.perf_counter() - t0:.1f} s")


def change(url: str, schema: str, n: int) -> None:
    """``n`` participants approved and ``n`` new ones, in one transaction (as Dallinger's
    server would in a busy moment)."""
    import dallinger.models as m

    engine = engine_for(url, schema)
    with engine.begin() as conn:
        conn.execute(text("UPDATE participant SET status = 'approved' WHERE id IN "
                          "(SELECT id FROM participant WHERE status = 'working' LIMIT :n)"),
                     {"n": n})
        conn.execute(m.Participant.__table__.insert(), [
            {"creation_time": datetime.utcnow(), "type": "participant",
             "worker_id": f"NEW{i}", "assignment_id": f"NEWA{i}",
             "unique_id": f"NEW{i}:NEWA{i}", "hit_id": "H1", "mode": "live",
             "status": "working", "details": {}} for i in range(n)])


if __name__ == "__main__":
    if sys.argv[3] == "--change":
        change(sys.argv[1], sys.argv[2], int(sys.argv[4]))
    else:
        build(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
