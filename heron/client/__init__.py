"""The instrumentation client: runs and sub-runs, ``export()``, the kill switch."""

from __future__ import annotations

from heron.client.context import ContextThread, Run, current_run, current_run_id, run, sub_run
from heron.client.export import export

__all__ = ["ContextThread", "Run", "current_run", "current_run_id", "export", "run", "sub_run"]
