#!/usr/bin/env bash
# The Trust Verification Service end to end (issue 34): real capfd,
# PostgreSQL, TLS on the TVS port, capfctl tvs, and capf-tvs (tests/tvs/), a
# client that behaves like a phone unless a flag says otherwise.
# Usage: e2e_tvs_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR CASE
capfd=$1 capfctl=$2 phone=$3 src=$4 case=$5
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
tvs_client="$(dirname "$phone")/capf-tvs"
verify="$src/tests/capf/tftp_verify.py"
[ -x "$tvs_client" ] || fail "capf-tvs not found beside $phone"
tvs_port=$(free_port_pair)
tftp="$dir/tftp"
mkdir -p "$tftp"

# start_tvs [EXTRA_JSON] [CONFIG LOG SOCKET NODE TVS_PORT CERT_PREFIX]: a
# capfd with the TVS on (and the TFTP side with the ITL, so the ITL's TVS
# record can be checked); init with --tvs --tftp.
start_tvs() {
  local extra=${1:-'{}'} file=${2:-$dir/capfd.json} log=${3:-$dir/capfd.log}
  local socket=${4:-$sock} node=${5:-e2e} tp=${6:-$tvs_port} certs=${7:-$dir}
  mkdir -p "$certs"
  write_config "$file" "$(python3 -c "
import json, sys
d, certs, extra, sock, node, tp = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
base = {'admin': {'socket_path': sock}, 'node': {'name': node},
        'tvs': {'listen': {'address': '127.0.0.1', 'port': tp},
                'identity': {'certificate': certs + '/tvs.crt', 'private_key': certs + '/tvs.key'},
                'refresh_interval': '500ms', 'read_timeout': '5s'},
        'tftp': {'identity': {'certificate': certs + '/tftp.crt', 'private_key': certs + '/tftp.key'},
                 'directory': d + '/tftp', 'encryptors': [{'type': 'itl'}]}}
for k, v in extra.items():
    base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
print(json.dumps(base))" "$dir" "$certs" "$extra" "$socket" "$node" "$tp")"
  "$capfd" init --tvs --tftp --config "$file" --cn "CAPF-e2e" --tvs-cn "TVS-$node" \
    --tftp-cn "TFTP-$node" 2>"$dir/init.log" || { cat "$dir/init.log"; fail "capfd init --tvs"; }
  start_capfd "$file" "$log" "$socket"
}

# ask CERT [PORT] [capf-tvs options]: one verify, like a phone; prints the answer line.
ask() {
  local cert=$1 p=${2:-$tvs_port}
  shift 2 || shift $#
  "$tvs_client" --host 127.0.0.1 --port "$p" --cert "$cert" --timeout-ms 5000 "$@" || true
}

# expect_answer WHAT EXPECTED CERT [PORT] [options]: the answer line must be EXPECTED.
expect_answer() {
  local what=$1 expected=$2 got
  shift 2
  got=$(ask "$@")
  [ "$got" = "$expected" ] || fail "$case: $what: answered '$got', expected '$expected'"
}

# eventually_answer WHAT EXPECTED CERT [PORT]: within 5 s (a change made
# through another node reaches this one's view at its next refresh).
eventually_answer() {
  local what=$1 expected=$2 got=
  for _ in $(seq 1 50); do
    got=$(ask "$3" "${4:-$tvs_port}")
    [ "$got" = "$expected" ] && return 0
    sleep 0.1
  done
  fail "$case: $what: answered '$got' for 5 s, expected '$expected'"
}

# make_cert NAME [openssl req options]: a self-signed RSA certificate $dir/NAME.pem.
make_cert() {
  local name=$1
  shift
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -out "$dir/$name.pem" \
    -subj "/CN=$name.example/O=Example Hospital" -days 30 "$@" 2>/dev/null || fail "openssl req $name"
}

