"""What the dashboard needs from the app it is mounted in: the store and the config."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from heron.config import Config
from heron.store import Store


@dataclass
class HeronState:
    store: Store
    config: Config
    extras: dict[str, Any] = field(default_factory=dict)
    #: Set when the server shuts down, so long-lived responses (event streams) end at once
    #: instead of holding the shutdown for their full length.
    closing: threading.Event = field(default_factory=threading.Event)


def attach(app: Flask, store: Store, config: Config) -> HeronState:
    state = HeronState(store, config)
    app.extensions["heron"] = state
    return state


def state() -> HeronState:
    """The heron state of the current Flask app."""
    try:
        return current_app.extensions["heron"]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError(
            "heron's dashboard is not set up on this app; create the app with "
            "heron.server.create_app() or mount it with heron.dashboard.init_app(app, ...)"
        ) from None
