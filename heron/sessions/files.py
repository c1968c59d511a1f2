"""The session folder's files: atomic JSON state files, the log format, git revisions."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

METADATA = "launcher_metadata"


def write_text(path: Path, text: str) -> None:
    """Write a file atomically (temp file + rename): a crash leaves the old file or the new
    one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    """:func:`write_text` of indented JSON."""
    write_text(path, json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


class IsoFormatter(logging.Formatter):
    """``2026-11-23T14:05:09.123+01:00 INFO stimulus: started``: ISO time with its zone."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created).astimezone().isoformat(
            timespec="milliseconds")


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_revision(path: Path) -> dict[str, Any]:
    """Remote, commit, branch and dirty flag of the repository holding ``path``."""
    folder = path if path.is_dir() else path.parent
    root = _git(folder, "rev-parse", "--show-toplevel")
    if root is None:
        return {"path": str(path), "repository": None}
    status = _git(folder, "status", "--porcelain")
    return {
        "path": str(path), "repository": root,
        "remote": _git(folder, "config", "--get", "remote.origin.url"),
        "commit": _git(folder, "rev-parse", "HEAD"),
        "branch": _git(folder, "rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }
