#!/usr/bin/env bash
# verify.sh - performance benchmark of `gate verify` (never a timed test; not
# run by CTest). Everything is measured in the same run on this machine:
#
#  1. small file: `gate verify` of a keyless bundle vs `openssl dgst -sha256`
#     of the same file, each a whole process, mean of N runs (goal <= 2x);
#  2. 1 GiB artifact signed by tests/tools/sigstore_stack.py, in the page
#     cache: best of 3 each vs `openssl dgst -sha256` (goal <= 1.05x);
#  3. peak RSS of `gate verify`, small and 1 GiB (goal <= 8 MiB);
#  4. with node and npm: sigstore-js (@sigstore/verify) verifying the same
#     small bundle offline, per process, N=20 (goal: gate >= 50x faster).
#
# Usage: bash tests/bench/verify.sh
# Env: N (small-file runs, default 200), NODE_N (default 20),
#      GATE_SHARED_DIR (default ../shared next to the source tree).
# Builds gate in Release into build-bench if needed.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
src=$bench_src
build=$src/build-bench
gate=$build/gate
shared=${GATE_SHARED_DIR:-$src/../shared}
py=/usr/bin/python3
stack=$src/tests/tools/sigstore_stack.py
N=${N:-200}
NODE_N=${NODE_N:-20}

# ---- timing helpers ----

# ns of wall time for N sequential runs of a command (output discarded).
loop_ns() {
	local n=$1 i t0 t1
	shift
	t0=$(date +%s%N)
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1
	done
	t1=$(date +%s%N)
	echo $((t1 - t0))
}

ms() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1e6 }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# mean_pair N: mean ns per run of cmd_a and cmd_b (global arrays), N runs
# each, interleaved in 4 blocks so that drift hits both alike.
mean_pair() {
	local n=$1 blocks=4 per ta=0 tb=0 i
	per=$(((n + blocks - 1) / blocks))
	loop_ns 5 "${cmd_a[@]}" >/dev/null # warm up
	loop_ns 5 "${cmd_b[@]}" >/dev/null
	for ((i = 0; i < blocks; i++)); do
		ta=$((ta + $(loop_ns "$per" "${cmd_a[@]}")))
		tb=$((tb + $(loop_ns "$per" "${cmd_b[@]}")))
	done
	mean_a=$((ta / (per * blocks)))
	mean_b=$((tb / (per * blocks)))
}

