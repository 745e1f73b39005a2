#!/usr/bin/env bash
# capfd as a daemon: starts with a config, serves the admin socket, logs a
# reload on SIGHUP, and on SIGTERM exits 0 and removes its socket.
# Usage: daemon_lifecycle_test.sh CAPFD CAPFCTL
set -euo pipefail
capfd=$1
capfctl=$2
dir=$(mktemp -d /tmp/capfd-life-XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- capfd log:"; cat "$dir/capfd.log" || true; exit 1; }

cat >"$dir/capfd.json" <<JSON
{ "admin": { "socket_path": "$dir/admin.sock" }, "node": { "name": "lifecycle-test" } }
JSON
"$capfd" --config "$dir/capfd.json" 2>"$dir/capfd.log" &
pid=$!

for _ in $(seq 1 100); do
  [ -S "$dir/admin.sock" ] && break
  sleep 0.05
done
[ -S "$dir/admin.sock" ] || fail "admin socket did not appear"

out=$("$capfctl" --socket "$dir/admin.sock" version) || fail "capfctl version failed: $out"
[[ $out == *"node lifecycle-test"* ]] || fail "unexpected version output: $out"

kill -HUP "$pid"
for _ in $(seq 1 100); do
  grep -q "event=reload_requested" "$dir/capfd.log" && break
  sleep 0.05
done
grep -q "event=reload_requested" "$dir/capfd.log" || fail "SIGHUP was not logged as a reload"
kill -0 "$pid" 2>/dev/null || fail "capfd died on SIGHUP"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "capfd exited $status on SIGTERM, expected 0"
[ ! -e "$dir/admin.sock" ] || fail "admin socket left behind after SIGTERM"
grep -q "event=shutdown signal=SIGTERM" "$dir/capfd.log" || fail "shutdown not logged"
echo "PASS: start, admin call, SIGHUP reload, SIGTERM clean exit"
