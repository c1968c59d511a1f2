"""heron: self-hosted monitoring for live experiments and the Python services behind them.

The public API is what this module exports; everything else is internal.
"""

from heron._version import __version__
from heron.api import init, shutdown, stats
from heron.client import ContextThread, current_run_id, export, run, sub_run
from heron.emitting import emit, flush
from heron.experiment.hooks import Experiment
from heron.logs.handler import LogHandler
from heron.sessions import session
from heron.web import bind

__all__ = [
    "ContextThread", "Experiment", "LogHandler", "__version__", "bind", "current_run_id",
    "emit", "export", "flush", "init", "run", "session", "shutdown", "stats", "sub_run",
]
