#!/usr/bin/env bash
# One attack on capfd's trust decisions end to end (issue 11; real capfd,
# TLS, PostgreSQL, capfctl, capf-phone with the misbehaviour it needs). Each
# refusal asserts the END_SESSION reason on the wire, the audit cause, and
# that nothing was issued or changed; each case that must succeed asserts
# what the phone and the device record end up holding.
# Usage: e2e_attack_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR CASE
capfd=$1 capfctl=$2 phone=$3 src=$4 case=$5
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
dev=SEP001122334455      # the device under attack (mic_setup binds to it)
other=SEP00AABBCCDDEE    # another device, whose certificates must not serve $dev

reason_of() { json_field '["end_reason"]' 2>/dev/null || echo none; }
device_field() { ctl --json device get "$1" | json_field "$2"; }
hex_of() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
der_md5() { openssl x509 -in "$1" -outform DER | md5sum | cut -d' ' -f1; }

# keep STATE COPY: a copy of the phone's LSC and key, to present later.
keep() { rm -rf "${dir:?}/$2"; cp -r "$dir/$1" "$dir/$2"; }
present_args() { echo --present-cert "$dir/$1/lsc.pem" --present-key "$dir/$1/lsc-key.pem"; }

# session_events [DEVICE]: "outcome detail" of the newest session and
# operation events, as assert_refused reads them.
session_events() {
  local args=(--limit 50)
  [ -n "${1:-}" ] && args+=(--device "$1")
  ctl --json audit "${args[@]}" | python3 -c "
import json, sys
for e in json.load(sys.stdin)['events']:
    if e['event'] in ('session', 'operation'):
        print(e['outcome'] + ' ' + e['detail'])"
}
# recent_events [DEVICE]: the newest 5 audit events of any kind, for messages.
recent_events() {
  local args=(--limit 5)
  [ -n "${1:-}" ] && args+=(--device "$1")
  ctl --json audit "${args[@]}" | python3 -c "
import json, sys
print('; '.join(e['event'] + '/' + e['outcome'] + ' ' + e['detail'] for e in json.load(sys.stdin)['events']))"
}

# wait_for_session_event DEVICE REGEX: the audit shows the session ended.
wait_for_session_event() {
  for _ in $(seq 1 100); do
    session_events "$1" | grep -Eq -- "$2" && return 0
    sleep 0.05
  done
  fail "$case: no audit session event /$2/ for ${1:-any device}; newest events: $(recent_events "$1")"
}

# psql_value VAR SQL: sets VAR to the one value the query returns (in this
# shell, so a failing query fails the case with its message).
psql_value() {
  local value
  value=$(psql "$db" -At -v ON_ERROR_STOP=1 -c "$2" 2>&1) || fail "$case: query failed: $2: $value"
  printf -v "$1" '%s' "$value"
}

# A psql session fed through a fifo, so a test can open a transaction, hold
# its locks while capfd works, and end it when it chooses.
sql_session_open() {
  mkfifo "$dir/sql.fifo"
  psql "$db" -q -v ON_ERROR_STOP=1 <"$dir/sql.fifo" >"$dir/sql.out" 2>&1 &
  sql_pid=$!
  e2e_pids+=("$sql_pid")
  exec 7>"$dir/sql.fifo"
}
sql_session_send() { echo "$1" >&7; }
sql_session_close() {
  exec 7>&-
  wait "$sql_pid" || fail "$case: the locking psql session failed: $(cat "$dir/sql.out")"
}
# wait_until_sql TRUE_QUERY WHAT: polls (10 s) until the query returns t.
wait_until_sql() {
  for _ in $(seq 1 200); do
    [ "$(psql "$db" -At -c "$1")" = t ] && return 0
    sleep 0.05
  done
  fail "$case: $2 did not happen within 10 s"
}

