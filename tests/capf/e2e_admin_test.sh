#!/usr/bin/env bash
# Every admin method through the real capfctl binary, a real capfd and a real
# PostgreSQL: its success path, and at least one refused input whose message
# is asserted (and, where something could change, that nothing did).
# A read-only administrator (admin.readonly_users) runs the read commands and
# is refused a change, with the message: a throwaway user made here when the
# test runs as root (CI does); otherwise that part says it is skipped.
# Usage: e2e_admin_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR
capfd=$1 capfctl=$2 phone=$3 src=$4
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
ro_user= ro_config='{}'
if [ "$(id -u)" -eq 0 ]; then
  ro_user=capfe2e$$
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ro_user"
  trap 'userdel "$ro_user" 2>/dev/null || true; e2e_cleanup' EXIT
  ro_config="{\"admin\": {\"readonly_users\": [\"$ro_user\"]}}"
fi
write_config "$dir/capfd.json" "$ro_config"
capfd_init "$dir/capfd.json"
start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
pid=$capfd_pid
check() { echo "ok: $*"; }

# --- methods, server.version, server.summary, server.stats -------------------
ctl methods | grep_all "^trust.add " || fail "methods does not list trust.add"
expect_refusal "methods with params" "unknown parameter 'x' for methods; allowed: none" call methods '{"x": 1}'
check "methods"
[ "$(ctl --json version | json_field '["node"]')" = e2e ] || fail "version: wrong node"
expect_refusal "version with a list" '"params" must be an object' call server.version '[1]'
check "server.version"
ctl summary | grep_all "^issuer: CN=CAPF-e2e" || fail "summary does not name the issuer"
ctl summary | grep_all "^listen: 127.0.0.1:$port" || fail "summary does not show the port"
expect_refusal "summary with params" "unknown parameter 'verbose' for server.summary" call server.summary '{"verbose": true}'
check "server.summary"
ctl stats | grep_all "^events in the last 24 hours:" || fail "stats table"
[ "$(ctl --json stats | json_field '["trust_anchors"]["lsc_issuers"]')" = 1 ] || fail "stats: lsc issuers"
expect_refusal "stats with params" "unknown parameter 'since' for server.stats" call server.stats '{"since": 1}'
check "server.stats"

# --- device.add / get / update / remove / list / add_bulk ---------------------
ctl device add SEP001122334455 --description "Ward 3 nurse station" --auth lsc --key ec-p256 >/dev/null ||
  fail "device add"
[ "$(ctl --json device get SEP001122334455 | json_field '["key_spec"]')" = ec-p256 ] || fail "device get"
[ "$(ctl device get SEP001122334455 --json | json_field '["key_spec"]')" = ec-p256 ] || fail "device get X --json"
expect_refusal "device add with a space" "device name .SEP 0011. must be 1-64 characters of A-Z" device add "SEP 0011"
expect_refusal "device add twice" "already exists" device add SEP001122334455
expect_refusal "device add, bad key" "rsa-512.*ec-p521|key spec" device add SEP00112233AAAA --key rsa-999
expect_refusal "device add, typo in a parameter" "unknown parameter 'descripton' for device.add" \
  call device.add '{"name": "SEP00112233AAAB", "descripton": "x"}'
