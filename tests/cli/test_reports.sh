#!/usr/bin/env bash
# test_reports.sh - `gate check --format sarif|junit`: exit codes (0 all
# allowed, 1 denied, 2 undecidable file in enforce mode, 0 in audit mode),
# SARIF 2.1.0 validated against the SARIF schema with ajv (schema and ajv
# from the npm registry, cached in $GATE_BUILD_DIR/node; skipped when npm or
# the registry is unavailable) plus structural checks in python3, JUnit XML
# parsed with ElementTree (and junitparser when it can be had), file names
# that try to break both formats, and the CI templates in hooks/ci/.
# Env: GATE (the binary), GATE_SOURCE_DIR, GATE_BUILD_DIR.
set -u

GATE=${GATE:?GATE must name the gate binary}
SRC=${GATE_SOURCE_DIR:?GATE_SOURCE_DIR must be set}
BUILD=${GATE_BUILD_DIR:?GATE_BUILD_DIR must be set}
CHECKS=$SRC/tests/cli/report_checks.py
# Shared by every build folder (the normal and the sanitizer pass), so the
# tools are fetched once per machine.
NODE_DIR=${GATE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gate-tests/node}
# The SARIF 2.1.0 JSON schema as the SARIF SDK ships it (draft 2020-12).
SCHEMA_PKG=@microsoft/sarif-multitool-linux@5.7.0
SCHEMA_IN_PKG=package/sarif-2.1.0.json
# GATE_SARIF_SCHEMA: a copy at hand (e.g. sarif-schema-2.1.0.json from the
# SARIF specification repository), used instead of fetching one.
SCHEMA=${GATE_SARIF_SCHEMA:-$NODE_DIR/sarif-schema-2.1.0.json}

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

passed=0
failed=0
skipped=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $*"; }

not_grep() { ! grep -qF -- "$1" "$2"; }

# check NAME COMMAND...: a plain assertion (exit 0 = pass).
check() {
    local name=$1
    shift
    if "$@"; then pass; else fail "$name"; fi
}

# rc NAME WANT CMD...: CMD's exit code is WANT (stdout kept in $tmp/out).
rc() {
    local name=$1 want=$2
    shift 2
    "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then
        pass
    else
        fail "$name: exit $got, want $want"
        echo "  stderr: $(head -c 400 "$tmp/err")"
    fi
}

