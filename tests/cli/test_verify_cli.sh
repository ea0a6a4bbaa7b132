#!/usr/bin/env bash
# test_verify_cli.sh - `gate` and `gate verify` as a user runs them: exit
# codes (0 verified, 1 rejected, 2 usage/input), messages, JSON output,
# input limits, and detached signatures made here with openssl.
# Env: GATE (the binary), GATE_SHARED_DIR (read-only data).
set -u

GATE=${GATE:?GATE must name the gate binary}
SHARED=${GATE_SHARED_DIR:?GATE_SHARED_DIR must be set}
CONF=$SHARED/conformance/sigstore/bundle-verify
ID='https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main'
ISS='https://token.actions.githubusercontent.com'
BUNDLE=$CONF/happy-path-v0.3/bundle.sigstore.json
ART=$CONF/a.txt

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
out=$tmp/.stdout # the last run's stdout (lib.sh)

keyless=(--certificate-identity "$ID" --certificate-oidc-issuer "$ISS")

# ---- top level ----
run "gate --help" 0 --out "usage: gate" -- "$GATE" --help
run "gate (no args)" 2 --err "usage: gate" -- "$GATE"
run "gate version" 0 --out "gate " -- "$GATE" version
run "gate verify --help" 0 --out "usage: gate verify" --out "--bundle" -- "$GATE" verify --help
run "unknown command" 2 --err "unknown command" -- "$GATE" frobnicate

# ---- usage errors ----
run "verify, no args" 2 --err "gate verify:" -- "$GATE" verify
run "verify, no evidence" 2 --err "--bundle" -- "$GATE" verify "${keyless[@]}" "$ART"
run "--bundle and --signature" 2 --err "exactly one of --bundle and --signature" -- \
    "$GATE" verify --bundle "$BUNDLE" --signature "$tmp/x.sig" "${keyless[@]}" "$ART"
run "--key with --certificate-identity" 2 --err "--key" -- \
    "$GATE" verify --bundle "$BUNDLE" --key "$tmp/k.pem" --certificate-identity "$ID" "$ART"
run "keyless without issuer" 2 --err "--certificate-oidc-issuer" -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-identity "$ID" "$ART"
run "keyless without identity" 2 --err "--certificate-identity" -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-oidc-issuer "$ISS" "$ART"
run "identity and its regexp" 2 -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" --certificate-identity-regexp '.*' "$ART"
run "bad regexp" 2 --err "regexp" -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-identity-regexp '(' \
    --certificate-oidc-issuer "$ISS" "$ART"
run "bad issuer regexp" 2 --err "regexp" -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-identity "$ID" \
    --certificate-oidc-issuer-regexp 'a{2' "$ART"
run "--format xml" 2 --err "--format" -- "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" --format xml "$ART"
run "option twice" 2 --err "twice" -- \
    "$GATE" verify --bundle "$BUNDLE" --bundle "$BUNDLE" "${keyless[@]}" "$ART"
run "identity twice" 2 --err "twice" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" --certificate-identity "$ID" "$ART"
run "unknown option" 2 --err "unknown option" -- "$GATE" verify --bundel "$BUNDLE" "${keyless[@]}" "$ART"
run "two artifacts" 2 -- "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "$ART" "$ART"
run "bad --current-time" 2 --err "RFC 3339" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" --current-time yesterday "$ART"
run "--certificate with --bundle" 2 -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate "$tmp/c.pem" "${keyless[@]}" "$ART"

# ---- input errors ----
run "missing bundle" 2 --err "$tmp/no-such-bundle.json" -- \
    "$GATE" verify --bundle "$tmp/no-such-bundle.json" "${keyless[@]}" "$ART"
mkdir "$tmp/dir.json"
# chmod 000 proves nothing as root: a directory cannot be read by anyone.
run "unreadable bundle (a directory)" 2 --err "$tmp/dir.json" -- \
    "$GATE" verify --bundle "$tmp/dir.json" "${keyless[@]}" "$ART"
