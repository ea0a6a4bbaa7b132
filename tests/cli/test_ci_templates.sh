#!/usr/bin/env bash
# test_ci_templates.sh - the GitHub Action (action.yml) and the GitLab CI
# template (ci/gitlab/gate.gitlab-ci.yml): both parse and have the keys the
# runners need, and their shell steps, run as the runners run them with the
# gate under test (GATE), decide the files of report_checks.py and write
# SARIF, JUnit and the Markdown summary from one run; the action's outputs
# carry the exit code and the counts, and fail-on-deny fails its step.
# Env (set by CTest): GATE, GATE_SOURCE_DIR, GATE_BUILD_DIR.
set -u

GATE=${GATE:?GATE must name the gate binary}
SRC=${GATE_SOURCE_DIR:?GATE_SOURCE_DIR must be set}
HELPER=$SRC/tests/cli/ci_templates.py
export GATE

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
check() {
    local name=$1
    shift
    if "$@"; then pass; else fail "$name"; fi
}

python=
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import yaml' 2>/dev/null; then python=$p; break; fi
done
if [ -z "$python" ]; then
    echo "SKIP: no python3 with PyYAML (apt-get install python3-yaml)"
    exit 0
fi

# helper NAME ARGS...: run ci_templates.py, count its PASS/FAIL lines, keep
# its JSON outcome in $tmp/NAME.json.
helper() {
    local name=$1
    shift
    "$python" "$HELPER" "$@" >"$tmp/$name.log" 2>&1
    local code=$? p f
    p=$(grep -c '^PASS ' "$tmp/$name.log")
    f=$(grep -c '^FAIL ' "$tmp/$name.log")
    passed=$((passed + p))
    failed=$((failed + f))
    grep '^FAIL ' "$tmp/$name.log"
    sed -n 's/^JSON //p' "$tmp/$name.log" >"$tmp/$name.json"
    if [ ! -s "$tmp/$name.json" ]; then
        fail "ci_templates.py $1 gave no outcome (exit $code):"
        tail -n 15 "$tmp/$name.log"
    fi
}

# jq-less field access: field NAME EXPR (a python expression on o)
field() { "$python" -c 'import json,sys; o=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/$1.json" "$2"; }

# newwork DIR: the files of report_checks.py, the policy in .gate/, the
# files in dist/ (as a build would leave them).
newwork() {
    mkdir "$1" || return 1
    "$python" "$SRC/tests/cli/report_checks.py" setup "$1" || return 1
    mkdir "$1/.gate" && cp "$1/policy-enforce.yaml" "$1/.gate/policy.yaml" && mv "$1/files" "$1/dist"
}
newwork "$tmp/gh" || { echo "fixture failed"; echo "0 passed, 1 failed"; exit 1; }

# ---- GitHub: defaults, an undecidable file in dist/: exit 2, step fails ----
helper gh action "$SRC" "$tmp/gh"
check "action: the check step fails with gate's exit code 2" \
    [ "$(field gh 'o["steps"][-1]["rc"]')" = 2 ]
check "action: the build step passes a prebuilt gate on" \
    [ "$(field gh 'o["steps"][0]["rc"]')" = 0 ]
check "action: output exit-code" [ "$(field gh 'o["outputs"]["exit-code"]')" = 2 ]
check "action: output counts" [ "$(field gh '(o["outputs"]["allowed"], o["outputs"]["denied"], o["outputs"]["errors"])')" = "('2', '5', '2')" ]
check "action: output sarif-file" [ "$(field gh 'o["outputs"]["sarif-file"]')" = gate.sarif ]
check "action: output junit-file" [ "$(field gh 'o["outputs"]["junit-file"]')" = gate-junit.xml ]
check "action: SARIF written" "$python" "$SRC/tests/cli/report_checks.py" sarif-dist "$tmp/gh/gate.sarif"
check "action: JUnit written" grep -q '<testsuites name="gate" tests="9" failures="5" errors="2"' "$tmp/gh/gate-junit.xml"
check "action: the job summary has the counts" \
    "$python" -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; sys.exit(0 if "**2 allowed, 5 denied, 2 errors**" in s and "| Decision |" in s else 1)' "$tmp/gh.json"
check "action: the log shows the text report" \
    "$python" -c 'import json,sys; s=json.load(open(sys.argv[1]))["steps"][-1]["stdout"]; sys.exit(0 if "2 allowed, 5 denied, 2 errors" in s else 1)' "$tmp/gh.json"
check "action: the failure is annotated" \
    "$python" -c 'import json,sys; s=json.load(open(sys.argv[1]))["steps"][-1]["stdout"]; sys.exit(0 if "::error::gate check exited 2" in s else 1)' "$tmp/gh.json"

# ---- GitHub: inputs: other paths and files, no summary, do not fail ----
newwork "$tmp/gh2" || fail "fixture gh2"
helper gh2 action "$SRC" "$tmp/gh2" paths="dist/a.txt dist/b.md" sarif-file=out/x.sarif \
    junit-file= summary=false fail-on-deny=false
# out/ does not exist: the SARIF cannot be written, an error (exit 2)
check "action (inputs): step passes (fail-on-deny false)" [ "$(field gh2 'o["steps"][-1]["rc"]')" = 0 ]
check "action (inputs): exit-code 2 (report not written)" [ "$(field gh2 'o["outputs"]["exit-code"]')" = 2 ]
check "action (inputs): two allowed" [ "$(field gh2 'o["outputs"]["allowed"]')" = 2 ]
check "action (inputs): no summary" [ "$(field gh2 'len(o["summary"])')" = 0 ]
check "action (inputs): no JUnit" [ "$(field gh2 'o["outputs"]["junit-file"]')" = "" ]
check "action (inputs): no JUnit file" test ! -e "$tmp/gh2/gate-junit.xml"
check "action (inputs): no sarif-file output for a report not written" \
    [ "$(field gh2 'o["outputs"]["sarif-file"]')" = "" ]
newwork "$tmp/gh3" || fail "fixture gh3"
mkdir "$tmp/gh3/out"
helper gh3 action "$SRC" "$tmp/gh3" paths="dist/run.sh" sarif-file=out/x.sarif fail-on-deny=false
check "action (deny, not failing): exit-code 1" [ "$(field gh3 'o["outputs"]["exit-code"]')" = 1 ]
check "action (deny, not failing): step passes" [ "$(field gh3 'o["steps"][-1]["rc"]')" = 0 ]
check "action (deny, not failing): SARIF in out/" test -s "$tmp/gh3/out/x.sarif"

# ---- GitLab: the job's script in a Debian job (here: this machine) ----
newwork "$tmp/gl" || fail "fixture gl"
helper gl gitlab "$SRC" "$tmp/gl"
check "gitlab: the job fails with gate's exit code 2" [ "$(field gl 'o["rc"]')" = 2 ]
check "gitlab: SARIF written" "$python" "$SRC/tests/cli/report_checks.py" sarif-dist "$tmp/gl/gate.sarif"
check "gitlab: JUnit written" grep -q '<testsuites name="gate" tests="9"' "$tmp/gl/gate-junit.xml"
check "gitlab: summary written" grep -qF "**2 allowed, 5 denied, 2 errors**" "$tmp/gl/gate-summary.md"
check "gitlab: the log shows the text report" \
    "$python" -c 'import json,sys; s=json.load(open(sys.argv[1]))["stdout"]; sys.exit(0 if "2 allowed, 5 denied, 2 errors" in s else 1)' "$tmp/gl.json"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
