#!/usr/bin/env bash
# A private PostgreSQL 15 cluster in a directory of its own: the quick
# start's embedded default and the test suite's throwaway database.
#
#   pg-cluster.sh start DIR [PORT]   create (first time) and start; prints the
#                                    libpq connection string on stdout
#   pg-cluster.sh stop DIR           stop it (fast shutdown)
#   pg-cluster.sh destroy DIR        stop it and delete DIR
#   pg-cluster.sh status DIR         exit 0 when it is running
#   pg-cluster.sh url DIR [PORT]     print the connection string
#
# With CAPF_PG_TEMPLATE=ROOT, a new cluster is a copy of one kept under ROOT
# (made on first use, under a lock) instead of a fresh initdb and createdb:
# for test suites, which start hundreds of throwaway clusters and would
# otherwise spend most of a short test in initdb. A template is keyed by the
# PostgreSQL version, database, user, owner and this script's own contents.
#
# It listens only on a Unix socket in DIR/run (no TCP), so clusters of several
# test runs never collide. PostgreSQL refuses to run as root: as root the
# cluster runs as the unprivileged `postgres` user, otherwise as the caller.
# Local connections are trusted because only the owner (and root) can enter
# DIR/run.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DB_NAME=${CAPF_DB_NAME:-capfd}
DB_USER=${CAPF_DB_USER:-capfd}

usage() { sed -n '2,22p' "$0" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd=$1
dir=$2
script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
port=${3:-5432}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url() { echo "host=$dir/run port=$port dbname=$DB_NAME user=$DB_USER"; }

start() {
  if [ ! -x "$PG_BIN/pg_ctl" ]; then
    echo "pg-cluster: $PG_BIN/pg_ctl not found; run deploy/install-deps.sh first" >&2
    exit 1
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "pg-cluster: the postgres user cannot write $dir (a parent directory is closed" \
           "to it); choose a directory under /tmp or /var/lib" >&2
      exit 1
    fi
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    if [ -n "${CAPF_PG_TEMPLATE:-}" ]; then
      copy_template
    else
      as_owner mkdir -p "$dir/data"
      as_owner chmod 0700 "$dir/data"
      as_owner "$PG_BIN/initdb" -D "$dir/data" -U "$DB_USER" --auth-local=trust \
        --auth-host=reject -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2; exit 1; }
    fi
    as_owner mkdir -p "$dir/run"
    as_owner chmod 0700 "$dir/run"
    # A template's copy already has its template's block: the last setting of
    # a name is the one PostgreSQL uses.
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir/run'
port = $port
max_connections = 200
fsync = ${CAPF_PG_FSYNC:-on}
CONF
  fi
  if ! as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgresql.log" -w -t 60 \
      -o "-p $port" start >&2
  fi
  # psql quotes :'name' itself, so the name never becomes SQL text.
  if ! echo "SELECT 1 FROM pg_database WHERE datname = :'name'" |
       as_owner "$PG_BIN/psql" -h "$dir/run" -p "$port" -U "$DB_USER" -d postgres -Atq \
         -v name="$DB_NAME" | grep -q 1; then
    as_owner "$PG_BIN/createdb" -h "$dir/run" -p "$port" -U "$DB_USER" "$DB_NAME"
  fi
  url
}

# Copies the template cluster (a stopped cluster whose database exists) to
# $dir/data, making the template first if there is none yet.
copy_template() {
  local version key root=$CAPF_PG_TEMPLATE template lock
  version=$("$PG_BIN/postgres" --version | awk '{print $3}')
  key="$version-$DB_USER-$DB_NAME-$(id -u)-$(sha256sum "$script" | cut -c1-12)"
  template="$root/$key"
  mkdir -p "$root"
  if [ ! -f "$template/data/PG_VERSION" ]; then
    exec {lock}>"$root/$key.lock"
    flock "$lock"
    if [ ! -f "$template/data/PG_VERSION" ]; then
      # A short name: the socket's path must fit in 107 bytes.
      local building
      building=$(mktemp -d "$root/new.XXXXXX")
      if ! CAPF_PG_TEMPLATE='' CAPF_PG_FSYNC=off "$script" start "$building" 5432 >/dev/null; then
        "$script" destroy "$building" >/dev/null 2>&1 || true
        echo "pg-cluster: could not make the template cluster under $root" >&2
        exit 1
      fi
      "$script" stop "$building" 2>/dev/null
      rm -rf "$building/run"
      mv -T "$building" "$template"
    fi
    flock -u "$lock"
    exec {lock}>&-
  fi
  cp -a "$template/data" "$dir/data"
}

stop() {
  if [ -f "$dir/data/PG_VERSION" ] &&
     as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  destroy) stop; rm -rf "$dir" ;;
  status) as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 ;;
  url) dir=$(cd "$dir" && pwd); url ;;
  *) usage ;;
esac
