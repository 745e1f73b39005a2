#!/bin/sh
# exec encryptor tests: records what the program was given. Writes its stdin
# to $1 and the rest of its arguments, one a line, to $1.args.
out=$1
shift
cat >"$out.partial"
printf '%s\n' "$@" >"$out.args"
mv "$out.partial" "$out"
