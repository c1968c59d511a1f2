"""heron's own dashboard pages, one module per page; importing registers them."""

from heron.dashboard.views import auth, home  # noqa: F401
