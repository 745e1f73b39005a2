#!/usr/bin/env bash
# The TFTP side end to end (issue 12): real capfd, PostgreSQL, TLS,
# capf-phone, capfctl; files checked by tests/capf/tftp_verify.py, an
# independent reader (Python + openssl, from section 8 of the protocol page).
# Usage: e2e_tftp_test.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR CASE
capfd=$1 capfctl=$2 phone=$3 src=$4 case=$5
source "$src/tests/capf/e2e_lib.sh"
e2e_setup
verify="$src/tests/capf/tftp_verify.py"
dev=SEP001122334455
tftp="$dir/tftp"
cnf="$dir/cnf"
mkdir -p "$tftp" "$cnf"

# start_tftp ENCRYPTORS_JSON [EXTRA_JSON] [CONFIG_FILE LOG SOCKET NODE]:
# configure the TFTP side, init (with --tftp), start capfd.
start_tftp() {
  local encryptors=$1 extra=${2:-'{}'} file=${3:-$dir/capfd.json} log=${4:-$dir/capfd.log}
  local socket=${5:-$sock} node=${6:-e2e}
  write_config "$file" "$(python3 -c "
import json, sys
d, enc, extra, sock, node = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
base = {'keygen': {'timeout': '20s', 'retries': 1}, 'limits': {'read_timeout': '20s'},
        'admin': {'socket_path': sock}, 'node': {'name': node},
        'tftp': {'identity': {'certificate': d + '/tftp.crt', 'private_key': d + '/tftp.key'},
                 'directory': d + '/tftp',
                 'delivery': {'retry_first': '1s', 'retry_max': '2s', 'lease': '10s',
                              'parked_recheck': '1s'},
                 'encryptors': enc}}
for k, v in extra.items():
    base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
print(json.dumps(base))" "$dir" "$encryptors" "$extra" "$socket" "$node")"
  "$capfd" init --tftp --config "$file" --cn "CAPF-e2e" 2>"$dir/init.log" ||
    { cat "$dir/init.log"; fail "capfd init --tftp"; }
  start_capfd "$file" "$log" "$socket"
}

enc_sgn() { echo "{\"type\": \"enc-sgn\", \"source_directory\": \"$cnf\", \"hash\": \"$1\"}"; }

# source_xml NAME BYTES: a full <device> configuration of exactly BYTES bytes.
source_xml() {
  python3 - "$cnf/$1.cnf.xml" "$2" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
head = ("<device><fullConfig>true</fullConfig><ipAddressMode>0</ipAddressMode>"
        "<loadInformation>SIP78xx.14-1-1</loadInformation><capfAuthMode>0</capfAuthMode>"
        "<capfList><capf><phonePort>3804</phonePort><processNodeName>capf.example</processNodeName>"
        "</capf></capfList><sipProfile><phoneLabel>secret-line</phoneLabel></sipProfile><note>")
tail = "</note></device>"
body = "x" * (size - len(head) - len(tail))
assert len(body) >= 0
open(path, "w").write(head + body + tail)
PY
}

# wait_for FILE [SECONDS]
wait_for() {
  for _ in $(seq 1 $((${2:-20} * 20))); do [ -e "$1" ] && return 0; sleep 0.05; done
  fail "$case: $1 did not appear; stats: $(ctl --json stats | json_field '.get("deliveries")')"
}
tftp_status() { ctl --json call tftp.status; }
wait_delivered() {
  for _ in $(seq 1 $((${1:-30} * 10))); do
    [ "$(tftp_status | json_field '["pending"]')" = 0 ] && return 0
    sleep 0.1
  done
  fail "$case: deliveries still pending: $(tftp_status)"
}

install_phone() {  # NAME STATE KEYSPEC
  ctl device add "$1" --auth null-string --key "$3" >/dev/null || fail "device add $1"
  ctl schedule install "$1" >/dev/null
  local out
  out=$(run_phone "$1" "$2")
  [ "$(echo "$out" | json_field '["end_reason"]')" = 1 ] || fail "$case: install of $1: $out"
}

