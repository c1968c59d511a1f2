"""PostgreSQL clusters of a test's own: a primary and a streaming replica of it.

The machine's shared cluster (127.0.0.1:5432) is left as it is: its pg_hba.conf allows no
replication connections. A test that needs replication makes its own primary with
Debian's ``initdb`` (trust on loopback, replication allowed), copies it with
``pg_basebackup -R`` into a replica on a second port, and stops both at the end.
PostgreSQL refuses to run as root, so as root the clusters run as the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import free_port


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL's server programs are not installed (initdb not found "
                           "under /usr/lib/postgresql/*/bin); apt-get install postgresql")
    return found[-1].parent


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class Cluster:
    folder: Path
    port: int
    log: Path
    started: bool = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        run([str(_bin_dir() / "pg_ctl"), "-D", str(self.folder), "-l", str(self.log), "-w",
             "-t", "60", "-o", f"-p {self.port} -k {self.folder.parent} "
             "-c listen_addresses=127.0.0.1 -c fsync=off", "start"])
        self.started = True

    def stop(self) -> None:
        if self.started:
            run([str(_bin_dir() / "pg_ctl"), "-D", str(self.folder), "-m", "fast", "-w",
                 "stop"], check=False)
            self.started = False

    def sql(self, statement: str) -> str:
        done = run([str(_bin_dir() / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                    "postgres", "-d", "postgres", "-Atc", statement])
        return done.stdout.strip()


@dataclass
class Replicated:
    primary: Cluster
    replica: Cluster
    folder: Path
    _done: list[str] = field(default_factory=list)

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        target = self.primary.sql("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.replica.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'") == "t":
                return
            time.sleep(0.05)
        raise AssertionError(f"the replica did not reach {target} in {timeout} s")

    def close(self) -> None:
        self.replica.stop()
        self.primary.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def run(args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(_as_owner(args), capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip()[-1500:]}")
    return done


def replicated(folder: Path) -> Replicated:
    """Start a primary and a streaming replica of it under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        for parent in folder.parents:  # the postgres user must reach the folder
            if str(parent) in ("/", "/tmp"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o711)
    primary = Cluster(folder / "primary", free_port(), folder / "primary.log")
    replica = Cluster(folder / "replica", free_port(), folder / "replica.log")
    pair = Replicated(primary, replica, folder)
    try:
        run([str(_bin_dir() / "initdb"), "-D", str(primary.folder), "-A", "trust", "-U",
             "postgres", "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"])
        primary.start()
        run([str(_bin_dir() / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
             "-U", "postgres", "-D", str(replica.folder), "-R", "-X", "stream",
             "--no-sync"])
        replica.start()
    except BaseException:
        pair.close()
        raise
    return pair
