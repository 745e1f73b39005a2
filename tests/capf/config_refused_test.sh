#!/bin/sh
# capfd --check-config must refuse FILE: a non-zero exit status, and every
# EXPECTED text (fixed strings) in what it prints.
# Usage: config_refused_test.sh CAPFD FILE EXPECTED...
capfd=$1 file=$2
shift 2
status=0
out=$("$capfd" --check-config --config "$file" 2>&1) || status=$?
if [ "$status" -eq 0 ]; then
  echo "FAIL: capfd --check-config accepted $file: $out"
  exit 1
fi
for text in "$@"; do
  case $out in
    *"$text"*) ;;
    *) echo "FAIL: refused (exit $status) without saying \"$text\": $out"; exit 1 ;;
  esac
done
echo "PASS: refused with exit $status: $out"
