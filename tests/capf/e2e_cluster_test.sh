#!/usr/bin/env bash
# Operations are claimed through the database lease: two sessions of one
# phone, or two capfd nodes serving 200 phones, never run an operation
# twice; and PostgreSQL stopping mid-run ends sessions cleanly while capfd
# stays up and serves again when it is back.
# Usage: e2e_cluster_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR CASE
capfd=$1 capfctl=$2 phone=$3 src=$4 case=$5
source "$src/tests/capf/e2e_lib.sh"
e2e_setup

run_phone() {
  local p=$1 name=$2 state=$3
  shift 3
  "$phone" --port "$p" --name "$name" --capf-cert "$dir/capf.crt" --state "$dir/$state" --timeout 60 "$@" || true
}
reason_of() { json_field '["end_reason"]' 2>/dev/null || echo none; }

case $case in
  two-sessions-one-device)
    write_config "$dir/capfd.json"
    capfd_init "$dir/capfd.json"
    start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
    dev=SEP001122334455
    ctl device add $dev --auth null-string >/dev/null
    ctl schedule install $dev >/dev/null
    # The first phone holds the operation through a slow key generation;
    # the second connects meanwhile.
    run_phone "$port" $dev first --keygen-delay 2 >"$dir/first.out" &
    first=$!
    for _ in $(seq 1 50); do
      [ "$(psql "$db" -At -c "SELECT lease_owner IS NOT NULL FROM devices WHERE name = '$dev'")" = t ] && break
      sleep 0.1
    done
    second=$(run_phone "$port" $dev second)
    wait $first
    [ "$(reason_of <"$dir/first.out")" = 1 ] || fail "first session: $(cat "$dir/first.out")"
    [ "$(echo "$second" | reason_of)" = 0 ] || fail "second session was not told there is nothing to do: $second"
    ctl --json audit --device $dev --limit 5 | grep_all '"detail": "operation_claimed_elsewhere"' ||
      fail "no audit of the second session's cause"
    [ "$(psql "$db" -At -c "SELECT count(*) FROM issued_certificates WHERE device = '$dev'")" = 1 ] ||
      fail "more than one certificate issued"
    [ -e "$dir/first/lsc.pem" ] && [ ! -e "$dir/second/lsc.pem" ] || fail "the wrong phone holds the LSC"
    stop_capfd "$capfd_pid"
    echo "PASS: $case: the first session installed (1), the second was told 0 (operation_claimed_elsewhere), one certificate"
    ;;

  two-nodes-200-devices)
    count=${CAPF_CLUSTER_DEVICES:-200}
    port_b=$((port + 1))
    write_config "$dir/capfd-a.json" '{"node": {"name": "node-a"}}'
    write_config "$dir/capfd-b.json" "{\"node\": {\"name\": \"node-b\"}, \"listen\": {\"port\": $port_b},
      \"admin\": {\"socket_path\": \"$dir/admin-b.sock\"}}"
    capfd_init "$dir/capfd-a.json"
    start_capfd "$dir/capfd-a.json" "$dir/capfd-a.log" "$sock"
    pid_a=$capfd_pid
    start_capfd "$dir/capfd-b.json" "$dir/capfd-b.log" "$dir/admin-b.sock"
    pid_b=$capfd_pid
    python3 -c "
print('name,description,auth_mode,key_spec')
for i in range($count): print(f'SEP{0x002000000000 + i:012X},cluster,null-string,ec-p256')" >"$dir/fleet.csv"
    ctl device import "$dir/fleet.csv" >/dev/null
    ctl schedule install --all >/dev/null
    # Each phone calls one node; every fifth also calls the other node at
    # the same moment, as a phone retrying through a load balancer would.
    python3 - "$count" "$port" "$port_b" >"$dir/calls.txt" <<'PY'
import sys
count, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for i in range(count):
    name = f"SEP{0x002000000000 + i:012X}"
    first, other = (a, b) if i % 2 == 0 else (b, a)
    print(first, name, f"{name}-1")
    if i % 5 == 0:
        print(other, name, f"{name}-2")
