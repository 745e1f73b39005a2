#!/usr/bin/env bash
# The CTL and the rollback ITL end to end (issue 34): real capfd, PostgreSQL
# and capfctl; files checked by tests/capf/tftp_verify.py, an independent
# reader (Python + openssl, from the protocol page).
# Usage: e2e_ctl_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR CASE
capfd=$1 capfctl=$2 phone=$3 src=$4 case=$5
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
verify="$src/tests/capf/tftp_verify.py"
tftp="$dir/tftp"
mkdir -p "$tftp"

# configure ENCRYPTORS_JSON [FILE]: the TFTP side with these encryptors.
configure() {
  write_config "${2:-$dir/capfd.json}" "$(python3 -c "
import json, sys
d, enc = sys.argv[1], json.loads(sys.argv[2])
print(json.dumps({'tftp': {'identity': {'certificate': d + '/tftp.crt', 'private_key': d + '/tftp.key'},
                           'directory': d + '/tftp', 'encryptors': enc}}))" "$dir" "$1")"
}
ctl_encryptor() {  # [SIGNER]
  echo "{\"type\": \"ctl\", \"hash\": \"sha1\", \"signer\": \"${1:-sast1}\",
         \"sast1\": {\"certificate\": \"$dir/sast1.crt\", \"private_key\": \"$dir/sast1.key\"},
         \"sast2\": {\"certificate\": \"$dir/sast2.crt\", \"private_key\": \"$dir/sast2.key\"}}"
}
# wait_for FILE
wait_for() {
  for _ in $(seq 1 400); do [ -e "$1" ] && return 0; sleep 0.05; done
  fail "$case: $1 did not appear"
}
# itl_roles FILE: the roles of the ITL's records, as verified with the TFTP certificate.
itl_roles() {
  "$verify" itl "$1" "$dir/tftp.crt" >"$dir/itl.txt" 2>"$dir/verify.err" ||
    fail "$case: ITL: $(cat "$dir/verify.err")"
  cut -d' ' -f1 "$dir/itl.txt" | tr '\n' ' '
}
# wait_roles EXPECTED: until ITLFile.tlv holds these roles (a rebuild is a rename).
wait_roles() {
  local got=""
  for _ in $(seq 1 200); do
    got=$(itl_roles "$tftp/ITLFile.tlv")
    [ "$got" = "$1" ] && return 0
    sleep 0.05
  done
  fail "$case: ITL roles '$got', expected '$1'"
}

case $case in
  ctl)
    configure "[{\"type\": \"itl\"}, $(ctl_encryptor)]"
    # capfd init --sast 1 and --sast 2 create both, each once.
    "$capfd" init --tftp --sast 1 --sast 2 --config "$dir/capfd.json" --cn CAPF-e2e 2>"$dir/init.log" ||
      { cat "$dir/init.log"; fail "$case: capfd init --sast 1 --sast 2"; }
    openssl x509 -in "$dir/sast1.crt" -noout -subject | grep -q "CN *= *SAST1-e2e" || fail "$case: sast1 CN"
    openssl x509 -in "$dir/sast2.crt" -noout -subject | grep -q "CN *= *SAST2-e2e" || fail "$case: sast2 CN"
    openssl x509 -in "$dir/sast1.crt" -noout -text | grep_all "rsaEncryption" || fail "$case: sast1 is not RSA"
    sast1_sum=$(sha256sum "$dir/sast1.crt")
    "$capfd" init --sast 1 --config "$dir/capfd.json" 2>"$dir/init.log" || fail "$case: second init --sast 1"
    [ "$(sha256sum "$dir/sast1.crt")" = "$sast1_sum" ] || fail "$case: init --sast 1 replaced an existing SAST"
    grep -q "identity_kept" "$dir/init.log" || fail "$case: init --sast 1 did not say it kept SAST1"
    start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
    wait_for "$tftp/CTLFile.tlv"
    "$verify" ctl "$tftp/CTLFile.tlv" "$dir/sast1.crt" >"$dir/ctl.txt" 2>"$dir/verify.err" ||
      fail "$case: CTL: $(cat "$dir/verify.err")"
    roles=$(cut -d' ' -f1 "$dir/ctl.txt" | tr '\n' ' ')
    [ "$roles" = "role=0 role=0 role=3 role=4 " ] || fail "$case: CTL roles $roles, expected SAST SAST TFTP CAPF"
    sed -n 1p "$dir/ctl.txt" | grep_all "CN=SAST1-e2e" || fail "$case: first record: $(cat "$dir/ctl.txt")"
    sed -n 2p "$dir/ctl.txt" | grep_all "CN=SAST2-e2e" || fail "$case: second record: $(cat "$dir/ctl.txt")"
    "$verify" ctl "$tftp/CTLFile.tlv" "$dir/sast2.crt" >/dev/null 2>&1 && fail "$case: the CTL verifies with SAST2's certificate"
    # capfctl ctl show: the signer is SAST1, the signature verifies.
    show=$(ctl ctl show) || fail "$case: capfctl ctl show"
    echo "$show" | grep_all "^signer: CN=SAST1-e2e (serial .*, sast1)$" || fail "$case: ctl show: $show"
    echo "$show" | grep_all "^signature: verifies" || fail "$case: ctl show: $show"
    [ "$(echo "$show" | grep -c '^sast ')" = 2 ] || fail "$case: ctl show records: $show"
    [ "$(ctl --json ctl show | json_field '["signature_valid"]')" = True ] || fail "$case: ctl show --json"
    # SAST1's files replaced by a key no CTL holds: publishing is refused,
    # the file stays; SIGHUP too; --allow-new-signer publishes it.
    mkdir -p "$dir/rogue"
    python3 - "$dir/capfd.json" "$dir/rogue" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
