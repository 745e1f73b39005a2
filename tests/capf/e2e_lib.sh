# Shared by the end-to-end tests (sourced): a private PostgreSQL, a capfd
# configured and started on it, capfctl and JSON helpers, cleanup on exit.
# The sourcing script sets: capfd capfctl phone src (paths), then calls
# e2e_setup. Every helper fails the test with the capfd log shown.
set -euo pipefail

e2e_pids=()
e2e_setup() {
  dir=$(mktemp -d /tmp/capf-e2e-XXXXXX)
  chmod 755 "$dir"
  trap e2e_cleanup EXIT
  db=$(CAPF_PG_FSYNC=off "$src/deploy/pg-cluster.sh" start "$dir/pg" 5432 2>/dev/null)
  port=$((20000 + RANDOM % 20000))
  sock="$dir/admin.sock"
}

e2e_cleanup() {
  for p in "${e2e_pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  "$src/deploy/pg-cluster.sh" destroy "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}

fail() {
  echo "FAIL: $*"
  for log in "$dir"/capfd*.log; do
    [ -e "$log" ] && { echo "--- $log:"; tail -40 "$log"; }
  done
  exit 1
}

# write_config FILE [JSON merged over the defaults, section by section]
write_config() {
  local extra=${2:-}
  [ -n "$extra" ] || extra='{}'
  python3 - "$1" "$extra" "$dir" "$db" "$port" <<'PY'
import json, sys
path, extra, d, db, port = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
cfg = {
  "listen": {"address": "127.0.0.1", "port": port},
  "identity": {"certificate": d + "/capf.crt", "private_key": d + "/capf.key"},
  "database": {"connection": db},
  "admin": {"socket_path": d + "/admin.sock"},
  "keygen": {"timeout": "60s", "retries": 1},
  "node": {"name": "e2e"},
}
for k, v in extra.items():
    cfg[k] = {**cfg.get(k, {}), **v} if isinstance(v, dict) else v
json.dump(cfg, open(path, "w"), indent=2)
PY
}

# capfd_init CONFIG: creates the CAPF identity and the schema.
capfd_init() {
  "$capfd" init --config "$1" --cn "CAPF-e2e" --organization "Example Hospital" 2>"$dir/init.log" ||
    { cat "$dir/init.log"; fail "capfd init"; }
}

# start_capfd CONFIG LOG SOCKET: starts capfd in the background, waits for
# its admin socket; sets capfd_pid.
start_capfd() {
  "$capfd" --config "$1" 2>"$2" &
  capfd_pid=$!
  e2e_pids+=("$capfd_pid")
  for _ in $(seq 1 200); do [ -S "$3" ] && return 0; sleep 0.05; done
  fail "admin socket $3 did not appear"
}

# stop_capfd PID: SIGTERM and wait; fails unless capfd exits 0.
stop_capfd() {
  local status=0
  kill -TERM "$1"
  wait "$1" || status=$?
  [ $status -eq 0 ] || fail "capfd exited $status on SIGTERM"
}

ctl() { "$capfctl" --socket "$sock" "$@"; }
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }

# expect_refusal "WHAT" "MESSAGE REGEX" capfctl-args...: the call must fail
# (non-zero exit), print one line on stderr matching the regex.
expect_refusal() {
  local what=$1 regex=$2 out status=0
  shift 2
  out=$(ctl "$@" 2>&1 >/dev/null) || status=$?
  [ $status -ne 0 ] || fail "$what: accepted, expected a refusal"
  echo "$out" | grep -Eq -- "$regex" || fail "$what: message '$out' does not match /$regex/"
}
