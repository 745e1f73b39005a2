#!/usr/bin/env bash
# Runs deploy/README.md, the operator guide, as written: every ```sh block in
# order, in one root shell, with a transcript. Blocks marked ```sh systemd
# run only where systemd is PID 1, blocks marked ```sh without-systemd only
# where it is not; ```sh other-node blocks (a second machine) never run.
#
# It installs the package, the Debian PostgreSQL cluster and
# prometheus-node-exporter, creates users (capf, capfmetrics, alice, bob) and ends by purging
# capfd (section 14): run it on a scratch Debian 12 machine, from the
# checkout, as root. Not part of CTest for that reason; CI runs the package
# test (tests/deploy/package_test.sh) instead.
#
# With systemd as PID 1 on a machine whose own init is something else (the
# development VM), a booted container serves:
#   debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm /var/lib/machines/capf
#   mount -t tmpfs tmpfs /run/systemd/nspawn   # nspawn refuses to clean up a non-tmpfs /run
#   systemd-nspawn -D /var/lib/machines/capf --boot --register=no --keep-unit &   # no host D-Bus
#   nsenter -t <the container's PID 1> -a -- bash -c 'cd CHECKOUT && tests/deploy/operator_guide_run.sh'
# Usage: tests/deploy/operator_guide_run.sh [TRANSCRIPT]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
transcript=${1:-/tmp/operator-guide-transcript.txt}
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 2; }
if dpkg-query -W -f='${Status}' capfd 2>/dev/null | grep -q installed || [ -e /var/lib/capfd ]; then
  echo "capfd is installed here (or /var/lib/capfd exists): a scratch machine only" >&2
  exit 2
fi
if [ "$(cat /proc/1/comm)" = systemd ]; then skip=without-systemd; else skip=systemd; fi

script=$(mktemp /tmp/operator-guide-XXXXXX.sh)
python3 - "$repo/deploy/README.md" "$skip" >"$script" <<'PY'
import re, sys
text, skip = open(sys.argv[1]).read(), sys.argv[2]
print("set -euo pipefail")
for n, (info, body) in enumerate(re.findall(r"^```(sh[^\n]*)\n(.*?)^```$", text, re.S | re.M), 1):
    kind = info[2:].strip() or "always"
    if kind in (skip, "other-node"):
        print(f"echo '### block {n} ({kind}): not run here'")
        continue
    print(f"echo '### block {n} ({kind})'")
    print(body, end="")
PY
# The guide's stand-ins: a test "manufacturing CA" and a test SUDI root for
# section 4 (the SUDI root in the layout capf-phone --sudi-ca reads, so that
# the simulated phone of section 10 sends a SUDI it issued), and the phone
# simulator of this build for sections 6 and 10.
openssl req -x509 -newkey rsa:2048 -nodes -keyout /root/cisco-manufacturing-ca.key \
  -out /root/cisco-manufacturing-ca.pem -subj "/CN=Test Manufacturing CA" -days 30 2>/dev/null
mkdir -p /root/cisco-sudi-ca
openssl req -x509 -newkey rsa:2048 -nodes -keyout /root/cisco-sudi-ca/root-key.pem \
  -out /root/cisco-sudi-ca/root.pem -subj "/CN=Test SUDI Root" -days 30 2>/dev/null
export PATH="$repo/build/tests:$PATH"
cd "$repo"
status=0
bash -x "$script" >"$transcript" 2>&1 || status=$?
userdel --remove alice 2>/dev/null || true
userdel --remove bob 2>/dev/null || true
rm -rf /root/cisco-manufacturing-ca.key /root/cisco-sudi-ca "$script"
if [ $status -ne 0 ]; then
  tail -30 "$transcript"
  echo "FAIL: the guide stopped (exit $status); transcript in $transcript"
  exit 1
fi
echo "PASS: every block of deploy/README.md ran; transcript in $transcript"