[ "$(ctl --json device list | json_field '["devices"].__len__()')" = 1 ] || fail "a refused add changed something"
check "device.add"
expect_refusal "device get unknown" "no device named SEP0000DEADBEEF" device get SEP0000DEADBEEF
check "device.get"
ctl device update SEP001122334455 --description "Ward 4" >/dev/null || fail "device update"
[ "$(ctl --json device get SEP001122334455 | json_field '["description"]')" = "Ward 4" ] || fail "update lost"
[ "$(ctl --json device get SEP001122334455 | json_field '["auth_mode"]')" = lsc ] || fail "update reset auth"
expect_refusal "device update, bad auth" "auth mode" device update SEP001122334455 --auth password
[ "$(ctl --json device get SEP001122334455 | json_field '["auth_mode"]')" = lsc ] || fail "refused update changed auth"
expect_refusal "device update unknown" "no device named SEP0000DEADBEEF" device update SEP0000DEADBEEF
check "device.update"
printf 'name,description,auth_mode,key_spec\nSEP0000000000A1,"Lobby, east",null-string,\nSEP0000000000A2,,auth-string,rsa-2048\nSEP001122334455,kept,,\n' >"$dir/import.csv"
ctl device import "$dir/import.csv" | grep_all "added 2 of 3" || fail "device import"
[ "$(ctl --json device get SEP0000000000A1 | json_field '["description"]')" = "Lobby, east" ] || fail "import quoting"
[ "$(ctl --json device get SEP001122334455 | json_field '["description"]')" = "Ward 4" ] || fail "import replaced a device"
printf 'SEP0000000000B1\nSEP0000000000B2,x,telepathy\n' >"$dir/bad.csv"
expect_refusal "import with a bad auth mode" "telepathy" device import "$dir/bad.csv"
ctl device get SEP0000000000B1 >/dev/null 2>&1 && fail "a refused import added a device"
printf 'SEP0000000000C1,"never closed\n' >"$dir/bad2.csv"
expect_refusal "import with an open quote" "bad2.csv: line 1: a quote is never closed" device import "$dir/bad2.csv"
expect_refusal "add_bulk with an unknown field" "unknown device field 'mac'" \
  call device.add_bulk '{"devices": [{"name": "SEP0000000000D1", "mac": "x"}]}'
expect_refusal "add_bulk empty" "list of 1 to" call device.add_bulk '{"devices": []}'
check "device.add_bulk (capfctl device import)"
ctl device list --prefix SEP0000000000A --limit 1 | grep_all "more: --after SEP0000000000A1" || fail "device list paging"
[ "$(ctl --json device list --prefix SEP0000000000A --after SEP0000000000A1 | json_field '["devices"][0]["name"]')" = SEP0000000000A2 ] ||
  fail "device list --after"
expect_refusal "device list limit 0" "'limit' must be a whole number from 1 to 1000" device list --limit 0
expect_refusal "device list bad status" "status" device list --status done
check "device.list"
ctl device add SEP0000000000E1 >/dev/null
ctl device remove SEP0000000000E1 | grep_all "removed SEP0000000000E1" || fail "device remove"
expect_refusal "device remove unknown" "no device named SEP0000000000E1" device remove SEP0000000000E1
check "device.remove"

# --- operation.schedule / cancel ---------------------------------------------
ctl schedule install SEP001122334455 --auth lsc --key ec-p384 --deadline-hours 24 | grep_all "for 1 device" ||
  fail "schedule one"
[ "$(ctl --json device get SEP001122334455 | json_field '["pending_operation"]')" = install ] || fail "not scheduled"
ctl schedule fetch --prefix SEP0000000000A | grep_all "for 2 device" || fail "schedule bulk by prefix"
ctl schedule delete --all | grep_all "for 2 device" || fail "bulk must not override the device-level install"
[ "$(ctl --json device get SEP001122334455 | json_field '["pending_operation"]')" = install ] || fail "device-level lost"
ctl schedule delete --all --override | grep_all "for 3 device" || fail "override"
expect_refusal "schedule reinstall" "operation" schedule reinstall SEP001122334455
expect_refusal "schedule name and all" "either 'name' or a bulk scope" schedule install SEP001122334455 --all
expect_refusal "schedule nobody" "give 'name' for one device" schedule install
expect_refusal "schedule unknown" "no device named SEP0000DEADBEEF" schedule install SEP0000DEADBEEF
[ "$(ctl --json device get SEP001122334455 | json_field '["pending_operation"]')" = delete ] || fail "refusal changed"
check "operation.schedule"
ctl cancel SEP001122334455 | grep_all "cancelled" || fail "cancel"
[ "$(ctl --json device get SEP001122334455 | json_field '["pending_operation"]')" = none ] || fail "not cancelled"
expect_refusal "cancel unknown" "no device named SEP0000DEADBEEF" cancel SEP0000DEADBEEF
check "operation.cancel"

