#!/usr/bin/env bash
# Finds the PostgreSQL and Redis the tests need, or starts them; installs
# Chromium for the dashboard test when it is missing.
#
# Order: TIDINGS_TEST_DATABASE_URL / TIDINGS_TEST_REDIS_URL when set; otherwise the
# servers on 127.0.0.1:5432 and 127.0.0.1:6379; otherwise, on Debian as root, install
# the apt packages if missing and start them (see shared/docs/services.md). Elsewhere it
# says what is missing and how to provide it. It prints the two URLs as shell exports.
set -euo pipefail

log() { printf 'test-services: %s\n' "$*" >&2; }

reachable() { # host port
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

wait_for() { # host port what
  for _ in $(seq 1 60); do
    reachable "$1" "$2" && return 0
    sleep 0.5
  done
  log "$3 did not come up on $1:$2"
  return 1
}

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_ready=""
apt_install() {
  if [ -z "$apt_ready" ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_ready=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

start_postgres() {
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  wait_for 127.0.0.1 5432 PostgreSQL
  # The tests connect as root over TCP; make sure the role and database exist.
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='root'\"" | grep -q 1 ||
    su postgres -c "createuser -s root" >&2
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 ||
    su postgres -c "createdb -O root test" >&2
}

start_redis() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --maxmemory-policy noeviction >&2
  wait_for 127.0.0.1 6379 Redis
}

db_url=${TIDINGS_TEST_DATABASE_URL:-}
if [ -z "$db_url" ]; then
  if ! reachable 127.0.0.1 5432; then
    if can_install; then start_postgres; else
      log "PostgreSQL is not running on 127.0.0.1:5432 and cannot be installed here (needs root and apt-get)."
      log "Start one, or set TIDINGS_TEST_DATABASE_URL=postgres://user@host:port/db?sslmode=disable"
      exit 1
    fi
  fi
  db_url="postgres://root@127.0.0.1:5432/test?sslmode=disable"
fi

redis_url=${TIDINGS_TEST_REDIS_URL:-}
if [ -z "$redis_url" ]; then
  if ! reachable 127.0.0.1 6379; then
    if can_install; then start_redis; else
      log "Redis is not running on 127.0.0.1:6379 and cannot be installed here (needs root and apt-get)."
      log "Start one, or set TIDINGS_TEST_REDIS_URL=redis://host:port/0"
      exit 1
    fi
  fi
  redis_url="redis://127.0.0.1:6379/0"
fi

# The dashboard test drives headless Chromium (Debian's chromium package).
if ! command -v chromium >/dev/null 2>&1 && [ -z "${TIDINGS_CHROMIUM:-}" ]; then
  if can_install; then apt_install chromium; else
    log "Chromium is missing: the dashboard test will fail. Install it (apt-get install -y chromium) or set TIDINGS_CHROMIUM."
  fi
fi

printf 'export TIDINGS_TEST_DATABASE_URL=%q\n' "$db_url"
printf 'export TIDINGS_TEST_REDIS_URL=%q\n' "$redis_url"
