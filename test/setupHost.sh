#!/usr/bin/env bash
# Installs and starts what the test suite needs on this machine. Idempotent: it installs a Debian
# package only when missing and starts a service only when it does not answer, and leaves alone
# anything already running. Called by `npm test`.
set -euo pipefail

log() { printf 'setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }

apt_updated=0
need_pkg() { # need_pkg <command-or-path> <debian-package>
  if command -v "$1" >/dev/null 2>&1 || [ -e "$1" ]; then return 0; fi
  if [ "$apt_updated" -eq 0 ]; then log "apt-get update"; as_root apt-get update -qq; apt_updated=1; fi
  log "installing $2"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# PostgreSQL on 127.0.0.1:5432 with trust auth and a database named "test".
PG_URL="${RC_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
need_pkg psql postgresql-client
if ! psql "$PG_URL" -Atqc 'select 1' >/dev/null 2>&1; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then need_pkg /usr/lib/postgresql postgresql; fi
  if ! psql 'postgres://postgres@127.0.0.1:5432/postgres' -Atqc 'select 1' >/dev/null 2>&1; then
    version=$(ls /etc/postgresql | sort -V | tail -n1)
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do
      psql 'postgres://postgres@127.0.0.1:5432/postgres' -Atqc 'select 1' >/dev/null 2>&1 && break
      sleep 1
    done
  fi
  if ! psql "$PG_URL" -Atqc 'select 1' >/dev/null 2>&1; then
    log "creating database test"
    psql 'postgres://postgres@127.0.0.1:5432/postgres' -qc 'create database test' >/dev/null 2>&1 || true
  fi
fi
psql "$PG_URL" -Atqc 'select 1' >/dev/null || { log "PostgreSQL at $PG_URL does not answer"; exit 1; }

# Debian's Chromium for the browser tests (driven by playwright-core; never a downloaded browser).
need_pkg /usr/bin/chromium chromium
# bubblewrap sandboxes the local runtime driver's workspaces (server/drivers/local).
need_pkg bwrap bubblewrap

# Schemas left behind by test runs that were killed (older than a day) are dropped.
psql "$PG_URL" -Atqc "select nspname from pg_namespace where nspname like 'rc_t_%'" 2>/dev/null | head -n 500 |
  while read -r schema; do
    pid=$(echo "$schema" | cut -d_ -f3)
    if ! kill -0 "$pid" 2>/dev/null; then psql "$PG_URL" -qc "drop schema if exists $schema cascade" >/dev/null 2>&1 || true; fi
  done

log "ready"
