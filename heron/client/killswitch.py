"""The kill switch: ``{"disable_all": true}`` in a watched JSON file, or HERON_DISABLE_ALL.

The file is checked lazily, from the calls that need the answer, at most once a second
(one ``os.stat`` when the second is up; the file is re-read only when its mtime or size
changed). No thread, no busy loop. A file that does not parse (half written by an editor)
keeps the last good setting.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from platformdirs import user_config_dir

logger = logging.getLogger("heron")

CHECK_INTERVAL = 1.0


def default_path() -> Path:
    return Path(user_config_dir("heron")) / "client_config.json"


class KillSwitch:
    """Answers :meth:`disabled` from the environment setting and the watched file."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, forced: bool = False):
        self.path = Path(path) if path is not None else default_path()
        self.forced = forced
        self._file_disabled = False
        self._next_check = 0.0
        self._stamp: tuple[float, int] | None = None
        self._lock = threading.Lock()

    def disabled(self) -> bool:
        if self.forced:
            return True
        now = time.monotonic()
        if now >= self._next_check:
            self._check(now)
        return self._file_disabled

    def _check(self, now: float) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is checking; use the current answer
        try:
            self._next_check = now + CHECK_INTERVAL
            try:
                st = os.stat(self.path)
            except OSError:
                if self._stamp is not None:
                    logger.info("heron kill switch file %s is gone: recording", self.path)
                self._stamp = None
                self._file_disabled = False
                return
            stamp = (st.st_mtime, st.st_size)
            if stamp == self._stamp:
                return
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                value = data["disable_all"] if isinstance(data, dict) else None
                if not isinstance(value, bool):
                    raise ValueError('"disable_all" must be true or false')
            except (OSError, ValueError, KeyError) as exc:
                logger.warning("heron kill switch file %s is not valid (%s); keeping the "
                               "last setting (disable_all=%s)", self.path, exc,
                               self._file_disabled)
                return  # retry after CHECK_INTERVAL; the stamp is not taken
            self._stamp = stamp
            if value != self._file_disabled:
                logger.warning("heron kill switch: disable_all=%s (from %s)", value, self.path)
            self._file_disabled = value
        finally:
            self._lock.release()
