#!/usr/bin/env bash
# test_codesign.sh - classic X.509 code signing end to end, with the real
# signing tools: a throwaway CA hierarchy and TSA (tests/tools/
# codesign_pki.sh, openssl ca), Authenticode signed by osslsigncode and
# time-stamped over HTTP by an RFC 3161 server on 127.0.0.1 (tests/tools/
# tsa_server.py: `openssl ts -reply`, back-dated with faketime), cross-checked
# with `osslsigncode verify` on the same roots, JARs signed by jarsigner,
# detached CMS made by `openssl cms -sign`; then policies that trust them
# (gate check). Parts whose tools are missing are skipped with a message
# naming the Debian package; a step that makes a fixture and fails stops the
# test there with the tool's own message.
# Env: GATE (the binary), GATE_SOURCE_DIR.
set -u

GATE=${GATE:?GATE must name the gate binary}
SRC=${GATE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
tmp=$(mktemp -d)
server=
tsa_pid=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    [ -n "$tsa_pid" ] && kill "$tsa_pid" 2>/dev/null
    rm -rf -- "$tmp"
}
trap cleanup EXIT

skipped=0

skip() {
    skipped=$((skipped + 1))
    echo "SKIP $*"
}

# ---- the PKI, with the intermediate's CRL served on 127.0.0.1 ----
pki=$tmp/pki
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CRL_URL=http://127.0.0.1:$port/int.crl fixture bash "$SRC/tests/tools/codesign_pki.sh" "$pki"
mkdir -p "$tmp/www"
cp "$pki/int.crl.der" "$tmp/www/int.crl"
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/int.crl')" \
        2>/dev/null && break
    sleep 0.1
done
now=$(date -u +%s)
ago() { echo $((now - $1 * 86400)); }
cd "$pki" || exit 1
ROOTS=(--ca root.pem --tsa-ca tsa-root.pem --crl all.crl)

# ---- detached CMS (openssl cms -sign) ----
printf 'payload\n' >a.txt
cms() { # cms OUT SIGNER [extra openssl flags]
    local o=$1 s=$2
    shift 2
    fixture openssl cms -sign -binary -in a.txt -signer "$s.pem" -inkey "$s.key" -certfile int.pem "$@" -out "$o"
}
cms a.der.p7s leaf -outform DER
cms a.pem.p7s leaf -outform PEM
cms a.noattr.p7s leaf -outform DER -noattr
cms a.noeku.p7s noeku -outform DER
cms a.revold.p7s revold -outform DER
fixture openssl cms -sign -binary -in a.txt -signer other.pem -inkey other.key -outform DER -out a.other.p7s
run "cms DER with signed attributes" 0 --out "verified: a.txt (cms" --out "signed_attributes: yes" \
    --out "subject: O=Gate Test,CN=Release Signer" --out "san: release@example.com" \
    --out "not revoked (2 CRLs checked)" -- "$GATE" verify "${ROOTS[@]}" --p7s a.der.p7s a.txt