# make_ca_cert NAME ISSUER CN BITS HASH: an intermediate CA certificate
# (basicConstraints CA:TRUE, keyCertSign) signed by ISSUER.
make_ca_cert() {
  printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$dir/$1.ext"
  openssl req -new -newkey "rsa:$4" -nodes -keyout "$dir/$1.key" -out "$dir/$1.csr" \
    -subj "/O=Test/CN=$3" 2>/dev/null || fail "openssl req $1"
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/$2.pem" -CAkey "$dir/$2.key" -CAcreateserial \
    -extfile "$dir/$1.ext" -out "$dir/$1.pem" -days 30 2>/dev/null || fail "openssl x509 $1"
}
# make_leaf NAME ISSUER CN HASH: an end-entity certificate (CA:FALSE).
make_leaf() {
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$dir/$1.ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$1.key" -out "$dir/$1.csr" \
    -subj "/CN=$3" 2>/dev/null || fail "openssl req $1"
  openssl x509 -req "-$4" -in "$dir/$1.csr" -CA "$dir/$2.pem" -CAkey "$dir/$2.key" -CAcreateserial \
    -extfile "$dir/$1.ext" -out "$dir/$1.pem" -days 30 2>/dev/null || fail "openssl x509 $1"
}
# mic_chain BITS HASH: root (trusted as mic-root by the caller), a
# manufacturing intermediate of BITS, the phone's MIC signed by it with HASH.
mic_chain() {
  make_ca mic-root "Test Manufacturing Root"
  make_ca_cert mfg mic-root "Test Manufacturing CA $1" "$1"
  make_leaf mic mfg "CP-7962G-$dev" "$2"
  openssl verify -CAfile "$dir/mic-root.pem" -untrusted "$dir/mfg.pem" "$dir/mic.pem" >/dev/null 2>&1 ||
    [ "$2" = sha1 ] || fail "the generated MIC chain does not verify with openssl"
}
# mic_device MODE: $dev with an install scheduled under MODE.
mic_device() { ctl device add $dev --auth "$1" >/dev/null; ctl schedule install $dev >/dev/null; before_count=0 before_md5=None; }

# the sudi-root role exists: these cases are about SUDI anchors.
require_sudi_roots() {
  local out
  out=$(ctl trust list sudi-root 2>&1) || fail "$case: capfctl trust list sudi-root refused: $out"
}

