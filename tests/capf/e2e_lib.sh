# Shared by the end-to-end tests (sourced): a private PostgreSQL, a capfd
# configured and started on it, capfctl and JSON helpers, cleanup on exit,
# and the one-case-per-run helpers of the dialogue and attack tests (start,
# run_phone, enrol, remember, assert_refused, certificates made by openssl).
# The sourcing script sets: capfd capfctl phone src (paths) and case, dev
# when it uses mic_setup, then calls e2e_setup. Every helper fails the test
# with the capfd log shown.
set -euo pipefail
# Debian's python3 (deploy/install-deps.sh installs it) before anything else
# in PATH: a version manager's shim there costs about half a second a call,
# and these tests make hundreds of calls.
if [ -x /usr/bin/python3 ]; then PATH="/usr/bin:$PATH"; fi

e2e_pids=()
e2e_setup() {
  dir=$(mktemp -d /tmp/capf-e2e-XXXXXX)
  chmod 755 "$dir"
  trap e2e_cleanup EXIT
  # Durable commits only where a figure depends on them (the load benchmarks).
  # A copy of a template cluster, not a new initdb: that was two thirds of a
  # short test's time (set CAPF_PG_TEMPLATE= to have a fresh initdb).
  db=$(CAPF_PG_FSYNC=${E2E_PG_FSYNC:-off} \
       CAPF_PG_TEMPLATE=${CAPF_PG_TEMPLATE-${TMPDIR:-/tmp}/capf-pg-template-$(id -u)} \
       "$src/deploy/pg-cluster.sh" start "$dir/pg" 5432 2>/dev/null)
  port=$(free_port_pair)
  sock="$dir/admin.sock"
}

# free_port_pair: a TCP port P on 127.0.0.1 with P and P+1 free (two-node
# tests use P+1), below the kernel's ephemeral range. A random port inside
# that range can be the local end of another test's connection at the
# moment capfd binds it ("Address already in use": 5 e2e tests failed that
# way in CI while the load tests ran beside them).
free_port_pair() {
  python3 - <<'PY'
import random, socket
low_ephemeral = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    p = random.randrange(20000, low_ephemeral - 1 if low_ephemeral > 21000 else 40000)
    try:
        for q in (p, p + 1):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", q))
            s.close()
    except OSError:
        continue
    print(p)
    break
else:
    raise SystemExit("no free port pair below the ephemeral range")
PY
}

e2e_cleanup() {
  for p in "${e2e_pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  "$src/deploy/pg-cluster.sh" destroy "$dir/pg" >/dev/null 2>&1 || true
  # Programs capfd started (exec encryptors, each in its own process group)
  # outlive a capfd killed with -9: end their whole groups.
  local pid pgid
  for pid in $(pgrep -f "$dir/" 2>/dev/null); do
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
    [ -n "$pgid" ] && [ "$pgid" != "$$" ] && kill -KILL -- "-$pgid" 2>/dev/null || true
  done
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
    { cat "$dir/init.log"; fail "${case:+$case: }capfd init refused $1: $(head -c 400 "$dir/init.log" | tr '\n' ' ')"; }
}

# start_capfd CONFIG LOG SOCKET: starts capfd in the background, waits for
# its admin socket; sets capfd_pid.
start_capfd() {
  "$capfd" --config "$1" 2>"$2" &
  capfd_pid=$!
  e2e_pids+=("$capfd_pid")
  wait_for_admin_socket "$capfd_pid" "$3"
}

# wait_for_admin_socket PID SOCKET: up to 10 s for SOCKET to appear while the
# capfd PID runs.
wait_for_admin_socket() {
  for _ in $(seq 1 200); do
    [ -S "$2" ] && return 0
    kill -0 "$1" 2>/dev/null || fail "capfd exited before its admin socket $2 appeared"
    sleep 0.05
  done
  fail "admin socket $2 did not appear"
}

# stop_capfd PID: SIGTERM and wait; fails unless capfd exits 0.
stop_capfd() {
  local status=0
  kill -TERM "$1"
  wait "$1" || status=$?
  [ $status -eq 0 ] || fail "capfd exited $status on SIGTERM"
}

