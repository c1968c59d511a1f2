"""Web service monitoring: bind a Flask app, or wrap any WSGI app.

Today: every request of a bound Flask app is recorded (endpoint, method, status the
client received, duration, version, IP) and the dashboard is mounted into the app.
"""

from __future__ import annotations

from heron.web.flask import bind

__all__ = ["bind"]
