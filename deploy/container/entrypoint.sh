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
set -eu

config=${CAPFD_CONFIG:-/etc/capfd/capfd.json}
password_file=${CAPFD_DB_PASSWORD_FILE:-/run/secrets/db_password}

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

capfd init --config "$config"
exec capfd --config "$config" "$@"
