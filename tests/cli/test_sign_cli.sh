#!/usr/bin/env bash
# test_sign_cli.sh - `gate keygen` and `gate sign` as a user runs them: key
# files and modes, passphrases from the environment, default and explicit
# outputs, exit codes (0 ok, 2 usage/input), and every signature checked
# back with `gate verify --key --insecure-ignore-tlog` (bundle and detached)
# and independently with plain openssl.
# Env: GATE (the binary).
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cli_setup
cd "$tmp" || exit 1
err=$tmp/.stderr # the last run's stderr (lib.sh)

mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
no_newline() { [ -s "$1" ] && [ -z "$(tail -c 1 "$1" | tr -d -c '\n')" ]; }
not_exists() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
no_temp_files() { [ -z "$(find "$tmp" -name '.gate-sign.*' -print -quit)" ]; }

# The signature checked without gate: ECDSA with the curve's hash, Ed25519
# over the raw file.
openssl_verify() { # openssl_verify ALG PUB SIG ARTIFACT
    base64 -d "$3" >"$tmp/.sig.der" || return 1
    case $1 in
        ecdsa-p256) openssl dgst -sha256 -verify "$2" -signature "$tmp/.sig.der" "$4" ;;
        ecdsa-p384) openssl dgst -sha384 -verify "$2" -signature "$tmp/.sig.der" "$4" ;;
        ed25519) openssl pkeyutl -verify -pubin -inkey "$2" -rawin -in "$4" \
                     -sigfile "$tmp/.sig.der" ;;
    esac
}

pyca_verify_ed25519() { # pyca_verify_ed25519 PUB SIG ARTIFACT
    python3 -c '
import base64, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
key = load_pem_public_key(open(sys.argv[1], "rb").read())
key.verify(base64.b64decode(open(sys.argv[2]).read(), validate=True), open(sys.argv[3], "rb").read())
' "$1" "$2" "$3"
}

verify_bundle() { "$GATE" verify --bundle "$2" --key "$1" --insecure-ignore-tlog "$3"; }
verify_sig() { "$GATE" verify --signature "$2" --key "$1" --insecure-ignore-tlog "$3"; }

# ---- help ----
run "keygen --help" 0 --out "usage: gate keygen" --out "--passphrase-env" -- "$GATE" keygen --help
run "sign --help" 0 --out "usage: gate sign" --out "--output-signature" -- "$GATE" sign --help
run "keygen unknown option" 2 --err "unknown option" -- "$GATE" keygen --bogus
run "keygen positional" 2 --err "gate keygen:" -- "$GATE" keygen extra
run "sign unknown option" 2 --err "unknown option" -- "$GATE" sign --bogus x
run "sign option twice" 2 --err "twice" -- "$GATE" sign --key a --key b x

# ---- keygen ----
mkdir defaults
run "keygen default prefix" 0 --out "gate.key" --out "gate.pub" \
    --err "warning" --err "NOT encrypted" -- sh -c 'cd defaults && "$0" keygen' "$GATE"
check "default private key is mode 600" mode_is defaults/gate.key 600
check "default public key is mode 644" mode_is defaults/gate.pub 644
check "default key is P-256" sh -c 'openssl pkey -in defaults/gate.key -noout -text | grep -q "NIST CURVE: P-256"'
run "keygen refuses to overwrite" 2 --err "refusing to overwrite" --err "gate.key" \
    -- sh -c 'cd defaults && "$0" keygen' "$GATE"
run "keygen unknown alg" 2 --err "unknown algorithm" -- "$GATE" keygen --alg rsa-4096 \
    --output-key-prefix bad
check "unknown alg writes nothing" not_exists bad.key

for alg in ecdsa-p256 ecdsa-p384 ed25519; do
    run "keygen $alg" 0 --out "k-$alg.key" --out "k-$alg.pub" --err "warning" -- \
        "$GATE" keygen --alg "$alg" --output-key-prefix "k-$alg"
    check "$alg private key mode 600" mode_is "k-$alg.key" 600
    check "$alg public key mode 644" mode_is "k-$alg.pub" 644
    check "$alg private key is unencrypted PKCS#8" grep -q -- "-----BEGIN PRIVATE KEY-----" "k-$alg.key"
    check "$alg public key is PEM SPKI" openssl pkey -pubin -in "k-$alg.pub" -noout
done