ctl() { "$capfctl" --socket "$sock" "$@"; }
# grep_all ARGS...: grep -q that reads its whole input first. `ctl ... | grep
# -q` under pipefail fails when grep has matched and exited while capfctl
# still writes (SIGPIPE): it failed e2e tests under load in CI.
grep_all() {
  local input
  input=$(cat)
  grep -q "$@" <<<"$input"
}
# seconds_since T0: seconds from T0 (a `date +%s.%N`) to now, two decimals.
seconds_since() { python3 -c "import sys, time; print('%.2f' % (time.time() - float(sys.argv[1])))" "$1"; }
# within SECONDS LIMIT: succeeds unless SECONDS is over LIMIT.
within() { python3 -c "import sys; sys.exit(float(sys.argv[1]) > float(sys.argv[2]))" "$1" "$2"; }
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

# --- one case per run (e2e_dialogue_test.sh, e2e_attack_test.sh) ---------------

# start [JSON over the defaults below]: configure, init and start capfd.
start() {
  local extra=${1:-}
  [ -n "$extra" ] || extra='{}'
  write_config "$dir/capfd.json" "$(python3 -c "
import json, sys
base = {'keygen': {'timeout': '2s', 'retries': 2}, 'auth': {'lockout_failures': 3},
        'limits': {'read_timeout': '2s'}}
for k, v in json.loads(sys.argv[1]).items():
    base[k] = {**base.get(k, {}), **v}
print(json.dumps(base))" "$extra")"
  capfd_init "$dir/capfd.json"
  start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
}

# run_phone NAME STATE [capf-phone options]: prints the phone's JSON line.
# Like a real 7800/8800 phone, capf-phone adds a SUDI to every certificate
# authentication: one from the run's test manufacturer root in $dir/sudi-ca
# (sudi_ca_setup), unless --no-sudi or --sudi-cert says otherwise.
run_phone() {
  local name=$1 state=$2
  shift 2
  "$phone" --port "$port" --name "$name" --capf-cert "$dir/capf.crt" --state "$dir/$state" \
    --sudi-ca "$dir/sudi-ca" --timeout "${phone_timeout:-30}" "$@" || true
}

# enrol NAME STATE: a first LSC by null string, so later refusals can show
# that it did not change.
enrol() {
  ctl device add "$1" --auth null-string >/dev/null 2>&1 || true
  ctl device update "$1" --auth null-string >/dev/null
  ctl schedule install "$1" >/dev/null
  local out
  out=$(run_phone "$1" "$2")
  [ "$(echo "$out" | json_field '["end_reason"]')" = 1 ] || fail "enrolment of $1: $out"
}

issued_count() { psql "$db" -At -c "SELECT count(*) FROM issued_certificates WHERE device = '$1'"; }
stored_md5() { ctl --json device get "$1" | json_field '["lsc"]["md5"] if d["lsc"] else None'; }

# remember NAME: the certificate state a refusal must leave alone.
remember() { before_count=$(issued_count "$1"); before_md5=$(stored_md5 "$1"); }

