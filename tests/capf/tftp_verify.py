#!/usr/bin/env python3
"""An independent reader of the files capfd writes for the TFTP side.

Written from ../shared/docs/capf-protocol.md sections 8 and 9 only (it shares
no code with capfd): parses the signed header, verifies its signature with
openssl against the TFTP certificate, decrypts an .enc.sgn with the phone's
private key (openssl), checks the digest, and reads ITL records.

  tftp_verify.py sgn FILE TFTP_CERT                   -> prints the payload
  tftp_verify.py enc FILE TFTP_CERT PHONE_KEY         -> prints the plaintext
  tftp_verify.py itl FILE TFTP_CERT                   -> prints one line per record
  tftp_verify.py ctl FILE SAST_CERT                   -> the same for a CTL (section 10)
Exit 1 with a message on any failure.
"""
import hashlib
import os
import subprocess
import sys
import tempfile

CONTAINERS = {3, 7, 9, 16, 17, 21}
HASHES = {1: "sha1", 3: "sha512"}


def fail(msg):
    sys.stderr.write("tftp_verify: " + msg + "\n")
    sys.exit(1)


def elements(data, start, end):
    """(tag, offset of the element, value) for the elements in data[start:end]."""
    out = []
    i = start
    while i < end:
        tag = data[i]
        if tag == 13:  # a padding byte: no length
            out.append((13, i, b""))
            i += 1
            continue
        if i + 3 > end:
            fail("element header at %d runs past %d" % (i, end))
        length = int.from_bytes(data[i + 1:i + 3], "big")
        if i + 3 + length > end:
            fail("element %d at %d (length %d) runs past %d" % (tag, i, length, end))
        out.append((tag, i, data[i + 3:i + 3 + length]))
        i += 3 + length
    return out


def header(data):
    if len(data) < 10 or data[0] != 1 or data[1:3] != b"\x00\x02":
        fail("the file does not start with a version element")
    version = data[3:5]
    if data[5] != 2:
        fail("the second element is not the header length")
    header_len = int.from_bytes(data[8:10], "big")
    if header_len % 4 != 0:
        fail("header length %d is not a multiple of 4" % header_len)
    if header_len > len(data):
        fail("header length %d beyond the file (%d)" % (header_len, len(data)))
    els = elements(data, 0, header_len)
    fields = {}
    sig_offset = None
    for tag, off, value in els:
        if tag == 12:
            sig_offset = off
        if tag != 13:
            fields[tag] = value
    if sig_offset is None:
        fail("no signature element")
    return version, header_len, fields, sig_offset, els


def nested(value):
    return {t: v for t, _, v in elements(value, 0, len(value))}


def verify_signature(data, fields, sig_offset, cert):
    sig = fields[12]
    signed = data[:sig_offset] + data[sig_offset + 3 + len(sig):]
    hash_id = nested(fields[7])[8][0]
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "data"), "wb").write(signed)
        open(os.path.join(d, "sig"), "wb").write(sig)
        pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"],
                             capture_output=True, check=True).stdout
        open(os.path.join(d, "pub.pem"), "wb").write(pub)
        r = subprocess.run(["openssl", "dgst", "-" + HASHES[hash_id], "-verify",
                            os.path.join(d, "pub.pem"), "-signature", os.path.join(d, "sig"),
                            os.path.join(d, "data")], capture_output=True)
        if r.returncode != 0 or b"Verified OK" not in r.stdout:
            fail("signature does not verify with %s: %s" % (cert, (r.stdout + r.stderr).decode()))
    return HASHES[hash_id]