# check_partial NAME MD5: the signed partial config holds exactly the 8.3
# elements and certHash MD5 (empty string for none).
check_partial() {
  "$verify" sgn "$tftp/$1.cnf.xml.sgn" "$dir/tftp.crt" >"$dir/partial.xml" 2>"$dir/verify.err" ||
    fail "$case: $1.cnf.xml.sgn: $(cat "$dir/verify.err")"
  python3 - "$dir/partial.xml" "$2" <<'PY' || fail "$case: partial config of $1"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
want = ["fullConfig", "ipAddressMode", "loadInformation", "capfAuthMode", "capfList", "certHash", "encrConfig"]
got = [c.tag for c in root]
if root.tag != "device" or got != want:
    sys.exit("elements %s, expected %s" % (got, want))
if root.find("fullConfig").text != "false" or root.find("encrConfig").text != "true":
    sys.exit("fullConfig/encrConfig wrong")
if (root.find("certHash").text or "") != sys.argv[2]:
    sys.exit("certHash %r, expected %r" % (root.find("certHash").text, sys.argv[2]))
if b"secret-line" in open(sys.argv[1], "rb").read():
    sys.exit("the partial config leaks the full configuration")
PY
}

case $case in
  enc-sgn-rsa-1024-sha1 | enc-sgn-rsa-2048-sha512 | enc-sgn-rsa-4096-sha1)
    # Acceptance 1-3: an LSC capf-phone obtained from capfd; its .enc.sgn
    # decrypts with the phone's key, header and signature verify with openssl.
    bits=$(echo "$case" | cut -d- -f4) hash=$(echo "$case" | cut -d- -f5)
    start_tftp "[$(enc_sgn "$hash"), {\"type\": \"itl\"}]"
    size=$((bits == 2048 ? 1024 : 1000 + bits / 1024))  # 1024: a multiple of 16; the others not
    source_xml $dev $size
    install_phone $dev p "rsa-$bits"
    wait_for "$tftp/$dev.cnf.xml.enc.sgn"
    wait_delivered
    "$verify" enc "$tftp/$dev.cnf.xml.enc.sgn" "$dir/tftp.crt" "$dir/p/lsc-key.pem" >"$dir/plain.xml" 2>"$dir/verify.err" ||
      fail "$case: $(cat "$dir/verify.err")"
    cmp -s "$dir/plain.xml" "$cnf/$dev.cnf.xml" || fail "$case: the decrypted configuration differs from the source"
    grep -q "($hash)" "$dir/verify.err" || fail "$case: signed with $(cat "$dir/verify.err"), expected $hash"
    md5=$(stored_md5 $dev)
    check_partial $dev "$md5"
    [ ! -e "$tftp/$dev.cnf.xml" ] || fail "$case: the plaintext is in the TFTP directory"
    ls -a "$tftp" | grep -q '^\.' && ls -a "$tftp" | grep -v '^\.\.\?$' | grep -q '^\.' && fail "$case: a temporary file was left: $(ls -a "$tftp")"
    if [ "$bits" = 2048 ]; then
      # On demand: capfctl encrypt-config NAME writes it again; hashes shows it.
      rm "$tftp/$dev.cnf.xml.enc.sgn"
      ctl encrypt-config $dev >/dev/null || fail "$case: capfctl encrypt-config $dev"
      [ -e "$tftp/$dev.cnf.xml.enc.sgn" ] || fail "$case: encrypt-config returned before the file was written"
      ctl hashes $dev | grep_all "^$dev  *$md5  *rsa-2048$" || fail "$case: capfctl hashes: $(ctl hashes $dev)"
      [ "$(ctl hashes --csv --prefix SEP0011 | head -1)" = "name,md5,key_spec" ] || fail "$case: hashes --csv: $(ctl hashes --csv --prefix SEP0011)"
      [ "$(ctl --json hashes --prefix SEP0011 | json_field '["devices"][0]["md5"]')" = "$md5" ] || fail "$case: hashes --json"
      ctl schedule delete $dev >/dev/null
      out=$(run_phone $dev p)
      [ "$(echo "$out" | json_field '["end_reason"]')" = 1 ] || fail "$case: delete: $out"
      for _ in $(seq 1 200); do [ ! -e "$tftp/$dev.cnf.xml.enc.sgn" ] && break; sleep 0.05; done
      [ ! -e "$tftp/$dev.cnf.xml.enc.sgn" ] || fail "$case: the .enc.sgn is still there after the delete"
      check_partial $dev ""
    fi
    echo "PASS: $case: $size-byte configuration decrypts with the phone's RSA-$bits key, $hash signature verifies, partial certHash $md5"
    ;;
  revoke-and-remove | revoke-sign-plain)
    # Issue 32, item 3: a stolen phone's key must stop receiving its
    # configuration. Revoking a device's LSC withdraws its files, its line
    # in the hashes file and tells exec programs; removing a device too.
    # Before issue 32 the files stayed, encrypted to the revoked key.
    other=SEP00AABBCCDDEE
    when_revoked=remove
    [ "$case" = revoke-sign-plain ] && when_revoked=sign-plain
    mkdir -p "$dir/exec"
    cat >"$dir/record.sh" <<SH
