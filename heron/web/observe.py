"""Who else wants to know which endpoints were requested: heron's pytest plugin, to tell
which endpoints each test covers (:mod:`heron.testmonitor`).

Empty outside a test run; the monitor reads the slot once per recorded request.
"""

from __future__ import annotations

from collections.abc import Callable

#: Called with (app id, endpoint, app version) for every request the monitor records.
observer: Callable[[str, str, str | None], None] | None = None
