#!/usr/bin/env bash
# One CAPF dialogue case end to end (real capfd, TLS, PostgreSQL, capfctl,
# capf-phone): each refusal of section 5 (protocol/README.md) asserts the END_SESSION reason on
# the wire, the audit event naming the specific cause, and that no
# certificate was issued or changed; the MIC installs and the key-generation
# cases assert what the phone ends up holding.
# Usage: e2e_dialogue_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR CASE
capfd=$1 capfctl=$2 phone=$3 src=$4 case=$5
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
dev=SEP001122334455

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
run_phone() {
  local name=$1 state=$2
  shift 2
  "$phone" --port "$port" --name "$name" --capf-cert "$dir/capf.crt" --state "$dir/$state" --timeout "${phone_timeout:-30}" "$@" || true
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
  [ "$(echo "$out" | json_field '["end_reason"]')" = 1 ] || fail "$case: install failed: $out"
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
# mic_setup: a manufacturing root the service trusts, this phone's MIC and a SUDI.
mic_setup() {
  make_ca mic-root "Test Manufacturing CA"
  make_cert mic mic-root "CP-7962G-$dev"
  make_cert sudi mic-root "Test SUDI $dev"
  ctl trust add mic-root "$dir/mic-root.pem" >/dev/null || fail "trust add mic-root"
}
mic_args() { echo --auth mic --mic-cert "$dir/mic.pem" --mic-key "$dir/mic.key"; }

case $case in
  # --- section 5.1 refusals ---------------------------------------------------
  unknown-device)
    start
    before_count=0 before_md5=None
    ctl device get SEP0000DEADBEEF >/dev/null 2>&1 && fail "exists"
    out=$(run_phone SEP0000DEADBEEF p)
    [ "$(echo "$out" | json_field '["end_reason"]')" = 9 ] || fail "unknown device: $out"
    ctl --json audit --device SEP0000DEADBEEF | grep -q '"detail": "unknown_device"' || fail "no audit"
    [ "$(issued_count SEP0000DEADBEEF)" = 0 ] || fail "issued"
    echo "PASS: $case: END_SESSION 9, audit unknown_device"
    ;;
  no-pending-operation)
    start; enrol $dev p; remember $dev
    assert_refused $dev 0 "no_action no_pending_operation" "$(run_phone $dev p --auth none)"
    ;;
  deadline-passed)
    start; enrol $dev p
    ctl schedule install $dev --deadline-hours 1 >/dev/null
    # An hour cannot pass in a test: move the deadline into the past.
    psql "$db" -q -c "UPDATE devices SET operation_deadline = now() - interval '1 minute' WHERE name = '$dev'"
    remember $dev
    # capfd's minute timer may expire the operation first: either way the
    # phone is told there is nothing to do, and the audit says why.
    assert_refused $dev 0 "no_action operation_deadline_passed|expired deadline passed" "$(run_phone $dev p)"
    ;;
  wrong-version)
    start; enrol $dev p; ctl schedule install $dev >/dev/null; remember $dev
    assert_refused $dev 7 "refused wrong_version: 2" "$(run_phone $dev p --protocol-version 2)"
    ;;
  wrong-session-id)
    start; enrol $dev p; ctl schedule install $dev >/dev/null; remember $dev
    out=$(run_phone $dev p --wrong-session-id)
    # The frame is refused before its body is read, so the audit event
    # cannot name the device.
    [ "$(echo "$out" | json_field '["end_reason"]')" = 7 ] || fail "wrong session id: $out"
    ctl --json audit --limit 3 | grep -q '"detail": "invalid_message: session_id_mismatch"' || fail "no audit"
    [ "$(issued_count $dev)" = "$before_count" ] && [ "$(stored_md5 $dev)" = "$before_md5" ] || fail "changed"
    echo "PASS: $case: END_SESSION 7, audit invalid_message: session_id_mismatch, nothing issued"
    ;;
  garbage)
    start; ctl device add $dev --auth null-string >/dev/null; ctl schedule install $dev >/dev/null
    before_count=0 before_md5=None
    out=$(run_phone $dev p --garbage)
    grep -q "event=session .*outcome=refused" "$dir/capfd.log" || fail "garbage: no refused session: $out"
    ctl --json audit --limit 3 | grep -q '"detail": "invalid_message: ' || fail "garbage: no audit"
    [ "$(issued_count $dev)" = 0 ] || fail "garbage: issued"
    echo "PASS: $case: refused, nothing issued ($(grep -o 'cause=[^ ]*' "$dir/capfd.log" | tail -1))"
    ;;
  silent)
    start; enrol $dev p; ctl schedule install $dev >/dev/null; remember $dev
    t0=$(date +%s)
    out=$(phone_timeout=10 run_phone $dev p --silent)
    [ $(($(date +%s) - t0)) -le 6 ] || fail "silent phone held for more than the read timeout"
    # Nothing identified the phone yet: the session line has no device.
    for _ in $(seq 1 40); do grep -q "event=session device=- .*cause=timeout end_reason=7" "$dir/capfd.log" && break; sleep 0.1; done
    grep -q "event=session device=- .*cause=timeout end_reason=7" "$dir/capfd.log" || fail "silent: no timeout logged"
    [ "$(echo "$out" | json_field '["end_reason"]')" = 7 ] || fail "silent: phone not told: $out"
    [ "$(issued_count $dev)" = "$before_count" ] || fail "silent: issued"
    echo "PASS: $case: dropped at the read deadline"
    ;;
  # --- authentication failures (5.1, 5.2) --------------------------------------
  auth-string-missing)
    start; enrol $dev p; ctl schedule install $dev --auth auth-string >/dev/null
    ctl auth-string generate $dev --value 482916 >/dev/null; remember $dev
    assert_refused $dev 7 "refused auth_string_missing" "$(run_phone $dev p --auth none)"
    ;;
  auth-string-mismatch)
    start; enrol $dev p; ctl schedule install $dev --auth auth-string >/dev/null
    ctl auth-string generate $dev --value 482916 >/dev/null; remember $dev
    assert_refused $dev 7 "refused auth_string_mismatch" "$(run_phone $dev p --auth auth-string --auth-string 482917)"
    ;;
  auth-string-not-set)
    start; enrol $dev p; ctl schedule install $dev --auth auth-string >/dev/null; remember $dev
    assert_refused $dev 7 "refused auth_string_not_set" "$(run_phone $dev p --auth auth-string --auth-string 482916)"
    ;;
  auth-string-locked-out)
    start; enrol $dev p; ctl schedule install $dev --auth auth-string >/dev/null
    ctl auth-string generate $dev --value 482916 >/dev/null; remember $dev
    for wrong in 111111 222222 333333; do
      assert_refused $dev 7 "refused auth_string_mismatch" "$(run_phone $dev p --auth auth-string --auth-string $wrong)"
    done
    [ "$(ctl --json device get $dev | json_field '["auth_locked"]')" = True ] || fail "not locked after 3 failures"
    assert_refused $dev 7 "refused auth_string_locked_out" "$(run_phone $dev p --auth auth-string --auth-string 482916)"
    ;;
  lsc-missing)
    start; enrol $dev p; ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    assert_refused $dev 7 "refused certificate_missing" "$(run_phone $dev p --auth none)"
    ;;
  lsc-untrusted)
    start; enrol $dev p; ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    make_ca rogue "Rogue CAPF"
    make_cert rogue-lsc rogue "$dev"
    assert_refused $dev 7 "refused untrusted_chain" \
      "$(run_phone $dev p --present-cert "$dir/rogue-lsc.pem" --present-key "$dir/rogue-lsc.key")"
    ;;
  lsc-of-another-device)
    start; enrol $dev p; enrol SEP00AABBCCDDEE other
    ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    assert_refused $dev 7 "refused not_bound_to_device" \
      "$(run_phone $dev p --present-cert "$dir/other/lsc.pem" --present-key "$dir/other/lsc-key.pem")"
    ;;
  lsc-bad-proof)
    start; enrol $dev p; ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    assert_refused $dev 7 "refused bad_sha1_proof" "$(run_phone $dev p --auth lsc --bad-proof)"
    ;;
  lsc-required)
    start; enrol $dev p; mic_setup; ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    assert_refused $dev 7 "refused lsc_required" "$(run_phone $dev p $(mic_args))"
    ;;
  mic-required)
    start; enrol $dev p; mic_setup; ctl schedule install $dev --auth mic >/dev/null; remember $dev
    assert_refused $dev 7 "refused mic_required" "$(run_phone $dev p --auth lsc)"
    ;;
  mic-untrusted)
    start; enrol $dev p; ctl schedule install $dev --auth mic >/dev/null; remember $dev
    make_ca mic-root "Unimported Manufacturing CA"
    make_cert mic mic-root "CP-7962G-$dev"
    assert_refused $dev 7 "refused untrusted_chain" "$(run_phone $dev p $(mic_args))"
    ;;
  mic-of-another-device)
    start; enrol $dev p; mic_setup; ctl schedule install $dev --auth mic >/dev/null; remember $dev
    make_cert mic mic-root "CP-7962G-SEP00AABBCCDDEE"
    assert_refused $dev 7 "refused not_bound_to_device" "$(run_phone $dev p $(mic_args))"
    ;;
  sudi-bad-proof)
    start; enrol $dev p; mic_setup; ctl schedule install $dev --auth mic >/dev/null; remember $dev
    # The SUDI data is signed with the MIC's key, not the SUDI certificate's.
    assert_refused $dev 7 "refused bad_sudi_proof" \
      "$(run_phone $dev p $(mic_args) --sudi-cert "$dir/sudi.pem" --sudi-key "$dir/mic.key")"
    ;;
  # --- installs under MIC (null string, auth string and LSC: e2e_enroll_test) --
  install-mic-with-sudi)
    start; mic_setup
    ctl device add $dev --auth mic >/dev/null; ctl schedule install $dev >/dev/null
    out=$(run_phone $dev p $(mic_args) --sudi-cert "$dir/sudi.pem" --sudi-key "$dir/sudi.key")
    assert_installed $dev p "$out"
    ctl --json audit --device $dev | grep -q '"detail": "mic"' || fail "authentication by MIC not audited"
    ;;
  install-lsc-or-mic-by-ec-mic)
    start; make_ca mic-root "Test Manufacturing CA"; make_cert mic mic-root "CP-8845-$dev" ec
    ctl trust add mic-root "$dir/mic-root.pem" >/dev/null
    ctl device add $dev --auth lsc-or-mic --key ec-p384 >/dev/null; ctl schedule install $dev >/dev/null
    out=$(run_phone $dev p $(mic_args))
    assert_installed $dev p "$out"
    [ "$(echo "$out" | json_field '["key"]')" = ec-p384 ] || fail "key spec not requested: $out"
    ;;
  # --- key generation (5.4) ------------------------------------------------------
  keygen-fails-twice-then-succeeds)
    start; ctl device add $dev --auth null-string >/dev/null; ctl schedule install $dev >/dev/null
    out=$(run_phone $dev p --keygen-fail 2)
    assert_installed $dev p "$out"
    [ "$(grep -c "event=keygen_failed device=$dev" "$dir/capfd.log")" = 2 ] || fail "two keygen failures not logged"
    ;;
  keygen-exceeds-retries)
    start; enrol $dev p; ctl schedule install $dev >/dev/null; remember $dev
    out=$(run_phone $dev p2 --keygen-fail 3)
    assert_refused $dev 7 "failed keygen_failed: reason 7 after 3 attempts" "$out"
    [ "$(ctl --json device get $dev | json_field '["pending_operation"]')" = install ] || fail "operation not kept for a retry"
    ;;
  keygen-timeout)
    start '{"keygen": {"timeout": "1s", "retries": 1}}'
    enrol $dev p; ctl schedule install $dev >/dev/null; remember $dev
    t0=$(date +%s)
    out=$(run_phone $dev p2 --keygen-delay 4)
    assert_refused $dev 7 "failed keygen_timeout after 2 attempts" "$out"
    [ "$(grep -c "event=keygen_timeout device=$dev" "$dir/capfd.log")" = 2 ] || fail "two keygen timeouts not logged"
    ;;
  keygen-wrong-key)
    start; enrol $dev p; ctl schedule install $dev --key rsa-2048 >/dev/null; remember $dev
    assert_refused $dev 7 "failed key_rejected" "$(run_phone $dev p2 --keygen-key ec-p256)"
    ;;
  store-refused)
    start; enrol $dev p; ctl schedule install $dev >/dev/null
    before_md5=$(stored_md5 $dev)
    out=$(run_phone $dev p2 --refuse-store)
    # Recorded before it was sent, but never confirmed: the device's LSC stays.
    [ "$(echo "$out" | json_field '["end_reason"]')" = 7 ] || fail "store refused: $out"
    [ "$(stored_md5 $dev)" = "$before_md5" ] || fail "LSC changed although the phone refused to store"
    [ "$(psql "$db" -At -c "SELECT count(*) FILTER (WHERE confirmed), count(*) FROM issued_certificates WHERE device = '$dev'")" = "1|2" ] ||
      fail "expected one confirmed and one unconfirmed certificate"
    ctl --json audit --device $dev --limit 3 | grep -q "store_refused: reason 4" || fail "no audit of the refusal"
    echo "PASS: $case: END_SESSION 7, issued certificate recorded unconfirmed, device LSC unchanged"
    ;;
  *)
    fail "unknown case $case"
    ;;
esac
stop_capfd "$capfd_pid"
