#!/usr/bin/env bash
# run.sh [SECONDS_PER_TARGET] [TARGET...] - build and run the libFuzzer
# targets of tests/fuzz.
#
# Each target runs for SECONDS_PER_TARGET (default 60) on a scratch copy of
# tests/fuzz/corpus/<target>; at the end the inputs that reached new edges
# are merged back into the corpus (-merge=1: the existing files are kept and
# only new coverage is added). Crash, leak, timeout and UBSan artifacts go to
# build-fuzz/crashes/, logs to build-fuzz/fuzz-logs/. Exits 1 if any target
# failed.
#
# Environment:
#   FUZZ_BUILD_DIR  build directory (default: <source>/build-fuzz)
#   FUZZ_JOBS       targets run at once, 1 or 2 (default 1)
#   FUZZ_NO_BUILD=1 use the binaries as they are
#   FUZZ_NO_MERGE=1 leave tests/fuzz/corpus untouched
#   FUZZ_ARGS       extra libFuzzer flags
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
secs=${1:-60}
[ $# -gt 0 ] && shift
jobs=${FUZZ_JOBS:-1}

case $secs in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
	exit 2
	;;
esac
[ "$jobs" -ge 1 ] 2>/dev/null && [ "$jobs" -le 2 ] || {
	echo "FUZZ_JOBS must be 1 or 2 (the machine has 2 cores)" >&2
	exit 2
}

# Targets: the arguments, else every tests/fuzz/fuzz_*.c.
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$here"/fuzz_*.c; do
		t=$(basename "$f" .c)
		targets+=("$t")
	done
fi
for t in "${targets[@]}"; do
	[ -f "$here/$t.c" ] || {
		echo "no such target: $t (tests/fuzz/$t.c)" >&2
		exit 2
	}
done

# Longest input worth trying: a little above the largest real input of the
# kind (bundles ~16 KiB, trusted roots ~7 KiB, certificates ~2.5 KiB).
max_len() {
	case $1 in
	fuzz_bundle) echo 32768 ;;
	fuzz_pe | fuzz_jar) echo 16384 ;; # small signed PE / JAR seeds are 3-8 KiB
	fuzz_cms) echo 8192 ;;
	fuzz_trusted_root) echo 16384 ;;
	fuzz_checkpoint | fuzz_detached | fuzz_pem) echo 8192 ;;
	fuzz_cert | fuzz_timestamp) echo 4096 ;;
	fuzz_pubkey) echo 2048 ;;
	fuzz_b64) echo 1024 ;;
	*) echo 4096 ;;
	esac
}

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
	if [ ! -f "$build/CMakeCache.txt" ]; then
		CC=clang cmake -S "$src" -B "$build" -DGATE_FUZZ=ON -DGATE_TESTS=OFF \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 2
	fi
	cmake --build "$build" --parallel 2 --target "${targets[@]}" || exit 2
fi

bin_dir=$build/fuzz
crashes=$build/crashes
logs=$build/fuzz-logs
work=$build/fuzz-work
mkdir -p "$crashes" "$logs" "$work"

# UBSan recovers by default: make every report fatal so it is a finding.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}

run_target() {
	local t=$1 bin=$bin_dir/$1 corpus=$here/corpus/$1 scratch=$work/$1
	local log=$logs/$1.log ml rc
	ml=$(max_len "$t")
	[ -x "$bin" ] || {
		echo "$t: $bin not built" >&2
		return 2
	}
	mkdir -p "$corpus"
	rm -rf "$scratch"
	mkdir -p "$scratch"
	cp -pr "$corpus"/. "$scratch"/
	local dict=()
	[ -f "$here/$t.dict" ] && dict=("-dict=$here/$t.dict")
	echo "$t: ${secs}s, max_len $ml, log $log"
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -max_len="$ml" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$crashes/$t-" -print_final_stats=1 "${dict[@]}" \
		${FUZZ_ARGS:-} "$scratch" >"$log" 2>&1
	rc=$?
	local stats
	stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" |
		sed 's/^stat:://' | tr '\n' ' ')
	if [ $rc -ne 0 ]; then
		echo "$t: FAILED (exit $rc): $(grep -m1 -E 'ERROR: |runtime error|SUMMARY' "$log")"
		grep -E '^artifact_prefix|Test unit written to' "$log" | sed "s/^/$t:   /"
	else
		echo "$t: ok: $stats"
	fi
	if [ "${FUZZ_NO_MERGE:-0}" != 1 ]; then
		# Edges only (no hit counts) so the corpus grows only with new
		# code reached, not with every new loop count.
		"$bin" -merge=1 -use_counters=0 -max_len="$ml" -timeout=10 -rss_limit_mb=2048 \
			"$corpus" "$scratch" >"$logs/$t.merge.log" 2>&1 ||
			echo "$t: merge failed, see $logs/$t.merge.log" >&2
		echo "$t: corpus $(find "$corpus" -type f | wc -l) files," \
			"$(cat "$corpus"/* 2>/dev/null | wc -c) bytes"
	fi
	return $rc
}

failed=()
if [ "$jobs" -eq 1 ]; then
	for t in "${targets[@]}"; do
		run_target "$t" || failed+=("$t")
	done
else
	declare -A pids=()
	for t in "${targets[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
			wait -n
		done
		run_target "$t" &
		pids[$t]=$!
	done
	for t in "${!pids[@]}"; do
		wait "${pids[$t]}" || failed+=("$t")
	done
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]} (artifacts in $crashes)" >&2
	exit 1
fi
echo "all ${#targets[@]} targets ran ${secs}s without a finding"
