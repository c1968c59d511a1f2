"""Process-wide client state: the kill switch in use."""

from __future__ import annotations

from heron.client.killswitch import KillSwitch

_switch: KillSwitch | None = None


def install(switch: KillSwitch | None) -> None:
    """Use ``switch`` from now on (``heron.init`` does this); None turns it off."""
    global _switch
    _switch = switch


def switch() -> KillSwitch | None:
    return _switch


def disabled() -> bool:
    """True while the kill switch says to record nothing."""
    s = _switch
    return s is not None and s.disabled()