# a symlink at the key path is neither followed nor replaced
ln -s "$tmp/planted" link.key
run "keygen refuses a symlinked key path" 2 --err "link.key" -- \
    "$GATE" keygen --output-key-prefix link
check "symlink target not created" not_exists planted

# ---- passphrase from the environment ----
export GATE_TEST_PASS='correct horse battery staple'
run "keygen --passphrase-env" 0 --out "enc.key" -- \
    "$GATE" keygen --alg ecdsa-p256 --output-key-prefix enc --passphrase-env GATE_TEST_PASS
check "encrypted key is mode 600" mode_is enc.key 600
check "encrypted key is PKCS#8 encrypted" grep -q -- "-----BEGIN ENCRYPTED PRIVATE KEY-----" enc.key
check "no warning with a passphrase" sh -c '! grep -q warning "$0"' "$err"
check "openssl opens it with the passphrase" \
    openssl pkey -in enc.key -passin env:GATE_TEST_PASS -noout
run "keygen passphrase variable unset" 2 --err "GATE_TEST_UNSET" --err "not set" -- \
    env -u GATE_TEST_UNSET "$GATE" keygen --output-key-prefix unset --passphrase-env GATE_TEST_UNSET
check "unset variable writes nothing" not_exists unset.key
run "keygen passphrase variable empty" 2 --err "empty" -- \
    env GATE_TEST_EMPTY= "$GATE" keygen --output-key-prefix empty --passphrase-env GATE_TEST_EMPTY

echo "payload for the encrypted key" >enc.txt
run "sign with encrypted key" 0 --out "enc.txt.sigstore.json" --out "enc.txt.sig" -- \
    "$GATE" sign --key enc.key --passphrase-env GATE_TEST_PASS enc.txt
run "verify encrypted-key bundle" 0 --out "verified" -- verify_bundle enc.pub enc.txt.sigstore.json enc.txt
run "sign wrong passphrase" 2 --err "wrong passphrase" --err "enc.key" -- \
    env GATE_TEST_PASS=nope "$GATE" sign --key enc.key --passphrase-env GATE_TEST_PASS \
    --bundle wrong.json --output-signature wrong.sig enc.txt
check "wrong passphrase writes nothing" not_exists wrong.json
run "sign encrypted key without passphrase" 2 --err "encrypted" -- \
    "$GATE" sign --key enc.key --bundle wrong.json enc.txt

# ---- sign and verify, each algorithm ----
printf 'hello, gate\n' >art.txt
: >empty.bin
for alg in ecdsa-p256 ecdsa-p384 ed25519; do
    for f in art.txt empty.bin; do
        rm -f "$f.sigstore.json" "$f.sig"
        run "sign $alg $f" 0 --out "$f.sigstore.json" --out "$f.sig" -- \
            "$GATE" sign --key "k-$alg.key" "$f"
        run "verify --bundle $alg $f" 0 --out "verified" --out "managed key" -- \
            verify_bundle "k-$alg.pub" "$f.sigstore.json" "$f"
        run "verify --signature $alg $f" 0 --out "verified" -- verify_sig "k-$alg.pub" "$f.sig" "$f"
        if [ "$alg" = ed25519 ] && [ ! -s "$f" ]; then
            # openssl 3.0 pkeyutl -rawin cannot read an empty message
            # ("Could not allocate 0 bytes"): check with pyca instead.
            if python3 -c 'import cryptography' 2>/dev/null; then
                check "pyca verifies $alg $f" pyca_verify_ed25519 "k-$alg.pub" "$f.sig" "$f"
            fi
        else
            check "openssl verifies $alg $f" openssl_verify "$alg" "k-$alg.pub" "$f.sig" "$f"
        fi
        check "$alg $f .sig has no newline" no_newline "$f.sig"
        check "$alg $f bundle is v0.3" json_field "$f.sigstore.json" \
            'o["mediaType"]=="application/vnd.dev.sigstore.bundle.v0.3+json" and o["verificationMaterial"]["tlogEntries"]==[] and o["messageSignature"]["signature"]==open(sys.argv[1][:-len(".sigstore.json")]+".sig").read()'
    done
    want=SHA2_256
    [ "$alg" = ecdsa-p384 ] && want=SHA2_384
    check "$alg messageDigest is $want" json_field art.txt.sigstore.json \
        "o['messageSignature']['messageDigest']['algorithm']=='$want'"
    # another algorithm's key does not verify
    other=ed25519
    [ "$alg" = ed25519 ] && other=ecdsa-p256
    run "verify $alg with the $other key" 1 --out "rejected" -- \
        verify_bundle "k-$other.pub" art.txt.sigstore.json art.txt
    # one byte changed in the artifact
    cp art.txt tampered.txt
    fixture sh -c "printf H | dd of=tampered.txt bs=1 count=1 conv=notrunc"
    run "tampered artifact rejected (bundle, $alg)" 1 --out "rejected" --out "S17" -- \
        verify_bundle "k-$alg.pub" art.txt.sigstore.json tampered.txt
    run "tampered artifact rejected (signature, $alg)" 1 --out "rejected" -- \
        verify_sig "k-$alg.pub" art.txt.sig tampered.txt