: >"$tmp/empty.json"
run "empty bundle" 2 --err "bundle" -- "$GATE" verify --bundle "$tmp/empty.json" "${keyless[@]}" "$ART"
head -c 500 "$BUNDLE" >"$tmp/trunc.json"
run "truncated bundle" 2 --err "line " --err "column" -- \
    "$GATE" verify --bundle "$tmp/trunc.json" "${keyless[@]}" "$ART"
printf '{"mediaType": "x",,}' >"$tmp/bad.json"
run "malformed bundle" 2 --err "invalid JSON" --err "[S1]" -- \
    "$GATE" verify --bundle "$tmp/bad.json" "${keyless[@]}" "$ART"
run "conformance malformed bundle" 2 --err "S1" -- \
    "$GATE" verify --bundle "$CONF/bundle-malformed-json_fail/bundle.sigstore.json" "${keyless[@]}" "$ART"
truncate -s 100M "$tmp/huge.json"
run "100 MB bundle" 2 --err "limit" -- \
    "$GATE" verify --bundle "$tmp/huge.json" "${keyless[@]}" "$ART"
# Peak RSS of the child, in KiB: reading the file whole would show ~100 MB.
maxrss=$(python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
    "$GATE" verify --bundle "$tmp/huge.json" "${keyless[@]}" "$ART")
check "100 MB bundle rejected in little memory (${maxrss} KiB)" test "${maxrss:-999999}" -lt 65536
run "missing artifact" 2 --err "$tmp/no-such-artifact" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "$tmp/no-such-artifact"
run "artifact is a directory" 2 -- "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "$tmp"
mkfifo "$tmp/fifo"
# A FIFO with no writer: must be refused, not waited on (timeout exits 124).
run "artifact is a FIFO" 2 --err "not a regular file" -- \
    timeout 10 "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "$tmp/fifo"
run "artifact is /dev/zero" 2 --err "not a regular file" -- \
    timeout 10 "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" /dev/zero
run "bundle is /dev/zero" 2 --err "limit" -- \
    timeout 10 "$GATE" verify --bundle /dev/zero "${keyless[@]}" "$ART"
run "bundle from a pipe" 0 --out "verified" -- \
    bash -c '"$1" verify --bundle <(cat "$2") --certificate-identity "$3" --certificate-oidc-issuer "$4" "$5"' \
    _ "$GATE" "$BUNDLE" "$ID" "$ISS" "$ART"
digest=$(sha256sum "$ART" | cut -c1-64)
run "digest with 63 hex digits" 2 --err "64 hex digits" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "sha256:${digest:0:63}"
run "digest with 65 hex digits" 2 --err "64 hex digits" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "sha256:${digest}0"
run "digest with a non-hex char" 2 --err "64 hex digits" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "sha256:${digest:0:63}g"
run "missing trusted root" 2 --err "$tmp/no-root.json" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" --trusted-root "$tmp/no-root.json" "$ART"
run "missing key" 2 --err "$tmp/no-key.pem" -- \
    "$GATE" verify --bundle "$CONF/managed-key-happy-path/bundle.sigstore.json" --key "$tmp/no-key.pem" "$ART"

# ---- verified and rejected ----
run "verified" 0 --out "verified" --out "$ID" --out "$ISS" --out "79571823" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "$ART"
run "verified by digest" 0 --out "verified" --out "sha256:$digest" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "sha256:$digest"
run "wrong digest" 1 --out "rejected" --out "S6" -- \
    "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" "sha256:$(printf '%s' "$digest" | tr 'a' 'b')"
run "wrong identity" 1 --out "rejected" --out "S16" -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-identity "x@example.com" --certificate-oidc-issuer "$ISS" "$ART"
run "wrong issuer" 1 --out "S16" -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-identity "$ID" --certificate-oidc-issuer "https://accounts.google.com" "$ART"
run "prefix identity regexp" 1 --out "S16" -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-identity-regexp 'https://github.com/sigstore-conformance/' \
    --certificate-oidc-issuer "$ISS" "$ART"
run "full identity regexp" 0 --out "verified" -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-identity-regexp 'https://github\.com/sigstore-conformance/.*@refs/heads/main' \
    --certificate-oidc-issuer-regexp 'https://token\.actions\.githubusercontent\.com' "$ART"
