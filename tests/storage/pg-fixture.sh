#!/usr/bin/env bash
# CTest fixture: a throwaway PostgreSQL cluster for one test run.
#   pg-fixture.sh start STATE_DIR   creates a cluster under /tmp, writes its
#                                   connection string to STATE_DIR/conninfo
#   pg-fixture.sh stop STATE_DIR    stops and deletes it (also after failures)
# The cluster lives under /tmp, not in the build tree: the checkout may be
# somewhere the unprivileged postgres user cannot enter.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cluster_script="$here/../../deploy/pg-cluster.sh"
state=$2
mkdir -p "$state"
case "$1" in
  start)
    if [ -f "$state/cluster-dir" ]; then
      "$cluster_script" destroy "$(cat "$state/cluster-dir")" || true
    fi
    dir=$(mktemp -d /tmp/capf-pg-test-XXXXXX)
    chmod 755 "$dir"
    echo "$dir" >"$state/cluster-dir"
    CAPF_PG_FSYNC=off "$cluster_script" start "$dir/cluster" >"$state/conninfo"
    echo "PostgreSQL test cluster: $(cat "$state/conninfo")"
    ;;
  stop)
    if [ -f "$state/cluster-dir" ]; then
      "$cluster_script" destroy "$(cat "$state/cluster-dir")/cluster"
      rm -rf "$(cat "$state/cluster-dir")" "$state/cluster-dir" "$state/conninfo"
    fi
    echo "PostgreSQL test cluster removed"
    ;;
  *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
