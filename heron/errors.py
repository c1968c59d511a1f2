"""Exceptions heron raises into user code.

Everything heron raises on purpose derives from :class:`HeronError`, so
``except heron.errors.HeronError`` catches all of it::

    HeronError
    ├── ConfigError        a setting has a wrong type or value, or a config file is missing
    ├── EventError         an event does not have the shape of its kind
    ├── StoreError         the store cannot be opened or migrated
    ├── AuthError          a user, role or password is not acceptable
    └── NoRunError         sub_run() was called where no run is open

Errors say what is wrong and how to fix it, in one line.
"""

from __future__ import annotations


class HeronError(Exception):
    """Base class of every error heron raises on purpose."""


class ConfigError(HeronError, ValueError):
    """A setting has a wrong type or value, or a config file is missing."""


class EventError(HeronError, ValueError):
    """An event does not have the shape of its kind."""


class StoreError(HeronError):
    """The store cannot be opened or migrated."""


class AuthError(HeronError, ValueError):
    """A user name, role or password is not acceptable."""


class NoRunError(HeronError, RuntimeError):
    """``sub_run`` was called where no run is open."""
