"""heron: self-hosted monitoring for live experiments and the Python services behind them.

The public API is what this module exports; everything else is internal.
"""

import typing as _typing

from heron._internal import lazy_names as _lazy_names
from heron._version import __version__
from heron.api import init, shutdown, stats
from heron.client import ContextThread, current_run_id, export, run, sub_run
from heron.emitting import emit, flush

if _typing.TYPE_CHECKING:
    from heron.experiment.hooks import Experiment
    from heron.logs.handler import LogHandler
    from heron.sessions import session
    from heron.web import bind

#: Imported when first used: a process that only sends (``init(url=…)`` and exports)
#: never loads Flask, SQLAlchemy or the dashboard (issue 23).
_LAZY = {"Experiment": "heron.experiment.hooks", "LogHandler": "heron.logs.handler",
         "session": "heron.sessions", "bind": "heron.web"}

__getattr__, __dir__ = _lazy_names(globals(), _LAZY)

__all__ = [
    "ContextThread", "Experiment", "LogHandler", "__version__", "bind", "current_run_id",
    "emit", "export", "flush", "init", "run", "session", "shutdown", "stats", "sub_run",
]
