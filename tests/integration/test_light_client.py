"""A process that only sends stays light (issue 23): ``import heron``, ``heron.init(url=…)``
and a run of exports delivered to a live server load no SQLAlchemy, Alembic, Flask or the
dashboard; the store is imported only by a process that uses one."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from heron.store.queries.export import export_page

HEAVY = ["sqlalchemy", "alembic", "flask", "jinja2", "werkzeug", "psycopg", "gunicorn",
         "click", "rich", "heron.store", "heron.dashboard", "heron.web.flask"]

SENDER = textwrap.dedent("""
    import json, sys
    import heron

    heron.init(url=sys.argv[1], token="ingest-secret-1", app="light",
               spool_dir=sys.argv[2])
    with heron.run("train"):
        for step in range(50):
            heron.export({"loss": 1 / (step + 1)})
    delivered = heron.flush(30)
    loaded = sorted(m for m in sys.modules
                    if any(m == h or m.startswith(h + ".") for h in json.loads(sys.argv[3])))
    heron.shutdown()
    print(json.dumps({"delivered": delivered, "loaded": loaded,
                      "modules": len(sys.modules)}))
""")


def test_a_process_that_only_sends_loads_no_store_and_no_web_framework(  # type: ignore[no-untyped-def]
        live_server, store, tmp_path) -> None:
    done = subprocess.run([sys.executable, "-c", SENDER, live_server.url,
                           str(tmp_path / "spool"), json.dumps(HEAVY)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["delivered"] is True
    assert result["loaded"] == []
    exports = export_page(store, "export", app="light", limit=1000).items
    assert len(exports) == 50  # and every export reached the server


def test_a_process_with_a_local_store_imports_it_when_it_records(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = textwrap.dedent("""
        import sys
        import heron
        before = "sqlalchemy" in sys.modules
        heron.init(app="local", database=sys.argv[1])
        with heron.run("r"):
            heron.export({"x": 1.0})
        heron.flush(30)
        print(before, "sqlalchemy" in sys.modules, "heron.store" in sys.modules)
        heron.shutdown()
    """)
    done = subprocess.run([sys.executable, "-c", script, f"sqlite:///{tmp_path / 'h.db'}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["False", "True", "True"]
