#!/usr/bin/env bash
# test_conformance.sh - the Sigstore bundle-verify conformance suite
# (../shared/conformance/sigstore) against `gate` through
# tests/conformance/sigstore-client. Every case must match: the runner
# must end with "70 passed, 0 failed".
# Env: GATE (the binary), GATE_SOURCE_DIR, GATE_SHARED_DIR.
set -u

GATE=${GATE:?GATE must name the gate binary}
SRC=${GATE_SOURCE_DIR:?GATE_SOURCE_DIR must be set}
SHARED=${GATE_SHARED_DIR:-}
runner=$SHARED/conformance/sigstore/run.sh
client=$SRC/tests/conformance/sigstore-client
expected="70 passed, 0 failed"

if [ -z "$SHARED" ] || [ ! -f "$runner" ] || [ ! -d "$SHARED/conformance/sigstore/bundle-verify" ]; then
    echo "SKIP: Sigstore conformance data not found (GATE_SHARED_DIR=${SHARED:-unset})"
    exit 0
fi
if [ ! -f "$client" ]; then
    echo "FAIL: conformance client missing: $client"
    exit 1
fi

export GATE
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

bash "$runner" "$client" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
last=$(tail -n 1 "$tmp/out")
if [ "$last" != "$expected" ]; then
    echo "FAIL: runner said '$last' (exit $rc), want '$expected'"
    exit 1
fi
if [ "$rc" -ne 0 ]; then
    echo "FAIL: runner exited $rc"
    exit 1
fi
echo "PASS: $expected"