case $case in
  # --- certificates that authenticate (lsc mode) ---------------------------------
  lsc-superseded)
    start; enrol $dev p; keep p first; enrol $dev p
    [ "$(der_md5 "$dir/first/lsc.pem")" != "$(stored_md5 $dev)" ] || fail "$case: second enrolment kept the first LSC"
    ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    assert_refused $dev 7 "refused lsc_not_current: superseded" "$(run_phone $dev p $(present_args first))"
    ;;
  lsc-refused-by-phone)
    start; enrol $dev p; ctl schedule install $dev >/dev/null
    out=$(run_phone $dev p --refuse-store --keep-refused "$dir/refused")
    [ "$(echo "$out" | reason_of)" = 7 ] || fail "$case: the refused install did not end with 7: $out"
    session_events $dev | grep -q "store_refused" ||
      fail "$case: the install is not audited as store_refused; newest events: $(recent_events $dev)"
    [ -s "$dir/refused/lsc.pem" ] && [ -s "$dir/refused/lsc-key.pem" ] || fail "$case: --keep-refused saved nothing"
    ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    assert_refused $dev 7 "refused lsc_not_current: refused" "$(run_phone $dev p $(present_args refused))"
    ;;
  lsc-deleted)
    start; enrol $dev p; keep p kept
    ctl schedule delete $dev >/dev/null
    out=$(run_phone $dev p --auth lsc)
    [ "$(echo "$out" | reason_of)" = 1 ] || fail "$case: delete did not end with 1: $out"
    [ "$(stored_md5 $dev)" = None ] || fail "$case: the device still shows an LSC after the delete"
    ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    assert_refused $dev 7 "refused lsc_not_current: deleted" "$(run_phone $dev p $(present_args kept))"
    ;;
  lsc-revoked)
    start; enrol $dev p
    serial=$(device_field $dev '["lsc"]["serial"]') || fail "$case: capfctl device get $dev shows no LSC serial"
    out=$(ctl cert revoke "$serial" 2>&1) || fail "$case: capfctl cert revoke $serial: $out"
    standing=$(ctl --json cert list $dev | python3 -c "
import json, sys
want = sys.argv[1].lower().lstrip('0')
rows = json.load(sys.stdin)
print(' '.join(r['standing'] for r in rows if str(r['serial']).lower().lstrip('0') == want) or 'absent')" "$serial") ||
      fail "$case: capfctl --json cert list $dev failed"
    [ "$standing" = revoked ] || fail "$case: cert list shows serial $serial as '$standing', expected revoked"
    ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    assert_refused $dev 7 "refused lsc_not_current: revoked" "$(run_phone $dev p --auth lsc)"
    ;;
  unknown-outcome-confirmed)
    # Acceptance 4: kill -9 between the phone's STORE_CERT_RESPONSE and the
    # commit that records it; the phone's next session confirms that LSC.
    start; mic_setup; mic_device lsc-or-mic
    run_phone $dev p $(mic_args) --store-gate "$dir/gate" >"$dir/phone1.out" &
    phone_pid=$!
    for _ in $(seq 1 400); do [ -e "$dir/gate/stored" ] && break; sleep 0.05; done
    [ -e "$dir/gate/stored" ] || fail "$case: the phone never stored an LSC: $(cat "$dir/phone1.out")"
    kill -STOP "$capfd_pid"
    touch "$dir/gate/go"
    wait "$phone_pid"
    kill -KILL "$capfd_pid"; wait "$capfd_pid" 2>/dev/null || true
    out=$(cat "$dir/phone1.out")
    [ "$(echo "$out" | json_field '.get("unconfirmed")')" = True ] || fail "$case: the phone did not leave unconfirmed: $out"
    held=$(der_md5 "$dir/p/lsc.pem")
    count=$(issued_count $dev)
    rm -f "$sock"  # left by the killed capfd
    start_capfd "$dir/capfd.json" "$dir/capfd-restarted.log" "$sock"
    [ "$(stored_md5 $dev)" != "$held" ] || fail "$case: the LSC was recorded before the kill; the window was not hit"
    out=$(run_phone $dev p --auth lsc)
    [ "$(echo "$out" | reason_of)" = 1 ] || fail "$case: END_SESSION $(echo "$out" | reason_of), expected 1: $out"
    grep -q "event=session device=$dev .*outcome=succeeded.*lsc_confirmed" "$dir/capfd-restarted.log" ||
      fail "$case: no session log line 'succeeded ... lsc_confirmed'"
    ctl --json audit --device $dev --limit 50 | python3 -c "
