#!/usr/bin/env bash
# End to end: real capfd, real PostgreSQL, real TLS, capfctl and capf-phone.
# A phone is added and scheduled through capfctl, gets its LSC (checked with
# openssl against the CAPF certificate; the stored MD5 equals the phone's),
# then auth-string refusal and success, an upgrade authenticated by the LSC,
# fetch and delete. Finally SIGHUP and SIGTERM.
# Usage: e2e_enroll_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR
capfd=$1 capfctl=$2 phone=$3 src=$4
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
write_config "$dir/capfd.json"
capfd_init "$dir/capfd.json"
[ "$(stat -c %a "$dir/capf.key")" = 600 ] || fail "CAPF key is not mode 600"
start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
pid=$capfd_pid

name=SEP001122334455
ctl device add $name --auth null-string >/dev/null || fail "device add"
ctl schedule install $name --key rsa-2048 >/dev/null || fail "schedule install"

# 1. Install with the null string, over legacy TLS like a 7960.
out=$("$phone" --port $port --name $name --tls legacy --capf-cert "$dir/capf.crt" --state "$dir/phone") ||
  fail "capf-phone install: $out"
[ "$(echo "$out" | json_field '["end_reason"]')" = 1 ] || fail "install did not end with reason 1: $out"
[ "$(echo "$out" | json_field '["stored"]')" = True ] || fail "phone did not store the LSC: $out"
openssl verify -CAfile "$dir/capf.crt" "$dir/phone/lsc.pem" | grep -q ": OK" || fail "LSC does not verify against the CAPF certificate"
phone_md5=$(openssl x509 -in "$dir/phone/lsc.pem" -outform DER | md5sum | cut -d' ' -f1)
stored_md5=$(ctl --json device get $name | json_field '["lsc"]["md5"]')
[ "$phone_md5" = "$stored_md5" ] || fail "stored MD5 $stored_md5 differs from the phone's $phone_md5"
openssl x509 -in "$dir/phone/lsc.pem" -noout -subject | grep -q "CN = $name" || fail "LSC subject is not the device"
echo "install (null string, TLS 1.0): LSC verified, MD5 $stored_md5 matches"

# 2. Auth string: wrong one refused with reason 7, right one accepted once.
ctl schedule install $name --auth auth-string >/dev/null
ctl auth-string generate $name --value 482916 >/dev/null
out=$("$phone" --port $port --name $name --auth auth-string --auth-string 111111 --state "$dir/phone2") || true
[ "$(echo "$out" | json_field '["end_reason"]')" = 7 ] || fail "wrong auth string not refused with 7: $out"
ctl --json audit --device $name --limit 5 | grep_all auth_string_mismatch || fail "no audit event for the mismatch"
out=$("$phone" --port $port --name $name --tls tls12 --auth auth-string --auth-string 482916 --state "$dir/phone") ||
  fail "auth-string install: $out"
[ "$(echo "$out" | json_field '["end_reason"]')" = 1 ] || fail "auth-string install failed: $out"
[ -z "$(ctl auth-string pending)" ] || fail "auth string not used up"
echo "auth string: wrong refused (7), right accepted (1), used up"

# 3. Upgrade authenticated by the current LSC, to an EC key.
ctl schedule install $name --auth lsc --key ec-p256 >/dev/null
out=$("$phone" --port $port --name $name --auth lsc --state "$dir/phone") || fail "LSC upgrade: $out"
[ "$(echo "$out" | json_field '["end_reason"]')" = 1 ] || fail "LSC upgrade failed: $out"
[ "$(echo "$out" | json_field '["key"]')" = ec-p256 ] || fail "upgrade did not ask for ec-p256: $out"
openssl verify -CAfile "$dir/capf.crt" "$dir/phone/lsc.pem" | grep -q ": OK" || fail "upgraded LSC does not verify"
echo "upgrade by LSC to ec-p256: verified"

# 4. Fetch, then delete.
ctl schedule fetch $name >/dev/null
out=$("$phone" --port $port --name $name --auth lsc --state "$dir/phone") || fail "fetch: $out"
[ "$(echo "$out" | json_field '["end_reason"]')" = 0 ] || fail "fetch did not end with reason 0: $out"
[ "$(ctl --json device get $name | json_field '["fetched_md5"]')" = "$(echo "$out" | json_field '["md5"]')" ] ||
  fail "fetched MD5 not recorded"
ctl schedule delete $name >/dev/null
out=$("$phone" --port $port --name $name --auth lsc --state "$dir/phone") || fail "delete: $out"
[ "$(echo "$out" | json_field '["end_reason"]')" = 1 ] || fail "delete did not end with reason 1: $out"
[ "$(ctl --json device get $name | json_field '["lsc"]')" = None ] || fail "LSC record not cleared"
[ ! -e "$dir/phone/lsc.pem" ] || fail "phone still holds its LSC"
echo "fetch (0) and delete (1): recorded"

# 5. Unknown device: reason 9.
out=$("$phone" --port $port --name SEP00DEADBEEF00 --state "$dir/phone3") || true
[ "$(echo "$out" | json_field '["end_reason"]')" = 9 ] || fail "unknown device not refused with 9: $out"
grep -q "event=session device=SEP001122334455" "$dir/capfd.log" || fail "no session log line"

# 6. SIGHUP reloads trust; SIGTERM exits 0 and removes the socket.
kill -HUP $pid
for _ in $(seq 1 100); do grep -q "event=trust_reloaded" "$dir/capfd.log" && break; sleep 0.05; done
grep -q "event=trust_reloaded" "$dir/capfd.log" || fail "SIGHUP did not reload trust"
stop_capfd $pid
[ ! -e "$dir/admin.sock" ] || fail "admin socket left behind"
echo "PASS: enrolment end to end"
