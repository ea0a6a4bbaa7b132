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

echo "== gate verify: facts about one signature (embedded Sigstore public-good root)"
echo
decide "a.txt: keyless bundle from the expected GitHub workflow" \
    --bundle $ex/a.txt.sigstore.json \
    --certificate-identity "$beacon" --certificate-oidc-issuer "$issuer" $ex/a.txt
decide "a.txt: same signature, but another workflow is expected" \
    --bundle $ex/a.txt.sigstore.json \
    --certificate-identity-regexp 'https://github\.com/example/app/\.github/workflows/release\.yml@refs/tags/v.*' \
    --certificate-oidc-issuer "$issuer" $ex/a.txt
decide "a-tampered.txt: one byte changed after signing" \
    --bundle $ex/a-tampered.txt.sigstore.json \
    --certificate-identity "$beacon" --certificate-oidc-issuer "$issuer" $ex/a-tampered.txt

# check POLICY PATH...: gate check with an example policy.
check() {
    local policy=$1
    shift
    echo "== gate check --policy $policy $*"
    sed -n 's/^# \{0,1\}//p' "$policy" | sed '/^version:/,$d' | sed 's/^/   # /'
    set +e
    "$gate" check --policy "$policy" "$@" 2>/dev/null | sed 's/^/   /'
    echo "   (exit ${PIPESTATUS[0]}: 0 all allowed, 1 something denied, 2 error)"
    set -e
    echo
}
check examples/policies/release-2of3.yaml examples/artifacts/
check examples/policies/ci-keyless.yaml examples/sigstore/a.txt examples/sigstore/a-tampered.txt
check examples/policies/airgapped.yaml examples/artifacts/firmware.bin
check examples/policies/freshness.yaml examples/sigstore/a.txt
check examples/policies/audit.yaml examples/artifacts/