# assert_refused NAME REASON CAUSE_REGEX PHONE_OUTPUT
assert_refused() {
  local name=$1 reason=$2 cause=$3 out=$4 got details
  got=$(echo "$out" | json_field '["end_reason"]' 2>/dev/null) || fail "no END_SESSION for $name: $out"
  [ "$got" = "$reason" ] || fail "$case: END_SESSION reason $got, expected $reason: $out"
  details=$(ctl --json audit --device "$name" --limit 3 | python3 -c "
import json, sys
for e in json.load(sys.stdin)['events']:
    if e['event'] in ('session', 'operation'):
        print(e['outcome'] + ' ' + e['detail'])")
  echo "$details" | grep -Eq -- "$cause" || fail "$case: no audit event with cause /$cause/; saw: $details"
  [ "$(issued_count "$name")" = "$before_count" ] || fail "$case: a certificate was issued"
  [ "$(stored_md5 "$name")" = "$before_md5" ] || fail "$case: the device's certificate changed"
  grep -q "event=session device=$name .*end_reason=$reason" "$dir/capfd.log" || fail "$case: no session log line"
  echo "PASS: $case: END_SESSION $reason, audit '$(echo "$details" | grep -E -- "$cause" | head -1)', nothing issued"
}

# assert_installed NAME STATE PHONE_OUTPUT: the phone holds an LSC that
# verifies against the CAPF certificate and whose MD5 is the stored one.
assert_installed() {
  local name=$1 state=$2 out=$3
  [ "$(echo "$out" | json_field '["end_reason"]')" = 1 ] ||
    fail "$case: install failed: $out; audit: $(ctl --json audit --device "$name" --limit 3 | python3 -c "
import json, sys
print('; '.join(e['event'] + '/' + e['outcome'] + ' ' + e['detail'] for e in json.load(sys.stdin)['events']))")"
  openssl verify -CAfile "$dir/capf.crt" "$dir/$state/lsc.pem" | grep -q ": OK" || fail "$case: LSC does not verify"
  local held
  held=$(openssl x509 -in "$dir/$state/lsc.pem" -outform DER | md5sum | cut -d' ' -f1)
  [ "$held" = "$(stored_md5 "$name")" ] || fail "$case: stored MD5 differs from the phone's $held"
  openssl x509 -in "$dir/$state/lsc.pem" -noout -subject | grep -q "CN = $name" || fail "$case: LSC subject"
  echo "PASS: $case: LSC $(echo "$out" | json_field '["serial"]') verified, MD5 $held stored"
}

# make_ca NAME CN: a CA certificate and key in $dir/NAME.{pem,key}.
make_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/$1.key" -out "$dir/$1.pem" -days 30 \
    -subj "/O=Test/CN=$2" 2>/dev/null
}
# make_cert NAME CA CN [KEYTYPE]: a certificate signed by CA, key as PKCS#8.
make_cert() {
  local key_opt="-newkey rsa:2048"
  [ "${4:-rsa}" = ec ] && key_opt="-newkey ec -pkeyopt ec_paramgen_curve:P-256"
  openssl req -new $key_opt -nodes -keyout "$dir/$1.key" -out "$dir/$1.csr" -subj "/CN=$3" 2>/dev/null
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/$2.pem" -CAkey "$dir/$2.key" -CAcreateserial \
    -out "$dir/$1.pem" -days 30 2>/dev/null
}
# sudi_ca_setup: the run's test manufacturer root for SUDIs, the one
# capf-phone issues its phones' SUDIs from ($dir/sudi-ca/root.pem and
# root-key.pem), also as $dir/sudi-root.{pem,key} for make_cert. capf-phone
# makes it itself when missing; this makes it first, so that a test can trust
# it before any phone runs.
sudi_ca_setup() {
  [ -e "$dir/sudi-ca/root.pem" ] && return 0
  mkdir -p "$dir/sudi-ca"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/sudi-ca/root-key.pem" \
    -out "$dir/sudi-ca/root.pem" -days 30 -subj "/O=Test Manufacturer/CN=Test SUDI Root" 2>/dev/null ||
    fail "cannot make the test SUDI root"
  ln -sf sudi-ca/root.pem "$dir/sudi-root.pem"
  ln -sf sudi-ca/root-key.pem "$dir/sudi-root.key"
}
# mic_setup: a manufacturing root the service trusts, this phone's MIC, and a
# SUDI for it under the run's SUDI root, which the service trusts as a
# sudi-root: the strict SUDI rules hold ($dev names the phone).
mic_setup() {
  make_ca mic-root "Test Manufacturing CA"
  make_cert mic mic-root "CP-7962G-$dev"
  sudi_ca_setup
  make_cert sudi sudi-root "CP-7962G-$dev"
  ctl trust add mic-root "$dir/mic-root.pem" >/dev/null || fail "trust add mic-root"
  ctl trust add sudi-root "$dir/sudi-root.pem" >/dev/null || fail "trust add sudi-root"
}
mic_args() { echo --auth mic --mic-cert "$dir/mic.pem" --mic-key "$dir/mic.key"; }
