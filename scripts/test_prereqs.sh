#!/usr/bin/env bash
# What `make test` needs beyond its virtualenv, brought here so a fresh machine passes with
# `make test` alone: Debian's Chromium for the browser tests (never a browser Playwright
# downloads), Debian's Prometheus for the /metrics tests, and a running PostgreSQL for the
# store tests. Where it cannot bring one, it
# stops at once with one line saying what to run.
set -euo pipefail

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "make test: installing Chromium for the browser tests (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "make test: the browser tests need Chromium at /usr/bin/chromium; run: sudo apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
fi

# Debian's Prometheus for the /metrics tests (a real server scraping heron)
if ! command -v prometheus >/dev/null && [ ! -x /usr/bin/prometheus ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "make test: installing Prometheus for the /metrics tests (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    # the package's own service is not wanted: the tests start their own on 127.0.0.1
    pkill -x prometheus 2>/dev/null || true
  else
    echo "make test: the /metrics tests need Prometheus; run: sudo apt-get install -y prometheus" >&2
    exit 1
  fi
fi

# Debian's HAProxy for the fleet test (two heron servers behind a real load balancer)
if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "make test: installing HAProxy for the fleet test (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null
    # the package's own service is not wanted: the test starts its own on 127.0.0.1
    pkill -x haproxy 2>/dev/null || true
  else
    echo "make test: the fleet test needs HAProxy; run: sudo apt-get install -y haproxy" >&2
    exit 1
  fi
fi

# The store tests run on PostgreSQL too: HERON_TEST_POSTGRES_URL, or the local cluster.
if [ -z "${HERON_TEST_POSTGRES_URL:-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ "$(id -u)" = 0 ]; then
    echo "make test: starting the local PostgreSQL cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort | tail -1)" main start
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "make test: PostgreSQL is not running on 127.0.0.1:5432; start it (sudo pg_ctlcluster \$(ls /etc/postgresql) main start) or set HERON_TEST_POSTGRES_URL" >&2
    exit 1
  fi
fi