# py [PYTHON] SUBCOMMAND ARGS...: run a report_checks.py check, count its
# PASS/FAIL lines and show the failures.
py_with() {
    local python=$1
    shift
    local log=$tmp/py.log p f
    "$python" "$CHECKS" "$@" >"$log" 2>&1
    local code=$?
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    passed=$((passed + p))
    failed=$((failed + f))
    grep '^FAIL ' "$log"
    if [ "$code" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "report_checks.py $1 crashed:"
        tail -n 15 "$log"
    fi
}
py() { py_with python3 "$@"; }

if ! command -v python3 >/dev/null; then
    echo "python3 is needed"
    echo "0 passed, 1 failed"
    exit 1
fi

work=$tmp/w
mkdir "$work"
python3 "$CHECKS" setup "$work" || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
cd "$work" || exit 1
enforce=(--policy policy-enforce.yaml)
audit=(--policy policy-audit.yaml)

# ---- exit codes ----
rc "all allowed: exit 0" 0 "$GATE" check "${enforce[@]}" files/a.txt
rc "a rule denies: exit 1" 1 "$GATE" check "${enforce[@]}" files/a.txt files/run.sh
rc "denied by default: exit 1" 1 "$GATE" check "${enforce[@]}" files/data.dat
rc "required signer missing: exit 1" 1 "$GATE" check "${enforce[@]}" files/*.bin
rc "FIFO is an error: exit 2" 2 "$GATE" check "${enforce[@]}" files/a.txt files/pipe
rc "symlink is an error: exit 2" 2 "$GATE" check "${enforce[@]}" files/link*
rc "error wins over deny: exit 2" 2 "$GATE" check "${enforce[@]}" files
rc "audit mode allows everything: exit 0" 0 "$GATE" check "${audit[@]}" files
for fmt in sarif junit; do
    rc "--format $fmt keeps exit 0" 0 "$GATE" check "${enforce[@]}" --format "$fmt" files/a.txt
    rc "--format $fmt keeps exit 1" 1 "$GATE" check "${enforce[@]}" --format "$fmt" files/run.sh
    rc "--format $fmt keeps exit 2" 2 "$GATE" check "${enforce[@]}" --format "$fmt" files
    rc "--format $fmt in audit mode: exit 0" 0 "$GATE" check "${audit[@]}" --format "$fmt" files
done

# ---- text: escaped reversibly, one line per name ----
"$GATE" check "${enforce[@]}" files >"$tmp/text.out" 2>&1
check "text: a name with ESC and a newline is one escaped line" \
    grep -qF 'DENY   files/ctl\x01\x1b\x0aname.dat' "$tmp/text.out"
check "text: a name that spells \\x1b is told apart (backslash doubled)" \
    grep -qF 'DENY   files/lit\\x1b.dat' "$tmp/text.out"
check "text: no line starts with a piece of a file name" \
    bash -c '! grep -q "^name.dat" "$1"' _ "$tmp/text.out"
check "json: a name that is not UTF-8 keeps its path and reason" python3 -c '
import json, subprocess, sys
out = subprocess.run(sys.argv[1:], capture_output=True).stdout
d = json.loads(out)
r = [x for x in d["results"] if "we ird" in x.get("path", "")]
assert len(r) == 1 and "\\xff" in r[0]["path"] and r[0]["reason"], r
' "$GATE" check "${enforce[@]}" --format json files

# ---- SARIF ----
rc "sarif to --output" 2 "$GATE" check "${enforce[@]}" --format sarif --output "$tmp/enforce.json" \
    --jobs 3 files
rc "sarif to stdout" 2 "$GATE" check "${enforce[@]}" --format sarif --jobs 1 files
check "sarif: stdout and --output agree" cmp -s "$tmp/out" "$tmp/enforce.json"
rc "sarif audit" 0 "$GATE" check "${audit[@]}" --format sarif --output "$tmp/audit.json" files
rc "sarif absolute paths" 1 "$GATE" check "${enforce[@]}" --format sarif --output "$tmp/abs.json" \
    "$work/files/a.txt" "$work/files/b.md" "$work/files/run.sh" "$work/files/data.dat" "$work/files/"*.bin \
    "$work/files/ctl"* "$work/files/lit"*
py sarif "$tmp/enforce.json" enforce
py sarif "$tmp/audit.json" audit
py sarif-abs "$tmp/abs.json"
version=$("$GATE" version 2>/dev/null)
check "sarif: driver.version is gate's version" python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))["runs"][0]["tool"]["driver"]["version"]
sys.exit(0 if v and v in sys.argv[2] else 1)' "$tmp/enforce.json" "$version"
# An empty report (no files, e.g. an empty dist/) is still valid SARIF.
mkdir "$tmp/empty"
rc "sarif of an empty directory (--allow-empty): exit 0" 0 "$GATE" check "${enforce[@]}" --allow-empty --format sarif \
    --output "$tmp/empty.json" "$tmp/empty"

# A broken copy, to show that the schema check can fail.
python3 - "$tmp/enforce.json" "$tmp/broken.json" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
r = o["runs"][0]["results"][0]
r["level"] = "fatal"
r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "files/a b<c>.bin"
json.dump(o, open(sys.argv[2], "w"))
EOF

# Fetch ajv and the schema into $NODE_DIR once. Any failure (no npm, no
# network) returns non-zero with the reason in $tmp/npm.log.
npm_opts=(--no-audit --no-fund --loglevel=error --fetch-retries=1 --fetch-timeout=60000)
setup_ajv() {
    if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
        echo "error: npm or node not found" >"$tmp/npm.log"
        return 1
    fi
    mkdir -p "$NODE_DIR" || return 1
    if [ ! -x "$NODE_DIR/node_modules/.bin/ajv" ] || [ ! -d "$NODE_DIR/node_modules/ajv-formats" ]; then
        timeout 300 npm install --prefix "$NODE_DIR" "${npm_opts[@]}" --ignore-scripts \
            ajv-cli@5.0.0 ajv-formats@3.0.1 >"$tmp/npm.log" 2>&1 || return 1
    fi
    if [ ! -s "$SCHEMA" ]; then
        local t
        t=$(mktemp -d -p "$NODE_DIR") || return 1
        # The package is large (it carries the SARIF multitool); only the
        # schema is kept.
        if (cd "$t" && timeout 400 npm pack "${npm_opts[@]}" --silent "$SCHEMA_PKG") \
            >"$tmp/npm.log" 2>&1 &&
            tar -xzf "$t"/*.tgz -C "$t" "$SCHEMA_IN_PKG" 2>>"$tmp/npm.log" &&
            python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))
sys.exit(0 if "2.1.0" in s["title"] else 1)' "$t/$SCHEMA_IN_PKG" 2>>"$tmp/npm.log"; then
            mv "$t/$SCHEMA_IN_PKG" "$SCHEMA"
        fi
        rm -rf -- "$t"
        [ -s "$SCHEMA" ] || return 1
    fi
}

ajv_validate() { # ajv_validate FILE.json
    "$NODE_DIR/node_modules/.bin/ajv" validate --spec=draft2020 --all-errors -c ajv-formats \
        -s "$SCHEMA" -d "$1" >"$tmp/ajv.log" 2>&1
}

if setup_ajv; then
    for f in enforce audit abs empty; do
        if ajv_validate "$tmp/$f.json"; then
            pass
        else
            fail "ajv: $f.json is not valid SARIF 2.1.0"
            head -n 30 "$tmp/ajv.log"
        fi
    done
    if ajv_validate "$tmp/broken.json"; then
        fail "ajv: accepted a broken SARIF file"
    elif grep -q "format" "$tmp/ajv.log" && grep -q "enum" "$tmp/ajv.log"; then
        pass # rejected for the level and for the URI format
    else
        fail "ajv: rejected the broken file for other reasons"
        head -n 30 "$tmp/ajv.log"
    fi
else
    skip "SARIF schema validation with ajv: npm registry unavailable ($(grep -m1 -i error "$tmp/npm.log" | cut -c1-160))"
fi

# The same schema with python's jsonschema, when that module is there.
if [ -s "$SCHEMA" ] && python3 -c 'import jsonschema' 2>/dev/null; then
    for f in enforce audit abs empty; do py jsonschema "$SCHEMA" "$tmp/$f.json"; done
else
    skip "SARIF schema validation with python jsonschema: no schema or no jsonschema module"
fi

# ---- JUnit ----
rc "junit to --output" 2 "$GATE" check "${enforce[@]}" --format junit --output "$tmp/enforce.xml" files
rc "junit audit" 0 "$GATE" check "${audit[@]}" --format junit --output "$tmp/audit.xml" files
py junit "$tmp/enforce.xml" enforce
py junit "$tmp/audit.xml" audit
rc "junit of an empty directory (--allow-empty): exit 0" 0 "$GATE" check "${enforce[@]}" --allow-empty --format junit \
    --output "$tmp/empty.xml" "$tmp/empty"
check "junit: empty report is well-formed" python3 -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
sys.exit(0 if r.get("tests") == "0" and len(r.findall("testsuite")) == 1 else 1)' "$tmp/empty.xml"

# junitparser: Debian's python3-junitparser is for the system python.
jp_python=/usr/bin/python3
[ -x "$jp_python" ] || jp_python=python3
if ! "$jp_python" -c 'import junitparser' 2>/dev/null && [ "$(id -u)" -eq 0 ] &&
    command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends \
        python3-junitparser >"$tmp/apt.log" 2>&1
fi
if "$jp_python" -c 'import junitparser' 2>/dev/null; then
    py_with "$jp_python" junitparser "$tmp/enforce.xml" enforce
    py_with "$jp_python" junitparser "$tmp/audit.xml" audit
else
    skip "junitparser: python3-junitparser is not installed and could not be installed"
fi

# ---- Markdown (a CI job's summary page) ----
rc "markdown to stdout" 2 "$GATE" check "${enforce[@]}" --format markdown files
cp "$tmp/out" "$tmp/enforce.md"
py markdown "$tmp/enforce.md" enforce
rc "markdown audit" 0 "$GATE" check "${audit[@]}" --output markdown="$tmp/audit.md" files
py markdown "$tmp/audit.md" audit
mkdir "$tmp/many"
for i in $(seq 1 130); do printf 'x%s\n' "$i" >"$tmp/many/f$i.txt" || fail "fixture: many/f$i.txt"; done
rc "markdown of 130 files" 0 "$GATE" check "${enforce[@]}" --output markdown="$tmp/many.md" "$tmp/many"
py markdown-cap "$tmp/many.md" 130
rc "markdown of an empty directory" 0 "$GATE" check "${enforce[@]}" --allow-empty --format markdown "$tmp/empty"
check "markdown: an empty run still has its counts" grep -qF "**0 allowed, 0 denied, 0 errors**" "$tmp/out"

# ---- several reports in one run ----
export GATE_TIME=2026-01-02T03:04:05Z
rc "four reports in one run" 2 "$GATE" check "${enforce[@]}" --output sarif="$tmp/m.sarif" \
    --output junit="$tmp/m.xml" --output markdown="$tmp/m.md" --output json="$tmp/m.json" files
check "several outputs: nothing on stdout without --format" test ! -s "$tmp/out"
for f in m.sarif m.xml m.md m.json; do check "several outputs: $f written" test -s "$tmp/$f"; done
for pair in "sarif m.sarif" "junit m.xml" "markdown m.md" "json m.json"; do
    set -- $pair
    "$GATE" check "${enforce[@]}" --format "$1" files >"$tmp/single.$1" 2>/dev/null
    check "several outputs: $2 is the --format $1 report" cmp -s "$tmp/single.$1" "$tmp/$2"
done
rc "--format with FORMAT=FILE outputs: stdout too" 2 "$GATE" check "${enforce[@]}" --format text \
    --output sarif="$tmp/m2.sarif" files
check "--format text still goes to stdout" grep -q "allowed, .* denied" "$tmp/out"
rc "--format F --output FILE with FORMAT=FILE" 2 "$GATE" check "${enforce[@]}" --format junit \
    --output "$tmp/plain.xml" --output sarif="$tmp/m3.sarif" files
check "--output FILE takes the --format report" cmp -s "$tmp/plain.xml" "$tmp/m.xml"
check "--output FILE: nothing on stdout" test ! -s "$tmp/out"
unset GATE_TIME
# A report that cannot be written fails the run (exit 2) and leaves no
# partial or temporary file; the others are still written.
mkdir "$tmp/wr" "$tmp/wr/adir"
rc "an output that cannot be written: exit 2" 2 "$GATE" check "${enforce[@]}" \
    --output sarif="$tmp/wr/adir" --output junit="$tmp/wr/ok.xml" files/a.txt
check "failed output: the error names the file" grep -qF "$tmp/wr/adir: cannot rename" "$tmp/err"
check "failed output: still a directory, no temporary file left" \
    bash -c '[ -d "$1/adir" ] && [ -z "$(ls -A "$1/adir")" ] && [ "$(ls -A "$1")" = "$(printf "adir\nok.xml")" ]' _ "$tmp/wr"
check "failed output: the other report is written" grep -q "<testsuites" "$tmp/wr/ok.xml"
# usage errors
rc "two --output FILE: exit 2" 2 "$GATE" check "${enforce[@]}" --output a --output b files/a.txt
check "two --output FILE: the message says why" grep -qF -- "--output FILE given twice" "$tmp/err"
rc "--output FORMAT= with no file: exit 2" 2 "$GATE" check "${enforce[@]}" --output sarif= files/a.txt
check "--output FORMAT=: the message says why" grep -qF -- "--output needs a FILE" "$tmp/err"
many=()
for i in 1 2 3 4 5 6 7 8 9; do many+=(--output "json=$tmp/n$i.json"); done
rc "nine --output: exit 2" 2 "$GATE" check "${enforce[@]}" "${many[@]}" files/a.txt
check "nine --output: the message says why" grep -qF "at most 8 --output" "$tmp/err"
check "nine --output: nothing written" test ! -e "$tmp/n1.json"
rc "an unknown FORMAT= is a file name" 0 "$GATE" check "${enforce[@]}" --output "$tmp/yaml=x" files/a.txt
check "an unknown FORMAT= is a file name: written" grep -q "1 allowed" "$tmp/yaml=x"
rc "--format markdown is accepted" 0 "$GATE" check "${enforce[@]}" --format markdown files/a.txt
rc "--format bogus: exit 2" 2 "$GATE" check "${enforce[@]}" --format bogus files/a.txt
check "--format bogus: the message lists markdown" grep -qF "junit or markdown" "$tmp/err"

# ---- progress on a terminal ----
# Eight threads finish files in any order; the bar shows a shared count
# that never goes back, with a rate, and is erased at the end.
if command -v script >/dev/null; then
    mkdir "$tmp/prog"
    for i in $(seq 1 1500); do printf 'p%s\n' "$i" >"$tmp/prog/f$i.txt" || fail "fixture: prog/f$i.txt"; done
    script -qec "'$GATE' check --policy '$work/policy-enforce.yaml' --jobs 8 '$tmp/prog'" \
        /dev/null >"$tmp/tty.out" 2>&1 || fail "progress: gate check on a TTY: exit $? ($(tail -c 300 "$tmp/tty.out"))"
    check "progress: counts never go back, reach the end, show a rate, then are erased" python3 -c '
import re, sys
d = open(sys.argv[1], "rb").read()
draws = re.findall(rb"\rchecking \[[#.]{30}\] (\d+)/1500( \d+/s)?\x1b\[K", d)
counts = [int(c) for c, _ in draws]
ok = bool(counts) and all(a < b for a, b in zip(counts, counts[1:])) and counts[-1] == 1500
ok = ok and any(r for _, r in draws) and re.search(rb"1500/1500[^\r]*\r\x1b\[K", d)
if not ok:
    print("counts:", counts[:20], "...", counts[-5:], "rates:", [r for _, r in draws][:5])
sys.exit(0 if ok else 1)' "$tmp/tty.out"
else
    skip "progress on a TTY: no script(1)"
fi
rc "no progress bar without a terminal" 0 "$GATE" check "${enforce[@]}" --jobs 8 "$tmp/many"
check "no progress bar without a terminal: nothing drawn" not_grep "checking [" "$tmp/err"

# ---- CI templates ----
yaml_python=
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import yaml' 2>/dev/null; then yaml_python=$p; break; fi
done
if [ -n "$yaml_python" ]; then
    py_with "$yaml_python" ci-yaml "$SRC/hooks/ci"
else
    skip "hooks/ci YAML: no python3 with PyYAML"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