for e in cfg["tftp"]["encryptors"]:
    if e["type"] == "ctl":
        e["sast1"] = {"certificate": sys.argv[2] + "/sast1.crt", "private_key": sys.argv[2] + "/sast1.key"}
json.dump(cfg, open(sys.argv[2] + "/capfd.json", "w"))
PY
    "$capfd" init --sast 1 --sast-cn SAST-C --config "$dir/rogue/capfd.json" 2>"$dir/init.log" ||
      { cat "$dir/init.log"; fail "$case: init of a new SAST1"; }
    cp "$tftp/CTLFile.tlv" "$dir/published.tlv"
    cp "$dir/rogue/sast1.crt" "$dir/sast1.crt"
    cp "$dir/rogue/sast1.key" "$dir/sast1.key"
    expect_refusal "ctl publish by an unknown SAST" "CN=SAST-C.*was not published.*--allow-new-signer" ctl publish
    cmp -s "$tftp/CTLFile.tlv" "$dir/published.tlv" || fail "$case: a refused CTL replaced the published one"
    grep -q "event=ctl_signer_not_trusted" "$dir/capfd.log" || fail "$case: no ctl_signer_not_trusted logged"
    kill -HUP "$capfd_pid"
    for _ in $(seq 1 200); do
      [ "$(grep -c "event=ctl_signer_not_trusted" "$dir/capfd.log")" -ge 2 ] && break
      sleep 0.05
    done
    [ "$(grep -c "event=ctl_signer_not_trusted" "$dir/capfd.log")" -ge 2 ] || fail "$case: SIGHUP did not refuse"
    cmp -s "$tftp/CTLFile.tlv" "$dir/published.tlv" || fail "$case: SIGHUP replaced the CTL with an untrusted one"
    [ "$(ctl --json stats | json_field '["ctl"]["signer_refusals"]')" -ge 2 ] || fail "$case: stats: $(ctl --json stats)"
    ctl metrics | grep_all "^capfd_ctl_signer_refusals_total [2-9]" || fail "$case: metrics: $(ctl metrics | grep ctl)"
    ctl ctl publish --allow-new-signer >/dev/null || fail "$case: ctl publish --allow-new-signer"
    "$verify" ctl "$tftp/CTLFile.tlv" "$dir/rogue/sast1.crt" >/dev/null 2>"$dir/verify.err" ||
      fail "$case: the overridden CTL: $(cat "$dir/verify.err")"
    ctl ctl show | grep_all "^signer: CN=SAST-C" || fail "$case: ctl show after the override: $(ctl ctl show)"
    # The new CTL holds SAST-C: publishing it again is no longer refused.
    ctl ctl publish >/dev/null || fail "$case: ctl publish by a SAST the CTL holds"
    echo "PASS: $case: CTL of SAST1, SAST2, TFTP, CAPF verifies with SAST1; an unknown SAST refused (file kept, counted) until --allow-new-signer"
    ;;
  itl-rollback)
    configure '[{"type": "itl"}]'
    "$capfd" init --tftp --config "$dir/capfd.json" --cn CAPF-e2e 2>"$dir/init.log" ||
      { cat "$dir/init.log"; fail "$case: capfd init --tftp"; }
    start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
    wait_for "$tftp/ITLFile.tlv"
    wait_roles "role=0 role=3 role=4 "
    [ "$(ctl --json stats | json_field '["itl_rollback"]')" = False ] || fail "$case: stats before"
    ctl itl rollback on | grep_all "ITL rollback is ON" || fail "$case: capfctl itl rollback on"
    # The rollback ITL: signed by the TFTP certificate, its SAST record, no TFTP and no TVS.
    wait_roles "role=0 role=4 "
    ctl stats | grep_all "^WARNING: ITL rollback is on" || fail "$case: capfctl stats: $(ctl stats)"
    [ "$(ctl --json stats | json_field '["itl_rollback"]')" = True ] || fail "$case: stats --json"
    ctl metrics | grep_all "^capfd_itl_rollback 1$" || fail "$case: metrics: $(ctl metrics | grep rollback)"
    grep -q "event=itl_rollback_on" "$dir/capfd.log" || fail "$case: no itl_rollback_on warning"
    [ "$(psql "$db" -At -c "SELECT count(*) FROM audit_events WHERE event = 'cluster_setting' AND detail LIKE 'itl_rollback%true'")" = 1 ] ||
      fail "$case: the switch was not audited"
    # A restarted node warns at start and keeps publishing it.
    stop_capfd "$capfd_pid"
    : >"$dir/capfd.log"
    start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
    for _ in $(seq 1 100); do grep -q "event=itl_rollback_on" "$dir/capfd.log" && break; sleep 0.05; done
    grep -q "event=itl_rollback_on" "$dir/capfd.log" || fail "$case: no itl_rollback_on at start"
    wait_roles "role=0 role=4 "
    ctl itl rollback off | grep_all "ITL rollback is off" || fail "$case: capfctl itl rollback off"
    wait_roles "role=0 role=3 role=4 "
    ctl metrics | grep_all "^capfd_itl_rollback 0$" || fail "$case: metrics after off"
    echo "PASS: $case: rollback on publishes SAST+CAPF only (signed by the TFTP certificate), stats and metrics say so, a restart warns; off restores SAST TFTP CAPF"
    ;;
  *) fail "unknown case $case" ;;
esac
