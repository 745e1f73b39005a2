#!/usr/bin/env bash
# capfd init with identity.passphrase_file: the key is written encrypted
# (PKCS#8), and a passphrase file group or others can read is refused before
# anything is written. No database: init writes the identity before it
# reaches the schema step, which then fails; only the files are checked.
# Usage: init_encrypted_key_test.sh CAPFD
set -u
capfd=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

printf 'correct horse\n' >"$dir/pass"
chmod 600 "$dir/pass"
printf '{"identity": {"certificate": "%s/capf.crt", "private_key": "%s/capf.key", "passphrase_file": "%s/pass"}}\n' \
  "$dir" "$dir" "$dir" >"$dir/capfd.json"

"$capfd" init --config "$dir/capfd.json" 2>"$dir/init.log"
[ -f "$dir/capf.key" ] || fail "no key written: $(cat "$dir/init.log")"
first=$(head -n 1 "$dir/capf.key")
[ "$first" = "-----BEGIN ENCRYPTED PRIVATE KEY-----" ] || fail "key file starts with '$first'"
grep -q "key_encrypted=yes" "$dir/init.log" || fail "init did not log key_encrypted=yes"

rm -f "$dir/capf.key" "$dir/capf.crt"
chmod 644 "$dir/pass"
if "$capfd" init --config "$dir/capfd.json" 2>"$dir/init2.log"; then
  fail "init accepted a passphrase file of mode 0644"
fi
grep -q "chmod 600" "$dir/init2.log" || fail "refusal does not say chmod 600: $(cat "$dir/init2.log")"
grep -q "0644" "$dir/init2.log" || fail "refusal does not name the mode: $(cat "$dir/init2.log")"
[ ! -e "$dir/capf.key" ] || fail "a key was written despite the refused passphrase file"
echo "PASS: encrypted key written; open passphrase file refused"
