#!/usr/bin/env bash
# Benchmark with a bound: capfd holds COUNT phones (default 10,000) parked in
# key generation in less than LIMIT MiB of resident memory (default 512).
# Usage: parked_sessions_bench.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR [COUNT] [LIMIT_MIB]
capfd=$1 capfctl=$2 phone=$3 src=$4 count=${5:-10000} limit_mib=${6:-512}
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
# Both capfd and the load generator need a descriptor per session; root may
# raise the hard limit, anyone may raise the soft one to it.
ulimit -Hn $((count * 2 + 1000)) 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((count + 200)) ] || fail "open-file limit $(ulimit -n) is too low for $count sessions"
# Every phone comes from 127.0.0.1 and connects at once: the per-source cap
# and the blocking pool's queue are raised with the session limit.
write_config "$dir/capfd.json" "{\"keygen\": {\"timeout\": \"10m\", \"retries\": 0},
  \"limits\": {\"max_sessions\": $((count + 100)), \"max_sessions_per_source\": $((count + 100)),
              \"blocking_queue\": $((count + 100)), \"read_timeout\": \"10m\"}, \"log\": {\"level\": \"warn\"}}"
capfd_init "$dir/capfd.json"
start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
python3 -c "
print('name,description,auth_mode,key_spec')
for i in range($count): print(f'SEP{0x003000000000 + i:012X},parked,null-string,rsa-2048')" >"$dir/fleet.csv"
ctl device import "$dir/fleet.csv" >/dev/null
ctl schedule install --all >/dev/null
idle_kib=$(awk '/VmRSS/ {print $2}' /proc/$capfd_pid/status)
result=$(python3 "$src/tests/load/park_sessions.py" 127.0.0.1 "$port" "$count" 003000000000 "$capfd_pid" "$capfctl" "$sock") ||
  fail "load generator failed: $result"
echo "idle capfd: $((idle_kib / 1024)) MiB; with the sessions: $result"
python3 - "$result" "$count" "$limit_mib" <<'PY' || fail "bound not met"
import json, sys
r, count, limit = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
assert r["parked"] == count, f"only {r['parked']} of {count} parked; failures: {r['failures']}"
assert r["sessions_active"] >= count, f"capfd counts {r['sessions_active']} active sessions"
rss = r["capfd_rss_kib"] / 1024
assert rss < limit, f"capfd used {rss:.0f} MiB for {count} parked sessions, over {limit} MiB"
print(f"PASS: {count} sessions parked in key generation; capfd resident {rss:.0f} MiB "
      f"(peak {r['capfd_peak_rss_kib'] / 1024:.0f} MiB, limit {limit}); "
      f"{r['seconds_to_park']} s to park them all")
PY
# Every parked phone hung up: capfd is idle again and still serves.
for _ in $(seq 1 100); do
  [ "$(ctl --json stats | json_field '["sessions"]["active"]')" = 0 ] && break
  sleep 0.2
done
[ "$(ctl --json stats | json_field '["sessions"]["active"]')" = 0 ] || fail "sessions still active after the phones left"
stop_capfd "$capfd_pid"
