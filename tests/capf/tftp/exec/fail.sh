#!/bin/sh
# exec encryptor tests: reads its input, explains on stdout and stderr, and
# exits 3.
cat >/dev/null
echo "tftp upload refused"
echo "server said: disk full" >&2
exit 3
