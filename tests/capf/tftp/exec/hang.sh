#!/bin/sh
# exec encryptor tests: never ends by itself. Writes its own pid and that of
# a background child in its process group to $1, one a line, then waits.
sleep 1000 &
printf '%s\n%s\n' "$$" "$!" >"$1.partial"
mv "$1.partial" "$1"
wait