PY
    export phone dir
    mkdir -p "$dir/phones"
    t0=$(date +%s.%N)
    xargs -P 8 -L 1 sh -c '"$phone" --port "$0" --name "$1" --capf-cert "$dir/capf.crt" --state "$dir/phones/$2" --timeout 60 >"$dir/phones/$2.out" 2>&1 || true' \
      <"$dir/calls.txt"
    t1=$(date +%s.%N)
    python3 - "$dir" "$count" <<'PY' || fail "phones and database disagree"
import glob, json, os, sys
d, count = sys.argv[1], int(sys.argv[2])
stored = {}
reasons = {}
for out in glob.glob(f"{d}/phones/*.out"):
    text = open(out).read().strip()
    r = json.loads(text.splitlines()[-1])
    reasons[r.get("end_reason")] = reasons.get(r.get("end_reason"), 0) + 1
    if r.get("stored"):
        stored.setdefault(r["device"], []).append(r["md5"])
assert len(stored) == count, f"{len(stored)} of {count} devices got an LSC; end reasons {reasons}"
twice = [k for k, v in stored.items() if len(v) != 1]
assert not twice, f"devices given two LSCs: {twice[:5]}"
json.dump({k: v[0] for k, v in stored.items()}, open(f"{d}/held.json", "w"))
print(f"phones: {count} devices stored exactly one LSC; end reasons {reasons}")
PY
    psql "$db" -At -F' ' -c "SELECT name, lsc_md5 FROM devices WHERE name LIKE 'SEP0020%' ORDER BY name" >"$dir/stored.txt"
    psql "$db" -At -c "SELECT count(*) FROM (SELECT device FROM issued_certificates GROUP BY device
                        HAVING count(*) FILTER (WHERE confirmed) = 1) ok" >"$dir/confirmed.txt"
    [ "$(cat "$dir/confirmed.txt")" = "$count" ] || fail "$(cat "$dir/confirmed.txt") of $count devices have exactly one confirmed LSC"
    python3 - "$dir" <<'PY' || fail "stored MD5s differ from what the phones hold"
