#!/usr/bin/env bash
# Check the README's promise on this machine: from a fresh clone, with Chromium removed and
# PostgreSQL stopped, `make test` brings both back (scripts/test_prereqs.sh) and passes.
#
# It changes the machine (it removes Debian's chromium packages and stops the local
# PostgreSQL cluster before `make test` puts them back): run it on a test machine, as root.
# Usage: scripts/check_fresh_machine.sh [REV]   (default: HEAD of this checkout)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rev="${1:-HEAD}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

git clone -q "$repo" "$work/heron"
git -C "$work/heron" checkout -q "$rev"

echo "check: removing Chromium and stopping PostgreSQL, as on a fresh machine"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq chromium chromium-driver >/dev/null
version="$(ls /etc/postgresql | sort | tail -1)"
pg_ctlcluster --skip-systemctl-redirect "$version" main stop || true
if [ -x /usr/bin/chromium ] || pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "check: could not take Chromium or PostgreSQL away" >&2
  exit 1
fi

started=$(date +%s)
(cd "$work/heron" && make test)
echo "check: make test passed from a fresh clone in $(( $(date +%s) - started )) s," \
     "with Chromium and PostgreSQL brought back"
[ -x /usr/bin/chromium ] && pg_isready -q -h 127.0.0.1 -p 5432
