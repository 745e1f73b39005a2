#!/bin/sh
# Entry point of the capfd container image (deploy/container/Dockerfile).
#
#   (no arguments) or capfd options:
#       the database password into libpq, `capfd init` (creates the CAPF
#       identity in /var/lib/capfd unless it exists, and the database schema;
#       changes nothing when both are there), then capfd itself, exec'd so it
#       gets the container's SIGTERM. Options are passed to capfd.
#   any other command (e.g. `capfctl summary`, `capfd init --cn NAME ...`):
#       run as it is, with the same database password.
#
# The password is read from CAPFD_DB_PASSWORD_FILE (a compose secret,
# default /run/secrets/db_password) into PGPASSWORD, unless PGPASSWORD is
# already set; the image holds no secret.
#
# node.name, the owner of operation leases, must differ between capfds
# sharing a database, so each container takes its own host name: the
# image's configuration sets no node.name (capfd then uses the host name),
# and a configuration that still has the fixed name earlier images shipped,
# "capfd-container-1", gets the host name here, in a copy in
# CAPFD_RUNTIME_DIR (default /run/capfd). A node.name the operator chose is
# kept as it is.
set -eu

config=${CAPFD_CONFIG:-/etc/capfd/capfd.json}
password_file=${CAPFD_DB_PASSWORD_FILE:-/run/secrets/db_password}
runtime_dir=${CAPFD_RUNTIME_DIR:-/run/capfd}
placeholder='"capfd-container-1"'

if [ -z "${PGPASSWORD:-}" ] && [ -e "$password_file" ]; then
    if [ ! -r "$password_file" ]; then
        echo "capfd-entrypoint: $password_file is not readable by $(id -un) (uid $(id -u))" >&2
        exit 1
    fi
    PGPASSWORD=$(cat "$password_file")  # without its trailing newline
    export PGPASSWORD
fi

if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi

if grep -qs "$placeholder" "$config"; then
    host=$(uname -n)
    case $host in
    "" | *[!A-Za-z0-9.-]*)
        echo "capfd-entrypoint: the host name '$host' is no node.name (letters, digits, '.' and '-'); set node.name in $config" >&2
        exit 1
        ;;
    esac
    # Written without group or other access: the file may hold what the
    # operator's one does (a database password in the connection string).
    (umask 077 && sed "s/$placeholder/\"$host\"/" "$config" >"$runtime_dir/capfd.json")
    echo "capfd-entrypoint: node.name is the host name $host (was the placeholder $placeholder)" >&2
    config=$runtime_dir/capfd.json
fi

capfd init --config "$config"
exec capfd --config "$config" "$@"
