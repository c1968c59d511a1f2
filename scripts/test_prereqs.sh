#!/usr/bin/env bash
# What `make test` needs beyond its virtualenv, brought here so a fresh machine passes with
# `make test` alone: Debian's Chromium for the browser tests (never a browser Playwright
# downloads), Debian's Prometheus for the /metrics tests, Debian's HAProxy for the fleet
# test, and a running PostgreSQL for the store tests. Where it cannot bring one, it
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

# A Debian service the tests start themselves on 127.0.0.1: PROGRAM (on PATH or at
# /usr/sbin or /usr/bin), its PACKAGE, and WHAT needs it. The package's own service is
# stopped after installing: the tests run their own.
need_service() {
  local program=$1 package=$2 what=$3
  if command -v "$program" >/dev/null || [ -x "/usr/sbin/$program" ] || [ -x "/usr/bin/$program" ]; then
    return
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "make test: installing $package for $what (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >/dev/null
    pkill -x "$program" 2>/dev/null || true
  else
    echo "make test: $what needs $package; run: sudo apt-get install -y $package" >&2
    exit 1
  fi
}

need_service prometheus prometheus "the /metrics tests (a real server scraping heron)"
need_service haproxy haproxy "the fleet test (two heron servers behind a real load balancer)"

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
