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
dev=SEP001122334455  # the device of every case (mic_setup binds to it)

case $case in
  # --- section 5.1 refusals ---------------------------------------------------
  unknown-device)
    start
    before_count=0 before_md5=None
    ctl device get SEP0000DEADBEEF >/dev/null 2>&1 && fail "exists"
    out=$(run_phone SEP0000DEADBEEF p)
    [ "$(echo "$out" | json_field '["end_reason"]')" = 9 ] || fail "unknown device: $out"
    # Audited without the name it is not (and rate limited per source address).
    ctl --json audit --limit 5 | python3 -c "
import json, sys
sys.exit(0 if any(e['device'] == '' and e['detail'] == 'unknown_device' and e['peer'] == '127.0.0.1'
                  for e in json.load(sys.stdin)['events']) else 1)" || fail "no audit"
    ctl --json audit --device SEP0000DEADBEEF | grep_all unknown_device && fail "audited under the name it sent"
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
    ctl --json audit --limit 3 | grep_all '"detail": "invalid_message: session_id_mismatch"' || fail "no audit"
    [ "$(issued_count $dev)" = "$before_count" ] && [ "$(stored_md5 $dev)" = "$before_md5" ] || fail "changed"
    echo "PASS: $case: END_SESSION 7, audit invalid_message: session_id_mismatch, nothing issued"
    ;;
  garbage)
    start; ctl device add $dev --auth null-string >/dev/null; ctl schedule install $dev >/dev/null
    before_count=0 before_md5=None
    out=$(run_phone $dev p --garbage)
    grep -q "event=session .*outcome=refused" "$dir/capfd.log" || fail "garbage: no refused session: $out"
    ctl --json audit --limit 3 | grep_all '"detail": "invalid_message: ' || fail "garbage: no audit"
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
    ctl --json audit --device $dev | grep_all '"detail": "mic, sudi_verified"' ||
      fail "authentication by MIC with a verified SUDI not audited"
    ;;
  install-lsc-or-mic-by-ec-mic)
    start; make_ca mic-root "Test Manufacturing CA"; make_cert mic mic-root "CP-8845-$dev" ec
    ctl trust add mic-root "$dir/mic-root.pem" >/dev/null
    ctl device add $dev --auth lsc-or-mic --key ec-p384 >/dev/null; ctl schedule install $dev >/dev/null
    out=$(run_phone $dev p $(mic_args))
    assert_installed $dev p "$out"
    [ "$(echo "$out" | json_field '["key"]')" = ec-p384 ] || fail "key spec not requested: $out"
    # No sudi-root anchor here: the phone's SUDI is taken as unverified evidence.
    ctl --json audit --device $dev | grep_all '"detail": "lsc-or-mic, sudi_unverified: no sudi-root anchor configured"' ||
      fail "the unverified SUDI is not in the authentication's audit"
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
    ctl --json audit --device $dev --limit 3 | grep_all "store_refused: reason 4" || fail "no audit of the refusal"
    echo "PASS: $case: END_SESSION 7, issued certificate recorded unconfirmed, device LSC unchanged"
    ;;
  *)
    fail "unknown case $case"
    ;;
esac
stop_capfd "$capfd_pid"