#!/bin/sh
cat >"$dir/exec/\$(date +%s%N).json"
SH
    chmod 755 "$dir/record.sh"
    sign_plain=""  # the default (remove) is what the case of that name checks
    [ "$when_revoked" = sign-plain ] && sign_plain=', "when_revoked": "sign-plain"'
    start_tftp "[{\"type\": \"enc-sgn\", \"source_directory\": \"$cnf\"$sign_plain},
                 {\"type\": \"hashes-file\", \"path\": \"$dir/hashes.csv\"},
                 {\"type\": \"exec\", \"argv\": [\"$dir/record.sh\"], \"timeout\": \"4s\"}]"
    for d in $dev $other; do
      source_xml $d 1024
      install_phone $d "p-$d" rsa-2048
    done
    wait_delivered
    for d in $dev $other; do
      [ -e "$tftp/$d.cnf.xml.enc.sgn" ] && [ -e "$tftp/$d.cnf.xml.sgn" ] || fail "$case: $d's files were not written"
      grep -q "^$d," "$dir/hashes.csv" || fail "$case: $d is not in the hashes file"
    done
    # withdrawn_by DEVICE REASON: the last exec document of DEVICE says withdrawn/REASON.
    withdrawn_by() {
      python3 - "$dir/exec" "$1" "$2" <<'PY' || fail "$case: exec was not told $1 was $2"
import json, os, sys
d, dev, reason = sys.argv[1:4]
docs = [json.load(open(os.path.join(d, f))) for f in sorted(os.listdir(d))]
last = [x for x in docs if x["device"] == dev][-1]
if (last["event"], last["reason"]) != ("withdrawn", reason) or last["public_key_pem"] is not None:
    sys.exit("last document of %s: %s" % (dev, last))
PY
    }
    serial=$(ctl --json device get $dev | json_field '["lsc"]["serial"]')
    ctl cert revoke "$serial" >/dev/null || fail "$case: cert revoke $serial"
    wait_delivered
    [ ! -e "$tftp/$dev.cnf.xml.enc.sgn" ] || fail "$case: the .enc.sgn encrypted to the revoked key is still served"
    if [ "$when_revoked" = remove ]; then
      [ ! -e "$tftp/$dev.cnf.xml.sgn" ] || fail "$case: the .sgn of the revoked device is still served"
    else
      "$verify" sgn "$tftp/$dev.cnf.xml.sgn" "$dir/tftp.crt" >"$dir/whole.xml" 2>"$dir/verify.err" ||
        fail "$case: the signed plain configuration: $(cat "$dir/verify.err")"
      cmp -s "$dir/whole.xml" "$cnf/$dev.cnf.xml" || fail "$case: the .sgn is not the whole configuration"
    fi
    grep -q "^$dev," "$dir/hashes.csv" && fail "$case: the revoked device is still in the hashes file"
    withdrawn_by $dev revoked
    [ -e "$tftp/$other.cnf.xml.enc.sgn" ] || fail "$case: the other device's files went too"
    ctl device remove $other >/dev/null || fail "$case: device remove"
    wait_delivered
    for f in "$tftp/$other.cnf.xml.enc.sgn" "$tftp/$other.cnf.xml.sgn"; do
      [ ! -e "$f" ] || fail "$case: $f is still served after the device was removed"
    done
    grep -q "^$other," "$dir/hashes.csv" && fail "$case: the removed device is still in the hashes file"
    withdrawn_by $other removed
    echo "PASS: $case: revoked LSC and removed device withdrawn (.enc.sgn gone, .sgn $when_revoked, hashes, exec told)"
    ;;
  itl)
    start_tftp '[{"type": "itl", "hash": "sha1"}]'
    wait_for "$tftp/ITLFile.tlv"
    "$verify" itl "$tftp/ITLFile.tlv" "$dir/tftp.crt" >"$dir/itl.txt" 2>"$dir/verify.err" || fail "$case: $(cat "$dir/verify.err")"
    roles=$(cut -d' ' -f1 "$dir/itl.txt" | tr '\n' ' ')
    [ "$roles" = "role=0 role=3 role=4 " ] || fail "$case: ITL roles $roles, expected SAST TFTP CAPF"
    grep "role=4" "$dir/itl.txt" | grep -q "CN=CAPF-e2e" || fail "$case: the CAPF record is not the CAPF certificate: $(cat "$dir/itl.txt")"
    ctl itl build --out "$dir/built.tlv" >/dev/null || fail "$case: capfctl itl build"
    "$verify" itl "$dir/built.tlv" "$dir/tftp.crt" >/dev/null 2>"$dir/verify.err" || fail "$case: itl build: $(cat "$dir/verify.err")"
    echo "PASS: $case: ITLFile.tlv and capfctl itl build verify; records $(cat "$dir/itl.txt" | tr '\n' ';')"
    ;;
  sighup-identity)
    # Issue 32, item 5: SIGHUP loads tftp.identity again, with the checks of
    # the start. A new identity signs the rebuilt ITL (and is its SAST and
    # TFTP records); a broken one is refused with a warning naming the file,
    # and the identity in use stays.
    start_tftp '[{"type": "itl", "hash": "sha1"}]'
    wait_for "$tftp/ITLFile.tlv"
    "$verify" itl "$tftp/ITLFile.tlv" "$dir/tftp.crt" >/dev/null 2>"$dir/verify.err" || fail "$case: $(cat "$dir/verify.err")"
    cp "$dir/tftp.crt" "$dir/tftp-a.crt"
    # new_identity NAME CN: a TFTP identity made as `capfd init --tftp` makes
    # one, in $dir/NAME/tftp.{crt,key}.
    new_identity() {
      mkdir -p "$dir/$1"
      python3 - "$dir/capfd.json" "$dir/$1" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["tftp"]["identity"] = {"certificate": sys.argv[2] + "/tftp.crt", "private_key": sys.argv[2] + "/tftp.key"}
json.dump(cfg, open(sys.argv[2] + "/capfd.json", "w"))
PY
      "$capfd" init --tftp --tftp-cn "$2" --config "$dir/$1/capfd.json" 2>"$dir/init.log" ||
        { cat "$dir/init.log"; fail "$case: capfd init --tftp for $2"; }
    }
    # hup_and_rebuilt: SIGHUP, then wait until ITLFile.tlv is replaced (a
    # new inode: written aside and renamed), which ends every reload.
    hup_and_rebuilt() {
      local before
      before=$(stat -c %i "$tftp/ITLFile.tlv")
      kill -HUP "$capfd_pid"
      for _ in $(seq 1 200); do
        [ "$(stat -c %i "$tftp/ITLFile.tlv")" != "$before" ] && return 0
        sleep 0.05
      done
      fail "$case: ITLFile.tlv was not rebuilt within 10 s of SIGHUP"
    }
    new_identity b TFTP-e2e-b
    cp "$dir/b/tftp.crt" "$dir/tftp.crt"
    install -m 600 "$dir/b/tftp.key" "$dir/tftp.key"
    hup_and_rebuilt
    "$verify" itl "$tftp/ITLFile.tlv" "$dir/b/tftp.crt" >"$dir/itl.txt" 2>"$dir/verify.err" ||
      fail "$case: after SIGHUP the ITL is not signed by the new TFTP certificate: $(cat "$dir/verify.err")"
    for role in 0 3; do
      grep "^role=$role " "$dir/itl.txt" | grep -q "CN=TFTP-e2e-b" || fail "$case: ITL record role=$role is not the new certificate: $(cat "$dir/itl.txt")"
    done
    serial=$(openssl x509 -in "$dir/b/tftp.crt" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
    grep "event=tftp_identity_reloaded" "$dir/capfd.log" | grep "CN=TFTP-e2e-b" | grep -qi "serial=$serial" ||
      fail "$case: no tftp_identity_reloaded line with the new subject and serial $serial"
    ctl itl build --out "$dir/built.tlv" >/dev/null || fail "$case: capfctl itl build"
    "$verify" itl "$dir/built.tlv" "$dir/b/tftp.crt" >/dev/null 2>"$dir/verify.err" || fail "$case: itl build: $(cat "$dir/verify.err")"
    # A third identity whose key group and others may read: refused, B stays.
    new_identity c TFTP-e2e-c
    cp "$dir/c/tftp.crt" "$dir/tftp.crt"
    install -m 644 "$dir/c/tftp.key" "$dir/tftp.key"
    hup_and_rebuilt
    warning=$(grep "event=tftp_identity_reload_failed" "$dir/capfd.log" || true)
    echo "$warning" | grep -q "level=warn" && echo "$warning" | grep -q "$dir/tftp.key" ||
      fail "$case: no warning naming $dir/tftp.key: '$warning'"
    "$verify" itl "$tftp/ITLFile.tlv" "$dir/b/tftp.crt" >/dev/null 2>"$dir/verify.err" ||
      fail "$case: a refused identity replaced the one in use: $(cat "$dir/verify.err")"
    kill -0 "$capfd_pid" || fail "$case: capfd stopped after a refused identity"
    ctl --json stats >/dev/null || fail "$case: capfd does not answer after a refused identity"
    echo "PASS: $case: SIGHUP put TFTP-e2e-b (serial $serial) into the ITL and its signature; a key of mode 0644 was refused ($(echo "$warning" | grep -o 'error=.*' | head -c 160)) and TFTP-e2e-b kept signing"
    ;;
  exec-json)
    # Acceptance 4: the program gets the facts as JSON for install, fetch, delete.
    mkdir -p "$dir/exec"
    cat >"$dir/record.sh" <<SH