# --- a read-only administrator: read commands yes, changes no -------------------
if [ -n "$ro_user" ]; then
  ro_ctl() { runuser -u "$ro_user" -- "$capfctl" --socket "$sock" "$@"; }
  ro_ctl stats | grep_all "^events in the last 24 hours:" || fail "read-only: stats"
  ro_ctl device list | grep_all "^SEP001122334455 " || fail "read-only: device list: $(ro_ctl device list 2>&1)"
  status=0
  out=$(ro_ctl schedule install SEP001122334455 2>&1 >/dev/null) || status=$?
  [ $status -eq 1 ] || fail "read-only: schedule install exited $status"
  expected="capfctl: method operation.schedule needs the admin role; uid $(id -u "$ro_user") ($ro_user) has the read-only role (admin.readonly_users); the admin role is for root, the service user, admin.allowed_users and members of admin.allowed_group"
  [ "$out" = "$expected" ] || fail "read-only: schedule install said '$out', expected '$expected'"
  [ "$(ctl --json device get SEP001122334455 | json_field '["pending_operation"]')" = none ] ||
    fail "read-only: the refused schedule changed the device"
  grep -q "event=admin_method_refused method=operation.schedule caller=\"uid $(id -u "$ro_user") " "$dir/capfd.log" ||
    fail "read-only: the refusal is not logged"
  check "a read-only administrator (admin.readonly_users)"
else
  echo "SKIP: the read-only administrator part needs root to create a throwaway user (the unit tests cover the refusal)"
fi
# --read-only: an admin uid lowers itself (the health check, the metrics job).
ctl --read-only stats | grep_all "^events in the last 24 hours:" || fail "--read-only: stats"
status=0
out=$(ctl --read-only schedule install SEP001122334455 2>&1 >/dev/null) || status=$?
[ $status -eq 1 ] || fail "--read-only: schedule install exited $status"
echo "$out" | grep -q "^capfctl: method operation.schedule needs the admin role; uid $(id -u) .*, lowered to read-only by the request;" ||
  fail "--read-only: schedule install said '$out'"
[ "$(ctl --json device get SEP001122334455 | json_field '["pending_operation"]')" = none ] ||
  fail "--read-only: the refused schedule changed the device"
check "capfctl --read-only"
ctl summary | grep_all "^devices_by_status:$" || fail "summary: devices_by_status is not a nested section"
ctl summary | grep_all "{" && fail "summary prints inline JSON"

# --- auth strings ---------------------------------------------------------------
ctl auth-string generate SEP0000000000A1 --value 482916 | grep_all 482916 || fail "auth string given"
[ "$(ctl --json auth-string generate SEP0000000000A2 --digits 10 | json_field '["auth_strings"][0]["auth_string"].__len__()')" = 10 ] ||
  fail "10-digit auth string"
ctl auth-string generate --prefix SEP0000000000A --csv | sed -n 1p | grep_all "^name,auth_string$" || fail "csv header"
expect_refusal "auth string with letters" "4 to 10 digits" auth-string generate SEP0000000000A1 --value 12ab
expect_refusal "auth string of 3 digits" "'digits' must be a whole number from 4 to 10" auth-string generate SEP0000000000A1 --digits 3
expect_refusal "given value in bulk" "for one device" auth-string generate --all --value 1234
expect_refusal "auth string for nobody" "no device matches" auth-string generate --prefix SEPFFFF
check "auth_string.generate"
[ "$(ctl auth-string pending | tr '\n' ' ')" = "SEP0000000000A1 SEP0000000000A2 " ] || fail "pending list"
ctl --json auth-string pending | grep_all 482916 && fail "pending shows a string"
expect_refusal "pending with a number prefix" "parameter 'prefix'" call auth_string.pending '{"prefix": 5}'
check "auth_string.pending"
ctl auth-string delete SEP0000000000A2 >/dev/null
[ "$(ctl auth-string pending)" = SEP0000000000A1 ] || fail "auth string not deleted"
expect_refusal "delete unknown" "no device named SEP0000DEADBEEF" auth-string delete SEP0000DEADBEEF
check "auth_string.delete"

# --- trust anchors ----------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/root.key" -out "$dir/root.pem" -days 30 \
  -subj "/O=Test Phones/CN=Test Manufacturing Root" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/ee.key" -out "$dir/ee.csr" -subj "/CN=not-a-ca" 2>/dev/null
openssl x509 -req -in "$dir/ee.csr" -CA "$dir/root.pem" -CAkey "$dir/root.key" -CAcreateserial \
  -out "$dir/ee.pem" -days 30 2>/dev/null