run "managed key" 0 --out "managed key" -- \
    "$GATE" verify --bundle "$CONF/managed-key-happy-path/bundle.sigstore.json" \
    --key "$CONF/managed-key-happy-path/key.pub" "$ART"
run "wrong log instance" 1 --out "S5" -- \
    "$GATE" verify --bundle "$CONF/bundle-from-wrong-instance_fail/bundle.sigstore.json" "${keyless[@]}" "$ART"

# ---- JSON output ----
run "json verified" 0 -- "$GATE" verify --bundle "$BUNDLE" "${keyless[@]}" --format json "$ART"
cp "$out" "$tmp/ok.json"
check "json verified parses" python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/ok.json"
check "json verified: verified true" json_field "$tmp/ok.json" 'o["verified"] is True'
check "json verified: facts" json_field "$tmp/ok.json" \
    "o['facts']['identity'] == '$ID' and o['facts']['issuer'] == '$ISS' and o['facts']['signer'] == 'keyless'"
check "json verified: log index" json_field "$tmp/ok.json" \
    'o["facts"]["tlog_entries"][0]["log_index"] == 79571823 and o["facts"]["time_source"] == "tlog"'
check "json verified: no error member" json_field "$tmp/ok.json" '"error" not in o'

run "json rejected" 1 -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-identity "x@example.com" --certificate-oidc-issuer "$ISS" --format json "$ART"
cp "$out" "$tmp/rej.json"
check "json rejected parses" python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/rej.json"
check "json rejected: verified false" json_field "$tmp/rej.json" 'o["verified"] is False'
check "json rejected: rule/field/message" json_field "$tmp/rej.json" \
    'o["error"]["rule"] == "S16" and o["error"]["field"] == "certificate.subjectAltName" and "x@example.com" in o["error"]["message"]'
check "json rejected: no facts" json_field "$tmp/rej.json" '"facts" not in o'

run "json input error" 2 -- \
    "$GATE" verify --bundle "$tmp/trunc.json" "${keyless[@]}" --format json "$ART"
cp "$out" "$tmp/inerr.json"
check "json input error parses" python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/inerr.json"
check "json input error: verified false, file and rule" json_field "$tmp/inerr.json" \
    "o['verified'] is False and o['error']['rule'] == 'S1' and o['error']['file'] == '$tmp/trunc.json' and o['error']['message']"

# ---- untrusted text is escaped ----
nasty=$'\e[31mevil\nline'
run "escaped identity in rejection" 1 --out "?[31mevil?line" -- \
    "$GATE" verify --bundle "$BUNDLE" --certificate-identity "$nasty" --certificate-oidc-issuer "$ISS" "$ART"
check "no raw ESC or newline from the identity in output" python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
sys.exit(b"\x1b" in d or b"evil\nline" in d)' "$out"

# ---- detached signatures made here ----
echo "the artifact" >"$tmp/file"
echo "the artifacT" >"$tmp/tampered"

# detached NAME PRIVKEY PUBKEY OTHER_PUBKEY SIGFILE
detached() {
    local name=$1 key=$2 pub=$3 other=$4 sig=$5
    run "$name: verified" 0 --out "verified" --out "managed key" -- \
        "$GATE" verify --signature "$sig" --key "$pub" --insecure-ignore-tlog "$tmp/file"
    run "$name: no tlog" 1 --out "S13" --out "tlog" -- \
        "$GATE" verify --signature "$sig" --key "$pub" "$tmp/file"
    run "$name: tampered file" 1 --out "S17" -- \
        "$GATE" verify --signature "$sig" --key "$pub" --insecure-ignore-tlog "$tmp/tampered"
    run "$name: wrong key" 1 --out "S17" -- \
        "$GATE" verify --signature "$sig" --key "$other" --insecure-ignore-tlog "$tmp/file"
    run "$name: json" 0 -- \
        "$GATE" verify --signature "$sig" --key "$pub" --insecure-ignore-tlog --format json "$tmp/file"
    check "$name: json signer key" json_field "$out" 'o["verified"] is True and o["facts"]["signer"] == "key"'
}

