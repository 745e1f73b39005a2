#!/usr/bin/env bash
# deploy/pg-cluster.sh with CAPF_PG_TEMPLATE: clusters started at once share
# one template made once, each copy is a cluster of its own (its own socket,
# its own data), the template itself is never started or changed by them,
# and a copy keeps its data across a restart.
# Usage: pg_cluster_template_test.sh SRC
set -euo pipefail
src=$1
cluster="$src/deploy/pg-cluster.sh"
work=$(mktemp -d /tmp/capf-pgt-XXXXXX)
chmod 755 "$work"
templates="$work/templates"
cleanup() {
  for c in a b c d; do "$cluster" destroy "$work/$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
psql_in() {  # psql_in CLUSTER SQL: prints the rows
  local conninfo
  conninfo=$("$cluster" url "$work/$1")
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- psql "$conninfo" -Atq -c "$2"
  else
    psql "$conninfo" -Atq -c "$2"
  fi
}

# Three at once, as parallel tests start them: one template is made.
for c in a b c; do
  CAPF_PG_TEMPLATE=$templates CAPF_PG_FSYNC=off "$cluster" start "$work/$c" 5432 \
    >"$work/$c.url" 2>"$work/$c.err" &
done
wait
for c in a b c; do
  grep -qx "host=$work/$c/run port=5432 dbname=capfd user=capfd" "$work/$c.url" ||
    fail "cluster $c printed '$(cat "$work/$c.url")', stderr: $(cat "$work/$c.err")"
  [ "$(psql_in "$c" "SELECT current_database()")" = capfd ] ||
    fail "cluster $c does not answer with its database"
done
made=$(find "$templates" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$made" -eq 1 ] || fail "expected one template directory, found $made: $(ls "$templates")"
template=$(find "$templates" -mindepth 1 -maxdepth 1 -type d)
case "$template" in */new.*) fail "the template was left unfinished: $template" ;; esac
# One initdb's worth, nothing nested: a template made twice would leave one
# inside the other.
inside=$(cd "$template" && ls | sort | tr '\n' ' ')
[ "$inside" = "data initdb.log postgresql.log " ] || fail "the template holds: $inside"
[ -f "$template/data/PG_VERSION" ] || fail "the template has no data directory"
[ ! -e "$template/data/postmaster.pid" ] || fail "the template cluster is running"

# Each copy has its own data.
psql_in a "CREATE TABLE only_in_a (x int); INSERT INTO only_in_a VALUES (7)"
[ "$(psql_in b "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'")" = 0 ] ||
  fail "a table made in cluster a is visible in cluster b"
CAPF_PG_TEMPLATE=$templates CAPF_PG_FSYNC=off "$cluster" start "$work/d" 5432 >/dev/null 2>&1
[ "$(psql_in d "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'")" = 0 ] ||
  fail "a table made in a copy reached the template"
[ ! -e "$template/data/postmaster.pid" ] || fail "starting a copy started the template"

# A copy restarted is the same cluster, not a new copy.
"$cluster" stop "$work/a" 2>/dev/null
CAPF_PG_TEMPLATE=$templates CAPF_PG_FSYNC=off "$cluster" start "$work/a" 5432 >/dev/null 2>&1
[ "$(psql_in a "SELECT x FROM only_in_a")" = 7 ] || fail "cluster a lost its table across a restart"
echo "PASS: 4 clusters from one template, each its own"