def decrypt(data, header_len, fields, key):
    enc = nested(fields[16])
    ivinfo, keyinfo = nested(enc[17]), nested(enc[21])
    iv, pad = ivinfo[19], int.from_bytes(ivinfo[20], "big")
    wrapped = keyinfo[25]
    payload = data[header_len:]
    if len(payload) % 16 != 0:
        fail("ciphertext of %d bytes is not whole AES blocks" % len(payload))
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "wrapped"), "wb").write(wrapped)
        open(os.path.join(d, "ct"), "wb").write(payload)
        aes = subprocess.run(["openssl", "pkeyutl", "-decrypt", "-inkey", key,
                              "-in", os.path.join(d, "wrapped")], capture_output=True)
        if aes.returncode != 0 or len(aes.stdout) != 16:
            fail("the AES key does not unwrap with %s: %s" % (key, aes.stderr.decode()))
        plain = subprocess.run(["openssl", "enc", "-d", "-aes-128-cbc", "-nopad",
                                "-K", aes.stdout.hex(), "-iv", iv.hex(),
                                "-in", os.path.join(d, "ct")], capture_output=True)
        if plain.returncode != 0:
            fail("AES-128-CBC decryption failed: " + plain.stderr.decode())
    padded = plain.stdout
    if pad < 1 or pad > 16 or padded[len(padded) - pad:] != b"\r" * pad:
        fail("pad count %d does not match the padding" % pad)
    xml = padded[:len(padded) - pad]
    digest_alg = HASHES[fields[26][0]]
    if hashlib.new(digest_alg, xml).digest() != fields[27]:
        fail("the %s digest of the plaintext does not match" % digest_alg)
    return xml


def itl_records(payload):
    out = []
    i = 0
    while i < len(payload):
        if payload[i] != 1:
            fail("record at %d does not start with its length" % i)
        length = int.from_bytes(payload[i + 3:i + 5], "big")
        rec = {t: v for t, _, v in elements(payload, i, i + length)}
        out.append(rec)
        i += length
    return out


def main():
    if len(sys.argv) < 4:
        fail(__doc__)
    mode, path, cert = sys.argv[1], sys.argv[2], sys.argv[3]
    data = open(path, "rb").read()
    version, header_len, fields, sig_offset, _ = header(data)
    alg = verify_signature(data, fields, sig_offset, cert)
    name = fields[14].rstrip(b"\0").decode()
    if mode == "sgn":
        if version != b"\x01\x00":
            fail("version %s, expected 1.0" % version.hex())
        sys.stdout.buffer.write(data[header_len:])
    elif mode == "enc":
        if version != b"\x02\x00":
            fail("version %s, expected 2.0" % version.hex())
        sys.stdout.buffer.write(decrypt(data, header_len, fields, sys.argv[4]))
    elif mode in ("itl", "ctl"):
        if version != b"\x01\x02":
            fail("version %s, expected 1.2" % version.hex())
        signer_serial = nested(fields[3])[5]
        signer_listed = False
        roles = []
        for rec in itl_records(data[header_len:]):
            role = int.from_bytes(rec[4], "big")
            der = rec[9]
            with tempfile.NamedTemporaryFile() as f:
                f.write(der)
                f.flush()
                mod = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", f.name,
                                      "-noout", "-modulus"], capture_output=True, text=True)
            n = int(mod.stdout.strip().split("=", 1)[1], 16) if "=" in mod.stdout else None
            pk = rec[7]  # RSAPublicKey DER: SEQUENCE { INTEGER n, INTEGER e }
            if n is None or n.to_bytes((n.bit_length() + 7) // 8, "big") not in pk:
                fail("record of role %d: its public key is not its certificate's" % role)
            roles.append(role)
            print("role=%d serial=%s subject=%s" % (role, rec[6].hex(),
                                                    rec[3].rstrip(b"\0").decode()))
            if role == 0 and rec[6] != signer_serial and mode == "itl":
                fail("the SAST record's serial is not the header's signer serial")
            if role == 0 and rec[6] == signer_serial:
                signer_listed = True
        if 0 not in roles:
            fail("no SAST record")
        if mode == "ctl" and (name != "CTLFile.tlv" or roles.count(0) != 2 or not signer_listed):
            fail("a CTL is CTLFile.tlv with two SAST records, one of them the signer: %s, roles %s"
                 % (name, roles))
    else:
        fail("unknown mode " + mode)
    sys.stderr.write("tftp_verify: %s %s verified (%s), header %d bytes\n"
                     % (mode, name, alg, header_len))


if __name__ == "__main__":
    main()
