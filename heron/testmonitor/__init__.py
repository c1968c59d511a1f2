"""The Test Monitor: a service's tests timed per build, with the endpoints each covers.

:mod:`heron.testmonitor.plugin` is the pytest plugin (``pytest --heron-url ...``),
:mod:`heron.testmonitor.ci` finds the build, :mod:`heron.testmonitor.upload` writes the
local report and sends the results; the dashboard's "Test Monitor" tab shows them
(:mod:`heron.store.queries.testmonitor`). See ``docs/testmonitor.md``.
"""
