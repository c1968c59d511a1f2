"""heron's own dashboard pages, one module per page; importing registers them."""

from heron.dashboard.views import auth, database, home, runs, users  # noqa: F401
