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

# Installs a package whose own service must not start (the tests run their own daemons):
# policy-rc.d refuses every service start while the package installs.
install_without_service() { # install_without_service <debian-package>
  if [ "$apt_updated" -eq 0 ]; then log "apt-get update"; as_root apt-get update -qq; apt_updated=1; fi
  log "installing $1"
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null
  if [ "$made_policy" -eq 1 ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
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

# Docker engine (Debian's docker.io) for the docker driver's tests, on its default socket, with no
# network bridge and no iptables rules: workspace containers run with NetworkMode none, and nothing
# here may own a private address (DESIGN.md §10). /usr/local/bin/docker on this kind of machine is
# a client only, so the check is for dockerd. The package is installed without its Recommends
# (apparmor would make dockerd load profiles, needrestart asks questions), and with a policy-rc.d
# that forbids starting services while installing, so its init script never starts a daemon with
# the default (bridged, iptables) settings.
DOCKER_SOCK=/var/run/docker.sock
DOCKERD_LOG=/var/log/rc-dockerd.log
docker_answers() { docker -H "unix://$DOCKER_SOCK" info >/dev/null 2>&1; }
if ! command -v dockerd >/dev/null 2>&1; then
  install_without_service docker.io
fi
# debootstrap makes the root filesystem of the locally built workspace test image
# (test/support/workspaceImage.ts), since no registry can be pulled.
need_pkg debootstrap debootstrap
# dockerd starts its containerd with a parent-death signal. After a dockerd is killed, the dead
# containerd can stay a zombie for a while (PID 1 here is slow to reap), and a new dockerd that
# finds its pid in containerd.pid takes it for a running containerd and waits on it until it gives
# up ("timeout waiting for containerd to start"). A pidfile naming no live containerd is dropped.
drop_stale_containerd_pidfile() { # <pidfile>
  [ -f "$1" ] || return 0
  local pid state
  pid=$(cat "$1")
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
  if [ -z "$state" ] || [ "$state" = Z ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != containerd ]; then
    as_root rm -f "$1"
  fi
}
if ! docker_answers; then
  drop_stale_containerd_pidfile /var/run/docker/containerd/containerd.pid
  log "starting dockerd (log: $DOCKERD_LOG)"
  # setsid -f + nohup: the daemon runs in a session of its own and outlives this script and npm.
  as_root setsid -f nohup dockerd --bridge=none --iptables=false --ip6tables=false -H "unix://$DOCKER_SOCK" \
    >>"$DOCKERD_LOG" 2>&1 </dev/null
  for _ in $(seq 1 60); do docker_answers && break; sleep 1; done
  if ! docker_answers; then
    log "dockerd did not answer on $DOCKER_SOCK within 60 s; the end of $DOCKERD_LOG:"
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    exit 1
  fi
fi

# gVisor (Debian's runsc, a 2022 build on the ptrace platform) as a second OCI runtime, so the
# docker driver's suites also run with runtime.docker.runtime: runsc. `runtimes` is one of the
# options dockerd reloads on SIGHUP, so the runtime is merged into /etc/docker/daemon.json (other
# keys kept) and the daemon reloads it without a restart: other test runs use it at the same time.
# The daemon above runs without --config-file, so that file is the one it reloads. The runtime
# arguments are RUNSC_ARGS of test/support/dockerDaemons.ts (the extra daemons get the same).
need_pkg runsc runsc
runsc_listed() { docker -H "unix://$DOCKER_SOCK" info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; }
changed=$(as_root env RUNSC_PATH="$(command -v runsc)" node -e '
  const fs = require("node:fs");
  const file = "/etc/docker/daemon.json";
  const config = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  // No network: workspace containers have none (NetworkMode none), and runsc refuses to set one up
  // here. host-uds=open: the agent connects to the control plane on a bound unix socket.
  const want = { path: process.env.RUNSC_PATH, runtimeArgs: ["--network=none", "--host-uds=open"] };
  if (JSON.stringify(config.runtimes?.runsc) === JSON.stringify(want)) process.exit(0);
  config.runtimes = { ...config.runtimes, runsc: want };
  fs.mkdirSync("/etc/docker", { recursive: true });
  fs.writeFileSync(`${file}.new`, `${JSON.stringify(config, null, 2)}\n`);
  fs.renameSync(`${file}.new`, file);
  console.log("changed");
')
if [ "$changed" = changed ] || ! runsc_listed; then
  log "registering runsc with dockerd (SIGHUP, no restart)"
  as_root kill -HUP "$(cat /var/run/docker.pid)"
  for _ in $(seq 1 20); do runsc_listed && break; sleep 0.5; done
  if ! runsc_listed; then
    log "dockerd did not take the runsc runtime from /etc/docker/daemon.json; the end of $DOCKERD_LOG:"
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    exit 1
  fi
fi

# HAProxy, the session router the replica tests put in front of several control planes
# (test/support/loadBalancer.ts runs its own instance per test on loopback).
if ! command -v haproxy >/dev/null 2>&1; then
  if [ "$apt_updated" -eq 0 ]; then log "apt-get update"; as_root apt-get update -qq; apt_updated=1; fi
  install_without_service haproxy
fi
# nginx, the second session router those tests run (loadBalancer.ts `kind: 'nginx'`): Debian's
# package, no service started; each test runs its own instance in the foreground on loopback.
if [ ! -x /usr/sbin/nginx ]; then
  install_without_service nginx
fi

log "ready"
