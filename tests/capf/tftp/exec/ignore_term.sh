#!/bin/sh
# exec encryptor tests: ignores SIGTERM (and so does its child), so only
# SIGKILL ends it. Writes its pid and its child's to $1, one a line.
trap '' TERM
sleep 1000 &
printf '%s\n%s\n' "$$" "$!" >"$1.partial"
mv "$1.partial" "$1"
while :; do
    wait
done
