#!/usr/bin/env bash
# Installs what is missing, builds gate with warnings as errors, and runs the
# whole test suite: once normally, once under AddressSanitizer and
# UndefinedBehaviorSanitizer.  GATE_SKIP_SANITIZE=1 skips the second pass.
set -eu
top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top"
# The suite runs on the Debian packages .ci/deps.sh installs (python3 with
# python3-cryptography and python3-yaml among them), ahead of any other
# interpreter a PATH may put first.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}
bash .ci/deps.sh test
jobs=$(nproc)

run_suite() {
    local dir=$1
    shift
    cmake -S . -B "$dir" -DGATE_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

echo "== build and test (warnings are errors)"
run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${GATE_SKIP_SANITIZE:-0}" != 1 ]; then
    echo "== build and test under ASan + UBSan"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DGATE_SANITIZE=ON
fi
