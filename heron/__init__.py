"""heron: self-hosted monitoring for live experiments and the Python services behind them.

The public API is what this module exports; everything else is internal.
"""

from heron.api import emit, flush, init, shutdown
from heron.web import bind

__version__ = "0.1.0"

__all__ = ["__version__", "bind", "emit", "flush", "init", "shutdown"]
