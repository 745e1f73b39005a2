#!/usr/bin/env bash
# One capf-load run against a fresh capfd on a PostgreSQL of its own with
# durable commits (fsync on): prints capf-load's JSON object on stdout.
# Usage: load_bench.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR CAPF_LOAD [capf-load options...]
# Environment: LOAD_CAPF_KEY (the CAPF identity's key, default rsa-2048),
# LOAD_CONFIG (JSON merged over the config below), LOAD_KEEP (a directory to
# copy capfd's log into).
capfd=$1 capfctl=$2 phone=$3 src=$4 load=$5
shift 5
source "$src/tests/capf/e2e_lib.sh"
E2E_PG_FSYNC=on e2e_setup
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
write_config "$dir/capfd.json" "$(python3 -c "
import json, sys
base = {'keygen': {'timeout': '10m', 'retries': 0},
        'limits': {'max_sessions': 20000, 'blocking_queue': 20000, 'read_timeout': '10m'}}
for k, v in json.loads(sys.argv[1]).items():
    base[k] = {**base.get(k, {}), **v}
print(json.dumps(base))" "${LOAD_CONFIG:-{\}}")"
"$capfd" init --config "$dir/capfd.json" --cn "CAPF-load" --organization "Example Hospital" \
  --key "${LOAD_CAPF_KEY:-rsa-2048}" 2>"$dir/init.log" || fail "capfd init: $(cat "$dir/init.log")"
start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
"$load" --port "$port" --admin-socket "$sock" --capf-cert "$dir/capf.crt" --capfd-pid "$capfd_pid" \
  --capf-key "$dir/capf.key" "$@" || { status=$?; tail -20 "$dir/capfd.log" >&2; exit $status; }
[ -n "${LOAD_KEEP:-}" ] && cp "$dir/capfd.log" "$LOAD_KEEP/"
stop_capfd "$capfd_pid"