import json, sys
sys.exit(0 if any(e['event'] == 'certificate' and 'confirmed' in (e['outcome'], e['detail'])
                  for e in json.load(sys.stdin)['events']) else 1)" || fail "$case: no audit event certificate/confirmed"
    [ "$(stored_md5 $dev)" = "$held" ] || fail "$case: the device record shows $(stored_md5 $dev), the phone holds $held"
    pending=$(device_field $dev '["pending_operation"]') || fail "$case: capfctl device get $dev shows no pending_operation"
    [ "$pending" = None ] || [ "$pending" = none ] || fail "$case: the install is still pending ($pending)"
    [ "$(issued_count $dev)" = "$count" ] || fail "$case: a new certificate was issued ($(issued_count $dev), was $count)"
    echo "PASS: $case: the LSC stored before the kill -9 authenticated, device record shows MD5 $held, nothing issued"
    ;;
  # --- chains: path validation, intermediates, weak signatures, binding ---------
  mic-chain-sent)
    start; mic_chain 2048 sha256
    ctl trust add mic-root "$dir/mic-root.pem" >/dev/null || fail "trust add mic-root"
    mic_device mic
    assert_installed $dev p "$(run_phone $dev p $(mic_args) --mic-chain "$dir/mfg.pem")"
    ;;
  mic-chain-configured)
    start; mic_chain 2048 sha256
    ctl trust add mic-root "$dir/mic-root.pem" >/dev/null || fail "trust add mic-root"
    out=$(ctl trust add intermediate "$dir/mfg.pem" 2>&1) || fail "$case: capfctl trust add intermediate: $out"
    mic_device mic
    assert_installed $dev p "$(run_phone $dev p $(mic_args))"
    ;;
  mic-chain-missing)
    start; mic_chain 2048 sha256
    ctl trust add mic-root "$dir/mic-root.pem" >/dev/null || fail "trust add mic-root"
    mic_device mic
    assert_refused $dev 7 "refused untrusted_chain" "$(run_phone $dev p $(mic_args))"
    ;;
  mic-sha1-1024)
    start; mic_chain 1024 sha1
    ctl trust add mic-root "$dir/mic-root.pem" >/dev/null || fail "trust add mic-root"
    mic_device mic
    assert_installed $dev p "$(run_phone $dev p $(mic_args) --mic-chain "$dir/mfg.pem")"
    ;;
  mic-sha1-1024-strict)
    start '{"trust": {"policy": "strict"}}'; mic_chain 1024 sha1
    ctl trust add mic-root "$dir/mic-root.pem" >/dev/null || fail "trust add mic-root"
    mic_device mic
    assert_refused $dev 7 "refused weak_chain" \
      "$(run_phone $dev p $(mic_args) --mic-chain "$dir/mfg.pem")"
    ;;
  mic-substring-mac)
    start; make_ca mic-root "Test Manufacturing CA"
    make_cert mic mic-root "CP-7962G-SEPAB$(echo $dev | cut -c4-)"
    ctl trust add mic-root "$dir/mic-root.pem" >/dev/null || fail "trust add mic-root"
    mic_device mic
    assert_refused $dev 7 "refused not_bound_to_device" "$(run_phone $dev p $(mic_args))"
    ;;
  # --- SUDI -----------------------------------------------------------------------
  sudi-untrusted)
    start; mic_setup; require_sudi_roots
    make_cert sudi-under-mic-root mic-root "CP-7962G-$dev"
    mic_device mic
    assert_refused $dev 7 "refused sudi_untrusted" \
      "$(run_phone $dev p $(mic_args) --sudi-cert "$dir/sudi-under-mic-root.pem" --sudi-key "$dir/sudi-under-mic-root.key")"
    ;;
  sudi-bad-proof)
    # With an LSC: a SUDI that is sent must verify whatever authenticates.
    start; mic_setup; require_sudi_roots; enrol $dev p
    ctl schedule install $dev --auth lsc >/dev/null; remember $dev
    assert_refused $dev 7 "refused bad_sudi_proof" \
      "$(run_phone $dev p --auth lsc --sudi-cert "$dir/sudi.pem" --sudi-key "$dir/sudi.key" --bad-sudi-proof)"
    ;;
  sudi-other-device)
    start; mic_setup; require_sudi_roots
    make_cert sudi-other sudi-root "CP-7962G-$other"
    mic_device mic
    assert_refused $dev 7 "refused sudi_not_bound_to_device" \
      "$(run_phone $dev p $(mic_args) --sudi-cert "$dir/sudi-other.pem" --sudi-key "$dir/sudi-other.key")"
    ;;
  sudi-required)
    start; mic_setup; mic_device mic
    out=$(ctl device update $dev --require-sudi true 2>&1) || fail "$case: capfctl device update --require-sudi true: $out"
    assert_refused $dev 7 "refused sudi_missing" "$(run_phone $dev p $(mic_args) --no-sudi)"
    # What require_sudi asks for: the phone's own SUDI, under the trusted root.
    assert_installed $dev p "$(run_phone $dev p $(mic_args))"
    ;;
  sudi-valid)
    start; mic_setup; require_sudi_roots; mic_device mic
    assert_installed $dev p "$(run_phone $dev p $(mic_args) --sudi-cert "$dir/sudi.pem" --sudi-key "$dir/sudi.key")"
    ;;
  # --- fetch records only the device's own certificate ---------------------------
  fetch-other-device)
    start; enrol $dev p; enrol $other o
    ctl schedule fetch $dev >/dev/null; remember $dev
    fetched=$(device_field $dev '["fetched_md5"]') || fail "$case: capfctl device get $dev shows no fetched_md5"
    assert_refused $dev 7 "refused fetched_certificate_refused: not_bound_to_device" \
      "$(run_phone $dev p --fetch-cert "$dir/o/lsc.pem")"
    [ "$(device_field $dev '["fetched_md5"]')" = "$fetched" ] || fail "$case: the fetched certificate was recorded"
    ;;
  fetch-self-signed)
    start; enrol $dev p
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/self.key" -out "$dir/self.pem" -days 30 \
      -subj "/CN=$dev" 2>/dev/null
    ctl schedule fetch $dev >/dev/null; remember $dev
    fetched=$(device_field $dev '["fetched_md5"]') || fail "$case: capfctl device get $dev shows no fetched_md5"
    assert_refused $dev 7 "refused fetched_certificate_refused: untrusted_chain" \
      "$(run_phone $dev p --fetch-cert "$dir/self.pem")"
    [ "$(device_field $dev '["fetched_md5"]')" = "$fetched" ] || fail "$case: the fetched certificate was recorded"
    ;;
  fetch-not-the-authenticated)
    start; enrol $dev p; keep p first; enrol $dev p
    ctl schedule fetch $dev --auth lsc >/dev/null; remember $dev
    fetched=$(device_field $dev '["fetched_md5"]') || fail "$case: capfctl device get $dev shows no fetched_md5"
    assert_refused $dev 7 "refused fetched_certificate_refused: not_the_authenticated_certificate" \
      "$(run_phone $dev p --auth lsc --fetch-cert "$dir/first/lsc.pem")"
    [ "$(device_field $dev '["fetched_md5"]')" = "$fetched" ] || fail "$case: the fetched certificate was recorded"
    ;;
  # --- auth strings -----------------------------------------------------------------
  auth-string-retry-after-keygen-failure)
    start; ctl device add $dev --auth auth-string >/dev/null; ctl schedule install $dev >/dev/null
    ctl auth-string generate $dev --value 482916 >/dev/null; before_count=0 before_md5=None
    assert_refused $dev 7 "failed keygen_failed" \
      "$(run_phone $dev p --auth auth-string --auth-string 482916 --keygen-fail 99)"
    assert_installed $dev p "$(run_phone $dev p --auth auth-string --auth-string 482916)"
    ctl schedule install $dev >/dev/null; remember $dev
    assert_refused $dev 7 "refused auth_string_not_set" "$(run_phone $dev p --auth auth-string --auth-string 482916)"
    ;;
  auth-string-retry-after-hang-up)
    start; ctl device add $dev --auth auth-string >/dev/null; ctl schedule install $dev >/dev/null
    ctl auth-string generate $dev --value 482916 >/dev/null
    out=$(run_phone $dev p --auth auth-string --auth-string 482916 --hang-up-at keygen)
    [ "$(echo "$out" | json_field '.get("hung_up")')" = keygen ] || fail "$case: the phone did not hang up at keygen: $out"
    wait_for_session_event $dev "^(failed|refused) "
    [ "$(issued_count $dev)" = 0 ] || fail "$case: a certificate was issued to a phone that hung up"
    assert_installed $dev p "$(run_phone $dev p --auth auth-string --auth-string 482916)"
    ;;
  operation-changed)
    start; ctl device add $dev --auth null-string >/dev/null; ctl schedule install $dev >/dev/null
    before_count=0 before_md5=None
    sql_session_open
    sql_session_send "BEGIN; UPDATE devices SET auth_mode = 'mic' WHERE name = '$dev';"
    wait_until_sql "SELECT count(*) > 0 FROM pg_stat_activity WHERE state = 'idle in transaction'" \
      "the administrator's transaction"
    run_phone $dev p >"$dir/phone.out" &
    phone_pid=$!
    wait_until_sql "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'" \
      "capfd waiting on the device's row lock"
    sql_session_send "COMMIT;"
    sql_session_close
    wait "$phone_pid" || true
    assert_refused $dev 7 "refused operation_changed" "$(cat "$dir/phone.out")"
    ;;
  auth-mode-changed-mid-session)
    # The administrator makes the device stricter (device update) while its
    # phone is generating a key: the session must not finish under the old
    # mode. Before issue 32 it got its LSC (END_SESSION 1).
    start '{"keygen": {"timeout": "20s"}}'
    ctl device add $dev --auth null-string >/dev/null; ctl schedule install $dev >/dev/null
    before_count=0 before_md5=None
    run_phone $dev p --keygen-delay 3 >"$dir/phone.out" &
    phone_pid=$!
    wait_until_sql "SELECT lease_owner IS NOT NULL FROM devices WHERE name = '$dev'" "the session's claim"
    ctl device update $dev --auth auth-string >/dev/null || fail "$case: device update"
    wait "$phone_pid" || true
    assert_refused $dev 7 "refused operation_changed: auth mode of $dev changed from null-string to auth-string" \
      "$(cat "$dir/phone.out")"
    [ "$(ctl --json device get $dev | json_field '["pending_operation"]')" = install ] ||
      fail "$case: the install is no longer pending for a session under the new mode"
    ;;
  concurrent-guesses)
    # Acceptance 2: 50 wrong strings at once, lockout 5.
    start '{"auth": {"lockout_failures": 5}, "limits": {"max_sessions_per_source": 100}}'
    ctl device add $dev --auth auth-string >/dev/null; ctl schedule install $dev >/dev/null
    ctl auth-string generate $dev --value 482916 >/dev/null; before_count=0 before_md5=None
    pids=()
    for i in $(seq 1 50); do
      run_phone $dev "g$i" --auth auth-string --auth-string "$((900000 + i))" >"$dir/guess$i.out" &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    for i in $(seq 1 50); do
      [ "$(reason_of <"$dir/guess$i.out")" = 7 ] || fail "$case: guess $i was not refused with 7: $(cat "$dir/guess$i.out")"
    done
    psql_value compared "SELECT coalesce(sum(repeat_count), 0) FROM audit_events WHERE event = 'session' AND device = '$dev' AND detail = 'auth_string_mismatch'"
    psql_value locked "SELECT coalesce(sum(repeat_count), 0) FROM audit_events WHERE event = 'session' AND device = '$dev' AND detail = 'auth_string_locked_out'"
    [ "$compared" -ge 1 ] && [ "$compared" -le 5 ] || fail "$case: $compared guesses were compared, lockout is 5"
    [ $((compared + locked)) = 50 ] || fail "$case: $compared mismatches + $locked locked out != 50 guesses"
    [ "$(device_field $dev '["auth_locked"]')" = True ] || fail "$case: the device is not locked"
    assert_refused $dev 7 "refused auth_string_locked_out" "$(run_phone $dev p --auth auth-string --auth-string 482916)"
    out=$(ctl auth-string unlock $dev 2>&1) || fail "$case: capfctl auth-string unlock: $out"
    assert_installed $dev p "$(run_phone $dev p --auth auth-string --auth-string 482916)"
    echo "PASS: $case: $compared comparisons, $locked refused as locked out"
    ;;
  # --- unauthenticated input is bounded ---------------------------------------------
  invalid-device-name)
    start
    # Each value ends in the NUL that terminates text: ESC [31m inside, an
    # embedded NUL ("SEP00\0EVIL"), 300 and 4000 printable bytes.
    names=("$(hex_of $'SEP\e[31mEVIL')00" "5345503030004556494c00"
      "$(hex_of "$(printf 'A%.0s' $(seq 1 300))")00" "$(hex_of "$(printf 'B%.0s' $(seq 1 4000))")00")
    for hex in "${names[@]}"; do
      out=$(run_phone SEP000000000000 p --raw-name "$hex")
      r=$(echo "$out" | reason_of)
      [ "$r" = 9 ] || [ "$r" = 7 ] || fail "$case: name ${hex:0:40}...: END_SESSION $r, expected 9 or 7: $out"
    done
    ! grep -qaP '\x1b' "$dir/capfd.log" || fail "$case: the capfd log carries a raw ESC byte"
    ! grep -qaP '\x00' "$dir/capfd.log" || fail "$case: the capfd log carries a raw NUL byte"
    longest=$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$dir/capfd.log")
    [ "$longest" -le 2000 ] || fail "$case: a capfd log line of $longest characters"
    ctl --json audit --limit 50 | python3 -c "
