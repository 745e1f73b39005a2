#!/usr/bin/env bash
# Installs everything capfd needs to build, test and run, from Debian 12
# packages only. Safe to run again: it does nothing when all are present.
# Works as root (CI) or as a user with sudo.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates openssl
  libbotan-2-dev libasio-dev nlohmann-json3-dev libpqxx-dev catch2 libcli11-dev libpugixml-dev
  postgresql-15 postgresql-client-15
  clang libfuzzer-14-dev libclang-rt-14-dev
  procps util-linux python3 xxd botan ccache
  libsystemd-dev libacl1-dev groff-base man-db mandoc file
  iproute2 systemd docker-compose yamllint
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
