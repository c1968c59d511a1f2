"""heron: self-hosted monitoring for live experiments and the Python services behind them.

The public API is what this module exports; everything else is internal.
"""

import typing as _typing

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


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'heron' has no attribute {name!r}")


__all__ = [
    "ContextThread", "Experiment", "LogHandler", "__version__", "bind", "current_run_id",
    "emit", "export", "flush", "init", "run", "session", "shutdown", "stats", "sub_run",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
