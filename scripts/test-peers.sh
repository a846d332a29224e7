#!/usr/bin/env bash
# Installs and starts every peer the tests talk to (issue 18): the Debian
# packages (OpenLDAP's slapd, the third-party SOAP clients, Chromium, Lua)
# and the machine's PostgreSQL and Redis when they do not answer.
# CI (.ci/run) runs it before `npm test`; a developer runs it once, as root,
# and then nothing in `npm test` is skipped. test/support/peers.ts is the
# list the tests check; keep the two in step.
set -euo pipefail

packages=(slapd ldap-utils python3-zeep libsoap-lite-perl php-cli php-soap chromium lua5.4)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The store's contract suite and the *(postgres) suites: 127.0.0.1:5432, database test, trust auth.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "== starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

# Redis holds the shared abuse-limit counters in the multi-instance tests.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "== starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
echo "== test peers ready"