import json, sys
d = sys.argv[1]
held = json.load(open(f"{d}/held.json"))
stored = dict(line.split() for line in open(f"{d}/stored.txt"))
bad = [n for n in held if stored.get(n) != held[n]]
assert not bad, f"{len(bad)} differ, e.g. {bad[:3]}"
PY
    a=$(grep -c "event=session .*outcome=succeeded" "$dir/capfd-a.log" || true)
    b=$(grep -c "event=session .*outcome=succeeded" "$dir/capfd-b.log" || true)
    [ "$a" -gt 0 ] && [ "$b" -gt 0 ] || fail "one node served nothing (a=$a b=$b)"
    [ $((a + b)) = "$count" ] || fail "$((a + b)) installs for $count devices"
    stop_capfd $pid_a
    stop_capfd $pid_b
    echo "PASS: $case: $count devices, node-a installed $a and node-b $b, each device exactly one confirmed LSC ($(python3 -c "print(f'{float($t1) - float($t0):.1f}')") s)"
    ;;

  postgres-outage)
    write_config "$dir/capfd.json" '{"keygen": {"timeout": "20s", "retries": 0}}'
    capfd_init "$dir/capfd.json"
    start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
    pid=$capfd_pid
    for n in 1 2 3; do ctl device add SEP00000000000$n --auth null-string >/dev/null; done
    ctl schedule install --all >/dev/null
    [ "$(run_phone "$port" SEP000000000001 p1 | reason_of)" = 1 ] || fail "install before the outage"

    # A session in key generation when PostgreSQL stops, and one that starts
    # during the outage: both end with a clean refusal.
    run_phone "$port" SEP000000000002 p2 --keygen-delay 2 >"$dir/p2.out" &
    mid=$!
    sleep 1
    "$src/deploy/pg-cluster.sh" stop "$dir/pg" >/dev/null 2>&1
    t0=$(date +%s)
    during=$(run_phone "$port" SEP000000000003 p3)
    [ $(($(date +%s) - t0)) -le 10 ] || fail "a session during the outage took over 10 s"
    wait $mid
    [ "$(echo "$during" | reason_of)" = 7 ] || fail "session during the outage: $during"
    [ "$(reason_of <"$dir/p2.out")" = 7 ] || fail "session cut by the outage: $(cat "$dir/p2.out")"
    [ "$(grep -c "event=session .*cause=database_unavailable end_reason=7" "$dir/capfd.log")" = 2 ] ||
      fail "the two sessions are not logged as database_unavailable"
    kill -0 $pid 2>/dev/null || fail "capfd died with PostgreSQL"
    ctl version >/dev/null || fail "admin socket down during the outage"
    expect_refusal "summary during the outage" "unreachable|could not connect|connection" summary
    echo "outage: sessions refused with 7 (database_unavailable), capfd up, admin answers"

    CAPF_PG_FSYNC=off "$src/deploy/pg-cluster.sh" start "$dir/pg" 5432 >/dev/null 2>&1
    [ "$(run_phone "$port" SEP000000000003 p3 | reason_of)" = 1 ] || fail "no install after PostgreSQL came back"
    # The session cut mid-operation left its lease on this node; the phone's
    # retry must not wait for the lease to expire.
    out=$(run_phone "$port" SEP000000000002 p2)
    [ "$(echo "$out" | reason_of)" = 1 ] || fail "the interrupted device cannot retry: $out"
    [ "$(ctl --json report | python3 -c "import json,sys; print(sum(r['lsc'] for r in json.load(sys.stdin)['devices']))")" = 3 ] ||
      fail "not every device holds an LSC after the outage"
    stop_capfd $pid
    echo "PASS: $case: clean refusals during the outage, capfd stayed up, all three devices installed after"
    ;;
  sigterm-grace)
    # A session still running at SIGTERM finishes within the grace period...
    write_config "$dir/capfd.json" '{"limits": {"shutdown_grace": "10s"}}'
    capfd_init "$dir/capfd.json"
    start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
    for n in 1 2; do ctl device add SEP00000000000$n --auth null-string >/dev/null; done
    ctl schedule install --all >/dev/null
    run_phone "$port" SEP000000000001 p1 --keygen-delay 2 >"$dir/p1.out" &
    phone_pid=$!
    sleep 0.7
    stop_capfd $capfd_pid
    wait $phone_pid
    [ "$(reason_of <"$dir/p1.out")" = 1 ] || fail "the session was not allowed to finish: $(cat "$dir/p1.out")"
    grep -q "event=shutdown signal=SIGTERM active_sessions=1" "$dir/capfd.log" || fail "shutdown not logged"
    grep -q "sessions_cut_off" "$dir/capfd.log" && fail "a session was cut off within the grace period"
    echo "grace 10 s: the running install finished (1), capfd exited 0"
    # ...and one that outlasts it is cut off and counted; its phone retries.
    write_config "$dir/capfd.json" '{"limits": {"shutdown_grace": "1s"}}'
    start_capfd "$dir/capfd.json" "$dir/capfd2.log" "$sock"
    run_phone "$port" SEP000000000002 p2 --keygen-delay 5 >"$dir/p2.out" &
    phone_pid=$!
    sleep 0.7
    t0=$(date +%s.%N)
    stop_capfd $capfd_pid
    python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) - float(sys.argv[1]) < 4 else 1)" "$t0" "$(date +%s.%N)" ||
      fail "capfd took longer than the grace period to stop"
    grep -q "event=sessions_cut_off count=1" "$dir/capfd2.log" || fail "the cut-off session is not recorded"
    wait $phone_pid || true
    [ "$(reason_of <"$dir/p2.out")" != 1 ] || fail "the cut-off phone believes it succeeded"
    start_capfd "$dir/capfd.json" "$dir/capfd3.log" "$sock"
    [ "$(run_phone "$port" SEP000000000002 p2 | reason_of)" = 1 ] || fail "the cut-off device cannot retry after a restart"
    stop_capfd $capfd_pid
    echo "PASS: $case: a session within the grace finished; one beyond it was cut off, counted, and retried after restart"
    ;;
  *)
    fail "unknown case $case"
    ;;
esac
