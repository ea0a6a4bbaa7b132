#!/usr/bin/env bash
# test_codesign_efi.sh - Authenticode on real signed EFI binaries from the
# Debian archive, fetched with `apt-get download` (apt's lists must exist:
# tests/run.sh has run apt-get update; this test never does):
#   shim-signed          shimx64.efi.signed, signed by Microsoft twice (two
#                        WIN_CERTIFICATE entries: UEFI CA 2011 and 2023),
#                        each with Microsoft's RFC 3161 token (attribute
#                        1.3.6.1.4.1.311.3.3.1, a CMS SignedData carrying an
#                        attribute certificate); the 2011 leaf has no
#                        keyUsage extension.
#   fwupd-amd64-signed   fwupdx64.efi.signed, signed by Debian with sbsign,
#                        whose SpcIndirectDataContent data type is
#                        1.3.6.1.4.1.311.2.1.21.
# Trust anchors: the files do not carry their roots. Microsoft's signatures
# carry their issuing CAs (UEFI CA 2011, UEFI CA 2023) and the tokens the
# Time-Stamp PCA 2010: those CA certificates, taken from the signatures
# with openssl, are the --ca and --tsa-ca (a pinned issuing CA, which
# partial chains allow). Debian's Secure Boot CA, which signs fwupd, is not
# in fwupd's signature; shim embeds it as its vendor certificate (section
# .vendor_cert), and shim is itself verified first.
# When the archive is unreachable the test prints "SKIP: ..." and passes.
# Env: GATE (the binary), GATE_SOURCE_DIR.
set -u

GATE=${GATE:?GATE must name the gate binary}
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cli_setup
cd "$tmp" || exit 1

for tool in apt-get dpkg-deb openssl python3; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is missing"; exit 0; }
done
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    echo "SKIP: no apt lists (apt-get update has not run)"
    exit 0
fi
if ! timeout 120 apt-get download shim-signed fwupd-amd64-signed >dl.log 2>&1; then
    echo "SKIP: the Debian archive is unreachable: $(tail -n 1 dl.log)"
    exit 0
