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
#
# With TIDINGS_TEST_REPLICA=1 it also finds or starts a streaming read replica of
# the test PostgreSQL on 127.0.0.1:5433 (pg_basebackup -R into
# /var/tmp/tidings-replica, run by the postgres user) and prints
# TIDINGS_TEST_DATABASE_READ_URL; make test asks for it (the replica tests of
# ./worker). TIDINGS_TEST_DATABASE_READ_URL set already is used as is.
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

# The read replica: a hot standby of the test PostgreSQL, streaming from it.
replica_port=5433
replica_dir=${TIDINGS_TEST_REPLICA_DIR:-/var/tmp/tidings-replica}

as_postgres() { runuser -u postgres -- "$@"; }

primary_psql() { psql "$db_url" -v ON_ERROR_STOP=1 -tAc "$1"; }

# is_standby URL: the server answers and is in recovery.
is_standby() { [ "$(psql "$1" -tAc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]; }

# allow_replication lets 127.0.0.1 stream from the primary: a pg_hba line
# (trust, as the test server's other lines) and WAL senders.
allow_replication() {
  if [ "$(primary_psql 'SHOW wal_level')" = minimal ] || [ "$(primary_psql 'SHOW max_wal_senders')" = 0 ]; then
    log "the test PostgreSQL needs wal_level=replica and max_wal_senders>0: setting them and restarting it"
    primary_psql "ALTER SYSTEM SET wal_level = replica" >/dev/null
    primary_psql "ALTER SYSTEM SET max_wal_senders = 10" >/dev/null
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main restart >&2
    wait_for 127.0.0.1 5432 PostgreSQL
  fi
  local hba
  hba=$(primary_psql 'SHOW hba_file')
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    log "allowing replication from 127.0.0.1 in $hba"
    printf '\n# tidings test replica (scripts/test-services.sh)\nhost replication all 127.0.0.1/32 trust\n' >>"$hba"
    primary_psql 'SELECT pg_reload_conf()' >/dev/null
  fi
}

# streaming waits up to 10 s for the replica's WAL receiver to stream from
# the primary.
streaming() {
  for _ in $(seq 1 20); do
    [ "$(psql "postgres://root@127.0.0.1:$replica_port/test?sslmode=disable" -tAc \
      'SELECT status FROM pg_stat_wal_receiver' 2>/dev/null)" = streaming ] && return 0
    sleep 0.5
  done
  return 1
}

# start_replica starts the replica in $replica_dir, taking a base backup of
# the primary first when there is none (or the one there cannot start: the
# primary may have recycled the WAL it needs).
start_replica() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [ -f "$replica_dir/data/standby.signal" ]; then
    log "starting the read replica in $replica_dir"
    if as_postgres "$bin/pg_ctl" -D "$replica_dir/data" -l "$replica_dir/server.log" -w -t 60 start >&2 &&
      streaming; then
      return 0
    fi
    log "the replica in $replica_dir does not start or stream (the primary may have recycled the WAL it needs); taking a new base backup"
    as_postgres "$bin/pg_ctl" -D "$replica_dir/data" -m immediate stop >&2 2>/dev/null || true
  fi
  allow_replication
  rm -rf "$replica_dir"
  install -d -o postgres -g postgres -m 700 "$replica_dir"
  log "pg_basebackup of the test PostgreSQL into $replica_dir"
  as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p 5432 -U root -D "$replica_dir/data" -R -X stream -c fast >&2
  # Debian keeps the primary's configuration out of its data folder: the
  # replica gets its own. A standby needs these limits at least as high as
  # the primary's.
  local limits="" name
  for name in max_connections max_worker_processes max_prepared_transactions max_locks_per_transaction max_wal_senders; do
    limits+="$name = $(primary_psql "SHOW $name")"$'\n'
  done
  cat >"$replica_dir/data/postgresql.conf" <<CONF
# tidings test replica (scripts/test-services.sh): a hot standby of 127.0.0.1:5432
listen_addresses = '127.0.0.1'
port = $replica_port
unix_socket_directories = '$replica_dir'
hot_standby = on
hot_standby_feedback = on
fsync = off
shared_buffers = 32MB
$limits
CONF
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$replica_dir/data/pg_hba.conf"
  chown postgres:postgres "$replica_dir/data/postgresql.conf" "$replica_dir/data/pg_hba.conf"
  log "starting the read replica on 127.0.0.1:$replica_port"
  as_postgres "$bin/pg_ctl" -D "$replica_dir/data" -l "$replica_dir/server.log" -w -t 60 start >&2
}

read_url=${TIDINGS_TEST_DATABASE_READ_URL:-}
if [ -z "$read_url" ] && [ "${TIDINGS_TEST_REPLICA:-}" = 1 ]; then
  candidate="postgres://root@127.0.0.1:$replica_port/test?sslmode=disable"
  if ! is_standby "$candidate"; then
    if reachable 127.0.0.1 "$replica_port"; then
      log "127.0.0.1:$replica_port answers but is not a standby of the test PostgreSQL; stop it or set TIDINGS_TEST_DATABASE_READ_URL"
      exit 1
    fi
    if [ "$db_url" != "postgres://root@127.0.0.1:5432/test?sslmode=disable" ] || ! can_install ||
      ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
      log "no read replica on 127.0.0.1:$replica_port, and this script can start one only as root (Debian paths) for the local test PostgreSQL."
      log "Start a streaming replica of the test database, or set TIDINGS_TEST_DATABASE_READ_URL=postgres://user@host:port/db?sslmode=disable"
      exit 1
    fi
    start_replica
    wait_for 127.0.0.1 "$replica_port" "the read replica"
    is_standby "$candidate" || { log "the read replica on 127.0.0.1:$replica_port is not in recovery"; exit 1; }
  fi
  # A test killed while it held replay paused would leave the replica behind.
  if [ "$(psql "$candidate" -tAc 'SELECT pg_is_wal_replay_paused()')" = t ]; then
    log "resuming the read replica's paused replay"
    psql "$candidate" -tAc 'SELECT pg_wal_replay_resume()' >/dev/null
  fi
  read_url=$candidate
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
if [ -n "$read_url" ]; then printf 'export TIDINGS_TEST_DATABASE_READ_URL=%q\n' "$read_url"; fi
