#!/usr/bin/env bash
# The Debian package as an operator gets it: built by CPack from this build,
# installed with dpkg -i, checked (user, groups, conffile, units, man pages),
# the installed capfd started directly (no systemd needed) as the capf user
# with the installed /etc/capfd/capfd.json, and a phone enrolled against it.
# Then the package is purged and what must stay (the identity) stays.
#
# Needs root (dpkg). It refuses to run where capfd is already installed, so
# it never touches a real installation. The part that listens on 0.0.0.0:3804
# (the installed config) runs in a network namespace of its own, where the
# only interface is loopback.
# Usage: package_test.sh BUILD_DIR CAPF_PHONE SOURCE_DIR
set -euo pipefail
build=$1 phone=$2 src=$3
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (dpkg -i)"; exit 77; fi
fail() { echo "FAIL: $*"; [ -n "${log:-}" ] && [ -e "$log" ] && tail -30 "$log"; exit 1; }
if dpkg-query -W -f='${Status}' capfd 2>/dev/null | grep -q installed || [ -e /etc/capfd ] ||
   [ -e /var/lib/capfd ]; then
  fail "capfd is installed here (or /etc/capfd, /var/lib/capfd exist): not touching it"
fi

work=$(mktemp -d /tmp/capf-package-XXXXXX)
chmod 755 "$work"
capfd_pid=
cleanup() {
  [ -n "$capfd_pid" ] && kill -KILL "$capfd_pid" 2>/dev/null || true
  "$src/deploy/pg-cluster.sh" destroy "$work/pg" >/dev/null 2>&1 || true
  if dpkg-query -W capfd >/dev/null 2>&1; then dpkg --purge capfd >/dev/null 2>&1 || true; fi
  rm -rf /var/lib/capfd /etc/capfd /run/capfd "$work"
}
trap cleanup EXIT
log=$work/capfd.log

# 1. Build and install the package.
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(ls "$work"/out/capfd_*.deb)
info=$(dpkg-deb -I "$deb")
grep -q "Depends:.*libbotan-2" <<<"$info" || fail "no library dependencies in $info"
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i $deb"; }
for f in /usr/bin/capfd /usr/bin/capfctl /usr/lib/systemd/system/capfd.service \
         /usr/lib/systemd/system/capfd-metrics.service /usr/lib/systemd/system/capfd-metrics.timer \
         /etc/capfd/capfd.json /usr/share/doc/capfd/README.md /usr/share/doc/capfd/CONFIG.md; do
  [ -e "$f" ] || fail "the package did not install $f"
done
grep -qx /etc/capfd/capfd.json /var/lib/dpkg/info/capfd.conffiles || fail "capfd.json is no conffile"
for page in capfd.8 capfctl.1 capfd.json.5; do
  man -w "${page%.*}" >/dev/null 2>&1 || [ -e "/usr/share/man/man${page##*.}/$page.gz" ] ||
    fail "man page $page not installed"
done
getent passwd capf >/dev/null || fail "postinst made no capf user"
id -nG capf | grep -qw capfadmin || fail "capf is not in capfadmin: $(id -nG capf)"
# The read-only identity of capfd-metrics.service: capfmetrics in capfread
# (admin.readonly_groups of the installed config), never in capfadmin.
[ "$(id -gn capfmetrics 2>&1)" = capfread ] || fail "capfmetrics's group: $(id -gn capfmetrics 2>&1)"
id -nG capfmetrics | grep -qw capfadmin && fail "capfmetrics is in capfadmin: $(id -nG capfmetrics)"
grep -qx 'User=capfmetrics' /usr/lib/systemd/system/capfd-metrics.service &&
  grep -qx 'Group=capfread' /usr/lib/systemd/system/capfd-metrics.service ||
  fail "capfd-metrics.service does not run as capfmetrics:capfread"
python3 -c "import json,sys; sys.exit(json.load(open('/etc/capfd/capfd.json'))['admin']['readonly_groups'] != ['capfread'])" ||
  fail "the installed config does not name capfread in admin.readonly_groups"
[ "$(stat -c %U:%a /var/lib/capfd)" = capf:750 ] || fail "/var/lib/capfd is $(stat -c %U:%a /var/lib/capfd)"
[ "$(stat -c %G:%a /etc/capfd/capfd.json)" = capf:640 ] || fail "capfd.json is $(stat -c %G:%a /etc/capfd/capfd.json)"

# 2. The installed units verify, and the service is hardened ("OK" or better).
systemd-analyze verify /usr/lib/systemd/system/capfd.service \
  /usr/lib/systemd/system/capfd-metrics.service /usr/lib/systemd/system/capfd-metrics.timer \
  >"$work/verify.log" 2>&1 || { cat "$work/verify.log"; fail "systemd-analyze verify"; }
