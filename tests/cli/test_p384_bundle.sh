#!/usr/bin/env bash
# test_p384_bundle.sh - S17 with the hash the bundle names: a keyless bundle
# whose certificate has a P-384 key and whose messageDigest is SHA-256 (as
# sigstore-python issued in 2023) verifies, in `gate verify` (file and
# sha256:HEX input) and `gate check`; one byte changed, or a signature over
# other content, is still rejected at S17. Bundles come from a private
# Sigstore instance (tests/tools/sigstore_stack.py --key-type p384).
#
# Env (set by CTest): GATE, GATE_SOURCE_DIR. Skips (exit 0) when
# /usr/bin/python3 has no `cryptography` module.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${GATE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
. "$here/lib.sh"
stack_setup
cli_setup

T=$(date -u +%s)
NOW=$(date -u -d "@$((T + 60))" +%Y-%m-%dT%H:%M:%SZ)
iss=https://accounts.example.com
id=dev@example.com
inst=$tmp/instance
root=$inst/trusted_root.json
art=$tmp/app.bin
head -c 70000 /dev/urandom >"$art"
fixture "$py" "$stack" init "$inst" --not-before 2025-01-01T00:00:00Z --days 3650
fixture "$py" "$stack" sign "$inst" "$art" --identity "$id" --issuer "$iss" --time "$T" \
	--key-type p384
check "the bundle's certificate has a P-384 key" "$py" -c '
import base64, json, sys
from cryptography import x509
b = json.load(open(sys.argv[1]))
c = x509.load_der_x509_certificate(base64.b64decode(b["verificationMaterial"]["certificate"]["rawBytes"]))
assert c.public_key().curve.name == "secp384r1", c.public_key().curve.name
assert b["messageSignature"]["messageDigest"]["algorithm"] == "SHA2_256"' "$art.sigstore.json"

v() {
	"$GATE" verify --trusted-root "$root" --current-time "$NOW" --certificate-identity "$id" \
		--certificate-oidc-issuer "$iss" "$@"
}
run "P-384 key, SHA-256 messageDigest: verifies" 0 --out "verified:" -- \
	v --bundle "$art.sigstore.json" "$art"
run "... given only the artifact's sha256" 0 --out "verified:" -- \
	v --bundle "$art.sigstore.json" "sha256:$(sha256sum "$art" | cut -d' ' -f1)"

cp "$art" "$tmp/flipped.bin"
printf '\x01' | dd of="$tmp/flipped.bin" bs=1 seek=35000 conv=notrunc status=none
run "one byte changed: the log entry (S6) is not the artifact's" 1 --out "rule: S6" -- \
	v --bundle "$art.sigstore.json" "$tmp/flipped.bin"
# Timestamped, with no log entry, the file's digest reaches S17.
fixture "$py" "$stack" sign "$inst" "$art" --identity "$id" --issuer "$iss" --time "$T" \
	--key-type p384 --no-tlog --tsa --out "$tmp/tsa.json"
run "timestamped P-384 bundle verifies" 0 --out "verified:" -- \
	v --insecure-ignore-tlog --bundle "$tmp/tsa.json" "$art"
run "one byte changed: S17 digest" 1 --out "rule: S17" \
	--out "field: messageSignature.messageDigest" -- \
	v --insecure-ignore-tlog --bundle "$tmp/tsa.json" "$tmp/flipped.bin"

# That bundle with the messageDigest replaced by the flipped file's: the
# digest matches, the P-384 signature over it does not.
fixture "$py" -c '
import base64, hashlib, json, sys
b = json.load(open(sys.argv[1]))
d = hashlib.sha256(open(sys.argv[2], "rb").read()).digest()
b["messageSignature"]["messageDigest"]["digest"] = base64.b64encode(d).decode()
json.dump(b, open(sys.argv[3], "w"))' "$tmp/tsa.json" "$tmp/flipped.bin" "$tmp/forged.json"
run "a digest the signature does not cover: S17 signature" 1 --out "rule: S17" \
	--out "signature does not verify over the artifact's SHA256 digest" -- \
	v --insecure-ignore-tlog --bundle "$tmp/forged.json" "$tmp/flipped.bin"

printf '%s\n' "version: 1" "trust:" "  sigstore: {trusted_root: $root}" "signers:" \
	"  devs:" "    - keyless: {issuer: '$iss', identity: '$id'}" "rules:" \
	"  - name: devs" "    require: {signers: devs}" >"$tmp/policy.yaml"
run "gate check allows the P-384 bundle" 0 --out "ALLOW" -- \
	"$GATE" check --current-time "$NOW" --policy "$tmp/policy.yaml" "$art"

finish test_p384_bundle
