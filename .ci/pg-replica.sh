#!/usr/bin/env bash
# PostgreSQL streaming replicas for the replica suite (npm run test:replica), on
# Debian's cluster tools (pg_createcluster, pg_ctlcluster, pg_basebackup).
#
#   .ci/pg-replica.sh up [PRIMARY_PORT] [REPLICA_PORT]     default 5432 5433
#       Makes (idempotently) a cluster on REPLICA_PORT streaming from the one on
#       PRIMARY_PORT (pg_basebackup -R), and starts both. The primary on 5432 is
#       the shared local server: it must exist (it is never created or dropped
#       here); any other PRIMARY_PORT is a throwaway primary, created when absent.
#       The primary gets `host replication all 127.0.0.1/32 trust` in pg_hba
#       when it has no replication entry for 127.0.0.1 (then it is reloaded).
#   .ci/pg-replica.sh stop PORT | start PORT               stops / starts the cluster on PORT
#   .ci/pg-replica.sh delay PORT VALUE                     recovery_min_apply_delay of a replica (e.g. 1500ms, 0), reloaded
#   .ci/pg-replica.sh status PORT                          primary | replica-streaming | replica-not-streaming | down
#   .ci/pg-replica.sh drop PORT                            drops a cluster this script made (never 5432)
#
# Clusters made here are named replica<PORT> / primary<PORT>. Needs root (or
# passwordless sudo) to run the cluster tools as postgres. Fails with a message
# saying what is missing, never silently.
set -euo pipefail

# `reason:` is what .ci/run quotes in its summary when a suite could not start.
die() { printf 'pg-replica: reason: %s\n' "$*" >&2; exit 1; }

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n -u postgres "$@"
  else die "needs root, passwordless sudo or the postgres user to run: $*"; fi
}
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "needs root or passwordless sudo to run: $*"; fi
}

command -v pg_lsclusters >/dev/null 2>&1 || die "Debian's postgresql-common is missing (pg_lsclusters): apt-get install postgresql"
VERSION=${PG_VERSION:-$(ls /usr/lib/postgresql | sort -V | tail -n 1)}
[ -x "/usr/lib/postgresql/$VERSION/bin/pg_basebackup" ] || die "no pg_basebackup for PostgreSQL $VERSION"
BASEBACKUP=/usr/lib/postgresql/$VERSION/bin/pg_basebackup

# The cluster name on PORT, or nothing.
cluster_on() { pg_lsclusters -h | awk -v v="$VERSION" -v p="$1" '$1 == v && $3 == p { print $2 }'; }
sql() { psql "postgres://postgres@127.0.0.1:$1/postgres" -XAtqc "$2"; }
ready() { pg_isready -q -h 127.0.0.1 -p "$1"; }
wait_ready() {
  for _ in $(seq 1 60); do ready "$1" && return 0; sleep 0.5; done
  die "the cluster on port $1 did not accept connections within 30 s (see /var/log/postgresql/postgresql-$VERSION-$(cluster_on "$1").log)"
}

start() {
  local name
  name=$(cluster_on "$1")
  [ -n "$name" ] || die "no cluster on port $1"
  ready "$1" || as_root pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$name" start
  wait_ready "$1"
}

stop() {
  local name
  name=$(cluster_on "$1")
  [ -n "$name" ] || die "no cluster on port $1"
  # fast: what a crash or an operator's stop looks like to clients (connections cut, new ones refused).
  ! ready "$1" || as_root pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$name" stop -m fast
}

status() {
  if ! ready "$1"; then echo down; return; fi
  if [ "$(sql "$1" 'SELECT pg_is_in_recovery()')" = f ]; then echo primary; return; fi
  if [ "$(sql "$1" "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ]; then
    echo replica-streaming
  else
    echo replica-not-streaming
  fi
}