run "cms PEM" 0 -- "$GATE" verify "${ROOTS[@]}" --p7s a.pem.p7s a.txt
run "cms without signed attributes" 0 --out "signed_attributes: no" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.noattr.p7s a.txt
run "cms json facts" 0 --out '"fingerprint": "sha256:' --out '"time_source": "none"' -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.der.p7s --format json a.txt
# ---- every SAN is read; past the cap the certificate is refused (issue 16)
manysan() { # manysan NAME N: a leaf of int with N SANs, and a.NAME.p7s
    local i sans=email:release@example.com
    for i in $(seq 2 "$2"); do sans="$sans, DNS:n$i.example.com"; done
    printf 'basicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = codeSigning\nsubjectAltName = %s\n' \
        "$sans" >"$1.ext"
    fixture openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"
    CANAME=int fixture openssl req -new -key "$1.key" -subj "/O=Gate Test/CN=Many Names" -out "$1.csr" -config ca.cnf
    CANAME=int fixture openssl ca -batch -config ca.cnf -cert int.pem -keyfile int.key -in "$1.csr" \
        -out "$1.pem" -extfile "$1.ext" -days 30 -notext
    cms "a.$1.p7s" "$1" -outform DER
}
manysan many 100
run "100 SANs: the 100th is read" 0 --out "n100.example.com" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.many.p7s --format json a.txt
manysan toomany 1100
run "1100 SANs: refused, not read in part" 2 --any "1100 subject alternative names, more than the 1024 allowed" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.toomany.p7s a.txt
cp a.txt a-tampered.txt
printf 'x' >>a-tampered.txt
run "cms over a changed file (attributes)" 1 --out "messageDigest attribute is not the digest" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.der.p7s a-tampered.txt
run "cms over a changed file (no attributes)" 1 --out "signature does not verify over the content" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.noattr.p7s a-tampered.txt
python3 - a.der.p7s a.flip.p7s <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[-10] ^= 1  # inside the signature value
open(sys.argv[2], 'wb').write(b)
EOF
run "cms with one signature byte changed" 1 --out "rejected" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.flip.p7s a.txt
run "cms from a certificate without codeSigning" 1 --out "lacks extendedKeyUsage codeSigning" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.noeku.p7s a.txt
# keyUsage: absent restricts nothing (RFC 5280 4.2.1.3); present, it must
# allow digitalSignature (C7).
cms a.noku.p7s noku -outform DER
cms a.kuenc.p7s kuenc -outform DER
run "cms from a certificate without keyUsage" 0 --out "CN=Unrestricted Signer" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.noku.p7s a.txt
run "cms from a certificate whose keyUsage lacks digitalSignature" 1 \
    --out "reason: C7: signing certificate lacks keyUsage digitalSignature" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.kuenc.p7s a.txt
# Every signer of a .p7s must verify (C9): one from an untrusted root
# rejects it, whichever signer a policy names.
fixture openssl cms -resign -binary -inform DER -in a.der.p7s -signer other.pem -inkey other.key \
    -outform DER -out a.two.p7s
run "cms two signers, both trusted" 0 --out "2 signatures" -- \
    "$GATE" verify "${ROOTS[@]}" --ca other-root.pem --p7s a.two.p7s a.txt
run "cms two signers, one untrusted" 1 --out "C9: 1 of 2 signatures verified" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.two.p7s a.txt
# A system bundle of roots (~140 certificates) is one --ca (C1 caps a
# trust file at 4096).
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    cat /etc/ssl/certs/ca-certificates.crt root.pem >bundle.pem
    run "cms against a system CA bundle plus our root" 0 -- \
        "$GATE" verify --ca bundle.pem --tsa-ca tsa-root.pem --crl all.crl --p7s a.der.p7s a.txt
else
    skip "system CA bundle: /etc/ssl/certs/ca-certificates.crt is missing (Debian package ca-certificates)"
fi
for _ in $(seq 4097); do cat root.pem; done >many.pem
run "a trust file of 4097 certificates" 2 --err "more than 4096 certificates in one trust file" -- \
    "$GATE" verify --ca many.pem --p7s a.der.p7s a.txt
run "cms from another CA" 1 --out "does not verify to a trusted root" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.other.p7s a.txt
run "cms revoked signer, no timestamp" 1 --out "was revoked on" -- \
    "$GATE" verify "${ROOTS[@]}" --p7s a.revold.p7s a.txt
run "cms revoked, CRL fetched from the distribution point" 1 --out "was revoked on" -- \
    "$GATE" verify --ca root.pem --crl-fetch --crl-mode require --crl-cache "$tmp/crlcache" \
    --crl root.crl --p7s a.revold.p7s a.txt
run "cms CRL fetch, good signer, required" 0 --out "not revoked" -- \
    "$GATE" verify --ca root.pem --crl-fetch --crl-mode require --crl root.crl --p7s a.der.p7s a.txt
run "cms CRL required and unavailable" 1 --out "revocation status of the certificate at depth 0 is unknown" -- \
    "$GATE" verify --ca root.pem --crl-mode require --p7s a.der.p7s a.txt