openssl x509 -in "$dir/root.pem" -outform DER -out "$dir/root.der"
root_sha=$(sha256sum "$dir/root.der" | cut -d' ' -f1)
ctl trust list mic-root | grep_all "Test Manufacturing Root" && fail "root present before add"
ctl trust add mic-root "$dir/root.der" | grep_all "sha256 $root_sha" || fail "trust add (DER)"
ctl trust list mic-root | grep "Test Manufacturing Root" | grep_all " admin " || fail "trust list source"
expect_refusal "trust add twice" "already a mic-root trust anchor" trust add mic-root "$dir/root.pem"
expect_refusal "trust add non-CA" "is not a CA" trust add lsc-issuer "$dir/ee.pem"
echo garbage >"$dir/garbage.pem"
expect_refusal "trust add garbage" "not a PEM or DER X.509 certificate" trust add mic-root "$dir/garbage.pem"
expect_refusal "trust add bad role" "role must be one of lsc-issuer, mic-root, sudi-root, intermediate" trust add manufacturer "$dir/root.pem"
check "trust.add"
expect_refusal "trust list bad role" "role must be one of lsc-issuer, mic-root, sudi-root, intermediate" trust list roots
ctl trust list | sed -n 1p | grep_all "^ROLE  *SUBJECT" || fail "trust list (every role): no ROLE column"
ctl trust list | grep_all "^lsc-issuer  *CN=CAPF-e2e" || fail "trust list (every role): no lsc-issuer anchor"
ctl trust list | grep "^mic-root " | grep_all "Test Manufacturing Root" || fail "trust list (every role): no mic-root anchor"
[ "$(ctl trust list --json | python3 -c "import json,sys; print(' '.join(sorted({a['role'] for a in json.load(sys.stdin)['anchors']})))")" = "lsc-issuer mic-root" ] ||
  fail "trust list --json (every role): not both roles"
check "trust.list"
# Added anchors are in the database: a restart keeps them.
stop_capfd $pid
start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
pid=$capfd_pid
ctl trust list mic-root | grep_all "Test Manufacturing Root" || fail "anchor lost over a restart"
issuer_sha=$(ctl --json trust list lsc-issuer | json_field '["anchors"][0]["sha256"]')
expect_refusal "remove the issuer" "own issuing certificate" trust remove lsc-issuer "$issuer_sha"
expect_refusal "remove bad hex" "64 hex digits" trust remove mic-root 1234
expect_refusal "remove unknown" "no mic-root trust anchor added" trust remove mic-root "$(printf 'a%.0s' $(seq 64))"
ctl trust remove mic-root "$root_sha" | grep_all removed || fail "trust remove"
ctl trust list mic-root | grep_all "Test Manufacturing Root" && fail "anchor still listed after remove"
ctl --json audit --limit 5 | grep_all '"trust_anchor"' || fail "trust changes not audited"
check "trust.remove"

# --- tvs.*: the TVS store of trusted certificates ---------------------------------------
for n in 1 2; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/tvs$n.key" \
    -out "$dir/tvs$n.pem" -days 30 -subj "/O=New Cluster/CN=New Cluster TVS cert $n" 2>/dev/null
done
openssl x509 -in "$dir/tvs2.pem" -outform DER -out "$dir/tvs2.der"
tvs1_sha=$(openssl x509 -in "$dir/tvs1.pem" -outform DER | sha256sum | cut -d' ' -f1)
ctl tvs add "$dir/tvs1.pem" --role SAST,TFTP --ttl 2h | grep_all "^added .*New Cluster TVS cert 1" || fail "tvs add (PEM)"
ctl tvs add "$dir/tvs2.der" --role tvs | grep_all "^added " || fail "tvs add (DER)"
ctl tvs add "$dir/tvs1.pem" --role tftp --ttl 2h | grep_all "^updated " || fail "tvs add again does not update"
expect_refusal "tvs add bad role" "unknown role 'manager'; role must be one of sast, ccm, ccm-tftp, tftp, capf, app-server, tvs" \
  tvs add "$dir/tvs1.pem" --role manager