#!/bin/sh
# One file per run, named so that they sort in the order of the runs.
cat >"$dir/exec/\$(date +%s%N).json"
SH
    chmod 755 "$dir/record.sh"
    start_tftp "[{\"type\": \"exec\", \"argv\": [\"$dir/record.sh\"], \"timeout\": \"5s\"}]"
    install_phone $dev p rsa-2048
    wait_delivered
    ctl schedule fetch $dev >/dev/null; out=$(run_phone $dev p); wait_delivered
    ctl schedule delete $dev >/dev/null; out=$(run_phone $dev p); wait_delivered
    python3 - "$dir/exec" "$dev" "$(psql "$db" -At -c "SELECT md5 FROM issued_certificates WHERE device = '$dev'")" <<'PY' || fail "$case: exec JSON"
import json, os, sys
d, dev, md5 = sys.argv[1], sys.argv[2], sys.argv[3]
docs = [json.load(open(os.path.join(d, f))) for f in sorted(os.listdir(d))]
changes = [x["change"] for x in docs]
if changes != ["installed", "fetched", "deleted"]:
    sys.exit("changes %s" % changes)
for x in docs:
    if x["device"] != dev:
        sys.exit("device %s" % x["device"])
inst, fetched, deleted = docs
if inst["md5"] != md5 or "BEGIN CERTIFICATE" not in (inst["certificate_pem"] or "") or \
   "BEGIN PUBLIC KEY" not in (inst["public_key_pem"] or "") or inst["key_spec"] != "rsa-2048":
    sys.exit("installed document wrong: %s" % inst)
