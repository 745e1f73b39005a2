#!/usr/bin/env bash
# capfd under Type=notify: a datagram socket stands in for systemd's
# NOTIFY_SOCKET. capfd must say READY=1 only once its admin socket accepts,
# ping the watchdog at half of WATCHDOG_USEC, bracket a SIGHUP reload with
# RELOADING=1 and READY=1, and say STOPPING=1 on SIGTERM.
# Usage: sd_notify_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR
capfd=$1 capfctl=$2 phone=$3 src=$4
source "$src/tests/capf/e2e_lib.sh"
e2e_setup

notify_sock="$dir/notify.sock"
notify_log="$dir/notify.log"
python3 - "$notify_sock" "$notify_log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        msg = s.recv(4096).decode()
        # One line per datagram, its assignments separated by '|'.
        log.write("|".join(msg.split("\n")) + "\n")
PY
listener=$!
e2e_pids+=("$listener")
for _ in $(seq 1 100); do [ -S "$notify_sock" ] && break; sleep 0.05; done
[ -S "$notify_sock" ] || fail "notify listener did not start"

write_config "$dir/capfd.json"
capfd_init "$dir/capfd.json"
NOTIFY_SOCKET=$notify_sock WATCHDOG_USEC=400000 start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"

wait_for() {  # wait_for REGEX WHAT: a notification matching REGEX arrives
  for _ in $(seq 1 100); do grep -Eq "$1" "$notify_log" 2>/dev/null && return 0; sleep 0.05; done
  fail "no notification $2; got: $(tr '\n' ' ' <"$notify_log")"
}
wait_for '^READY=1\|STATUS=serving phones on port' "READY=1 with a status"
# Ready means ready: the admin socket answers at once.
ctl version >/dev/null || fail "READY=1 sent but the admin socket does not answer"
grep -q '^READY=1' "$notify_log" || fail "READY=1 is not the first notification"

sleep 1.1
pings=$(grep -c '^WATCHDOG=1$' "$notify_log" || true)
# Every 200 ms for over a second: at least 4, and not a busy loop.
[ "$pings" -ge 4 ] && [ "$pings" -le 12 ] || fail "$pings watchdog pings in 1.1 s, expected 4 to 12"

kill -HUP "$capfd_pid"
wait_for '^RELOADING=1' "RELOADING=1 after SIGHUP"
for _ in $(seq 1 100); do
  [ "$(grep -c '^READY=1' "$notify_log")" -ge 2 ] && break
  sleep 0.05
done
[ "$(grep -c '^READY=1' "$notify_log")" -ge 2 ] || fail "no READY=1 after the reload"
reloading_line=$(grep -n '^RELOADING=1' "$notify_log" | head -1 | cut -d: -f1)
ready_again=$(grep -n '^READY=1' "$notify_log" | sed -n 2p | cut -d: -f1)
[ "$ready_again" -gt "$reloading_line" ] || fail "READY=1 came before RELOADING=1"

stop_capfd "$capfd_pid"
wait_for '^STOPPING=1\|STATUS=draining 0 phone sessions' "STOPPING=1 on SIGTERM"

# Without NOTIFY_SOCKET nothing is sent and nothing is logged about it.
: >"$notify_log"
start_capfd "$dir/capfd.json" "$dir/capfd2.log" "$sock"
stop_capfd "$capfd_pid"
[ ! -s "$notify_log" ] || fail "notifications without NOTIFY_SOCKET: $(cat "$notify_log")"
if grep -q service_manager_notify_failed "$dir/capfd2.log"; then fail "notify failures logged"; fi
echo "PASS: READY, $pings watchdog pings, RELOADING/READY on SIGHUP, STOPPING on SIGTERM"
