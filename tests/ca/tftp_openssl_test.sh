#!/bin/sh
# The header signatures of .enc.sgn, .sgn and ITLFile.tlv verify against the
# TFTP certificate with openssl, independently of capfd's own verifier: the
# signature element (tag 12) is cut out here with a few lines of Python
# written from protocol/README.md section 8.1, and the rest is checked with
# `openssl dgst -verify`, for SHA-1 and SHA-512. A file with one byte
# changed must fail, so that the check can fail at all.
# Usage: tftp_openssl_test.sh TEST_CA_BINARY
set -eu
test_ca=$1
dir=$(mktemp -d /tmp/capf-tftp-openssl-XXXXXX)
trap 'rm -rf "$dir"' EXIT

CAPF_TFTP_SAMPLES_DIR=$dir "$test_ca" "[.tftp-samples]" >"$dir/samples.log" 2>&1 || {
    cat "$dir/samples.log"
    echo "FAIL: writing the sample files"
    exit 1
}
openssl x509 -in "$dir/tftp.pem" -pubkey -noout >"$dir/pub.pem"

cut_signature() {
    python3 - "$1" "$2" "$3" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
header_length = int.from_bytes(data[8:10], "big")
i = 10
while i < header_length:
    tag = data[i]
    if tag == 13:  # a lone padding byte
        i += 1
        continue
    length = int.from_bytes(data[i + 1:i + 3], "big")
    if tag == 12:
        open(sys.argv[2], "wb").write(data[i + 3:i + 3 + length])
        open(sys.argv[3], "wb").write(data[:i] + data[i + 3 + length:])
        sys.exit(0)
    i += 3 + length
sys.exit("no signature element in " + sys.argv[1])
PY
}

checked=0
for hash in sha1 sha512; do
    for file in "config.$hash.enc.sgn" "config.$hash.sgn" "ITLFile.$hash.tlv"; do
        cut_signature "$dir/$file" "$dir/sig.bin" "$dir/rest.bin"
        if ! openssl dgst "-$hash" -verify "$dir/pub.pem" -signature "$dir/sig.bin" "$dir/rest.bin"; then
            echo "FAIL: $file does not verify with openssl dgst -$hash"
            exit 1
        fi
        # One byte of the signed part changed: must no longer verify.
        python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; open(sys.argv[1], "wb").write(b)' "$dir/rest.bin"
        if openssl dgst "-$hash" -verify "$dir/pub.pem" -signature "$dir/sig.bin" "$dir/rest.bin" >/dev/null 2>&1; then
            echo "FAIL: $file still verifies after a changed byte"
            exit 1
        fi
        checked=$((checked + 1))
    done
done
[ "$checked" -eq 6 ] || { echo "FAIL: checked $checked files, expected 6"; exit 1; }
echo "PASS: $checked files verified with openssl (and refused once altered)"