if command -v openssl >/dev/null 2>&1; then
    # P-256 ECDSA
    fixture openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.pem"
    fixture openssl pkey -in "$tmp/ec.pem" -pubout -out "$tmp/ec.pub"
    fixture openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec2.pem"
    fixture openssl pkey -in "$tmp/ec2.pem" -pubout -out "$tmp/ec2.pub"
    fixture openssl dgst -sha256 -sign "$tmp/ec.pem" -out "$tmp/ec.der" "$tmp/file"
    base64 -w0 "$tmp/ec.der" >"$tmp/ec.sig"
    detached "P-256" "$tmp/ec.pem" "$tmp/ec.pub" "$tmp/ec2.pub" "$tmp/ec.sig"
    # cosign writes the signature with a trailing newline
    { cat "$tmp/ec.sig"; echo; } >"$tmp/ec-nl.sig"
    run "P-256: signature with newline" 0 -- \
        "$GATE" verify --signature "$tmp/ec-nl.sig" --key "$tmp/ec.pub" --insecure-ignore-tlog "$tmp/file"
    run "P-256: verified by digest" 0 -- \
        "$GATE" verify --signature "$tmp/ec.sig" --key "$tmp/ec.pub" --insecure-ignore-tlog \
        "sha256:$(sha256sum "$tmp/file" | cut -c1-64)"
    : >"$tmp/empty.sig"
    run "empty signature file" 2 --err "signature" -- \
        "$GATE" verify --signature "$tmp/empty.sig" --key "$tmp/ec.pub" --insecure-ignore-tlog "$tmp/file"
    printf 'not base64!' >"$tmp/junk.sig"
    run "junk signature file" 2 --err "signature" -- \
        "$GATE" verify --signature "$tmp/junk.sig" --key "$tmp/ec.pub" --insecure-ignore-tlog "$tmp/file"
    run "private key as --key" 2 -- \
        "$GATE" verify --signature "$tmp/ec.sig" --key "$tmp/ec.pem" --insecure-ignore-tlog "$tmp/file"
    run "--signature without --key or --certificate" 2 -- \
        "$GATE" verify --signature "$tmp/ec.sig" --insecure-ignore-tlog "${keyless[@]}" "$tmp/file"

    # Ed25519 (signs the raw message)
    fixture openssl genpkey -algorithm ED25519 -out "$tmp/ed.pem"
    fixture openssl pkey -in "$tmp/ed.pem" -pubout -out "$tmp/ed.pub"
    fixture openssl genpkey -algorithm ED25519 -out "$tmp/ed2.pem"
    fixture openssl pkey -in "$tmp/ed2.pem" -pubout -out "$tmp/ed2.pub"
    fixture openssl pkeyutl -sign -rawin -inkey "$tmp/ed.pem" -in "$tmp/file" -out "$tmp/ed.der"
    base64 -w0 "$tmp/ed.der" >"$tmp/ed.sig"
    detached "Ed25519" "$tmp/ed.pem" "$tmp/ed.pub" "$tmp/ed2.pub" "$tmp/ed.sig"
    run "Ed25519: digest is not enough" 2 --err "Ed25519" -- \
        "$GATE" verify --signature "$tmp/ed.sig" --key "$tmp/ed.pub" --insecure-ignore-tlog \
        "sha256:$(sha256sum "$tmp/file" | cut -c1-64)"

    # RSA PKCS#1 v1.5 SHA-256
    fixture openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem"
    fixture openssl pkey -in "$tmp/rsa.pem" -pubout -out "$tmp/rsa.pub"
    fixture openssl dgst -sha256 -sign "$tmp/rsa.pem" -out "$tmp/rsa.der" "$tmp/file"
    base64 -w0 "$tmp/rsa.der" >"$tmp/rsa.sig"
    detached "RSA" "$tmp/rsa.pem" "$tmp/rsa.pub" "$tmp/ec.pub" "$tmp/rsa.sig"
else
    echo "SKIP detached signatures: openssl not found"
fi

finish