import json, sys
rows = [e for e in json.load(sys.stdin)['events'] if e['event'] == 'session']
bad = [e['device'][:80] for e in rows if e['device'] not in ('', None)]
if not rows or bad:
    sys.exit('no session audit rows' if not rows else 'audit rows name a device: %r' % bad)" ||
      fail "$case: audit of invalid names"
    echo "PASS: $case: 4 invalid names ended with 9 or 7, log escaped and bounded ($longest), audit device ''"
    ;;
  audit-rate-limit)
    start
    for i in $(seq -w 0 19); do
      out=$(run_phone "SEP0000000000$i" p)
      [ "$(echo "$out" | reason_of)" = 9 ] || fail "$case: SEP0000000000$i: expected END_SESSION 9: $out"
    done
    psql_value rows "SELECT count(*) FROM audit_events WHERE detail = 'unknown_device'"
    psql_value total "SELECT coalesce(sum(repeat_count), 0) FROM audit_events WHERE detail = 'unknown_device'"
    [ "$rows" -le 2 ] || fail "$case: $rows audit rows for 20 unknown devices (at most 2: one per minute)"
    [ "$total" = 20 ] || fail "$case: the audit counts $total unknown-device sessions, not 20"
    shown=$(ctl --json audit --limit 10 | python3 -c "
import json, sys
print(sum(e['count'] for e in json.load(sys.stdin)['events'] if e['detail'] == 'unknown_device'))")
    [ "$shown" = 20 ] || fail "$case: capfctl audit shows a count of $shown, not 20"
    echo "PASS: $case: 20 unknown devices, $rows audit rows counting $total"
    ;;
  audit-rate-limit-known-device)
    # A peer that names a known device and never authenticates (here: a
    # wrong auth string, then nothing pending) is counted, not given a row
    # per session. Before issue 32: 40 rows.
    start '{"auth": {"lockout_failures": 100}}'
    ctl device add $dev --auth auth-string >/dev/null; ctl schedule install $dev >/dev/null
    ctl auth-string generate $dev --value 482916 >/dev/null
    ctl device add $other --auth null-string >/dev/null
    for i in $(seq 1 20); do
      [ "$(run_phone $dev p --auth auth-string --auth-string 111111 | reason_of)" = 7 ] ||
        fail "$case: guess $i was not refused"
      [ "$(run_phone $other o | reason_of)" = 0 ] || fail "$case: session $i of $other did not end with 0"
    done
    for who in "$dev auth_string_mismatch" "$other no_pending_operation"; do
      set -- $who
      psql_value rows "SELECT count(*) FROM audit_events WHERE device = '$1' AND event = 'session'"
      psql_value total "SELECT coalesce(sum(repeat_count), 0) FROM audit_events WHERE device = '$1' AND event = 'session' AND detail = '$2' AND peer = '127.0.0.1'"
      [ "$rows" -le 2 ] || fail "$case: $rows session audit rows for 20 sessions of $1 (at most 2: one per minute)"
      [ "$total" = 20 ] || fail "$case: the audit counts $total sessions of $1 ending $2, not 20"
    done
    # Once a phone authenticates, its session's end has a row of its own.
    ctl schedule install $other >/dev/null
    [ "$(run_phone $other o --keygen-fail 9 | reason_of)" = 7 ] || fail "$case: the failing install did not end with 7"
    psql_value own "SELECT count(*) FROM audit_events WHERE device = '$other' AND event = 'session' AND rate_window IS NULL AND outcome = 'failed'"
    [ "$own" = 1 ] || fail "$case: the authenticated session's failure has $own rows of its own, not 1"
    echo "PASS: $case: 20 guesses and 20 idle sessions, at most 2 rows each, counting 20"
    ;;
  per-source-cap)
    start '{"limits": {"max_sessions_per_source": 2}}'
    python3 - "$port" <<'PY' || fail "$case: per-source cap"
