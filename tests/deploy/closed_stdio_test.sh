#!/usr/bin/env bash
# Started with standard input, output or error closed (`2>&-`, a careless
# supervisor), capfd and capfctl must not hand those numbers to the next file
# they open: log lines would go into a database socket or a key file, and
# capfctl's output into the admin socket as a request. Each opens /dev/null
# on them first thing (capf/common/standard_descriptors.hpp).
# Usage: closed_stdio_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR
capfd=$1 capfctl=$2 phone=$3 src=$4
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
write_config "$dir/capfd.json"
capfd_init "$dir/capfd.json"

# expect_fd PID FD TARGET: /proc/PID/fd/FD points at TARGET.
expect_fd() {
  local got
  got=$(readlink "/proc/$1/fd/$2") || fail "descriptor $2 of $1 is closed"
  [ "$got" = "$3" ] || fail "descriptor $2 of capfd is $got, expected $3"
}

# 1. Input and output closed, the log to a file: capfd's own files and
#    sockets stay above 2 (0.1.0 had /dev/urandom on 0 and Asio's eventfd on
#    1), and capfctl with its output closed still does its work, exits 0 and
#    gives capfd nothing to complain about (its admin socket took number 1).
"$capfd" --config "$dir/capfd.json" 0<&- 1>&- 2>"$dir/capfd.log" &
capfd_pid=$!
e2e_pids+=("$capfd_pid")
wait_for_admin_socket "$capfd_pid" "$sock"
expect_fd "$capfd_pid" 0 /dev/null
expect_fd "$capfd_pid" 1 /dev/null
expect_fd "$capfd_pid" 2 "$dir/capfd.log"
for i in 1 2 3; do
  status=0
  ctl device add "quiet-$i" --auth null-string 1>&- 2>"$dir/ctl-$i.err" || status=$?
  [ $status -eq 0 ] || fail "capfctl with standard output closed exited $status: $(cat "$dir/ctl-$i.err")"
done
for i in 1 2 3; do
  ctl --json device get "quiet-$i" >/dev/null || fail "device quiet-$i added with capfctl's output closed is not there"
done
if grep -E 'level=(warn|error)' "$dir/capfd.log" >"$dir/complaints.log"; then
  fail "capfd complained while capfctl ran with its output closed: $(head -c 600 "$dir/complaints.log")"
fi
enrol SEP000000000001 phone1.json
stop_capfd "$capfd_pid"

# 2. All three closed: capfd runs, serves a phone and exits 0, its
#    descriptors 0-2 all /dev/null.
"$capfd" --config "$dir/capfd.json" 0<&- 1>&- 2>&- &
capfd_pid=$!
e2e_pids+=("$capfd_pid")
wait_for_admin_socket "$capfd_pid" "$sock"
for fd in 0 1 2; do expect_fd "$capfd_pid" $fd /dev/null; done
enrol SEP000000000002 phone2.json
kill -HUP "$capfd_pid"
sleep 0.3
ctl version >/dev/null || fail "capfd with every standard descriptor closed does not answer after SIGHUP"
stop_capfd "$capfd_pid"
echo "PASS: capfd with 0-1 and then 0-2 closed kept them on /dev/null, enrolled a phone each time and exited 0; capfctl with its output closed added 3 devices with no complaint from capfd"
