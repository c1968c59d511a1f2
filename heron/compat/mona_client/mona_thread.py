"""``MonaThread``: a thread that continues the context of the code that started it."""

from __future__ import annotations

from heron.client.context import ContextThread


class MonaThread(ContextThread):
    """mona-client's ``MonaThread``: heron's :class:`heron.ContextThread` under Mona's name
    (a plain ``threading.Thread`` starts with no context, as in Mona)."""


__all__ = ["MonaThread"]
