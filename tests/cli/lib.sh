# lib.sh - assertions shared by the CLI tests (source it after setting
# $tmp to the test's own temporary directory). Every assertion counts into
# $passed / $failed and prints the evidence of a failure; finish prints the
# tally and returns non-zero when anything failed.
#   run NAME WANT_RC [--in FILE] [--out S]... [--err S]... [--any S]...
#           [--no-out S]... [--no-err S]... [--no-any S]... -- CMD ARGS...
#       CMD (stdin from FILE, else /dev/null) must exit WANT_RC; its stdout
#       contain each --out S and none of --no-out S, its stderr each --err S
#       and none of --no-err S, stdout or stderr each --any S and neither
#       any --no-any S (fixed strings). Its stdout stays in $tmp/.stdout and
#       its stderr in $tmp/.stderr until the next run. With $TEST_VERBOSE
#       set, every run prints its name, exit status and output.
#   check NAME CMD ARGS...   CMD must succeed.
#   fixture CMD ARGS...      a step that makes what later checks need: its
#       output is kept, and when it fails the test stops there with a FAIL
#       line, the tool's own output and the tally (exit 1), labelled with
#       $TEST_LABEL when set.
#   not CMD ARGS...          inverts CMD.
#   json_field FILE EXPR     a Python expression over the JSON object o.
#   cli_setup [TEMPLATE]     $GATE (required) made absolute; $tmp a new
#       temporary directory (mktemp -d [TEMPLATE]) removed on exit.
#   finish [LABEL]           "[LABEL: ]N passed, M failed"; fails if M > 0.
passed=0
failed=0

run() {
    local name=$1 want=$2 in=/dev/null
    shift 2
    local -a outs=() errs=() anys=() nouts=() nerrs=() nanys=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        case $1 in
            --in) in=$2; shift 2 ;;
            --out) outs+=("$2"); shift 2 ;;
            --err) errs+=("$2"); shift 2 ;;
            --any) anys+=("$2"); shift 2 ;;
            --no-out) nouts+=("$2"); shift 2 ;;
            --no-err) nerrs+=("$2"); shift 2 ;;
            --no-any) nanys+=("$2"); shift 2 ;;
            *) echo "bad test spec: $1" >&2; exit 2 ;;
        esac
    done
    shift
    local out=$tmp/.stdout err=$tmp/.stderr
    "$@" <"$in" >"$out" 2>"$err"
    local rc=$? why= s
    [ -n "${TEST_VERBOSE:-}" ] && { echo "== $name (exit $rc)"; head -c 600 "$out" "$err"; }
    [ "$rc" -eq "$want" ] || why="exit $rc, want $want"
    for s in "${outs[@]+"${outs[@]}"}"; do
        grep -qF -- "$s" "$out" || why="${why:+$why; }stdout lacks '$s'"
    done
    for s in "${nouts[@]+"${nouts[@]}"}"; do
        grep -qF -- "$s" "$out" && why="${why:+$why; }stdout has '$s'"
    done
    for s in "${errs[@]+"${errs[@]}"}"; do
        grep -qF -- "$s" "$err" || why="${why:+$why; }stderr lacks '$s'"
    done
    for s in "${nerrs[@]+"${nerrs[@]}"}"; do
        grep -qF -- "$s" "$err" && why="${why:+$why; }stderr has '$s'"
    done
    for s in "${anys[@]+"${anys[@]}"}"; do
        grep -qF -- "$s" "$out" "$err" || why="${why:+$why; }output lacks '$s'"
    done
    for s in "${nanys[@]+"${nanys[@]}"}"; do
        grep -qF -- "$s" "$out" "$err" && why="${why:+$why; }output has '$s'"
    done
    if [ -z "$why" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name: $why"
        echo "  stdout: $(head -c 600 "$out")"
        echo "  stderr: $(head -c 600 "$err")"
    fi
}

check() {
    local name=$1
    shift
    if "$@" >"$tmp/.check" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        echo "  output: $(tail -c 600 "$tmp/.check")"
    fi
}

not() { ! "$@"; }

fixture() {
    "$@" >"$tmp/.fixture" 2>&1 && return 0
    local rc=$?
    failed=$((failed + 1))
    echo "FAIL fixture step (exit $rc): $*"
    tail -c 3000 "$tmp/.fixture" | sed 's/^/  /'
    echo "${TEST_LABEL:+$TEST_LABEL: }$passed passed, $failed failed"
    exit 1
}

json_field() {
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

finish() {
    echo "${1:+$1: }$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# stack_setup: for tests whose bundles come from a private Sigstore
# instance (tests/tools/sigstore_stack.py): sets py and stack, skips (exit
# 0) when /usr/bin/python3 has no cryptography module. Needs src.
stack_setup() {
    py=/usr/bin/python3
    stack=$src/tests/tools/sigstore_stack.py
    if ! "$py" -c 'import cryptography' 2>/dev/null; then
        echo "SKIP: $py has no cryptography module (apt-get install python3-cryptography)"
        exit 0
    fi
}

cli_setup() {
    GATE=${GATE:?GATE must name the gate binary}
    GATE=$(cd "$(dirname "$GATE")" && pwd)/$(basename "$GATE")
    tmp=$(mktemp -d ${1:+"$1"}) || exit 1
    trap 'rm -rf -- "$tmp"' EXIT
}