ensure_primary() {
  local port=$1 name hba
  name=$(cluster_on "$port")
  if [ -z "$name" ]; then
    [ "$port" != 5432 ] || die "no PostgreSQL cluster on 5432: start the shared server first (.ci/run does)"
    name=primary$port
    as_root pg_createcluster "$VERSION" "$name" -p "$port" >/dev/null
    # Only the test user, trusted on 127.0.0.1, as the shared server's CI setup does.
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "/etc/postgresql/$VERSION/$name/pg_hba.conf"
  fi
  start "$port"
  hba=$(sql "$port" 'SHOW hba_file') || die "cannot log in as postgres on 127.0.0.1:$port without a password"
  if ! as_root grep -Eq '^\s*host\s+replication\s+\S+\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    as_root sed -i '1i host replication all 127.0.0.1/32 trust' "$hba"
    sql "$port" 'SELECT pg_reload_conf()' >/dev/null
    sleep 0.5
  fi
  if [ "$(sql "$port" "SELECT count(*) FROM pg_database WHERE datname = 'test'")" = 0 ]; then
    sql "$port" 'CREATE DATABASE test' >/dev/null
  fi
  [ "$(sql "$port" 'SHOW wal_level')" != minimal ] || die "wal_level=minimal on port $port: set wal_level=replica and restart it"
}

# The replica is good when it streams from this primary (same system identifier).
replica_ok() {
  local primary=$1 replica=$2
  [ "$(status "$replica")" = replica-streaming ] || return 1
  [ "$(sql "$primary" 'SELECT system_identifier FROM pg_control_system()')" = \
    "$(sql "$replica" 'SELECT system_identifier FROM pg_control_system()')" ] || return 1
  sql "$replica" 'SHOW primary_conninfo' | grep -q "port=$primary"
}

up() {
  local primary=${1:-5432} replica=${2:-5433} name data
  ensure_primary "$primary"
  name=$(cluster_on "$replica")
  if [ -n "$name" ]; then
    start "$replica" 2>/dev/null || true
    for _ in $(seq 1 20); do replica_ok "$primary" "$replica" && break; sleep 0.5; done
    if replica_ok "$primary" "$replica"; then echo "pg-replica: $replica streams from $primary"; return 0; fi
    [[ "$name" == replica* ]] || die "port $replica holds cluster $name, which this script did not make: choose another port"
    echo "pg-replica: rebuilding $name (not streaming from $primary)"
    stop "$replica" || true
    as_root pg_dropcluster "$VERSION" "$name"
  fi
  name=replica$replica
  as_root pg_createcluster "$VERSION" "$name" -p "$replica" >/dev/null
  data=$(pg_lsclusters -h | awk -v v="$VERSION" -v n="$name" '$1 == v && $2 == n { print $6 }')
  as_root find "$data" -mindepth 1 -delete
  as_postgres "$BASEBACKUP" -h 127.0.0.1 -p "$primary" -U postgres -D "$data" -R -X stream -c fast \
    || die "pg_basebackup from 127.0.0.1:$primary failed (pg_hba replication entry? max_wal_senders?)"
  # Same access as the primary's (the copied data directory keeps no pg_hba: Debian keeps it in /etc).
  as_root cp "$(sql "$primary" 'SHOW hba_file')" "/etc/postgresql/$VERSION/$name/pg_hba.conf"
  start "$replica"
  for _ in $(seq 1 40); do replica_ok "$primary" "$replica" && break; sleep 0.5; done
  replica_ok "$primary" "$replica" || die "the cluster on $replica started but does not stream from $primary"
  echo "pg-replica: $replica streams from $primary (new)"
}

delay() {
  local name
  name=$(cluster_on "$1")
  [ -n "$name" ] || die "no cluster on port $1"
  as_root pg_conftool "$VERSION" "$name" set recovery_min_apply_delay "$2"
  sql "$1" 'SELECT pg_reload_conf()' >/dev/null
}

drop() {
  local name
  [ "$1" != 5432 ] || die "never drops the shared cluster on 5432"
  name=$(cluster_on "$1")
  [ -n "$name" ] || return 0
  [[ "$name" == replica* || "$name" == primary* ]] || die "cluster $name on $1 was not made by this script"
  as_root pg_dropcluster --stop "$VERSION" "$name"
}

case ${1:-} in
  up) shift; up "$@" ;;
  start | stop | status | drop) [ $# -eq 2 ] || die "usage: $0 $1 PORT"; "$1" "$2" ;;
  delay) [ $# -eq 3 ] || die "usage: $0 delay PORT VALUE"; delay "$2" "$3" ;;
  *) die "usage: $0 up [PRIMARY_PORT] [REPLICA_PORT] | start PORT | stop PORT | status PORT | delay PORT VALUE | drop PORT" ;;
esac
