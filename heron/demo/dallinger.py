"""The demo's Dallinger experiment: a database laid out like Dallinger's (SQLite here),
filled by a simulated Dallinger server, and watched by heron's Dallinger adapter exactly as
a real one would be (``heron watch-dallinger``), under app ``dallinger-chain``."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    update,
)

from heron.experiment.dallinger import DallingerSource

APP = "dallinger-chain"


def _shared() -> list[Column]:
    return [Column("id", Integer, primary_key=True),
            Column("creation_time", DateTime, nullable=False),
            Column("property1", String(256)), Column("details", JSON),
            Column("failed", Boolean, nullable=False, default=False),
            Column("failed_reason", String(250)), Column("time_of_death", DateTime)]


def dallinger_tables(metadata: MetaData) -> dict[str, Table]:
    """Dallinger's six tables (the columns heron reads)."""
    return {
        "participant": Table("participant", metadata, *_shared(),
                             Column("worker_id", String(50)), Column("assignment_id", String(50)),
                             Column("unique_id", String(50)), Column("mode", String(50)),
                             Column("end_time", DateTime), Column("base_pay", Float),
                             Column("bonus", Float), Column("status", String(50),
                                                            nullable=False)),
        "network": Table("network", metadata, *_shared(), Column("max_size", Integer),
                         Column("full", Boolean, default=False), Column("role", String(26))),
        "node": Table("node", metadata, *_shared(), Column("type", String(50)),
                      Column("network_id", Integer), Column("participant_id", Integer)),
        "vector": Table("vector", metadata, *_shared(), Column("origin_id", Integer),
                        Column("destination_id", Integer), Column("network_id", Integer)),
        "info": Table("info", metadata, *_shared(), Column("type", String(50)),
                      Column("origin_id", Integer), Column("network_id", Integer),
                      Column("contents", Text)),
        "transmission": Table("transmission", metadata, *_shared(),
                              Column("info_id", Integer), Column("origin_id", Integer),
                              Column("destination_id", Integer), Column("network_id", Integer),
                              Column("status", String(20), default="pending")),
    }


class DemoDallinger:
    """A transmission-chain experiment advancing every few seconds, and heron watching."""

    def __init__(self, path: Path, *, seed: int | None = None):
        self.url = f"sqlite:///{path}"
        path.unlink(missing_ok=True)
        self.engine = create_engine(self.url)
        metadata = MetaData()
        self.t = dallinger_tables(metadata)
        metadata.create_all(self.engine)
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self.source = DallingerSource(self.url, APP, interval=2.0)
        with self.engine.begin() as conn:
            for role in ("practice", "experiment", "experiment"):
                conn.execute(insert(self.t["network"]).values(
                    creation_time=_now(), max_size=6, role=role, full=False, failed=False))

    def step(self) -> None:
        """A participant arrives, makes a node passing an info down its chain; someone
        earlier finishes."""
        t = self.t
        now = _now()
        with self.engine.begin() as conn:
            n = conn.execute(select(t["participant"].c.id)).all()
            pid = conn.execute(insert(t["participant"]).values(
                creation_time=now, worker_id=f"W{len(n) + 1:04d}",
                assignment_id=f"A{len(n) + 1:04d}", mode="live", base_pay=1.5,
                status="working", failed=False, details={"condition": self.rng.choice("AB")})
            ).inserted_primary_key[0]
            networks = conn.execute(select(t["network"].c.id, t["network"].c.max_size)
                                    .where(t["network"].c.full.is_(False))).all()
            if networks:
                network_id, max_size = self.rng.choice(networks)
                chain = conn.execute(select(t["node"].c.id).where(
                    t["node"].c.network_id == network_id).order_by(t["node"].c.id)).all()
                node_id = conn.execute(insert(t["node"]).values(
                    creation_time=now, type="agent", network_id=network_id,
                    participant_id=pid, failed=False)).inserted_primary_key[0]
                info_id = conn.execute(insert(t["info"]).values(
                    creation_time=now, type="story", origin_id=node_id,
                    network_id=network_id, failed=False,
                    contents=self.rng.choice(["a fox", "the fox", "a red fox", "foxes"]))
                ).inserted_primary_key[0]
                if chain:
                    previous = chain[-1][0]
                    conn.execute(insert(t["vector"]).values(
                        creation_time=now, origin_id=previous, destination_id=node_id,
                        network_id=network_id, failed=False))
                    conn.execute(insert(t["transmission"]).values(
                        creation_time=now, info_id=info_id, origin_id=previous,
                        destination_id=node_id, network_id=network_id, failed=False,
                        status=self.rng.choice(["pending", "received"])))
                if len(chain) + 1 >= max_size:
                    conn.execute(update(t["network"]).where(t["network"].c.id == network_id)
                                 .values(full=True))
            working = conn.execute(select(t["participant"].c.id).where(
                t["participant"].c.status == "working")).all()
            if len(working) > 3:
                done = self.rng.choice(working)[0]
                conn.execute(update(t["participant"]).where(t["participant"].c.id == done)
                             .values(status=self.rng.choice(["approved"] * 4 + ["returned"]),
                                     end_time=now, bonus=round(self.rng.uniform(0, 1), 2)))

    def start(self, every: float = 5.0) -> None:
        def loop() -> None:
            while not self._stop.wait(every):
                try:
                    self.step()
                except Exception:  # noqa: BLE001 - the demo goes on
                    import logging

                    logging.getLogger("heron.demo").exception("Dallinger demo step failed")

        self.step()
        threading.Thread(target=loop, name="heron-demo-dallinger", daemon=True).start()
        self.source.start()

    def stop(self) -> None:
        self._stop.set()
        self.source.stop()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # Dallinger stores naive UTC