# best_of K CMD...: the fastest of K single runs, in ns.
best_of() {
	local k=$1 best=0 t i
	shift
	for ((i = 0; i < k; i++)); do
		t=$(loop_ns 1 "$@")
		if [ "$best" -eq 0 ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

# Peak RSS in KiB of one run, from GNU time.
peak_rss_kib() {
	/usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p'
}

kib_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

verdict() { # 1 -> met
	if [ "$1" = 1 ]; then echo "met"; else echo "MISSED"; fi
}

have_crypto() { "$py" -c 'import cryptography' 2>/dev/null; }

# ---- setup ----

bench_build "$build" gate
if [ ! -x /usr/bin/time ]; then
	echo "note: /usr/bin/time missing; installing package 'time'" >&2
	{ apt-get install -y time >/dev/null 2>&1 || sudo apt-get install -y time >/dev/null 2>&1; } ||
		echo "note: could not install 'time'; skipping peak RSS" >&2
fi

work=$(mktemp -d "$build/bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
	"$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "gate: $gate (Release, GATE_WERROR=$(bench_cache "$build" GATE_WERROR))"
echo "openssl: $(openssl version)"

# The small case: the public-good conformance bundle and the embedded root,
# or a stack-made bundle when the shared data is absent.
case_dir=$shared/conformance/sigstore/bundle-verify/happy-path-v0.3
small_id=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
small_iss=https://token.actions.githubusercontent.com
small_root_flags=()
if [ -f "$case_dir/bundle.sigstore.json" ] && [ -f "$case_dir/../a.txt" ]; then
	small_bundle=$case_dir/bundle.sigstore.json
	small_art=$case_dir/../a.txt
	small_root_file=$shared/trust/sigstore-public-good/trusted_root.json
	echo "small case: happy-path-v0.3 (public-good), embedded default trusted root"
else
	have_crypto || bench_die "no shared conformance data and no python3-cryptography for the stack"
	"$py" "$stack" init "$work/stack" >/dev/null || bench_die "stack init failed"
	small_art=$work/small.txt
	small_bundle=$work/small.sigstore.json
	small_id=https://github.com/example/bench/.github/workflows/release.yml@refs/heads/main
	echo "gate benchmark artifact" >"$small_art"
	"$py" "$stack" sign "$work/stack" "$small_art" --identity "$small_id" --issuer "$small_iss" \
		--out "$small_bundle" >/dev/null || bench_die "stack sign failed"
	small_root_file=$work/stack/trusted_root.json
	small_root_flags=(--trusted-root "$small_root_file")
	echo "small case: stack-generated keyless bundle (shared data absent)"
fi
small_verify=("$gate" verify --bundle "$small_bundle" --certificate-identity "$small_id"
	--certificate-oidc-issuer "$small_iss" "${small_root_flags[@]}" "$small_art")
"${small_verify[@]}" >/dev/null 2>&1 || bench_die "gate does not verify the small case: $("${small_verify[@]}" 2>&1 | tail -3)"
echo

# ---- 1. small file ----

cmd_a=("${small_verify[@]}")
cmd_b=(openssl dgst -sha256 "$small_art")
mean_pair "$N"
gate_small=$mean_a
r=$(ratio "$mean_a" "$mean_b")
le "$r" 2 && ok=1 || ok=0
echo "small-file verify: gate $(ms "$mean_a") ms, openssl $(ms "$mean_b") ms, ratio ${r}x" \
	"(goal <= 2x: $(verdict "$ok"); mean of $N runs each)"

# ---- 2. 1 GiB ----

big_ok=0
if ! have_crypto; then
	echo "1 GiB verify: SKIP ($py has no cryptography module for the test stack)"
elif [ "$(df -Pk "$work" | awk 'NR == 2 { print $4 }')" -lt 2200000 ]; then
	echo "1 GiB verify: SKIP (less than 2.1 GiB free in $build)"
else
	big=$work/big.bin
	big_id=https://github.com/example/bench/.github/workflows/release.yml@refs/heads/main
	# Deterministic and much faster than /dev/urandom: AES-CTR keystream.
	openssl enc -aes-128-ctr -nosalt -pass pass:gate-bench -pbkdf2 </dev/zero 2>/dev/null |
		head -c 1073741824 >"$big"
	if ! "$py" "$stack" init "$work/bigstack" >/dev/null ||
		! "$py" "$stack" sign "$work/bigstack" "$big" --identity "$big_id" \
			--issuer "$small_iss" --out "$work/big.sigstore.json" >/dev/null; then
		bench_die "stack could not sign the 1 GiB file"
	fi
	big_verify=("$gate" verify --bundle "$work/big.sigstore.json" --certificate-identity "$big_id"
		--certificate-oidc-issuer "$small_iss" --trusted-root "$work/bigstack/trusted_root.json"
		"$big")
	cat "$big" >/dev/null
	cat "$big" >/dev/null # warm: the file is in the page cache from here on
	"${big_verify[@]}" >/dev/null 2>&1 || bench_die "gate does not verify the 1 GiB case"
	bg=0 bo=0
	for _ in 1 2 3; do # interleaved, best of 3 each
		t=$(best_of 1 "${big_verify[@]}")
		{ [ "$bg" -eq 0 ] || [ "$t" -lt "$bg" ]; } && bg=$t
		t=$(best_of 1 openssl dgst -sha256 "$big")
		{ [ "$bo" -eq 0 ] || [ "$t" -lt "$bo" ]; } && bo=$t
	done
	r=$(ratio "$bg" "$bo")
	le "$r" 1.05 && ok=1 || ok=0
	echo "1 GiB verify: gate $(ms "$bg") ms, openssl $(ms "$bo") ms, ratio ${r}x" \
		"(goal <= 1.05x: $(verdict "$ok"); best of 3, page cache warm)"
	big_ok=1
fi

# ---- 3. peak RSS ----

if [ -x /usr/bin/time ]; then
	rs=$(peak_rss_kib "${small_verify[@]}")
	ro=$(peak_rss_kib openssl dgst -sha256 "$small_art")
	le "$rs" 8192 && ok=1 || ok=0
	echo "peak RSS small: gate $(kib_mib "$rs") MiB (openssl dgst $(kib_mib "$ro") MiB)" \
		"(goal <= 8 MiB: $(verdict "$ok"))"
	if [ "$big_ok" = 1 ]; then
		rb=$(peak_rss_kib "${big_verify[@]}")
		ro=$(peak_rss_kib openssl dgst -sha256 "$big")
		le "$rb" 8192 && ok=1 || ok=0
		echo "peak RSS 1 GiB: gate $(kib_mib "$rb") MiB (openssl dgst $(kib_mib "$ro") MiB)" \
			"(goal <= 8 MiB: $(verdict "$ok"))"
	fi
else
	echo "peak RSS: SKIP (no /usr/bin/time)"
fi
[ "$big_ok" = 1 ] && rm -f "$big"

# ---- 4. sigstore-js ----

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "sigstore-js: SKIP (node or npm not installed)"
	exit 0
fi
nodedir=$build/node
if [ ! -d "$nodedir/node_modules/@sigstore/verify" ]; then
	mkdir -p "$nodedir"
	if ! npm_out=$(npm install --prefix "$nodedir" --no-audit --no-fund sigstore \
		@sigstore/verify @sigstore/bundle @sigstore/protobuf-specs 2>&1); then
		echo "sigstore-js: SKIP (npm install failed: $(printf '%s' "$npm_out" | tail -2 | tr '\n' ' '))"
		exit 0
	fi
fi
js=$src/tests/bench/sigstorejs_verify.js
node_verify=(env NODE_PATH="$nodedir/node_modules" node "$js" "$small_bundle" "$small_art"
	"$small_root_file" --identity "$small_id" --issuer "$small_iss")
if ! out=$("${node_verify[@]}" 2>&1); then
	echo "sigstore-js: SKIP (it does not verify the small case: $(printf '%s' "$out" | tail -2 | tr '\n' ' '))"
	exit 0
fi
jsver=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$nodedir/node_modules/@sigstore/verify/package.json" | head -1)
tn=$(loop_ns "$NODE_N" "${node_verify[@]}")
node_mean=$((tn / NODE_N))
r=$(ratio "$node_mean" "$gate_small")
le 50 "$r" && ok=1 || ok=0
echo "sigstore-js verify: node $(ms "$node_mean") ms (@sigstore/verify $jsver, node $(node --version))," \
	"gate $(ms "$gate_small") ms, gate is ${r}x faster (goal >= 50x: $(verdict "$ok");" \
	"mean of $NODE_N runs)"
