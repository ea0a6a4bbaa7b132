#!/usr/bin/env bash
# Every example policy gives the verdicts examples/policies/README.md
# promises, so the documentation cannot drift from the behaviour.
set -u
: "${GATE:?}" "${GATE_SOURCE_DIR:?}"
cd "$GATE_SOURCE_DIR"
pass=0 fail=0

# expect POLICY PATH VERDICT [extra gate check args...]
expect() {
    local policy=$1 path=$2 want=$3
    shift 3
    local got
    got=$("$GATE" check --policy "examples/policies/$policy" --format json "$@" "$path" 2>/dev/null |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["results"]; print(r[0]["verdict"], r[0]["allowed"], r[0]["reason"])')
    if [ "${got%% *}" = "$want" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $policy $path: want $want, got: $got"
    fi
}

# expect_rc POLICY RC PATH...
expect_rc() {
    local policy=$1 want=$2
    shift 2
    "$GATE" check --policy "examples/policies/$policy" "$@" >/dev/null 2>&1
    local rc=$?
    if [ "$rc" -eq "$want" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1))
        echo "FAIL $policy $*: exit $rc, want $want"
    fi
}

expect release-2of3.yaml examples/artifacts/hello.sh allow
expect release-2of3.yaml examples/artifacts/one-signer.sh deny
expect release-2of3.yaml examples/artifacts/unsigned.sh deny
expect release-2of3.yaml examples/artifacts/firmware.bin deny
expect_rc release-2of3.yaml 1 examples/artifacts/
expect_rc release-2of3.yaml 0 examples/artifacts/hello.sh
expect ci-keyless.yaml examples/sigstore/a.txt allow
expect ci-keyless.yaml examples/sigstore/a-tampered.txt deny
expect airgapped.yaml examples/artifacts/firmware.bin allow
expect freshness.yaml examples/sigstore/a.txt deny
expect freshness.yaml examples/sigstore/a.txt allow --current-time 2024-04-01T00:00:00Z
expect freshness.yaml examples/sigstore/a.txt deny --current-time 2024-06-18T00:00:00Z
# A mode per caller: the same denial is enforced for one caller, logged for
# another.
if [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
    expect packages.yaml examples/artifacts/firmware.bin deny --caller apt
    expect_rc packages.yaml 1 --caller apt examples/artifacts/firmware.bin
    expect_rc packages.yaml 0 --caller exec examples/artifacts/firmware.bin
else
    echo "SKIP (partly): no Debian archive keyring for packages.yaml"
fi
expect exec.yaml examples/artifacts/one-signer.sh deny --caller exec
expect_rc exec.yaml 0 --caller exec examples/artifacts/one-signer.sh
expect_rc exec.yaml 1 --caller ci examples/artifacts/one-signer.sh
expect exec.yaml examples/artifacts/hello.sh allow --caller exec
expect audit.yaml examples/artifacts/one-signer.sh deny
expect_rc audit.yaml 0 examples/artifacts/

# The reasons name what failed.
out=$("$GATE" check --policy examples/policies/release-2of3.yaml examples/artifacts/one-signer.sh)
case $out in *"1 of 2 required distinct signers"*) pass=$((pass + 1)) ;;
*) fail=$((fail + 1)); echo "FAIL one-signer reason: $out" ;; esac
out=$("$GATE" check --policy examples/policies/freshness.yaml examples/sigstore/a.txt)
case $out in *"at most 90d old"*) pass=$((pass + 1)) ;;
*) fail=$((fail + 1)); echo "FAIL freshness reason: $out" ;; esac
# Audit mode logs one JSON decision per file on stderr (where a warning,
# such as that of expired embedded trust, is a line of its own).
n=$("$GATE" check --policy examples/policies/audit.yaml examples/artifacts/ 2>&1 >/dev/null |
    python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if l.startswith("{") and json.loads(l)["event"]=="decision"))')
if [ "$n" = 4 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL audit lines: $n"; fi
# Every example policy is lint-clean.
for p in examples/policies/*.yaml; do
    [ "$p" = examples/policies/packages.yaml ] && [ ! -f /usr/share/keyrings/debian-archive-keyring.gpg ] && continue
    if "$GATE" policy lint "$p" >/dev/null; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL lint $p"; fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