run "cms CRL preferred and unavailable: noted" 0 --out "unchecked" -- \
    "$GATE" verify --ca root.pem --p7s a.der.p7s a.txt
run "cms revocation ignored" 0 --out "not checked (policy)" -- \
    "$GATE" verify --ca root.pem --crl all.crl --crl-mode ignore --p7s a.revold.p7s a.txt
run "x509 mode needs --ca" 2 --err "--ca" -- "$GATE" verify --p7s a.der.p7s a.txt
run "--p7s with --pe" 2 --err "at most one" -- "$GATE" verify --ca root.pem --p7s a.der.p7s --pe a.txt
run "bad --crl-mode" 2 --err "--crl-mode" -- "$GATE" verify --ca root.pem --crl-mode maybe --p7s a.der.p7s a.txt
# Malformed but readable: rejected (1) with the rule it breaks (issue 12).
run "garbage p7s" 1 --out "reason: C2: neither DER nor one PEM PKCS7/CMS block" -- \
    "$GATE" verify --ca root.pem --p7s a.txt a.txt
run "--ca naming an unreadable file: an error" 2 --err "nope.pem" -- \
    "$GATE" verify --ca nope.pem --p7s a.der.p7s a.txt
run "plain file without --p7s" 2 --err "neither a PE file nor a JAR" -- "$GATE" verify --ca root.pem a.txt

# ---- Authenticode (osslsigncode), cross-checked with osslsigncode verify ----
pe_src=
if command -v x86_64-w64-mingw32-gcc >/dev/null; then
    printf 'int start(void) { return 42; }\n' >tiny.c
    fixture x86_64-w64-mingw32-gcc -Os -s -nostdlib -e start -o prog.exe tiny.c
    pe_src=prog.exe
