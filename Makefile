# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install vendor clean bench compat screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,demo]'
	touch $(STAMP)

install: $(STAMP)

# `make demo PORT=8080` (or HERON_PORT=8080) serves the demo on another port
demo: $(STAMP)
	$(BIN)/heron demo $(if $(PORT),--port $(PORT))

# The real OpenTelemetry SDK, for the OTLP tests only (tests/integration/test_otlp.py):
# never a heron dependency, so it lives in its own environment.
OTEL_VENV := .venv-otel
$(OTEL_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(OTEL_VENV)
	$(OTEL_VENV)/bin/pip install --quiet --upgrade pip
	$(OTEL_VENV)/bin/pip install --quiet opentelemetry-sdk==1.45.1 \
		opentelemetry-exporter-otlp-proto-http==1.45.1 \
		opentelemetry-instrumentation-flask==0.66b1 flask
	touch $(OTEL_VENV)/.installed

test: $(STAMP) $(OTEL_VENV)/.installed
	scripts/test_prereqs.sh
	$(BIN)/ruff check heron tests bench scripts
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit tests/integration tests/faults tests/browser

# Other projects' own test suites (Flask-Login, Flask-WTF, Flask's tutorial, FastAPI's
# tutorial on its newest release and on 0.136), plain and with heron attached at levels 1
# and 3: any difference fails (tests/compat/run.py).
compat: $(STAMP)
	$(BIN)/python tests/compat/run.py

# The demo's pages as PNG files in docs/img/ (README and docs/getting-started.md): runs
# `heron demo` on a free loopback port for a minute and photographs each tab in Chromium.
screenshots: $(STAMP)
	scripts/test_prereqs.sh
	$(BIN)/python scripts/screenshots.py --out docs/img

lint: $(STAMP)
	$(BIN)/ruff check heron tests bench scripts

# Benchmarks run in their own environment, where peers heron is measured against
# (opentelemetry-sdk, flask-monitoringdashboard) may be installed; they are never heron
# dependencies.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e '.[test]' opentelemetry-sdk flask-monitoringdashboard
	touch $(BENCH_VENV)/.installed

bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python bench/export_cost.py
	$(BENCH_VENV)/bin/python bench/delivery.py
	$(BENCH_VENV)/bin/python bench/request_overhead.py
	$(BENCH_VENV)/bin/python bench/bind_cost.py
	$(BENCH_VENV)/bin/python bench/dashboard_scale.py
	$(BENCH_VENV)/bin/python bench/dallinger_watch.py
	$(BENCH_VENV)/bin/python bench/database_paging.py
	$(BENCH_VENV)/bin/python bench/monitoring_graph.py
	$(BENCH_VENV)/bin/python bench/testmonitor_overhead.py

vendor:
	scripts/vendor_frontend.sh

clean:
	rm -rf $(VENV) $(OTEL_VENV) .venv-compat* .compat build *.egg-info