import socket, sys, time
port = int(sys.argv[1])
def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    return s
first, second = connect(), connect()
time.sleep(0.3)  # both accepted and counted
third = connect()
t0 = time.monotonic()
try:
    data = third.recv(1)
except ConnectionResetError:
    data = b""
except socket.timeout:
    sys.exit("the third connection from one address was not closed within 2 s")
if data != b"":
    sys.exit("the third connection received %r instead of being closed" % data)
print("third closed after %.2f s" % (time.monotonic() - t0))
for n, s in (("first", first), ("second", second)):
    s.setblocking(False)
    try:
        got = s.recv(1)
        sys.exit("the %s connection was closed too (%r)" % (n, got))
    except BlockingIOError:
        pass
PY
    for _ in $(seq 1 40); do grep -q session_refused_per_source "$dir/capfd.log" && break; sleep 0.05; done
    grep -q session_refused_per_source "$dir/capfd.log" || fail "$case: no session_refused_per_source in the log"
    refused=$(ctl --json stats | json_field '["sessions"]["rejected_per_source"]')
    [ "$refused" -ge 1 ] || fail "$case: stats show $refused sessions rejected per source"
    echo "PASS: $case: the third connection was closed, the first two held, stats count $refused"
    ;;
  auth-deadline)
    start '{"limits": {"auth_timeout": "1s", "read_timeout": "20s"}}'
    t0=$(date +%s.%N)
    out=$(phone_timeout=30 run_phone $dev p --silent)
    took=$(seconds_since "$t0")
    within "$took" 5 || fail "$case: a silent phone held its session $took s (auth_timeout 1s)"
    wait_for_session_event "" "^failed timeout"
    echo "PASS: $case: a silent phone was dropped after $took s, audit 'failed timeout' ($out)"
    ;;
  admin-deep-json)
    start
    python3 - "$sock" <<'PY' || fail "$case: deeply nested JSON on the admin socket"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"[" * 100000 + b"\n")