# make_expired_cert NAME: valid from 2020-01-01 to 2020-01-02 (openssl ca sets the dates).
make_expired_cert() {
  local name=$1 ca="$dir/ca-$1"
  mkdir -p "$ca"
  : >"$ca/index.txt"
  echo 01 >"$ca/serial"
  cat >"$ca/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
database = $ca/index.txt
new_certs_dir = $ca
serial = $ca/serial
default_md = sha256
policy = p
[p]
commonName = supplied
EOF
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -out "$ca/req.csr" \
    -subj "/CN=$name.example" 2>/dev/null || fail "openssl req $name"
  openssl ca -batch -config "$ca/ca.cnf" -selfsign -keyfile "$dir/$name.key" -in "$ca/req.csr" \
    -out "$dir/$name.pem" -startdate 20200101000000Z -enddate 20200102000000Z -notext \
    2>"$ca/ca.log" || { cat "$ca/ca.log"; fail "openssl ca $name"; }
}

sha256_of() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64; }
stat_of() { ctl --json stats | json_field "$1"; }

case $case in
  verify)
    # Roles and TTL as added; unknown, removed and expired certificates
    # invalid; capfd's own TVS and CAPF certificates there by themselves.
    start_tvs
    make_cert appserver
    make_cert stranger
    make_expired_cert old
    ctl tvs add "$dir/appserver.pem" --role CCM --role APP-SERVER --ttl 1h >/dev/null ||
      fail "$case: capfctl tvs add"
    expect_answer "added with CCM and APP-SERVER" "status=valid roles=1,7 ttl=3600" "$dir/appserver.pem"
    expect_answer "never added" "status=invalid" "$dir/stranger.pem"
    expect_answer "capfd's own TVS certificate" "status=valid roles=21 ttl=86400" "$dir/tvs.crt"
    expect_answer "capfd's own CAPF certificate" "status=valid roles=4 ttl=86400" "$dir/capf.crt"
    expect_answer "capfd's own TFTP certificate" "status=valid roles=3 ttl=86400" "$dir/tftp.crt"
    ctl tvs add "$dir/old.pem" --role app-server >/dev/null || fail "$case: capfctl tvs add (expired)"
    listed=$(ctl tvs list)
    grep -q "old.example" <<<"$listed" || fail "$case: the expired certificate is not listed"
    expect_answer "expired" "status=invalid" "$dir/old.pem"
    listed=$(ctl tvs list --role app-server)
    grep -q "appserver.example" <<<"$listed" || fail "$case: tvs list --role app-server"
    listed=$(ctl tvs list --role tvs)
    if grep -q "appserver.example" <<<"$listed"; then fail "$case: tvs list --role tvs lists the app server"; fi
    hash=$(sha256_of "$dir/appserver.pem")
    ctl tvs export "${hash:0:12}" >"$dir/exported.pem" || fail "$case: tvs export"
    [ "$(sha256_of "$dir/exported.pem")" = "$hash" ] || fail "$case: tvs export gave another certificate"
    # A plain PEM bundle (no role comments) takes --role; with 17 or more
    # certificates in the store, two share a first hex digit (pigeonhole).
    for i in $(seq 1 12); do
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/b$i.key" \
        -subj "/CN=bulk-$i.example" -days 30 2>/dev/null
    done >"$dir/bulk.pem"
    ctl tvs import-bundle "$dir/bulk.pem" --role app-server >/dev/null || fail "$case: import-bundle of a plain PEM bundle"
    expect_answer "imported from a plain bundle" "status=valid roles=7 ttl=86400" "$dir/bulk.pem"
    shared=$(ctl --json tvs list | python3 -c "
import collections, json, sys
firsts = collections.Counter(c['sha256'][0] for c in json.load(sys.stdin)['certificates'])
print(next(k for k, n in firsts.items() if n > 1))")
    expect_refusal "an ambiguous prefix" "more than one|several|matches" tvs remove "$shared"
    ctl tvs remove "${hash:0:16}" >/dev/null || fail "$case: tvs remove"
    expect_answer "removed" "status=invalid" "$dir/appserver.pem"
    # Captured, then searched: `capfctl | grep -q` under pipefail fails when
    # grep exits before capfctl has written everything (SIGPIPE, seen under ASan).
    audit=$(ctl --json audit --limit 20)
    python3 -c "
import json, sys
events = json.loads(sys.argv[1])['events']
sys.exit(not any(sys.argv[2] in json.dumps(e) and 'removed' in json.dumps(e) for e in events))" "$audit" "$hash" || fail "$case: the removal is not in the audit log: $(head -c 600 <<<"$audit")"
    stop_capfd "$capfd_pid"
    echo "PASS: $case: valid roles 1,7 TTL 3600 as added; unknown, expired and removed invalid; own TVS/CAPF/TFTP certificates valid with roles 21/4/3"
    ;;

  two-nodes)
    # A certificate added through node 1 is answered by node 2.
    start_tvs '{}' "$dir/capfd-a.json" "$dir/capfd-a.log" "$sock" node-a "$tvs_port" "$dir/a"
    pid_a=$capfd_pid
    port_b=$((port + 1)) tvs_b=$((tvs_port + 1))
    start_tvs "{\"listen\": {\"port\": $port_b}}" "$dir/capfd-b.json" "$dir/capfd-b.log" \
      "$dir/admin-b.sock" node-b "$tvs_b" "$dir/b"
    pid_b=$capfd_pid
    make_cert appserver
    expect_answer "node 2, before" "status=invalid" "$dir/appserver.pem" "$tvs_b"
    ctl tvs add "$dir/appserver.pem" --role app-server --ttl 2h >/dev/null || fail "$case: add through node 1"
    t0=$(date +%s.%N)
    eventually_answer "node 2, after node 1 added it" "status=valid roles=7 ttl=7200" "$dir/appserver.pem" "$tvs_b"
    took=$(seconds_since "$t0")
    # Each node's own TVS certificate is answered by the other.
    expect_answer "node 1 vouches for node 2's TVS" "status=valid roles=21 ttl=86400" "$dir/b/tvs.crt" "$tvs_port"
    ctl tvs remove "$(sha256_of "$dir/appserver.pem" | cut -c1-16)" >/dev/null || fail "$case: remove"
    eventually_answer "node 2, after node 1 removed it" "status=invalid" "$dir/appserver.pem" "$tvs_b"
    stop_capfd $pid_a
    stop_capfd $pid_b
    echo "PASS: $case: node 2 answered for a certificate added through node 1 after ${took} s, and stopped after its removal"
    ;;

  itl-record)
    # The ITL lists every node's TVS certificate (role 21), rebuilt when one
    # is added (a second node starts).
    start_tvs '{}' "$dir/capfd-a.json" "$dir/capfd-a.log" "$sock" node-a "$tvs_port" "$dir/a"
    pid_a=$capfd_pid
    for _ in $(seq 1 100); do [ -e "$tftp/ITLFile.tlv" ] && break; sleep 0.05; done
    "$verify" itl "$tftp/ITLFile.tlv" "$dir/a/tftp.crt" >"$dir/itl.txt" 2>"$dir/verify.err" || fail "$case: $(cat "$dir/verify.err")"
    grep "^role=21 " "$dir/itl.txt" | grep -q "CN=TVS-node-a" || fail "$case: no TVS record: $(cat "$dir/itl.txt")"
    port_b=$((port + 1)) tvs_b=$((tvs_port + 1))
    # Node b writes its own TFTP directory: only node a's ITL is read here.
    start_tvs "{\"listen\": {\"port\": $port_b}, \"tftp\": {\"directory\": \"$dir/tftp-b\"}}" \
      "$dir/capfd-b.json" "$dir/capfd-b.log" "$dir/admin-b.sock" node-b "$tvs_b" "$dir/b"
    pid_b=$capfd_pid
    for _ in $(seq 1 100); do
      "$verify" itl "$tftp/ITLFile.tlv" "$dir/a/tftp.crt" >"$dir/itl.txt" 2>"$dir/verify.err" || fail "$case: $(cat "$dir/verify.err")"
      [ "$(grep -c "^role=21 " "$dir/itl.txt")" = 2 ] && break
      sleep 0.1
    done
    [ "$(grep -c "^role=21 " "$dir/itl.txt")" = 2 ] || fail "$case: node a's ITL did not gain node b's TVS record: $(cat "$dir/itl.txt")"
    grep "^role=21 " "$dir/itl.txt" | grep -q "CN=TVS-node-b" || fail "$case: $(cat "$dir/itl.txt")"
    stop_capfd $pid_a
    stop_capfd $pid_b
    echo "PASS: $case: the ITL holds the TVS record (role 21) and gained the second node's when it started: $(grep -c . "$dir/itl.txt") records"
    ;;

  bundle)
    # Two clusters (two databases): the old one's TVS vouches for the new
    # one's TFTP signer after export-bundle / import-bundle.
    start_tvs '{}' "$dir/capfd-a.json" "$dir/capfd-a.log" "$sock" old "$tvs_port" "$dir/a"
    pid_a=$capfd_pid
    psql "$db" -qAt -c "CREATE DATABASE capf_new" || fail "$case: create the second cluster's database"
    db_new=$(echo "$db" | sed 's/dbname=[^ ]*/dbname=capf_new/')
    port_b=$((port + 1)) tvs_b=$((tvs_port + 1))
    start_tvs "{\"listen\": {\"port\": $port_b}, \"database\": {\"connection\": \"$db_new\"},
               \"tftp\": {\"directory\": \"$dir/tftp-b\"}}" \
      "$dir/capfd-b.json" "$dir/capfd-b.log" "$dir/admin-b.sock" new "$tvs_b" "$dir/b"
    pid_b=$capfd_pid
    expect_answer "the old cluster, before" "status=invalid" "$dir/b/tftp.crt" "$tvs_port"
    "$capfctl" --socket "$dir/admin-b.sock" tvs export-bundle --role tftp -o "$dir/new-tftp.pem" ||
      fail "$case: export-bundle from the new cluster"
    grep -q "BEGIN CERTIFICATE" "$dir/new-tftp.pem" || fail "$case: the bundle holds no certificate"
    if grep -q "TVS-new" "$dir/new-tftp.pem"; then fail "$case: --role tftp exported the TVS certificate"; fi
    ctl tvs import-bundle "$dir/new-tftp.pem" >/dev/null || fail "$case: import-bundle into the old cluster"
    expect_answer "the old cluster vouches for the new TFTP signer" "status=valid roles=3 ttl=86400" "$dir/b/tftp.crt" "$tvs_port"
    stop_capfd $pid_a
    stop_capfd $pid_b
    echo "PASS: $case: export-bundle --role tftp from one cluster, import-bundle into another: it answers valid (role 3) for the first's TFTP certificate"
    ;;

  idle-peers)
    # 1,000 TCP peers that never start TLS (from 40 loopback addresses, 25
    # each, under the per-source cap) do not stop a phone's answer in 1 s.
    start_tvs '{"limits": {"handshake_timeout": "60s"}}'
    python3 - "$tvs_port" "$dir/held" <<'PY' &