expect_refusal "tvs add garbage" "not a PEM or DER X.509 certificate" tvs add "$dir/garbage.pem" --role tftp
expect_refusal "tvs add bad ttl" "'ttl' 400d is out of range; allowed 1s to 365d" tvs add "$dir/tvs1.pem" --role tftp --ttl 400d
check "tvs.add"
ctl tvs list | sed -n 1p | grep_all "^SUBJECT  *ROLES  *TTL  *EXPIRES  *EXPIRED  *SOURCE  *SHA-256$" || fail "tvs list header"
ctl tvs list | grep "New Cluster TVS cert 1" | grep_all " tftp  *2h .* no  *operator  *$tvs1_sha$" || fail "tvs list: $(ctl tvs list)"
[ "$(ctl --json tvs list --role TVS | json_field '["certificates"].__len__()')" = 1 ] || fail "tvs list --role"
expect_refusal "tvs list bad role" "unknown role 'roots'" tvs list --role roots
check "tvs.list"
ctl tvs export "${tvs1_sha:0:12}" -o "$dir/tvs1.out.pem"
[ "$(openssl x509 -in "$dir/tvs1.out.pem" -outform DER | sha256sum | cut -d' ' -f1)" = "$tvs1_sha" ] || fail "tvs export"
expect_refusal "tvs export unknown" "no trusted certificate's SHA-256 starts with '$(printf '0%.0s' $(seq 64))'" \
  tvs export "$(printf '0%.0s' $(seq 64))"
