#!/usr/bin/env bash
# Delivery work against the size of the change (issue 32, item 4):
# `capfctl encrypt-config --all` over N devices with all four encryptors
# (enc-sgn, itl, exec running /bin/true, hashes-file), on a fresh capfd with
# durable PostgreSQL commits. Prints one JSON object and a FIGURE line: the
# wall time, and what capfd wrote (/proc/PID/io: write_bytes, the bytes it
# sent to the disk; wchar, the bytes it passed to write()), beside the size
# of the files it leaves.
#
# The devices are inserted by SQL with one RSA-2048 certificate shared by
# all (the facts an install would leave; enc-sgn wraps each configuration's
# AES key with it and signs with the TFTP key, so it does the full work per
# device), each with a 1,500-byte source configuration.
#
# Usage: tftp_bench.sh CAPFD CAPFCTL CAPF_PHONE SOURCE_DIR [DEVICES]
# Environment: TFTP_BENCH_CONFIG (JSON merged over tftp.delivery, e.g.
# '{"batch": 500}'), TFTP_BENCH_MAX_WRITE_FACTOR (fail when capfd's wchar
# exceeds this many times the bytes of the files left: the check the test
# suite runs at 1,000 devices).
capfd=$1 capfctl=$2 phone=$3 src=$4 devices=${5:-10000}
case=tftp-bench
source "$src/tests/capf/e2e_lib.sh"
E2E_PG_FSYNC=on e2e_setup
tftp="$dir/tftp" cnf="$dir/cnf" hashes="$dir/hashes.csv"
mkdir -p "$tftp" "$cnf"

write_config "$dir/capfd.json" "$(python3 -c "
import json, sys
d, delivery = sys.argv[1], json.loads(sys.argv[2])
print(json.dumps({
  'tftp': {'identity': {'certificate': d + '/tftp.crt', 'private_key': d + '/tftp.key'},
           'directory': d + '/tftp',
           'delivery': delivery,
           'encryptors': [{'type': 'enc-sgn', 'source_directory': d + '/cnf'},
                          {'type': 'itl'},
                          {'type': 'exec', 'argv': ['/bin/true']},
                          {'type': 'hashes-file', 'path': d + '/hashes.csv'}]}}))" \
  "$dir" "${TFTP_BENCH_CONFIG:-{\}}")"
"$capfd" init --tftp --config "$dir/capfd.json" --cn "CAPF-bench" 2>"$dir/init.log" ||
  fail "capfd init --tftp: $(cat "$dir/init.log")"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/phone.key" -out "$dir/phone.pem" \
  -days 30 -subj "/CN=bench" 2>/dev/null