if fetched["md5"] != md5:
    sys.exit("fetched document md5 %s" % fetched["md5"])
if deleted["certificate_pem"] is not None or deleted["md5"] != "":
    sys.exit("deleted document still has a certificate: %s" % deleted)
print("exec documents: " + ", ".join(changes))
PY
    echo "PASS: $case: the program received installed, fetched and deleted documents"
    ;;
  exec-hang-and-fail)
    # Acceptance 4: a hanging program is killed at its timeout, a failing one
    # retried with backoff; both audited; phones are served meanwhile.
    cat >"$dir/fail.sh" <<'SH'
#!/bin/sh
cat >/dev/null
echo "no route to the provisioning server" >&2
exit 3
SH
    chmod 755 "$dir/fail.sh"
    # A copy of its own, so that only this test's runs are looked at.
    printf '#!/bin/sh\ncat >/dev/null\nsleep 1000\n' >"$dir/hang.sh"
    chmod 755 "$dir/hang.sh"
    start_tftp "[{\"type\": \"exec\", \"argv\": [\"$dir/hang.sh\"], \"timeout\": \"1s\"}, {\"type\": \"exec\", \"argv\": [\"$dir/fail.sh\"], \"timeout\": \"5s\"}]"
    install_phone $dev p rsa-1024
    t0=$(date +%s)
    install_phone SEP0011223344AA q rsa-1024  # served while the first delivery hangs
    took=$(( $(date +%s) - t0 ))
    [ "$took" -le 10 ] || fail "$case: a phone waited $took s while an encryptor hung"
    for _ in $(seq 1 100); do
      attempts=$(psql "$db" -At -c "SELECT coalesce(max(attempts), 0) FROM deliveries WHERE device = '$dev'")
      [ "$attempts" -ge 2 ] && break; sleep 0.2
    done
    [ "$attempts" -ge 2 ] || fail "$case: the failing delivery was not retried (attempts $attempts)"
    audit=$(ctl --json audit --device $dev --limit 20)
    echo "$audit" | grep -q "timed out after 1" || fail "$case: no audit of the timeout: $audit"
    status=$(tftp_status)
    [ "$(echo "$status" | json_field '["failing"]')" -ge 1 ] || fail "$case: tftp.status shows nothing failing: $status"
    echo "$status" | json_field '["last_error"]' | grep -Eq "timed out|status 3" || fail "$case: last_error: $status"
    [ "$(ctl --json stats | json_field '["deliveries"]["failing"]')" -ge 1 ] || fail "$case: capfctl stats shows no failing delivery"
    # Retries start new runs all the time: none may live past its 1 s timeout
    # and the 1 s grace.
    for pid in $(pgrep -f "$dir/hang.sh"); do
      age=$(ps -o etimes= -p "$pid" 2>/dev/null | tr -d ' ')
      [ -z "$age" ] || [ "$age" -le 3 ] || fail "$case: a hanging program has run $age s (timeout 1 s)"
    done
    echo "PASS: $case: the hung program was killed at 1 s and audited, the failing one retried ($attempts attempts), a phone was served in $took s"
    ;;
  kill9-before-delivery)
    # Acceptance 5: kill -9 between the install and its delivery: after the
    # restart the files appear.
    cat >"$dir/gate.sh" <<SH
