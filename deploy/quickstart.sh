#!/usr/bin/env bash
# Sets capfd up on a fresh Debian 12 machine and runs it in the foreground on
# its embedded default: a private PostgreSQL cluster that this script creates
# on first run (and reuses after) and stops again when capfd exits.
#
# Environment: CAPF_QUICKSTART_DIR  where the cluster and state live
#              (default: .quickstart/ in the checkout; /var/lib/capfd-quickstart
#              as root, because PostgreSQL runs as the postgres user, which may
#              not enter the checkout).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

"$repo/deploy/install-deps.sh"

cmake -S "$repo" -B "$repo/build-release" -DCMAKE_BUILD_TYPE=Release -DCAPF_BUILD_TESTS=ON -DCAPF_WERROR=OFF >/dev/null
cmake --build "$repo/build-release" -j "$(nproc)" --target capfd capfctl capf-phone

if [ "$(id -u)" -eq 0 ]; then
  state=${CAPF_QUICKSTART_DIR:-/var/lib/capfd-quickstart}
else
  state=${CAPF_QUICKSTART_DIR:-$repo/.quickstart}
fi
mkdir -p "$state"
database=$("$repo/deploy/pg-cluster.sh" start "$state/postgres")
trap '"$repo/deploy/pg-cluster.sh" stop "$state/postgres"' EXIT
echo "quickstart: private PostgreSQL running: $database" >&2

# A configuration of the quick start's own, written once and kept (edit it
# freely; deploy/CONFIG.md documents every key).
config="$state/capfd.json"
if [ ! -f "$config" ]; then
  cat >"$config" <<JSON
{
  "listen": { "address": "0.0.0.0", "port": 3804 },
  "identity": { "certificate": "$state/capf.crt", "private_key": "$state/capf.key" },
  "database": { "connection": "$database" },
  "admin": { "socket_path": "$state/admin.sock" },
  "node": { "name": "quickstart" }
}
JSON
fi
"$repo/build-release/capf/capfd" --check-config --config "$config" >/dev/null
# First run: a CAPF identity and the schema (an existing identity is kept).
"$repo/build-release/capf/capfd" init --config "$config" --cn "CAPF-quickstart"

echo "quickstart: starting capfd; stop it with Ctrl-C. In another terminal:" >&2
echo "  export CAPF_ADMIN_SOCKET=$state/admin.sock" >&2
echo "  $repo/build-release/capf/capfctl version" >&2
"$repo/build-release/capf/capfd" --config "$config"
