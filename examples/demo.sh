#!/usr/bin/env bash
# Installs what is missing, builds gate, and verifies the signed examples with
# the embedded Sigstore public-good trust root, printing each decision and why.
set -eu
top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top"
bash .ci/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGATE_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
gate=$top/build/gate
ex=examples/sigstore
beacon='https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main'
issuer='https://token.actions.githubusercontent.com'

# decide TITLE ARGS...: run gate verify and print ALLOW/DENY with the reason.
decide() {
    local title=$1 out rc
    shift
    set +e
    out=$("$gate" verify "$@" 2>&1)
    rc=$?
    set -e
    case $rc in
        0) echo "ALLOW  $title" ;;
        1) echo "DENY   $title" ;;
        *) echo "ERROR  $title (denied)" ;;
    esac
    printf '%s\n\n' "$out" | sed 's/^/       /'
}

echo "gate $("$gate" version | cut -d' ' -f2): verifying examples/ against the embedded Sigstore public-good root"
echo
decide "a.txt: keyless bundle from the expected GitHub workflow" \
    --bundle $ex/a.txt.sigstore.json \
    --certificate-identity "$beacon" --certificate-oidc-issuer "$issuer" $ex/a.txt
decide "a.txt: in-toto attestation (DSSE) naming a.txt as its subject" \
    --bundle $ex/a.txt.intoto.sigstore.json \
    --certificate-identity "$beacon" --certificate-oidc-issuer "$issuer" $ex/a.txt
decide "a.txt: signed with a managed release key" \
    --bundle $ex/a.txt.key.sigstore.json --key $ex/release.pub $ex/a.txt
decide "a.txt: same signature, but the policy expects another workflow" \
    --bundle $ex/a.txt.sigstore.json \
    --certificate-identity-regexp 'https://github\.com/example/app/\.github/workflows/release\.yml@refs/tags/v.*' \
    --certificate-oidc-issuer "$issuer" $ex/a.txt
decide "a-tampered.txt: one byte changed after signing" \
    --bundle $ex/a-tampered.txt.sigstore.json \
    --certificate-identity "$beacon" --certificate-oidc-issuer "$issuer" $ex/a-tampered.txt
decide "a.txt: a managed-key bundle passed off as a keyless signature" \
    --bundle $ex/a.txt.key.sigstore.json \
    --certificate-identity "$beacon" --certificate-oidc-issuer "$issuer" $ex/a.txt