#!/bin/sh
cat >/dev/null
touch "$dir/gate.reached"
i=0
while [ ! -e "$dir/gate.open" ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i+1)); done
SH
    chmod 755 "$dir/gate.sh"
    start_tftp "[{\"type\": \"exec\", \"argv\": [\"$dir/gate.sh\"], \"timeout\": \"5s\"}, $(enc_sgn sha512)]"
    source_xml $dev 700
    install_phone $dev p rsa-2048
    wait_for "$dir/gate.reached"
    kill -KILL "$capfd_pid"; wait "$capfd_pid" 2>/dev/null || true
    [ ! -e "$tftp/$dev.cnf.xml.enc.sgn" ] || fail "$case: delivered before the kill"
    touch "$dir/gate.open"
    rm -f "$sock"
    start_capfd "$dir/capfd.json" "$dir/capfd-restarted.log" "$sock"
    wait_for "$tftp/$dev.cnf.xml.enc.sgn" 40
    "$verify" enc "$tftp/$dev.cnf.xml.enc.sgn" "$dir/tftp.crt" "$dir/p/lsc-key.pem" >"$dir/plain.xml" 2>"$dir/verify.err" ||
      fail "$case: $(cat "$dir/verify.err")"
    cmp -s "$dir/plain.xml" "$cnf/$dev.cnf.xml" || fail "$case: decrypted configuration differs"
    echo "PASS: $case: after kill -9 and restart the pending delivery wrote $dev.cnf.xml.enc.sgn"
    ;;
  two-nodes-200)
    # Acceptance 5: two nodes, 200 installs, one TFTP directory: every
    # device's files written exactly once per change, none torn.
    cat >"$dir/count.sh" <<SH
