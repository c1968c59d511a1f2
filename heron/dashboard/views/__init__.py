"""heron's own dashboard pages, one module per page; importing registers them."""

from heron.dashboard.views import auth, home, runs  # noqa: F401, I001
from heron.dashboard.views import database, monitoring, users  # noqa: F401, E402  (tab order)
from heron.dashboard.views import endpoints, sessions  # noqa: F401, E402
from heron.dashboard.views import logs  # noqa: F401, E402
from heron.dashboard.views import alerts  # noqa: F401, E402  (its tab follows Logs)
