#!/usr/bin/env bash
# gate-ci.sh - the steps the GitHub Action (action.yml) and the GitLab CI
# template (ci/gitlab/gate.gitlab-ci.yml) share, so both build and run gate
# the same way.
#
#   gate-ci.sh build   install the build dependencies with apt-get
#                      (.ci/deps.sh, through sudo when not root) and build
#                      gate (CMake, Release) in $GATE_CI_BUILD (default
#                      $RUNNER_TEMP or $TMPDIR, /gate-build); prints the
#                      binary's path. With $GATE naming an executable, only
#                      prints that: nothing is installed or built.
#   gate-ci.sh check   run gate check once and write every report:
#                      GATE                the binary
#                      GATE_CHECK_POLICY   the policy (default .gate/policy.yaml)
#                      GATE_CHECK_PATHS    files and directories, separated
#                                          by white space (default dist)
#                      GATE_SARIF, GATE_JUNIT, GATE_SUMMARY
#                                          report files (SARIF, JUnit XML,
#                                          Markdown); an empty one is not written
#                      The text report goes to stdout; the exit code is gate's
#                      (0 allowed, 1 a file denied, 2 an error).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

build() {
    if [ -n "${GATE:-}" ]; then
        [ -x "$GATE" ] || { echo "gate-ci.sh: GATE=$GATE is not an executable" >&2; exit 2; }
        echo "$GATE"
        return
    fi
    local dir=${GATE_CI_BUILD:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/gate-build}
    as_root "$src/.ci/deps.sh" build >&2
    cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DGATE_TESTS=OFF >&2
    cmake --build "$dir" -j"$(nproc)" >&2
    echo "$dir/gate"
}

check() {
    local gate=${GATE:?gate-ci.sh check: GATE must name the gate binary}
    local policy=${GATE_CHECK_POLICY:-.gate/policy.yaml}
    local paths outs=() pair
    read -r -a paths <<<"${GATE_CHECK_PATHS:-dist}"
    [ "${#paths[@]}" -gt 0 ] || { echo "gate-ci.sh: GATE_CHECK_PATHS names no path" >&2; exit 2; }
    for pair in "sarif=${GATE_SARIF:-}" "junit=${GATE_JUNIT:-}" "markdown=${GATE_SUMMARY:-}"; do
        [ -n "${pair#*=}" ] && outs+=(--output "$pair")
    done
    exec "$gate" check --policy "$policy" --format text "${outs[@]}" -- "${paths[@]}"
}

case ${1:-} in
build) build ;;
check) check ;;
*)
    echo "usage: gate-ci.sh build|check" >&2
    exit 2
    ;;
esac
