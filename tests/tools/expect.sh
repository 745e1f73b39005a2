#!/bin/sh
# A command must end as expected AND print the expected text. CTest's
# PASS_REGULAR_EXPRESSION alone ignores the exit status, so a command that
# crashed after printing the text (or succeeded where it must fail) passed.
# Usage: expect.sh success|failure REGEX COMMAND [ARGS...]
#   success: exit status 0; failure: any other exit status, but not a
#   signal or the shell's 126/127 (a command that could not run).
# REGEX is an extended regular expression that some line must match.
want=$1 regex=$2
shift 2
out=$("$@" 2>&1)
status=$?
printf '%s\n' "$out"
case $want in
  success) [ "$status" -eq 0 ] || { echo "FAIL: exit status $status, expected 0"; exit 1; } ;;
  failure)
    if [ "$status" -eq 0 ] || [ "$status" -ge 126 ]; then
      echo "FAIL: exit status $status, expected a refusal (1-125)"
      exit 1
    fi ;;
  *) echo "FAIL: expect.sh: unknown expectation '$want'"; exit 2 ;;
esac
printf '%s\n' "$out" | grep -Eq -- "$regex" || { echo "FAIL: no line matches /$regex/"; exit 1; }
echo "PASS: exit status $status and /$regex/"
