#!/usr/bin/env bash
# One capf-load --tvs run against a fresh capfd with the TVS on: prints
# capf-load's JSON object on stdout (verifies per second and per capfd
# CPU-second, latency, and the bound measured in the same run with the TVS
# key). The certificate asked about is capfd's own TFTP certificate, which
# the store holds by itself (valid answers, roles and TTL).
# Usage: tvs_bench.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR CAPF_LOAD [capf-load options...]
# Environment: TVS_KEY (the TVS identity's key, default rsa-2048).
capfd=$1 capfctl=$2 phone=$3 src=$4 load=$5
shift 5
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
ulimit -n "$(ulimit -Hn)"
tvs_port=$(free_port_pair)
write_config "$dir/capfd.json" "$(python3 -c "
import json, sys
d, tp = sys.argv[1], int(sys.argv[2])
print(json.dumps({
  'tvs': {'listen': {'address': '127.0.0.1', 'port': tp},
          'identity': {'certificate': d + '/tvs.crt', 'private_key': d + '/tvs.key'},
          'max_sessions_per_source': 1000},
  'tftp': {'identity': {'certificate': d + '/tftp.crt', 'private_key': d + '/tftp.key'},
           'directory': d + '/tftp', 'encryptors': [{'type': 'itl'}]}}))" "$dir" "$tvs_port")"
mkdir -p "$dir/tftp"
"$capfd" init --tvs --tftp --config "$dir/capfd.json" --cn "CAPF-load" \
  --tvs-key "${TVS_KEY:-rsa-2048}" 2>"$dir/init.log" || fail "capfd init: $(cat "$dir/init.log")"
start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
"$load" --tvs --port "$tvs_port" --cert "$dir/tftp.crt" --tvs-cert "$dir/tvs.crt" \
  --capfd-pid "$capfd_pid" --bound-key "$dir/tvs.key" "$@" ||
  { status=$?; tail -20 "$dir/capfd.log" >&2; exit $status; }
stop_capfd "$capfd_pid"
