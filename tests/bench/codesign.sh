#!/usr/bin/env bash
# codesign.sh - performance benchmark of `gate verify` on a 50 MB signed PE
# (never a timed test; not run by CTest). In one run on this machine:
#
#  1. gate verify (Authenticode digest, signature, RFC 3161 timestamp,
#     chain, CRL) vs `osslsigncode verify` of the same file with the same
#     roots and CRL (goal: gate >= 2x faster);
#  2. gate verify vs `openssl dgst -sha256` of the file (goal <= 1.1x).
#
# Best of R runs each (default 5), the file in the page cache.
# Usage: bash tests/bench/codesign.sh      Env: R, SIZE_MB (default 50)
# Needs: osslsigncode, x86_64-w64-mingw32-gcc (Debian gcc-mingw-w64-x86-64).
# Builds gate in Release into build-bench-codesign if needed.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
src=$bench_src
build=$src/build-bench-codesign
gate=$build/gate
R=${R:-5}
SIZE_MB=${SIZE_MB:-50}

command -v osslsigncode >/dev/null || bench_die "osslsigncode is missing (Debian package osslsigncode)"
command -v x86_64-w64-mingw32-gcc >/dev/null ||
	bench_die "x86_64-w64-mingw32-gcc is missing (Debian package gcc-mingw-w64-x86-64)"
bench_build "$build" gate

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
bash "$src/tests/tools/codesign_pki.sh" "$work/pki" >/dev/null 2>&1 || bench_die "cannot make the PKI"
cd "$work/pki" || exit 1

# A PE with SIZE_MB of initialized data (a deterministic pattern, so the
# section is really in the file), signed and timestamped by osslsigncode.
cat >big.c <<EOF
#define N ($SIZE_MB * 1024 * 1024)
__attribute__((used)) static const unsigned char blob[N] = {1, 2, 3, 4, 5, 6, 7, 8};
int start(void) { return blob[42]; }
EOF
x86_64-w64-mingw32-gcc -O1 -s -nostdlib -e start -o big.exe big.c || bench_die "cannot build the PE"
osslsigncode sign -certs leaf-chain.pem -key leaf.key -h sha256 -TSA-certs tsa-chain.pem \
	-TSA-key tsa.key -TSA-time "$(($(date +%s) - 3600))" -in big.exe -out signed.exe >/dev/null ||
	bench_die "osslsigncode sign failed"
size=$(stat -c %s signed.exe)

gate_cmd=("$gate" verify --ca root.pem --tsa-ca tsa-root.pem --crl all.crl signed.exe)
ossl_cmd=(osslsigncode verify -CAfile root.pem -TSA-CAfile tsa-root.pem -CRLfile all.crl -in signed.exe)
dgst_cmd=(openssl dgst -sha256 signed.exe)

"${gate_cmd[@]}" >gate.out 2>&1 || bench_die "gate verify failed: $(cat gate.out)"
"${ossl_cmd[@]}" >ossl.out 2>&1 || bench_die "osslsigncode verify failed: $(tail -5 ossl.out)"
cat signed.exe signed.exe >/dev/null # page cache

g=$(best_ms "$R" "${gate_cmd[@]}")
o=$(best_ms "$R" "${ossl_cmd[@]}")
d=$(best_ms "$R" "${dgst_cmd[@]}")
vs_ossl=$(ratio "$o" "$g")
vs_dgst=$(ratio "$g" "$d")
ok1=$(awk -v r="$vs_ossl" 'BEGIN { print (r >= 2) ? "met" : "MISSED" }')
ok2=$(awk -v r="$vs_dgst" 'BEGIN { print (r <= 1.1) ? "met" : "MISSED" }')
echo "signed PE: $size bytes (${SIZE_MB} MiB section, RFC 3161 timestamp, CRL), best of $R runs"
echo "gate verify ${g} ms, osslsigncode verify ${o} ms: gate is ${vs_ossl}x faster (goal >= 2x: $ok1)"
echo "gate verify ${g} ms, openssl dgst -sha256 ${d} ms: ratio ${vs_dgst}x (goal <= 1.1x: $ok2)"