der_hex=$(openssl x509 -in "$dir/phone.pem" -outform DER | xxd -p | tr -d '\n')
spki_hex=$(openssl x509 -in "$dir/phone.pem" -noout -pubkey | openssl pkey -pubin -outform DER | xxd -p | tr -d '\n')
md5=$(openssl x509 -in "$dir/phone.pem" -outform DER | md5sum | cut -d' ' -f1)
err=$(psql "$db" -q -v ON_ERROR_STOP=1 -c "
  INSERT INTO devices (name, auth_mode, key_spec, lsc_serial, lsc_der, lsc_public_key, lsc_md5,
                       lsc_not_before, lsc_not_after)
  SELECT 'SEP' || upper(lpad(to_hex(g), 12, '0')), 'null-string', 'rsa-2048', to_hex(g),
         decode('$der_hex', 'hex'), decode('$spki_hex', 'hex'), '$md5', now(), now() + interval '30 days'
  FROM generate_series(1, $devices) g" 2>&1) || fail "could not insert $devices devices: $err"
python3 - "$cnf" "$devices" <<'PY'
import sys
cnf, n = sys.argv[1], int(sys.argv[2])
head = ("<device><fullConfig>true</fullConfig><ipAddressMode>0</ipAddressMode>"
        "<loadInformation>SIP78xx.14-1-1</loadInformation><capfAuthMode>0</capfAuthMode>"
        "<capfList><capf><phonePort>3804</phonePort><processNodeName>capf.example</processNodeName>"
        "</capf></capfList><note>")
tail = "</note></device>"
xml = head + "x" * (1500 - len(head) - len(tail)) + tail
for g in range(1, n + 1):
    open("%s/SEP%012X.cnf.xml" % (cnf, g), "w").write(xml)
PY

start_capfd "$dir/capfd.json" "$dir/capfd.log" "$sock"
# The ITL is built at start; wait for it, so the run measures the devices.
for _ in $(seq 1 200); do [ -e "$tftp/ITLFile.tlv" ] && break; sleep 0.05; done
io_field() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$capfd_pid/io"; }
cpu_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$capfd_pid/stat"; }
write_bytes0=$(io_field write_bytes) wchar0=$(io_field wchar) cpu0=$(cpu_ticks)
t0=$(date +%s.%N)
ctl encrypt-config --all --wait 86400 >"$dir/encrypt.out" 2>&1 ||
  fail "encrypt-config --all: $(cat "$dir/encrypt.out")"
took=$(seconds_since "$t0")
sync
write_bytes1=$(io_field write_bytes) wchar1=$(io_field wchar) cpu1=$(cpu_ticks)

enc=$(find "$tftp" -name '*.cnf.xml.enc.sgn' | wc -l)
sgn=$(find "$tftp" -name '*.cnf.xml.sgn' | wc -l)
rows=$(python3 -c "import csv, sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], newline=''))) - 1)" "$hashes")
[ "$enc" = "$devices" ] && [ "$sgn" = "$devices" ] ||
  fail "$enc .enc.sgn and $sgn .sgn files for $devices devices"
[ "$rows" = "$devices" ] || fail "the hashes file has $rows rows for $devices devices"
[ -s "$tftp/ITLFile.tlv" ] || fail "no ITLFile.tlv"
last=$(printf 'SEP%012X' "$devices")
"$src/tests/capf/tftp_verify.py" enc "$tftp/$last.cnf.xml.enc.sgn" "$dir/tftp.crt" "$dir/phone.key" \
  >/dev/null 2>"$dir/verify.err" || fail "$last.cnf.xml.enc.sgn: $(cat "$dir/verify.err")"
files_bytes=$(du -sb --apparent-size "$tftp" "$hashes" | awk '{s += $1} END {print s}')
pending=$(ctl --json call tftp.status | json_field '["pending"]')
[ "$pending" = 0 ] || fail "$pending deliveries still pending"

python3 - "$devices" "$took" "$((write_bytes1 - write_bytes0))" "$((wchar1 - wchar0))" \
  "$files_bytes" "$((cpu1 - cpu0))" "$(getconf CLK_TCK)" "${TFTP_BENCH_MAX_WRITE_FACTOR:-}" \
  "${TFTP_BENCH_CONFIG:-{\}}" <<'PY'
import json, sys
n, took, write_bytes, wchar, files, ticks, hz, factor, config = sys.argv[1:]
n, took, write_bytes, wchar, files = int(n), float(took), int(write_bytes), int(wchar), int(files)
cpu = int(ticks) / int(hz)
r = {"devices": n, "seconds": took, "devices_per_second": round(n / took, 1),
     "capfd_write_bytes": write_bytes, "capfd_wchar": wchar, "files_bytes": files,
     "wchar_per_file_byte": round(wchar / files, 2), "capfd_cpu_seconds": round(cpu, 2),
     "delivery_config": json.loads(config)}
print(json.dumps(r))
mib = lambda b: "%.1f MiB" % (b / 1048576)
print(f"FIGURE: {n} devices through encrypt-config --all (enc-sgn, itl, exec, hashes-file) in "
      f"{took:.1f} s ({r['devices_per_second']}/s); capfd wrote {mib(write_bytes)} to disk, "
      f"{mib(wchar)} through write(), for {mib(files)} of files ({r['wchar_per_file_byte']}x); "
      f"capfd CPU {cpu:.1f} s (with its programs)")
if factor and wchar > float(factor) * files:
    sys.exit(f"capfd wrote {wchar / files:.1f} times the bytes of the files it left, over {factor}")
PY
stop_capfd "$capfd_pid"
