#!/usr/bin/env bash
# capfd's log goes to stderr; when whatever reads it goes away (a `| logger`
# pipeline restarted, a terminal closed), the next log line must not kill
# the service with SIGPIPE (exit 141): capfd keeps serving and stops cleanly.
# Usage: log_reader_gone_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR
capfd=$1 capfctl=$2 phone=$3 src=$4
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
write_config "$dir/capfd.json"
capfd_init "$dir/capfd.json"

mkfifo "$dir/stderr.fifo"
"$capfd" --config "$dir/capfd.json" 2>"$dir/stderr.fifo" &
capfd_pid=$!
e2e_pids+=("$capfd_pid")
# The reader takes the first line and is gone: the pipe has no reader now.
head -n 1 <"$dir/stderr.fifo" >"$dir/first-line.log"
grep -q 'event=' "$dir/first-line.log" || fail "capfd's first log line: $(cat "$dir/first-line.log")"
for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || fail "admin socket $sock did not appear"

# SIGHUP makes capfd log trust_reloaded (and more); each write meets EPIPE.
for i in 1 2 3; do
  kill -HUP "$capfd_pid"
  sleep 0.3
  kill -0 "$capfd_pid" 2>/dev/null || { status=0; wait "$capfd_pid" || status=$?; fail "capfd exited $status after log line $i with no reader"; }
done
ctl version >/dev/null || fail "capfd alive but its admin socket does not answer"
stop_capfd "$capfd_pid"
echo "PASS: 3 reloads logged to a pipe with no reader; capfd kept answering and exited 0 on SIGTERM"