done
check "keygen check: the bundle hint is the key id" sh -c \
    '"$0" verify --bundle art.txt.sigstore.json --key k-ed25519.pub --insecure-ignore-tlog --format json art.txt | python3 -c "import json,sys; f=json.load(sys.stdin)[\"facts\"]; b=json.load(open(\"art.txt.sigstore.json\")); sys.exit(0 if f[\"key_id\"]==\"sha256:\"+b[\"verificationMaterial\"][\"publicKey\"][\"hint\"] else 1)"' "$GATE"

# ---- explicit outputs, overwriting, refusals ----
mkdir out
echo old >out/b.json
echo old >out/s.sig
run "sign explicit outputs over old files" 0 --out "out/b.json" --out "out/s.sig" -- \
    "$GATE" sign --key k-ecdsa-p384.key --bundle out/b.json --output-signature out/s.sig art.txt
run "verify explicit bundle" 0 -- verify_bundle k-ecdsa-p384.pub out/b.json art.txt
run "verify explicit signature" 0 -- verify_sig k-ecdsa-p384.pub out/s.sig art.txt
check "outputs are mode 644" mode_is out/b.json 644

ln -s "$tmp/victim" out/link.json
run "sign refuses a symlinked bundle" 2 --err "symbolic link" --err "link.json" -- \
    "$GATE" sign --key k-ecdsa-p256.key --bundle out/link.json --output-signature out/l.sig art.txt
check "symlink target not written" not_exists victim
check "nothing written on refusal" not_exists out/l.sig
echo keep >victim
ln -s "$tmp/victim" out/link.sig
run "sign refuses a symlinked signature" 2 --err "symbolic link" -- \
    "$GATE" sign --key k-ecdsa-p256.key --bundle out/l.json --output-signature out/link.sig art.txt
check "existing symlink target kept" grep -qx keep victim
run "sign refuses to overwrite the artifact" 2 --err "artifact" -- \
    "$GATE" sign --key k-ecdsa-p256.key --bundle art.txt art.txt
check "artifact unchanged" grep -qx 'hello, gate' art.txt
cp k-ecdsa-p256.key keycopy.key
run "sign refuses to overwrite the key" 2 --err "private key" -- \
    "$GATE" sign --key k-ecdsa-p256.key --output-signature k-ecdsa-p256.key art.txt
check "key unchanged" cmp -s k-ecdsa-p256.key keycopy.key
check "no temporary files left" no_temp_files

# ---- usage and input errors ----
run "sign without --key" 2 --err "--key" --err "required" -- "$GATE" sign art.txt
run "sign without artifact" 2 --err "ARTIFACT" -- "$GATE" sign --key k-ed25519.key
run "sign two artifacts" 2 --err "ARTIFACT" -- "$GATE" sign --key k-ed25519.key art.txt empty.bin
run "sign missing key file" 2 --err "gate: nokey.key: key: cannot open" -- \
    "$GATE" sign --key nokey.key art.txt
run "sign public key as key" 2 --err "not a PEM private key" -- \
    "$GATE" sign --key k-ed25519.pub art.txt
run "sign unreadable artifact" 2 --err "gate: missing.txt: artifact:" -- \
    "$GATE" sign --key k-ed25519.key missing.txt
check "missing artifact writes nothing" not_exists missing.txt.sigstore.json
run "sign a directory" 2 --err "not a regular file" -- "$GATE" sign --key k-ed25519.key out
run "sign passphrase variable unset" 2 --err "not set" -- \
    env -u GATE_TEST_UNSET "$GATE" sign --key enc.key --passphrase-env GATE_TEST_UNSET art.txt

finish
