# lib.sh - assertions shared by the CLI tests (source it after setting
# $tmp to the test's own temporary directory). Every assertion counts into
# $passed / $failed and prints the evidence of a failure; finish prints the
# tally and returns non-zero when anything failed.
#   run NAME WANT_RC [--out S]... [--err S]... [--no-out S]... -- CMD ARGS...
#       CMD's exit status must be WANT_RC, its stdout contain each --out S
#       and none of --no-out S, its stderr each --err S (fixed strings).
#   check NAME CMD ARGS...   CMD must succeed.
#   not CMD ARGS...          inverts CMD.
#   json_field FILE EXPR     a Python expression over the JSON object o.
passed=0
failed=0

run() {
    local name=$1 want=$2
    shift 2
    local -a outs=() errs=() nouts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        case $1 in
            --out) outs+=("$2"); shift 2 ;;
            --err) errs+=("$2"); shift 2 ;;
            --no-out) nouts+=("$2"); shift 2 ;;
            *) echo "bad test spec: $1" >&2; exit 2 ;;
        esac
    done
    shift
    local out=$tmp/.stdout err=$tmp/.stderr
    "$@" </dev/null >"$out" 2>"$err"
    local rc=$? why= s
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

json_field() {
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