[ ! -s "$work/verify.log" ] || { cat "$work/verify.log"; fail "systemd-analyze verify complained"; }
for unit in capfd.service capfd-metrics.service; do
  rating=$(systemd-analyze security --offline=true "/usr/lib/systemd/system/$unit" 2>&1 |
           sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
  case "$rating" in *PERFECT|*SAFE|*OK) echo "$unit: exposure $rating" ;; *) fail "$unit rated '$rating'" ;; esac
done

# 3. A database the installed config finds: it names no host or port, so
# libpq's PGHOST and PGPORT point it at a private cluster.
CAPF_DB_USER=capf CAPF_DB_NAME=capfd "$src/deploy/pg-cluster.sh" start "$work/pg" 5432 >/dev/null
chmod o+x "$work/pg" "$work/pg/run"
export PGHOST=$work/pg/run PGPORT=5432

# 4. First start as the guide does it, as the capf user with the installed
# config, in a network namespace where only loopback exists.
mkdir -p /run/capfd && chown capf:capf /run/capfd
runuser -u capf -- /usr/bin/capfd init --config /etc/capfd/capfd.json --cn CAPF-package-test \
  --organization "Example Hospital" >"$work/init.log" 2>&1 || { cat "$work/init.log"; fail "capfd init"; }
[ "$(stat -c %U:%a /var/lib/capfd/capf.key)" = capf:600 ] || fail "key is $(stat -c %U:%a /var/lib/capfd/capf.key)"
cat >"$work/in-namespace.sh" <<'NS'
set -euo pipefail
ip link set lo up
# setpriv execs capfd itself (runuser would stay between, and turn
# SIGTERM into a failure of its own).
setpriv --reuid=capf --regid=capf --init-groups /usr/bin/capfd --config /etc/capfd/capfd.json 2>"$1" &
pid=$!
for _ in $(seq 1 200); do [ -S /run/capfd/admin.sock ] && break; sleep 0.05; done
[ -S /run/capfd/admin.sock ] || { echo "no admin socket"; exit 1; }
[ "$(stat -c %G /run/capfd/admin.sock)" = capfadmin ] || { echo "socket group $(stat -c %G /run/capfd/admin.sock)"; exit 1; }
capfctl device add SEP00AA11BB22CC --auth null-string >/dev/null
capfctl schedule install SEP00AA11BB22CC >/dev/null
"$2" --host 127.0.0.1 --port 3804 --name SEP00AA11BB22CC --capf-cert /var/lib/capfd/capf.crt \
  --state "$3/phone" >"$3/phone.log" 2>&1 || { cat "$3/phone.log"; echo "capf-phone failed"; exit 1; }
capfctl --json device get SEP00AA11BB22CC >"$3/device.json"
capfctl metrics >"$3/metrics.prom"
# What capfd-metrics.service runs, as its user: served the read methods
# (the socket's ACL lets capfread connect), refused any change.
as_metrics() { setpriv --reuid=capfmetrics --regid=capfread --init-groups "$@"; }
as_metrics capfctl --socket /run/capfd/admin.sock --timeout 10 metrics >"$3/metrics-readonly.prom"
as_metrics capfctl device list >"$3/list-readonly.txt"
if as_metrics capfctl schedule install SEP00AA11BB22CC 2>"$3/refused.txt"; then
  echo "capfmetrics scheduled an install"; exit 1
fi
kill -TERM $pid
wait $pid
NS
unshare --net bash "$work/in-namespace.sh" "$log" "$phone" "$work" || fail "serving in the namespace"
openssl verify -CAfile /var/lib/capfd/capf.crt "$work/phone/lsc.pem" >/dev/null ||
  fail "the phone's LSC does not verify against the installed capfd's certificate"
python3 - "$work/device.json" <<'PY' || fail "device record: $(cat "$work/device.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("lsc", {}).get("md5"), d
PY
grep -q '^capfd_up 1$' "$work/metrics.prom" || fail "capfctl metrics: $(head -5 "$work/metrics.prom")"
grep -q '^capfd_up 1$' "$work/metrics-readonly.prom" ||
  fail "capfctl metrics as capfmetrics: $(head -5 "$work/metrics-readonly.prom")"
grep -q '^SEP00AA11BB22CC' "$work/list-readonly.txt" || fail "device list as capfmetrics: $(cat "$work/list-readonly.txt")"
grep -q "method operation.schedule needs the admin role; uid [0-9]* (capfmetrics) has the read-only role (admin.readonly_groups capfread)" \
  "$work/refused.txt" || fail "schedule install as capfmetrics: '$(cat "$work/refused.txt")'"
grep -q '"started"\|event=started' "$log" || fail "capfd never logged started"

# 5. Purge: binaries, units and config go; the identity stays.
dpkg --purge capfd >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
for f in /usr/bin/capfd /usr/bin/capfctl /usr/lib/systemd/system/capfd.service /etc/capfd/capfd.json; do
  [ ! -e "$f" ] || fail "$f left after purge"
done
[ -e /var/lib/capfd/capf.key ] || fail "purge deleted the CAPF identity"
echo "PASS: $(basename "$deb") installed, a phone enrolled against the installed capfd, purged"