fi
for deb in ./*.deb; do fixture dpkg-deb -x "$deb" root; done
shim=root/usr/lib/shim/shimx64.efi.signed
fwupd=$(find root -name 'fwupdx64.efi.signed' | head -n 1)
fixture test -f "$shim"
fixture test -n "$fwupd"

# parts.py PE PREFIX: each WIN_CERTIFICATE as PREFIX-sigN.der, each
# Microsoft RFC 3161 token in it as PREFIX-tokN.der, and (when asked) the
# section .vendor_cert's first certificate as PREFIX-vendor.der.
cat >parts.py <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read()
pre = sys.argv[2]
pe = struct.unpack_from('<I', b, 0x3c)[0]
nsec, optsz = struct.unpack_from('<H', b, pe + 6)[0], struct.unpack_from('<H', b, pe + 20)[0]
magic = struct.unpack_from('<H', b, pe + 24)[0]
dd = pe + 24 + (112 if magic == 0x20b else 96)
off, size = struct.unpack_from('<II', b, dd + 32)
def der_len(at):
    n = b[at + 1]
    if n < 0x80:
        return 2 + n
    k = n & 0x7f
    return 2 + k + int.from_bytes(b[at + 2:at + 2 + k], 'big')
ms_ts = bytes.fromhex('060a2b0601040182370303013182')
i = t = 0
at = off
while at + 8 <= off + size:
    ln = struct.unpack_from('<I', b, at)[0]
    sig = b[at + 8:at + ln]
    open('%s-sig%d.der' % (pre, i), 'wb').write(sig)
    k = sig.find(ms_ts)
    while k >= 0:
        s = at + 8 + k + len(ms_ts) + 2  # past the SET header
        open('%s-tok%d.der' % (pre, t), 'wb').write(b[s:s + der_len(s)])
        t += 1
        k = sig.find(ms_ts, k + 1)
    i += 1
    at += (ln + 7) & ~7
if len(sys.argv) > 3:
    sec = pe + 24 + optsz
    symtab, nsyms = struct.unpack_from('<II', b, pe + 12)
    strtab = symtab + 18 * nsyms
    def name(h):  # a long name is "/N": offset N in the COFF string table
        n = b[h:h + 8].rstrip(b'\0')
        if n.startswith(b'/'):
            at = strtab + int(n[1:])
            n = b[at:b.index(b'\0', at)]
        return n
    for j in range(nsec):
        h = sec + 40 * j
        if name(h) == b'.vendor_cert':
            raw = struct.unpack_from('<I', b, h + 20)[0]
            n, _, o, _ = struct.unpack_from('<IIII', b, raw)
            open(pre + '-vendor.der', 'wb').write(b[raw + o:raw + o + n])
print(i, t)
EOF
# ca_only IN OUT: the CA certificates (basicConstraints CA:TRUE) of IN.
ca_only() {
    : >"$2"
    awk -v d="$tmp/split" 'BEGIN { n = 0 } /BEGIN CERT/ { n++ } n { print > (d "." n ".pem") }' "$1"
    for c in "$tmp"/split.*.pem; do
        [ -f "$c" ] || continue
        openssl x509 -in "$c" -noout -ext basicConstraints 2>/dev/null | grep -q 'CA:TRUE' && cat "$c" >>"$2"
        rm -f "$c"
    done
}
fixture python3 parts.py "$shim" shim vendor
fixture python3 parts.py "$fwupd" fwupd
: >ms-all.pem
for s in shim-sig*.der; do
    fixture openssl pkcs7 -inform DER -in "$s" -print_certs -out "$s.pem"
    cat "$s.pem" >>ms-all.pem
done
ca_only ms-all.pem ms-ca.pem
: >tsa-all.pem
for t in shim-tok*.der; do
    fixture openssl cms -verify -noverify -inform DER -in "$t" -certsout "$t.pem" -out /dev/null
    cat "$t.pem" >>tsa-all.pem
done
ca_only tsa-all.pem tsa-ca.pem
fixture openssl x509 -inform DER -in shim-vendor.der -out debian-ca.pem
fixture grep -q 'BEGIN CERTIFICATE' ms-ca.pem
fixture grep -q 'BEGIN CERTIFICATE' tsa-ca.pem

# shim: both Microsoft signatures verify, each timestamped by Microsoft's
# TSA (issue 10: the token is read as CMS; the 2011 leaf lacks keyUsage).
run "shim: two Microsoft signatures, RFC 3161 timestamps" 0 \
    --out "verified: $shim (authenticode, 2 signatures)" \
    --out "signature 1: verified" --out "signature 2: verified" \
    --out "CN=Microsoft Windows UEFI Driver Publisher" --out "(rfc3161 timestamp)" \
    --no-out "timestamp_rejected" -- \
    "$GATE" verify --ca ms-ca.pem --tsa-ca tsa-ca.pem "$shim"
# fwupd: sbsign's data type (issue 10), Debian's CA from shim.
run "fwupd: Debian's signature (SpcPeImageData typed .21)" 0 \
    --out "verified: $fwupd (authenticode, 1 signature)" \
    --out "CN=Debian Secure Boot Signer 2022 - fwupd" --out "issuer: CN=Debian Secure Boot CA" -- \
    "$GATE" verify --ca debian-ca.pem "$fwupd"
# The system bundle (~140 roots) is one --ca (issue 10); Debian's Secure
# Boot CA is not among its roots, so alone it rejects the file.
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    run "fwupd: the system CA bundle and Debian's CA" 0 -- \
        "$GATE" verify --ca /etc/ssl/certs/ca-certificates.crt --ca debian-ca.pem "$fwupd"
    run "fwupd: the system CA bundle alone" 1 \
        --out "reason: C6: certificate chain does not verify to a trusted root" -- \
        "$GATE" verify --ca /etc/ssl/certs/ca-certificates.crt "$fwupd"
fi
# A policy naming Debian's CA decides both files.
cat >efi.yaml <<EOF
version: 1
trust:
  x509_roots:
    debian: { file: $tmp/debian-ca.pem }
    microsoft: { file: $tmp/ms-ca.pem }
  tsa_roots:
    microsoft-tsa: { file: $tmp/tsa-ca.pem }
  crl: { mode: prefer }
signers:
  debian:
    - x509: { root: debian, subject_regex: 'CN=Debian Secure Boot Signer .*' }
  microsoft:
    - x509: { root: microsoft }
rules:
  - name: fwupd
    match: { path: "**/fwupdx64.efi.signed" }
    require: { signers: debian }
  - name: shim
    match: { path: "**/shimx64.efi.signed" }
    require: { signers: microsoft }
EOF
run "policy: fwupd by Debian's signer, shim by Microsoft's" 0 \
    --out "ALLOW  $fwupd" --out "ALLOW  $shim" -- \
    "$GATE" check --policy efi.yaml "$fwupd" "$shim"
finish