buf = b""
while b"\n" not in buf:
    chunk = s.recv(65536)
    if not chunk:
        sys.exit("the admin socket closed without an answer (%r)" % buf[:200])
    buf += chunk
reply = json.loads(buf.split(b"\n")[0])
code = reply.get("error", {}).get("code")
if code != -32600:
    sys.exit("expected JSON-RPC error -32600, got %r" % reply)
print("answered", reply["error"])
PY
    out=$(ctl version 2>&1) || fail "$case: capfd no longer answers capfctl version: $out"
    echo "PASS: $case: -32600 for 100000 nested arrays, capfd still answers ($out)"
    ;;
  lock-timeout)
    start '{"database": {"lock_timeout": "1s"}}'
    ctl device add $dev --auth null-string >/dev/null; ctl schedule install $dev >/dev/null
    before_count=0 before_md5=None
    sql_session_open
    # The lock is held until COMMIT below, longer than the 5 s the session may take.
    sql_session_send "BEGIN; SELECT name FROM devices WHERE name = '$dev' FOR UPDATE;"
    wait_until_sql "SELECT count(*) > 0 FROM pg_stat_activity WHERE state = 'idle in transaction'" \
      "the row lock on $dev"
    t0=$(date +%s.%N)
    out=$(phone_timeout=10 run_phone $dev p)
    took=$(seconds_since "$t0")
    within "$took" 5 || fail "$case: the session waited $took s on a lock (lock_timeout 1s): $out"
    sql_session_send "COMMIT;"
    sql_session_close
    assert_refused $dev 7 "failed database_unavailable" "$out"
    ;;
  *)
    fail "unknown case $case"
    ;;
esac
stop_capfd "$capfd_pid"