check "tvs.export"
ctl tvs export-bundle -o "$dir/tvs-bundle.pem"
grep -q "^# roles: tftp$" "$dir/tvs-bundle.pem" || fail "tvs export-bundle: no roles comment"
grep -q "^# ttl: 7200$" "$dir/tvs-bundle.pem" || fail "tvs export-bundle: no ttl comment"
# The operator's two and capfd's own CAPF certificate (automatic, role capf).
[ "$(grep -c "BEGIN CERTIFICATE" "$dir/tvs-bundle.pem")" = 3 ] || fail "tvs export-bundle: not 3 certificates"
[ "$(grep -c "^# subject: .*New Cluster TVS cert" "$dir/tvs-bundle.pem")" = 2 ] || fail "tvs export-bundle: not the operator's 2"
grep -q "^# roles: capf$" "$dir/tvs-bundle.pem" || fail "tvs export-bundle: capfd's own CAPF certificate missing"
ctl tvs list | grep "CAPF-e2e" | grep_all " node e2e " || fail "tvs list: capfd's own CAPF certificate not shown as the node's: $(ctl tvs list)"
capf_sha=$(openssl x509 -in "$dir/capf.crt" -outform DER | sha256sum | cut -c1-64)
expect_refusal "tvs remove capfd's own" "is capfd's own \(node e2e\) and cannot be removed" tvs remove "${capf_sha:0:16}"
check "tvs.export_bundle"
ctl tvs remove "${tvs1_sha:0:12}" | grep_all "^removed .*New Cluster TVS cert 1" || fail "tvs remove"
ctl tvs list | grep_all "New Cluster TVS cert 1" && fail "tvs remove: still listed"
expect_refusal "tvs remove again" "no trusted certificate's SHA-256 starts with '${tvs1_sha:0:12}'" tvs remove "${tvs1_sha:0:12}"
expect_refusal "tvs remove bad hex" "hash prefix 'xyz' must be 1 to 64 hex digits" tvs remove xyz
check "tvs.remove"
ctl tvs import-bundle "$dir/tvs-bundle.pem" | grep_all "^added 1, updated 0, unchanged 1," || fail "tvs import-bundle"
ctl tvs list --role sast | grep_all "New Cluster TVS cert 1" && fail "tvs import-bundle: roles not from the comments"
expect_refusal "tvs import-bundle plain, no role" "bundle: the certificate at line 1 .* has no roles comment" \
  tvs import-bundle "$dir/root.pem"
ctl tvs import-bundle "$dir/root.pem" "$dir/tvs-bundle.pem" --role app-server --ttl 1h |
  grep_all "^added 1, updated 0, unchanged 2," || fail "tvs import-bundle of two files"
ctl tvs list --role app-server | grep_all "Test Manufacturing Root" || fail "tvs import-bundle: --role"
expect_refusal "tvs import-bundle key" "a PEM block of PRIVATE KEY, not a certificate" tvs import-bundle "$dir/tvs1.key"
check "tvs.import_bundle"
ctl --json audit --limit 20 | grep_all '"tvs_certificate"' || fail "tvs changes not audited"
if [ -n "$ro_user" ]; then
  ro_ctl tvs list | grep_all "New Cluster TVS cert 2" || fail "read-only: tvs list"
  status=0
  out=$(ro_ctl tvs remove "${tvs1_sha:0:12}" 2>&1 >/dev/null) || status=$?
  [ $status -eq 1 ] || fail "read-only: tvs remove exited $status"
  echo "$out" | grep -q "method tvs.remove needs the admin role" || fail "read-only: tvs remove said '$out'"
  check "tvs: a read-only administrator lists and may not remove"
fi

# --- capf.certificate, report, audit.query -----------------------------------------
ctl export-cert --out "$dir/exported.pem"
cmp -s "$dir/exported.pem" "$dir/capf.crt" || openssl x509 -in "$dir/exported.pem" -noout -subject | grep -q CAPF-e2e ||
  fail "export PEM"
ctl export-cert --der --out "$dir/exported.der"
openssl x509 -inform DER -in "$dir/exported.der" -noout -subject | grep -q "CN = CAPF-e2e" || fail "export DER"
expect_refusal "export p12" "format must be pem or der" call capf.certificate '{"format": "p12"}'
check "capf.certificate"
ctl report --csv | sed -n 1p | grep_all "^name,lsc,serial,not_after,md5,pending_operation,status,reason$" || fail "report csv"
[ "$(ctl --json report --prefix SEP0000000000A | json_field '["devices"].__len__()')" = 2 ] || fail "report prefix"
[ "$(ctl --json report --expiring 30 | json_field '["devices"].__len__()')" = 0 ] || fail "report expiring"
expect_refusal "report expiring negative" "'expiring_days' must be a whole number from 0 to 3650" call report '{"expiring_days": -1}'
check "report"
ctl audit --device SEP001122334455 | grep_all "cancelled" || fail "audit query"
expect_refusal "audit limit 0" "'limit' must be a whole number from 1 to 10000" audit --limit 0
expect_refusal "audit bad device" "device name .bad name. must be 1-64 characters" audit --device "bad name"
check "audit.query"

# --- capfctl metrics: server.stats as Prometheus text -------------------------------------
# Checked as node_exporter's textfile collector reads it (HELP and TYPE once
# per family before its samples, counters in _total, no series twice) and
# against the figures of server.stats asked at the same time.
check_exposition() {  # FILE STATS_JSON
  python3 - "$1" "$2" <<'PY'
import json, re, sys
text, stats = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
assert text.endswith("\n"), "no final line feed"
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
value = r'"(?:[^"\\\n]|\\[\\"n])*"'
sample_re = re.compile(rf"({name})(\{{[a-zA-Z_]\w*={value}(?:,[a-zA-Z_]\w*={value})*\}})? (-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)$")
family, ftype, seen, samples = None, None, set(), {}
for line in text.splitlines():
    if m := re.fullmatch(rf"# HELP ({name}) .+", line):
        assert m[1] not in seen, f"HELP twice: {line}"
        family, ftype = m[1], None
        seen.add(family)
    elif m := re.fullmatch(rf"# TYPE ({name}) (counter|gauge)", line):
        assert m[1] == family and ftype is None, f"TYPE not right after its HELP: {line}"
        ftype = m[2]
        assert ftype == "gauge" or family.endswith("_total"), f"counter without _total: {line}"
    elif m := sample_re.fullmatch(line):
        assert m[1] == family and ftype, f"sample outside its family: {line}"
        key = m[1] + (m[2] or "")
        assert key not in samples, f"series twice: {line}"
        samples[key] = m[3]
    else:
        raise AssertionError(f"not a line of the format: {line!r}")
def expect(key, want=None):
    assert key in samples, f"no sample {key}"
    assert want is None or samples[key] == str(want), f"{key} is {samples[key]}, server.stats says {want}"
expect("capfd_up", 1)
expect("capfd_uptime_seconds")
s = stats["sessions"]
expect("capfd_sessions_active", s["active"])
expect("capfd_sessions_accepted_total", s["accepted"])
expect("capfd_sessions_completed_total", s["completed"])
expect('capfd_sessions_rejected_total{reason="over_limit"}', s["rejected_over_limit"])
expect('capfd_sessions_rejected_total{reason="per_source"}', s["rejected_per_source"])
expect('capfd_tls_handshake_failures_total{reason="timeout"}', s["handshake_timeouts"])
expect('capfd_tls_handshake_failures_total{reason="error"}', s["handshake_failures"])
for state, count in stats["devices"].items():
    expect(f'capfd_devices{{state="{state}"}}', count)
for role, count in stats["trust_anchors"].items():
    expect(f'capfd_trust_anchors{{role="{role[:-1]}"}}', count)
assert stats["events_last_24h"], "no audit events to compare"
for e in stats["events_last_24h"]:
    expect(f'capfd_audit_events_last_24h{{event="{e["event"]}",outcome="{e["outcome"]}"}}', e["count"])
assert ("deliveries" in stats) == any(k.startswith("capfd_deliveries") for k in samples), "deliveries"
print(f"exposition: {len(seen)} families, {len(samples)} samples")
PY
}
ctl --json stats >"$dir/stats.json"
ctl metrics >"$dir/metrics.txt" || fail "metrics"
check_exposition "$dir/metrics.txt" "$dir/stats.json" || fail "metrics: $(cat "$dir/metrics.txt")"
grep -qx 'capfd_trust_anchors{role="lsc_issuer"} 1' "$dir/metrics.txt" || fail "metrics: lsc issuers"
grep -qx 'capfd_devices{state="total"} [1-9][0-9]*' "$dir/metrics.txt" || fail "metrics: no devices"
mkdir "$dir/textfile"
[ -z "$(ctl metrics --output "$dir/textfile/capfd.prom")" ] || fail "metrics --output printed something"
check_exposition "$dir/textfile/capfd.prom" "$dir/stats.json" || fail "metrics --output: $(cat "$dir/textfile/capfd.prom")"
[ "$(stat -c %a "$dir/textfile/capfd.prom")" = 644 ] || fail "metrics --output: mode is not 0644"
[ "$(ls -A "$dir/textfile")" = capfd.prom ] || fail "metrics --output left a file behind: $(ls -A "$dir/textfile")"
expect_refusal "metrics --json" "capfctl --json stats" metrics --json
check "capfctl metrics"

# --- errors a script relies on ----------------------------------------------------------
expect_refusal "unknown method" "unknown method 'device.frobnicate'" call device.frobnicate
out=$("$capfctl" --socket "$dir/nowhere.sock" summary 2>&1) && fail "no socket: succeeded"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "capfctl error is not one line: $out"
check "capfctl errors"

stop_capfd $pid
# capfd gone: the file says capfd_up 0 (so an alert fires), capfctl exits 1.
status=0
out=$(ctl metrics --output "$dir/textfile/capfd.prom" 2>&1) || status=$?
[ $status -eq 1 ] || fail "metrics with capfd stopped: exit $status"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "metrics with capfd stopped: not one line: $out"
echo "$out" | grep -q "^capfctl: cannot connect to $sock: .*wrote capfd_up 0 to $dir/textfile/capfd.prom" ||
  fail "metrics with capfd stopped: message '$out'"
[ "$(grep -v '^# ' "$dir/textfile/capfd.prom")" = "capfd_up 0" ] || fail "metrics file with capfd stopped: $(cat "$dir/textfile/capfd.prom")"
grep -qx "# TYPE capfd_up gauge" "$dir/textfile/capfd.prom" || fail "metrics with capfd stopped: no TYPE line"
[ "$(ls -A "$dir/textfile")" = capfd.prom ] || fail "metrics with capfd stopped left a file behind"
[ "$(ctl metrics 2>/dev/null | grep -v '^# ')" = "capfd_up 0" ] || fail "metrics to stdout with capfd stopped"
ctl metrics >/dev/null 2>&1 && fail "metrics with capfd stopped exited 0"
check "capfctl metrics with capfd stopped"
echo "PASS: every admin method, success and refusal"
