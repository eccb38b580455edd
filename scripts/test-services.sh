#!/usr/bin/env bash
# Finds the PostgreSQL and Redis the tests need, or starts them; installs
# Chromium for the dashboard test when it is missing.
#
# Order: TIDINGS_TEST_DATABASE_URL / TIDINGS_TEST_REDIS_URL when set; otherwise the
# servers on 127.0.0.1:5432 and 127.0.0.1:6379; otherwise, on Debian as root, install
# the apt packages if missing and start them (see shared/docs/services.md). Elsewhere it
# says what is missing and how to provide it. It prints the two URLs as shell exports.
#
# With TIDINGS_TEST_REDIS_CLUSTER=1 it also finds or starts a 3-master Redis Cluster
# (no replicas, no persistence) on 127.0.0.1:7000-7002 and prints
# TIDINGS_TEST_REDIS_CLUSTER_URL (redis+cluster://...), which the cluster tests and
# TIDINGS_BENCH_REDIS_CLUSTER=1 benchmarks use; a set TIDINGS_TEST_REDIS_CLUSTER_URL is
# used as is. Without it the cluster tests start a private cluster of their own.
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

cluster_ports=(7000 7001 7002)

cluster_ok() { # port
  redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}

# start_redis_cluster starts the nodes that are not running, joins them when no
# slot is assigned yet (a fresh start), and waits for cluster_state:ok.
start_redis_cluster() {
  command -v redis-server >/dev/null 2>&1 || { can_install && apt_install redis-server; } || {
    log "redis-server is missing: install it (apt-get install redis-server) or set TIDINGS_TEST_REDIS_CLUSTER_URL"
    return 1
  }
  local dir=${TMPDIR:-/tmp}/tidings-redis-cluster port nodes=()
  for port in "${cluster_ports[@]}"; do
    nodes+=("127.0.0.1:$port")
    reachable 127.0.0.1 "$port" && continue
    mkdir -p "$dir/$port"
    log "starting Redis Cluster node on 127.0.0.1:$port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
      --maxmemory-policy noeviction --cluster-enabled yes --cluster-config-file nodes.conf \
      --dir "$dir/$port" --logfile "$dir/$port/redis.log" >&2
    wait_for 127.0.0.1 "$port" "Redis Cluster node"
  done
  if redis-cli -h 127.0.0.1 -p "${cluster_ports[0]}" cluster info | grep -q '^cluster_slots_assigned:0'; then
    log "creating the Redis Cluster ${nodes[*]}"
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >&2
  fi
  for _ in $(seq 1 60); do
    cluster_ok "${cluster_ports[0]}" && return 0
    sleep 0.5
  done
  log "the Redis Cluster on ${nodes[*]} is not ok: $(redis-cli -h 127.0.0.1 -p "${cluster_ports[0]}" cluster info | head -n 1)"
  return 1
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

cluster_url=${TIDINGS_TEST_REDIS_CLUSTER_URL:-}
if [ -z "$cluster_url" ] && [ "${TIDINGS_TEST_REDIS_CLUSTER:-}" = 1 ]; then
  if ! cluster_ok "${cluster_ports[0]}"; then start_redis_cluster; fi
  cluster_url="redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002/"
fi

printf 'export TIDINGS_TEST_DATABASE_URL=%q\n' "$db_url"
printf 'export TIDINGS_TEST_REDIS_URL=%q\n' "$redis_url"
if [ -n "$cluster_url" ]; then printf 'export TIDINGS_TEST_REDIS_CLUSTER_URL=%q\n' "$cluster_url"; fi