else
    # A PE shipped in a Debian package, if the machine has one.
    for f in /usr/lib/shim/*.efi /usr/lib/grub/x86_64-efi/monolithic/*.efi /usr/share/nsis/Stubs/*; do
        [ -f "$f" ] && [ "$(head -c 2 "$f")" = MZ ] && { cp "$f" prog.exe; pe_src=prog.exe; break; }
    done
fi
if ! command -v osslsigncode >/dev/null; then
    skip "Authenticode: osslsigncode is missing (Debian package osslsigncode)"
elif [ -z "$pe_src" ]; then
    skip "Authenticode: no PE compiler (Debian package gcc-mingw-w64-x86-64) and no PE file found"
else
    # The time-stamping server: `openssl ts` on 127.0.0.1, reached by
    # osslsigncode's own HTTP client (-ts URL), as users reach a real TSA.
    python3 "$SRC/tests/tools/tsa_server.py" "$pki" "$tmp/tsa.port" 2>"$tmp/tsa.log" &
    tsa_pid=$!
    for _ in $(seq 300); do
        [ -s "$tmp/tsa.port" ] && break
        kill -0 "$tsa_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$tmp/tsa.port" ] || { echo "FAIL: the TSA server did not start:"; cat "$tmp/tsa.log"; exit 1; }
    tsa_url=http://127.0.0.1:$(cat "$tmp/tsa.port")
    sign() { # sign OUT SIGNER [osslsigncode flags]
        local o=$1 s=$2
        shift 2
        fixture osslsigncode sign -certs "$s-chain.pem" -key "$s.key" -h sha256 "$@" -in prog.exe -out "$o"
    }
    tsa() { echo -ts "$tsa_url/at/$1"; }
    sign signed.exe leaf
    # shellcheck disable=SC2046
    sign ts.exe leaf $(tsa "$(ago 1)")
    # shellcheck disable=SC2046
    sign expired-ts.exe expired $(tsa "$(ago 45)")
    sign expired.exe expired
    sign noeku.exe noeku
    sign other.exe other
    # shellcheck disable=SC2046
    sign revoked-after.exe revold $(tsa "$(ago 20)")
    # shellcheck disable=SC2046
    sign revoked-before.exe revold $(tsa "$(ago 5)")
    sign ph.exe leaf -ph
    fixture osslsigncode sign -nest -certs other-chain.pem -key other.key -h sha384 -in ts.exe \
        -out nested.exe
    cat >mutate.py <<'EOF'
import struct
b = bytearray(open('ts.exe', 'rb').read())
pe = struct.unpack_from('<I', b, 0x3c)[0]
nsec = struct.unpack_from('<H', b, pe + 6)[0]
optsz = struct.unpack_from('<H', b, pe + 20)[0]
magic = struct.unpack_from('<H', b, pe + 24)[0]
sec = pe + 24 + optsz
dd = pe + 24 + (112 if magic == 0x20b else 96)
coff, clen = struct.unpack_from('<II', b, dd + 32)
ptr = struct.unpack_from('<I', b, sec + 20)[0]
def w(name, data): open(name, 'wb').write(data)
t = bytearray(b); t[ptr + 16] ^= 1; w('t-code.exe', t)            # one byte of code
# the signed image digest inside SpcIndirectDataContent (after SHA-256's
# AlgorithmIdentifier and the OCTET STRING header)
at = b.find(bytes.fromhex('0609608648016503040201050004 20'.replace(' ', '')), coff)
t = bytearray(b); t[at + 15] ^= 1; w('t-certtable.exe', t)
t = bytearray(b); t[coff + clen - 40] ^= 1; w('t-tsbyte.exe', t)  # in the timestamp token
w('t-appended.exe', bytes(b) + b'appended after the signature\n')
t = bytearray(b); struct.pack_into('<I', t, dd + 32, len(b) + 4096); w('m-certout.exe', t)
t = bytearray(b); struct.pack_into('<H', t, pe + 6, 60000); w('m-nsections.exe', t)
t = bytearray(b)
p0 = struct.unpack_from('<I', t, sec + 20)[0]
struct.pack_into('<I', t, sec + 40 + 20, p0)  # section 1 starts where section 0 does
w('m-overlap.exe', t)
t = bytearray(b); struct.pack_into('<I', t, 0x3c, len(b) + 100); w('m-lfanew.exe', t)
w('m-truncated.exe', bytes(b[:pe + 40]))
EOF
    fixture python3 mutate.py
    # xcheck NAME GATE_RC OSSL_RC FILE [--out SUBSTR]...: gate's verdict and
    # osslsigncode's on the same roots, TSA roots and CRL. osslsigncode
    # exits 0 verified, 1 not.
    xcheck() {
        local name=$1 grc=$2 orc=$3 f=$4
        shift 4
        run "pe $name" "$grc" "$@" -- "$GATE" verify "${ROOTS[@]}" "$f"
        check "osslsigncode verify $name" ossl_verdict "$orc" "$f"
    }
    ossl_verdict() { # ossl_verdict WANT_RC FILE
        osslsigncode verify -CAfile root.pem -TSA-CAfile tsa-root.pem -CRLfile all.crl \
            -in "$2" >"$tmp/ossl.log" 2>&1
        local rc=$?
        [ "$rc" -gt 1 ] && rc=1
        [ "$rc" -eq "$1" ] && return
        tail -n 5 "$tmp/ossl.log"
        echo "exit $rc, want $1"
        return 1
    }
    xcheck "signed, no timestamp" 0 0 signed.exe --out "signing time: none" --out "page_hashes: none"
    xcheck "signed, RFC 3161 timestamp" 0 0 ts.exe --out "(rfc3161 timestamp)"
    xcheck "unsigned" 1 1 prog.exe --out "not signed"
    xcheck "one byte of code changed" 1 1 t-code.exe --out "does not match the signed digest"
    xcheck "one byte of the signed digest in the certificate table changed" 1 1 t-certtable.exe \
        --out "rejected"
    # A byte of the (unsigned) timestamp token: the signature stands, the
    # timestamp does not; both tools still verify the signature.
    xcheck "one byte of the timestamp token changed" 0 0 t-tsbyte.exe --out "timestamp_rejected"
    xcheck "data appended after the certificate table" 1 1 t-appended.exe --out "appended after the signature"
    xcheck "expired certificate, timestamp inside its validity" 0 0 expired-ts.exe --out "(rfc3161 timestamp)"
    xcheck "expired certificate, no timestamp" 1 1 expired.exe --out "certificate has expired"
    xcheck "certificate from another CA" 1 1 other.exe --out "does not verify to a trusted root"
    # osslsigncode fails every revoked certificate; gate follows the
    # timestamp model (revoked after a verified signing time: still valid).
    xcheck "revoked 10 days ago, signed 20 days ago (osslsigncode: revoked is revoked)" 0 1 \
        revoked-after.exe --out "after the signing time"
    xcheck "revoked 10 days ago, signed 5 days ago" 1 1 revoked-before.exe --out "not after the signing time"
    xcheck "signer without codeSigning" 1 1 noeku.exe \
        --out "lacks extendedKeyUsage codeSigning"
    xcheck "page hashes" 0 0 ph.exe --out "page_hashes: present, not verified"
    run "pe nested signatures" 0 --out "2 signatures" --out "signature 2: verified" \
        --out "CN=Other CA Signer" -- "$GATE" verify "${ROOTS[@]}" --ca other-root.pem nested.exe
    # Every signature must verify: a nested one from an untrusted root
    # rejects the file, though the outer one verifies (issue 9).
    run "pe nested, second root not trusted" 1 --out "rejected: nested.exe" \
        --out "signature 1: verified" --out "signature 2: rejected" \
        --out "reason: C9: 1 of 2 signatures verified, and every signature of a file must" \
        --out "reason: C6: certificate chain does not verify to a trusted root" -- \
        "$GATE" verify "${ROOTS[@]}" nested.exe
    run "pe nested, json: not verified" 1 --out '"verified": false' -- \
        "$GATE" verify "${ROOTS[@]}" --format json nested.exe
    run "pe timestamp from an untrusted TSA" 0 --out "timestamp_rejected" --out "signing time: none" -- \
        "$GATE" verify --ca root.pem --tsa-ca other-root.pem ts.exe
    run "pe expired, timestamp unverifiable" 1 --out "timestamp did not verify" -- \
        "$GATE" verify --ca root.pem expired-ts.exe
    # Malformed PE files are read and rejected (1), naming rule C10.
    run "pe --pe on a JAR-less file" 1 --out "C10: not a PE file: no MZ header" -- \
        "$GATE" verify --ca root.pem --pe a.txt
    run "pe malformed: certificate table outside the file" 1 --out "C10: " \
        --out "points outside the" -- "$GATE" verify --ca root.pem m-certout.exe
    run "pe malformed: huge section count" 1 --out "C10: 60000 sections, more than 96" -- \
        "$GATE" verify --ca root.pem m-nsections.exe
    run "pe malformed: overlapping sections" 1 --out "C10: " --out "overlap in the file" -- \
        "$GATE" verify --ca root.pem m-overlap.exe
    run "pe malformed: e_lfanew outside" 2 --err "neither a PE file nor a JAR" -- \
        "$GATE" verify --ca root.pem m-lfanew.exe
    run "pe malformed: e_lfanew outside (--pe)" 1 --out "C10: " --out "outside the file" -- \
        "$GATE" verify --ca root.pem --pe m-lfanew.exe
    run "pe malformed: truncated" 1 --out "C10: optional header" -- \
        "$GATE" verify --ca root.pem m-truncated.exe
fi

# ---- signed JAR (jarsigner) ----
if ! command -v jarsigner >/dev/null || ! command -v jar >/dev/null; then
    skip "JAR: jarsigner is missing (Debian package default-jdk-headless)"
elif ! command -v zip >/dev/null; then
    skip "JAR: zip is missing (Debian package zip)"
else
    mkdir -p jarsrc/com/example
    printf 'class bytes\n' >jarsrc/com/example/Main.class
    printf 'hello\n' >jarsrc/data.txt
    fixture sh -c 'cd jarsrc && jar cf ../app.jar com data.txt'
    fixture openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile int.pem -name signer \
        -out leaf.p12 -passout pass:changeit
    fixture jarsigner -keystore leaf.p12 -storetype PKCS12 -storepass changeit -signedjar signed.jar \
        app.jar signer
    run "jar signed" 0 --out "verified: signed.jar (jar" --out "signature_file: META-INF/SIGNER.SF" -- \
        "$GATE" verify "${ROOTS[@]}" signed.jar
    cp signed.jar tampered.jar
    mkdir -p tamper && printf 'HELLO\n' >tamper/data.txt
    fixture sh -c "cd tamper && zip -q ../tampered.jar data.txt"
    run "jar entry changed" 1 --out "entry 'data.txt' does not match its manifest digest" -- \
        "$GATE" verify "${ROOTS[@]}" tampered.jar
    cp signed.jar added.jar
    printf 'new\n' >tamper/extra.txt
    fixture sh -c "cd tamper && zip -q ../added.jar extra.txt"
    run "jar unsigned entry added" 1 --out "not covered by the signature (first: 'extra.txt')" -- \
        "$GATE" verify "${ROOTS[@]}" added.jar
    run "jar unsigned entry allowed" 0 --out "unsigned_entries: 1 (first: extra.txt)" -- \
        "$GATE" verify "${ROOTS[@]}" --allow-unsigned-entries added.jar
    cp signed.jar nosf.jar
    fixture zip -q -d nosf.jar META-INF/SIGNER.SF
    run "jar signature file removed" 1 --out "not signed" -- "$GATE" verify "${ROOTS[@]}" nosf.jar
    cp signed.jar noblock.jar
    fixture zip -q -d noblock.jar 'META-INF/SIGNER.EC'
    run "jar signature block removed" 1 --out "no signature block" -- \
        "$GATE" verify "${ROOTS[@]}" noblock.jar
    # C12: a folder entry holding data, which a folder-skipping reader
    # would leave unsigned (jarsigner -strict rejects it too).
    cp signed.jar folder.jar
    fixture python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "a", zipfile.ZIP_DEFLATED).writestr("evil/", b"payload")' folder.jar
    run "jar folder entry with data" 1 --out "C12: entry 'evil/' is named as a folder but holds 7 bytes" -- \
        "$GATE" verify "${ROOTS[@]}" --allow-unsigned-entries folder.jar
    # C3: a JAR whose digests are SHA-1 is rejected (1), not an error.
    fixture jarsigner -keystore leaf.p12 -storetype PKCS12 -storepass changeit -digestalg SHA-1 \
        -signedjar sha1.jar app.jar signer
    run "jar with SHA-1 digests" 1 --out "C3: no SHA-256/384/512 digest" -- \
        "$GATE" verify "${ROOTS[@]}" sha1.jar
    # C12: two entries of one name.
    cp signed.jar dup.jar
    fixture python3 -W ignore -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "a").writestr("data.txt", b"other\n")' dup.jar
    run "jar with a duplicate entry" 1 --out "C12: duplicate entry name 'data.txt'" -- \
        "$GATE" verify "${ROOTS[@]}" dup.jar
    run "jar other CA" 1 --out "does not verify to a trusted root" -- \
        "$GATE" verify --ca other-root.pem signed.jar
    check "jarsigner -verify agrees on signed.jar / tampered.jar" \
        sh -c 'jarsigner -verify signed.jar && ! jarsigner -verify tampered.jar'
fi

# ---- policies: X.509 signers in sets, thresholds across kinds, MIME rules ----
fixture "$GATE" keygen --output-key-prefix "$tmp/rel"
mkdir -p art
cp a.txt art/two.txt
cp a.der.p7s art/two.txt.p7s
fixture "$GATE" sign --key "$tmp/rel.key" art/two.txt
cp a.txt art/one.txt
cp a.der.p7s art/one.txt.p7s
cat >pol.yaml <<EOF
version: 1
trust:
  keys:
    rel: { file: $tmp/rel.pub }
  x509_roots:
    corp: { file: root.pem }
  tsa_roots:
    tsa: { file: tsa-root.pem }
  crl: { mode: require, files: [all.crl] }
signers:
  two-kinds:
    - x509: { root: corp, subject: "O=Gate Test,CN=Release Signer", san: release@example.com }
    - key: rel
  corp:
    - x509: { root: corp, san_regex: 'release@example\.(com|org)' }
rules:
  - name: pe
    match: { type: application/vnd.microsoft.portable-executable }
    require: { signers: corp }
  - name: jar
    match: { type: application/java-archive }
    require: { signers: corp }
  - name: text
    match: { type: "text/*" }
    require: { signers: two-kinds, threshold: 2 }
EOF
run "policy lint" 0 -- "$GATE" policy lint pol.yaml
run "policy: x509 + key, 2 of 2 across kinds" 0 --out "2 of 2 required distinct signers" -- \
    "$GATE" check --policy pol.yaml art/two.txt
run "policy: x509 alone, 1 of 2" 1 --out "1 of 2 required distinct signers" -- \
    "$GATE" check --policy pol.yaml art/one.txt
if [ -f ts.exe ]; then
    cp ts.exe nested.exe t-code.exe noeku.exe art/
    run "policy: signed PE by MIME type" 0 --out "rule 'pe'" -- "$GATE" check --policy pol.yaml art/ts.exe
    run "policy: tampered PE" 1 --out "does not match the signed digest" -- \
        "$GATE" check --policy pol.yaml art/t-code.exe
    run "policy: PE without codeSigning" 1 -- "$GATE" check --policy pol.yaml art/noeku.exe
    run "policy: explain PE" 0 --out "embedded Authenticode signature 1" --out "signer: x509" -- \
        "$GATE" policy explain --policy pol.yaml art/ts.exe
    # C9: the nested signature's root is not trusted, so neither signature
    # counts, though the outer one is corp's.
    run "policy: PE with a nested signature from an untrusted root" 1 \
        --out "C9 signature 2 of the same file does not verify" -- \
        "$GATE" check --policy pol.yaml art/nested.exe
    # Both roots trusted (other's has no CRL: revocation preferred): both
    # verify, and the set names the one that must be among them.
    sed -e 's|^    corp: { file: root.pem }$|    corp: { file: root.pem }\n    other: { file: other-root.pem }|' \
        -e 's|crl: { mode: require,|crl: { mode: prefer,|' pol.yaml >pol-other.yaml
    run "policy: PE nested, both trusted, corp among them" 0 --out "rule 'pe'" -- \
        "$GATE" check --policy pol-other.yaml art/nested.exe
fi
if [ -f signed.jar ]; then
    cp signed.jar added.jar art/
    run "policy: signed JAR by MIME type" 0 --out "rule 'jar'" -- "$GATE" check --policy pol.yaml art/signed.jar
    run "policy: JAR with an unsigned entry (coverage full)" 1 --out "coverage" -- \
        "$GATE" check --policy pol.yaml art/added.jar
    sed 's/    require: { signers: corp }$/    require: { signers: corp, coverage: partial }/' pol.yaml >pol-partial.yaml
    run "policy: JAR with an unsigned entry (coverage partial)" 0 -- \
        "$GATE" check --policy pol-partial.yaml art/added.jar
fi
printf 'version: 1\nsigners:\n  s:\n    - x509: { root: nope }\nrules:\n  - name: r\n    decision: deny\n' >bad.yaml
run "policy: unknown x509 root" 2 --out "unknown X.509 root 'nope'" -- "$GATE" policy lint bad.yaml
printf 'version: 1\ntrust:\n  x509_roots:\n    c: { file: root.pem }\nsigners:\n  s:\n    - x509: { root: c, fingerprint: abc }\nrules:\n  - name: r\n    decision: deny\n' >bad2.yaml
run "policy: bad fingerprint" 2 --out "64 hex digits" -- "$GATE" policy lint bad2.yaml

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