import os, resource, socket, sys, time
port, flag = int(sys.argv[1]), sys.argv[2]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
peers = []
for i in range(1000):
    s = socket.socket()
    s.bind((f"127.0.1.{i // 25 + 1}", 0))
    s.connect(("127.0.0.1", port))
    peers.append(s)
open(flag, "w").write(str(len(peers)))
time.sleep(30)
PY
    holder=$!
    e2e_pids+=("$holder")
    for _ in $(seq 1 200); do [ -e "$dir/held" ] && break; sleep 0.05; done
    [ "$(cat "$dir/held" 2>/dev/null)" = 1000 ] || fail "$case: the 1,000 idle peers did not connect"
    t0=$(date +%s.%N)
    expect_answer "with 1,000 idle peers" "status=valid roles=21 ttl=86400" "$dir/tvs.crt"
    took=$(seconds_since "$t0")
    within "$took" 1 || fail "$case: the answer took $took s with 1,000 idle peers"
    active=$(ctl --json stats | json_field '["tvs"]["active"]')
    [ "$active" -ge 1000 ] || fail "$case: capfd counts $active TVS connections, expected the 1,000 idle ones"
    kill "$holder" 2>/dev/null || true
    stop_capfd "$capfd_pid"
    echo "PASS: $case: answered in $took s while 1,000 TCP peers held connections without TLS ($active open)"
    ;;

  split-header)
    # A client that sends its request one byte per TLS record (slowly) is
    # served, and does not stop another client's answer within 1 s.
    start_tvs
    "$tvs_client" --host 127.0.0.1 --port "$tvs_port" --cert "$dir/tvs.crt" --split-header \
      --split-delay-ms 2 --timeout-ms 20000 >"$dir/split.out" 2>&1 &
    slow=$!
    sleep 0.5
    kill -0 "$slow" 2>/dev/null || fail "$case: the byte-per-record client ended before the test could overlap it: $(cat "$dir/split.out")"
    t0=$(date +%s.%N)
    expect_answer "beside a byte-per-record client" "status=valid roles=21 ttl=86400" "$dir/tvs.crt"
    took=$(seconds_since "$t0")
    within "$took" 1 || fail "$case: the answer took $took s beside a byte-per-record client"
    wait "$slow" || fail "$case: the byte-per-record client: $(cat "$dir/split.out")"
    [ "$(tail -1 "$dir/split.out")" = "status=valid roles=21 ttl=86400" ] ||
      fail "$case: the byte-per-record client was not served: $(cat "$dir/split.out")"
    stop_capfd "$capfd_pid"
    echo "PASS: $case: a request sent one byte per TLS record was answered; another client got its answer in $took s meanwhile"
    ;;

  malformed-2000)
    # 2,000 malformed requests are each closed and counted; capfd goes on
    # serving, and a well-formed request is answered after them.
    start_tvs
    # Two clients of 1,000 connections each, one after the other: each
    # connection's garbage must be answered by a close, never by an answer.
    for half in 1 2; do
      "$tvs_client" --host 127.0.0.1 --port "$tvs_port" --cert "$dir/tvs.crt" --garbage \
        --count 1000 --timeout-ms 5000 >"$dir/garbage-$half.out" 2>&1 &
      garbage_pids+=($!)
    done
    for p in "${garbage_pids[@]}"; do
      wait "$p" || fail "$case: a garbage connection was not closed: $(tail -3 "$dir"/garbage-*.out)"
    done
    closed=$(cat "$dir"/garbage-*.out | grep -c "^closed_after_s=")
    [ "$closed" = 2000 ] || fail "$case: $closed of 2,000 garbage connections reported closed"
    counted=$(ctl --json stats | json_field '["tvs"]["malformed"]')
    [ "$counted" -ge 2000 ] || fail "$case: capfd counted $counted malformed requests of 2,000"
    kill -0 "$capfd_pid" || fail "$case: capfd stopped"
    expect_answer "after 2,000 malformed requests" "status=valid roles=21 ttl=86400" "$dir/tvs.crt"
    stop_capfd "$capfd_pid"
    echo "PASS: $case: 2,000 malformed requests closed and counted ($counted), then a request answered"
    ;;

  *)
    fail "unknown case $case"
    ;;
esac