#!/bin/sh
python3 -c "import json,sys; d=json.load(sys.stdin); print(d['device'], d['change'])" >>"$dir/writes.\$\$"
SH
    chmod 755 "$dir/count.sh"
    enc="[{\"type\": \"exec\", \"argv\": [\"$dir/count.sh\"], \"timeout\": \"5s\"}, $(enc_sgn sha512)]"
    start_tftp "$enc" '{"limits": {"max_sessions_per_source": 64}}'
    pid_a=$capfd_pid port_a=$port
    port=$((port + 1))
    start_tftp "$enc" '{"limits": {"max_sessions_per_source": 64}}' "$dir/capfd-b.json" "$dir/capfd-b.log" "$dir/admin-b.sock" e2e-b
    port_b=$port
    names=()
    for i in $(seq 1 200); do names+=("$(printf 'SEP0000000%05d' "$i")"); done
    for n in "${names[@]}"; do echo "$n,lab,null-string,rsa-1024"; done >"$dir/devices.csv"
    ctl device import "$dir/devices.csv" >/dev/null || fail "$case: device import"
    source_xml "${names[0]}" 600
    for n in "${names[@]:1}"; do cp "$cnf/${names[0]}.cnf.xml" "$cnf/$n.cnf.xml"; done
    ctl schedule install --all >/dev/null || fail "$case: schedule install --all"
    # Eight phones at a time, alternating between the nodes (a bare `wait`
    # would wait for the two capfd as well).
    i=0 phones=()
    for n in "${names[@]}"; do
      p=$(( i % 2 == 0 ? port_a : port_b ))
      "$phone" --port "$p" --name "$n" --capf-cert "$dir/capf.crt" --state "$dir/phones/$n" --timeout 60 >"$dir/phone-$n.out" 2>&1 &
      phones+=($!)
      i=$((i + 1))
      if (( i % 8 == 0 )); then wait "${phones[@]}" || true; phones=(); fi
    done
    [ ${#phones[@]} -eq 0 ] || wait "${phones[@]}" || true
    ok=$(grep -l '"end_reason":1' "$dir"/phone-*.out | wc -l)
    [ "$ok" = 200 ] || fail "$case: $ok of 200 installs ended with 1"
    for _ in $(seq 1 600); do
      [ "$(tftp_status | json_field '["pending"]')" = 0 ] && break; sleep 0.1
    done
    cat "$dir"/writes.* | sort >"$dir/writes"
    [ "$(wc -l <"$dir/writes")" = 200 ] || fail "$case: $(wc -l <"$dir/writes") deliveries for 200 installs"
    [ "$(cut -d' ' -f1 "$dir/writes" | sort -u | wc -l)" = 200 ] || fail "$case: a device was delivered twice"
    grep -vq ' installed$' "$dir/writes" && fail "$case: a delivery that is not 'installed': $(grep -v ' installed$' "$dir/writes" | head -3)"
    bad=0
    for n in "${names[@]}"; do
      "$verify" enc "$tftp/$n.cnf.xml.enc.sgn" "$dir/tftp.crt" "$dir/phones/$n/lsc-key.pem" >/dev/null 2>>"$dir/verify.err" || bad=$((bad + 1))
    done
    [ "$bad" = 0 ] || fail "$case: $bad torn or unverifiable .enc.sgn: $(tail -3 "$dir/verify.err")"
    echo "PASS: $case: 200 installs over two nodes, 200 deliveries (one per device), every .enc.sgn decrypts and verifies"
    ;;
  parked)
    # Issue 32: what cannot succeed is parked with its cause, not retried
    # for ever; shown by capfctl stats and tftp failures; retried when the
    # source file appears, and by encrypt-config.
    start_tftp "[$(enc_sgn sha512), {\"type\": \"itl\"}]"
    insert_device() {  # NAME KEY_SPEC OPENSSL_KEY_OPTIONS...
      local name=$1 spec=$2
      shift 2
      openssl req -x509 "$@" -nodes -keyout "$dir/$name.key" -out "$dir/$name.pem" -days 30 -subj "/CN=$name" 2>/dev/null
      local der spki md5
      der=$(openssl x509 -in "$dir/$name.pem" -outform DER | xxd -p | tr -d '\n')
      spki=$(openssl x509 -in "$dir/$name.pem" -noout -pubkey | openssl pkey -pubin -outform DER | xxd -p | tr -d '\n')
      md5=$(openssl x509 -in "$dir/$name.pem" -outform DER | md5sum | cut -d' ' -f1)
      psql "$db" -q -v ON_ERROR_STOP=1 -c "
        INSERT INTO devices (name, auth_mode, key_spec, lsc_serial, lsc_der, lsc_public_key, lsc_md5, lsc_not_before, lsc_not_after)
        VALUES ('$name', 'null-string', '$spec', '0a', decode('$der', 'hex'), decode('$spki', 'hex'), '$md5', now(), now() + interval '30 days')" >/dev/null ||
        fail "$case: could not insert $name"
    }
    rsa=SEP0000000000A1 ec=SEP0000000000E1
    insert_device $rsa rsa-2048 -newkey rsa:2048
    insert_device $ec ec-p256 -newkey ec -pkeyopt ec_paramgen_curve:P-256
    source_xml $ec 800  # the EC phone has its configuration; the RSA one not yet
    out=$(ctl encrypt-config --all --wait 60) || fail "$case: encrypt-config --all: $out"
    echo "$out" | grep -q "2 parked until their cause changes" || fail "$case: encrypt-config did not report the parked: $out"
    failures=$(ctl tftp failures)
    echo "$failures" | grep -Eq "^$rsa +enc-sgn +no-source-file " || fail "$case: tftp failures: $failures"
    echo "$failures" | grep -Eq "^$ec +enc-sgn +key-not-rsa " || fail "$case: tftp failures: $failures"
    [ "$(ctl --json stats | json_field '["deliveries"]["parked"]')" = 2 ] || fail "$case: capfctl stats: $(ctl --json stats | json_field '["deliveries"]')"
    [ "$(ctl --json call tftp.status | json_field '["pending"]')" = 0 ] || fail "$case: parked deliveries are still pending"
    ctl --json audit --device $ec --limit 5 | grep_all '"parked"' || fail "$case: no delivery/parked audit for $ec"
    since=$(ctl --json tftp failures $ec | json_field '["failures"][0]["since"]')
    # Not retried at retry_first/retry_max (1-2 s): nothing fails again.
    sleep 3
    [ "$(ctl --json tftp failures $ec | json_field '["failures"][0]["last_failed_at"]')" = \
      "$(ctl --json tftp failures $ec | json_field '["failures"][0]["since"]')" ] || fail "$case: a parked delivery was retried"
    # The source file appears: delivered at the next recheck (1 s), unparked.
    source_xml $rsa 800
    wait_for "$tftp/$rsa.cnf.xml.enc.sgn" 10
    for _ in $(seq 1 50); do ctl tftp failures | grep_all "^$rsa " || break; sleep 0.1; done
    ctl tftp failures | grep_all "^$rsa " && fail "$case: $rsa still parked after its source file appeared"
    "$verify" enc "$tftp/$rsa.cnf.xml.enc.sgn" "$dir/tftp.crt" "$dir/$rsa.key" >/dev/null 2>"$dir/verify.err" ||
      fail "$case: $(cat "$dir/verify.err")"
    # By hand: tried again, still an EC key, parked since the first time.
    ctl encrypt-config $ec >/dev/null || fail "$case: encrypt-config $ec"
    [ "$(ctl --json tftp failures $ec | json_field '["failures"][0]["since"]')" = "$since" ] || fail "$case: since changed"
    [ "$(ctl --json tftp failures --cause key-not-rsa | json_field '["failures"][0]["device"]')" = $ec ] || fail "$case: --cause"
    [ "$(ctl --json tftp failures --cause no-source-file | json_field '["failures"]')" = "[]" ] || fail "$case: --cause no-source-file"
    [ ! -e "$tftp/$ec.cnf.xml.enc.sgn" ] || fail "$case: an .enc.sgn for the EC phone"
    echo "PASS: $case: an EC key and a missing source parked with their causes (tftp failures, stats), not retried; delivered when the file appeared; encrypt-config kept since"
    ;;
  bulk-1000)
    # Acceptance 6: 1,000 devices, capfctl encrypt-config --all; the time
    # beside one core's worth of RSA signatures measured now.
    start_tftp "[$(enc_sgn sha512)]" '{"database": {"pool_size": 4}}'
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/phone.key" -out "$dir/phone.pem" -days 30 -subj "/CN=bulk" 2>/dev/null
    der_hex=$(openssl x509 -in "$dir/phone.pem" -outform DER | xxd -p | tr -d '\n')
    spki_hex=$(openssl x509 -in "$dir/phone.pem" -noout -pubkey | openssl pkey -pubin -outform DER | xxd -p | tr -d '\n')
    md5=$(openssl x509 -in "$dir/phone.pem" -outform DER | md5sum | cut -d' ' -f1)
    err=$(psql "$db" -q -v ON_ERROR_STOP=1 -c "
      INSERT INTO devices (name, auth_mode, key_spec, lsc_serial, lsc_der, lsc_public_key, lsc_md5, lsc_not_before, lsc_not_after)
      SELECT 'SEP' || upper(lpad(to_hex(g), 12, '0')), 'null-string', 'rsa-2048', to_hex(g), decode('$der_hex', 'hex'),
             decode('$spki_hex', 'hex'), '$md5', now(), now() + interval '30 days'
      FROM generate_series(1, 1000) g" 2>&1) || fail "$case: could not insert 1000 devices: $err"
    source_xml SEP000000000001 1500
    for g in $(seq 2 1000); do cp "$cnf/SEP000000000001.cnf.xml" "$cnf/$(printf 'SEP%012X' "$g").cnf.xml"; done
    t0=$(date +%s.%N)
    ctl encrypt-config --all --wait 600 >"$dir/encrypt.out" || fail "$case: encrypt-config --all: $(cat "$dir/encrypt.out")"
    took=$(seconds_since "$t0")
    n=$(ls "$tftp"/*.cnf.xml.enc.sgn | wc -l); m=$(ls "$tftp"/*.cnf.xml.sgn | wc -l)
    [ "$n" = 1000 ] && [ "$m" = 1000 ] || fail "$case: $n .enc.sgn and $m .sgn files for 1000 devices"
    "$verify" enc "$tftp/SEP0000000003E8.cnf.xml.enc.sgn" "$dir/tftp.crt" "$dir/phone.key" >/dev/null 2>"$dir/verify.err" ||
      fail "$case: $(cat "$dir/verify.err")"
    sign=$(botan speed --msec=1000 RSA 2>/dev/null | awk '/RSA-2048 .*sign\/sec/ {print $3; exit}')
    bound=$(python3 -c "import sys; print('%.1f' % (2000 / float(sys.argv[1])))" "$sign")
    echo "PASS: $case: 1000 devices, 2000 files in $took s; bound: 2000 RSA-2048 signatures at $sign/s (botan speed, one core) = $bound s"
    ;;
  *)
    fail "unknown case $case"
    ;;
esac

# Whatever the case left behind (deliveries done or retrying, a hung
# encryptor killed), capfd still stops cleanly on SIGTERM.
[ -n "${pid_a:-}" ] && stop_capfd "$pid_a"
stop_capfd "$capfd_pid"
