# lib.sh - shared by the benchmark scripts (sourced; never a test).
#   bench_build DIR TARGET...   configure DIR as a Release build of the
#       source tree (tests off) unless its cache already says Release, and
#       build TARGETs; when -O3 brings a warning -Werror turns into an
#       error, rebuild without -Werror and say so (the warning is reported,
#       not hidden). Dies unless each DIR/TARGET is then executable.
#   bench_cache DIR NAME        NAME's value in DIR's CMake cache, or empty.
#   best_ms R CMD...            best wall time of R runs of CMD, in ms.
#   ratio A B                   A / B with two decimals.
bench_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

bench_die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

bench_cache() {
	sed -n "s/^$2:[A-Z]*=//p" "$1/CMakeCache.txt" 2>/dev/null
}

bench_build() {
	local build=$1 t
	shift
	mkdir -p "$build"
	if [ "$(bench_cache "$build" CMAKE_BUILD_TYPE)" != Release ]; then
		cmake -S "$bench_src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGATE_TESTS=OFF \
			>"$build/bench-build.log" 2>&1 || bench_die "cmake failed, see $build/bench-build.log"
	fi
	if ! make -C "$build" -j2 "$@" >>"$build/bench-build.log" 2>&1; then
		echo "note: Release build failed under -Werror (see $build/bench-build.log);" \
			"rebuilding with -DGATE_WERROR=OFF" >&2
		cmake -S "$bench_src" -B "$build" -DGATE_WERROR=OFF >>"$build/bench-build.log" 2>&1 &&
			make -C "$build" -j2 "$@" >>"$build/bench-build.log" 2>&1 ||
			bench_die "build failed, see $build/bench-build.log"
	fi
	for t in "$@"; do
		[ -x "$build/$t" ] || bench_die "no $t binary at $build/$t"
	done
}

best_ms() {
	local r=$1 b=999999999999 t0 t1 d
	shift
	for _ in $(seq "$r"); do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1
		t1=$(date +%s%N)
		d=$(((t1 - t0) / 1000))
		[ "$d" -lt "$b" ] && b=$d
	done
	awk -v u="$b" 'BEGIN { printf "%.2f", u / 1000 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}
