#!/usr/bin/env bash
# test_check_cli.sh - `gate check`, `gate policy lint` and `gate policy explain`
# end to end, with evidence from a private Sigstore instance
# (tests/tools/sigstore_stack.py) and keys made with openssl: k-of-n distinct
# signers from sidecars and evidence stores, tampering, missing evidence,
# type confusion, special files, directory walks, --jobs determinism, default
# deny, freshness, managed keys, the audit log, and policy diagnostics.
#
# Env (set by CTest): GATE, GATE_SOURCE_DIR, GATE_BUILD_DIR.
# Skips (exit 0) when /usr/bin/python3 has no `cryptography` module.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${GATE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
gate=${GATE:-${GATE_BUILD_DIR:-$src/build}/gate}
py=/usr/bin/python3
stack=$src/tests/tools/sigstore_stack.py

if ! "$py" -c 'import cryptography' 2>/dev/null; then
	echo "SKIP: $py has no cryptography module (apt-get install python3-cryptography)"
	exit 0
fi
if [ ! -x "$gate" ]; then
	echo "gate binary not found at $gate (set GATE)" >&2
	exit 1
fi
gate=$(cd "$(dirname "$gate")" && pwd)/$(basename "$gate") # one case runs from /

tmp=$(mktemp -d)
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

passed=0
failed=0
code=0

pass() {
	passed=$((passed + 1))
	echo "ok - $1"
}

# fail DESC: count it and show what the last `run` printed.
fail() {
	failed=$((failed + 1))
	echo "FAIL - $1 (last exit $code)"
	sed 's/^/    out: /' "$tmp/out" 2>/dev/null | head -40
	sed 's/^/    err: /' "$tmp/err" 2>/dev/null | head -20
}

# assert DESC TEST...: the tiny assert helper; TEST is any command.
assert() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# run COMMAND...: stdout in $tmp/out, stderr in $tmp/err, status in $code.
run() {
	"$@" >"$tmp/out" 2>"$tmp/err"
	code=$?
}

# fixture DESC COMMAND...: a step that makes what later checks need; when it
# fails, the test stops there with the tool's own output and the tally.
fixture() {
	local desc=$1
	shift
	run "$@"
	[ "$code" -eq 0 ] && return 0
	fail "$desc"
	echo "$passed passed, $failed failed"
	exit 1
}

is() { [ "$1" = "$2" ]; }
has() { grep -qF -- "$2" "$1"; }
has_re() { grep -qE -- "$2" "$1"; }

# j EXPR [FILE]: evaluate a Python expression over the JSON document d.
j() {
	"$py" -c 'import json, sys
d = json.load(open(sys.argv[2]))
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (list, dict, bool)) or r is None else r)' "$1" "${2:-$tmp/out}" 2>&1
}

# Everything is signed at a fixed time; "now" is fixed with --current-time.
T=1750000000 # 2025-06-15T15:06:40Z; the log time (the signing time) is T+1
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
NOW=$(rfc $((T + 3600)))
iss=https://accounts.example.com
inst=$tmp/instance
root=$inst/trusted_root.json
pol=$tmp/pol # policies live here; relative names in them resolve here
store=$pol/store
mkdir -p "$pol" "$store" "$tmp/art"

if ! "$py" "$stack" init "$inst" --not-before 2025-01-01T00:00:00Z --days 3650 \
	>"$tmp/out" 2>"$tmp/err"; then
	fail "init the private Sigstore instance"
	echo "$passed passed, $failed failed"
	exit 1
fi

# sign ARTIFACT IDENTITY BUNDLE [--time N]: a keyless bundle.
sign() {
	local art=$1 id=$2 out=$3
	shift 3
	fixture "sign $art as $id" "$py" "$stack" sign "$inst" "$art" --identity "$id" \
		--issuer "$iss" --time "$T" --out "$out" "$@"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# stored ARTIFACT: its evidence-store folder.
stored() {
	local d=$store/sha256/$(sha "$1")
	mkdir -p "$d"
	echo "$d"
}

# A policy with signer set devs = {alice, bob} and one rule over it.
# devs_policy FILE REQUIRE-FLOW [EXTRA-TOP-LEVEL-LINES]
devs_policy() {
	cat >"$1" <<EOF
version: 1
trust:
  sigstore: {trusted_root: $root}
signers:
  devs:
    - keyless: {issuer: $iss, identity: alice@example.com}
    - keyless: {issuer: $iss, identity: bob@example.com}
rules:
  - name: two devs
    require: $2
${3:-}
EOF
}

devs_policy "$pol/two.yaml" '{signers: devs, threshold: 2, tlog: required}'
devs_policy "$pol/two-store.yaml" '{signers: devs, threshold: 2}' 'evidence: {dirs: [store]}'
devs_policy "$pol/one.yaml" '{signers: devs}'
devs_policy "$pol/fresh.yaml" '{signers: devs, max_age: 1d}'
cat >"$pol/allow.yaml" <<EOF
version: 1
rules:
  - name: everything
    decision: allow
EOF
sed 's/^version: 1$/version: 1\nmode: audit/' "$pol/allow.yaml" >"$pol/allow-audit.yaml"

check() { run "$gate" check --current-time "$NOW" "$@"; }

# ---- k of n distinct keyless signers --------------------------------------

a=$tmp/art/app.bin
head -c 4096 /dev/urandom >"$a"
sign "$a" alice@example.com "$a.sigstore.json"
sign "$a" bob@example.com "$(stored "$a")/second.sigstore.json"

check --policy "$pol/two.yaml" --evidence "$store" --format json "$a"
assert "two signers (sidecar + --evidence store): exit 0" is "$code" 0
assert "two signers: verdict allow" is "$(j 'd["results"][0]["verdict"]')" allow
assert "two signers: both bundles verified" is \
	"$(j '[e["identity"] for e in d["results"][0]["evidence"] if e["verified"]]')" \
	'["alice@example.com", "bob@example.com"]'
assert "two signers: the store bundle is named as the source" \
	has_re "$tmp/out" "\"source\": \".*/sha256/$(sha "$a")/second.sigstore.json\""

check --policy "$pol/two.yaml" --format json "$a"
assert "without the store: one signer, exit 1" is "$code" 1
assert "without the store: reason says 1 of 2" has "$tmp/out" "1 of 2 required distinct signers"

# evidence.dirs relative to the policy file, whatever the working directory
(cd / && "$gate" check --policy "$pol/two-store.yaml" --current-time "$NOW" --format json \
	"$a" >"$tmp/out" 2>"$tmp/err")
code=$?
assert "two signers (policy evidence.dirs, relative to the policy): exit 0" is "$code" 0
assert "policy evidence.dirs: verdict allow" is "$(j 'd["results"][0]["verdict"]')" allow

# the same identity twice is one signer
b=$tmp/art/same.bin
head -c 4096 /dev/urandom >"$b"
sign "$b" alice@example.com "$b.sigstore.json"
sign "$b" alice@example.com "$(stored "$b")/second.sigstore.json"
check --policy "$pol/two.yaml" --evidence "$store" --format json "$b"
assert "same identity twice: exit 1" is "$code" 1
assert "same identity twice: verdict deny" is "$(j 'd["results"][0]["verdict"]')" deny
assert "same identity twice: two bundles verified" is \
	"$(j 'sum(e["verified"] for e in d["results"][0]["evidence"])')" 2
assert "same identity twice: 1 of 2 distinct signers" has "$tmp/out" \
	"1 of 2 required distinct signers of 'devs' verified (2 verified signatures, 2 from the set)"

# ---- tampering and missing evidence ----------------------------------------

c=$tmp/art/tampered.bin
head -c 4096 /dev/urandom >"$c"
sign "$c" alice@example.com "$c.sigstore.json"
check --policy "$pol/one.yaml" "$c"
assert "untampered artifact: exit 0" is "$code" 0
"$py" -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(b)' "$c"
check --policy "$pol/one.yaml" --format json "$c"
assert "one byte changed after signing: exit 1" is "$code" 1
assert "tampered: verdict deny" is "$(j 'd["results"][0]["verdict"]')" deny
assert "tampered: the reason names the S-rule" has_re "$tmp/out" \
	'"reason": "rule .two devs.: 0 of 1 .*\.sigstore\.json: S[0-9]+ '
assert "tampered: the evidence item carries the rule" \
	has_re "$tmp/out" '"rule": "S[0-9]+"'

d=$tmp/art/unsigned.bin
head -c 100 /dev/urandom >"$d"
check --policy "$pol/one.yaml" --format json "$d"
assert "no evidence: exit 1" is "$code" 1
assert "no evidence: 'no signature found'" has "$tmp/out" "no signature found"

# ---- type confusion: the type is what the bytes are, not the name ----------

x=$tmp/art/x.png
printf '#!/bin/sh\necho pwned\n' >"$x"
cat >"$pol/png.yaml" <<EOF
version: 1
rules:
  - name: images
    match: {type: image/png}
    decision: allow
EOF
check --policy "$pol/png.yaml" --format json "$x"
mime=$(j 'd["results"][0]["mime"]')
assert "a script named .png: exit 1" is "$code" 1
assert "a script named .png is not typed image/png" test "$mime" != image/png
if command -v file >/dev/null; then
	assert "the mime is libmagic's ($mime)" is "$mime" "$(file -b --mime-type "$x")"
fi
assert "a script named .png: no rule matches" has "$tmp/out" "no rule matches ($mime"
cat >"$pol/types.yaml" <<EOF
version: 1
rules:
  - name: scripts
    match: {type: "$mime"}
    decision: deny
  - name: pngs by name
    match: {path: "**/*.png"}
    decision: allow
EOF
check --policy "$pol/types.yaml" --format json "$x"
assert "matched by type first: exit 1" is "$code" 1
assert "matched by type first: rule scripts" is "$(j 'd["results"][0]["rule"]')" scripts
# The type database is libmagic's own: $MAGIC (an empty database here,
# which would type everything application/octet-stream or fail) is ignored.
: >"$tmp/empty.mgc"
MAGIC=$tmp/empty.mgc check --policy "$pol/types.yaml" --format json "$x"
assert "\$MAGIC is ignored: still typed $mime" is "$(j 'd["results"][0]["mime"]')" "$mime"

# ---- special files: an error verdict, fail closed --------------------------

sp=$tmp/special
mkdir -p "$sp"
printf 'data\n' >"$sp/target"
ln -s "$sp/target" "$sp/link"
mkfifo "$sp/fifo"
specials=("$sp/link" "$sp/fifo" "$sp/missing")
if [ "$(id -u)" -ne 0 ]; then
	printf 'secret\n' >"$sp/unreadable"
	chmod 000 "$sp/unreadable"
	specials+=("$sp/unreadable")
elif [ -f /proc/self/mem ]; then
	# root reads any mode; its own memory at offset 0 is a regular file
	# whose read fails (EIO)
	specials+=(/proc/self/mem)
fi
for f in "${specials[@]}"; do
	n=${f##*/}
	check --policy "$pol/allow.yaml" --format json "$f"
	assert "$n: exit 2 in enforce mode" is "$code" 2
	assert "$n: verdict error, not allowed" is \
		"$(j '[d["results"][0]["verdict"], d["results"][0]["allowed"]]')" '["error", false]'
	check --policy "$pol/allow-audit.yaml" --format json "$f"
	assert "$n: exit 0 in audit mode" is "$code" 0
	assert "$n: audit mode still reports the error" is \
		"$(j '[d["results"][0]["verdict"], d["results"][0]["allowed"]]')" '["error", true]'
done
check --policy "$pol/allow.yaml" "$sp/link"
assert "symlink: reason says it is a link" has "$tmp/out" "is a symbolic link"

# ---- directory walk ---------------------------------------------------------

tree=$tmp/tree
mkdir -p "$tree/sub/deeper"
head -c 512 /dev/urandom >"$tree/a.bin"
sign "$tree/a.bin" alice@example.com "$tree/a.bin.sigstore.json"
head -c 512 /dev/urandom >"$tree/sub/b.bin"
echo "not a signature" >"$tree/sub/b.bin.sig"
echo "not a certificate" >"$tree/sub/b.bin.pem"
printf 'x' >"$tree/sub/deeper/c.txt"
: >"$tree/sub/deeper/c.txt.bundle"
: >"$tree/sub/z.p7s"
check --policy "$pol/one.yaml" --format json "$tree"
assert "directory: exit 1 (two files without valid evidence)" is "$code" 1
assert "directory: walked recursively, name order, sidecars of decided files left out" is \
	"$(j '[r["path"] for r in d["results"]]')" \
	"[\"$tree/a.bin\", \"$tree/sub/b.bin\", \"$tree/sub/deeper/c.txt\", \"$tree/sub/z.p7s\"]"
assert "directory: a.bin allowed by its sidecar; z.p7s (no z) decided" is \
	"$(j '[r["verdict"] for r in d["results"]]')" '["allow", "deny", "deny", "deny"]'

# Evidence names hide nothing: a program named like a sidecar, a folder
# named like one and a store entry of no decided file are all decided.
hide=$tmp/hide
mkdir -p "$hide/tools.sig" "$hide/store/sha256"
cp /bin/ls "$hide/tool.bundle"
cp /bin/ls "$hide/tools.sig/inner"
head -c 64 /dev/urandom >"$hide/owned"
: >"$hide/store/sha256/$(sha256sum "$hide/owned" | cut -d' ' -f1).sigstore.json"
: >"$hide/store/sha256/$(printf '%064d' 0).sigstore.json"
check --policy "$pol/one.yaml" --format json "$hide"
assert "evidence names: exit 1 (all denied)" is "$code" 1
assert "evidence names: every file decided, the owned store entry left out" is \
	"$(j '[r["path"][len("'"$hide"'/"):] for r in d["results"]]')" \
	"[\"owned\", \"store/sha256/$(printf '%064d' 0).sigstore.json\", \"tool.bundle\", \"tools.sig/inner\"]"
run "$gate" check --policy "$pol/one.yaml" --format sarif "$hide"
assert "evidence names: SARIF lists tool.bundle" has "$tmp/out" "tool.bundle"

# Nothing to decide is an error, unless asked for.
mkdir -p "$tmp/empty"
check --policy "$pol/one.yaml" "$tmp/empty"
assert "empty folder: exit 2" is "$code" 2
assert "empty folder: says so" has "$tmp/err" "no file to decide"
check --policy "$pol/one.yaml" --allow-empty "$tmp/empty"
assert "empty folder with --allow-empty: exit 0" is "$code" 0

# --output never writes through a link: the link is replaced.
echo precious >"$tmp/victim"
ln -s "$tmp/victim" "$tmp/report.json"
check --policy "$pol/one.yaml" --format json --output "$tmp/report.json" "$hide/owned"
assert "--output over a symlink: exit 1 (denied)" is "$code" 1
assert "--output over a symlink: the link's target is untouched" is "$(cat "$tmp/victim")" precious
assert "--output over a symlink: the report replaced the link" \
	test -f "$tmp/report.json" -a ! -L "$tmp/report.json"
assert "--output: the report is there" has "$tmp/report.json" '"denied": 1'

# ---- one spelling per path: deny-by-path cannot be dodged ------------------
# Relative globs are anchored at the policy file's folder; every spelling
# of the path, and a check run from another folder, meets the same rule.
ws=$tmp/ws
mkdir -p "$ws/ord/sub" "$ws/x"
printf '#!/bin/sh\necho evil\n' >"$ws/ord/sub/evil.sh"
printf '#!/bin/sh\necho fine\n' >"$ws/ord/fine.sh"
cat >"$ws/policy.yaml" <<EOF
version: 1
rules:
  - name: nothing from ord/sub
    match: {path: ["ord/sub/*"]}
    decision: deny
  - name: the rest
    decision: allow
EOF
sed "s|\"ord/sub/\*\"|\"$ws/ord/sub/*\"|" "$ws/policy.yaml" >"$ws/absolute.yaml"
for spelling in ord/sub/evil.sh ./ord/sub/evil.sh ord//sub/evil.sh ord/./sub/evil.sh \
	x/../ord/sub/evil.sh "$ws/ord/sub/evil.sh" "$ws//ord/x/../sub/./evil.sh"; do
	for wpol in policy.yaml absolute.yaml; do
		run env -C "$ws" "$gate" check --policy "$wpol" "$spelling"
		assert "spelling '$spelling' ($wpol): denied" is "$code" 1
	done
done
run env -C "$ws/ord" "$gate" check --policy ../policy.yaml .
assert "check . from inside ord: exit 1" is "$code" 1
assert "check . from inside ord: sub/evil.sh denied by the rule" has "$tmp/out" \
	"rule 'nothing from ord/sub' decides deny"
assert "check . from inside ord: fine.sh allowed" has "$tmp/out" "1 allowed, 1 denied"
run env -C "$ws" "$gate" check --policy policy.yaml --format json ./ord//fine.sh
assert "reports show the path with its spelling resolved" is "$(j 'd["results"][0]["path"]')" \
	ord/fine.sh

# ---- digest lists: before every rule, deny beats allow ---------------------
dg=$tmp/digests
mkdir -p "$dg"
cp "$a" "$dg/signed.bin"
cp "$a.sigstore.json" "$dg/signed.bin.sigstore.json"
head -c 100 /dev/urandom >"$dg/pinned.bin"
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
{
	echo "# revoked builds"
	echo
	echo "  $(sha "$dg/signed.bin")  "
} >"$dg/revoked.txt"
upper="sha256:$(sha256sum "$dg/pinned.bin" | cut -d' ' -f1 | tr a-f A-F)" # either case
awk -v list="$dg/revoked.txt" -v pin="$upper" '/^rules:/ {
	print "digests:"; print "  deny_file: " list; print "  allow: [\"" pin "\"]" } { print }' \
	"$pol/one.yaml" >"$dg/policy.yaml"
check --policy "$pol/one.yaml" "$dg/signed.bin"
assert "digests: the signed file is allowed by its signer without the list" is "$code" 0
check --policy "$dg/policy.yaml" --format json "$dg/signed.bin" "$dg/pinned.bin"
assert "digests: exit 1" is "$code" 1
assert "digests: a denied digest beats its valid signature" is \
	"$(j '[d["results"][0]["verdict"], d["results"][0]["rule"]]')" '["deny", "digests.deny"]'
assert "digests: the reason names the digest and the list" has "$tmp/out" \
	"$(sha "$dg/signed.bin") is on the policy's deny list (digests.deny)"
assert "digests: an unsigned file on the allow list is allowed" is \
	"$(j '[d["results"][1]["verdict"], d["results"][1]["rule"]]')" '["allow", "digests.allow"]'
awk -v d="$(sha "$dg/pinned.bin")" '{ print } /^  allow:/ { print "  deny: [\"" d "\"]" }' \
	"$dg/policy.yaml" >"$dg/both.yaml"
check --policy "$dg/both.yaml" "$dg/pinned.bin"
assert "digests: on both lists, deny wins" is "$code" 1
printf 'sha256:1234\n' >"$dg/bad.txt"
awk -v list="$dg/bad.txt" '/^rules:/ { print "digests:"; print "  deny_file: " list } { print }' \
	"$pol/one.yaml" >"$dg/bad.yaml"
run "$gate" policy lint "$dg/bad.yaml"
assert "digests: a malformed list line: exit 2" is "$code" 2
assert "digests: the error names the file and line" has "$tmp/out" "$dg/bad.txt:1: not sha256: and 64 hex digits"
printf 'version: 1\ndigests: {deny: [md5:abc]}\nrules: []\n' >"$dg/inline.yaml"
run "$gate" policy lint "$dg/inline.yaml"
assert "digests: a malformed inline entry names FILE:LINE:COL" grep -qE \
	"^$dg/inline.yaml:2:[0-9]+: error: digests.deny: 'md5:abc' is not sha256: and 64 hex digits" "$tmp/out"

# ---- --jobs does not change the result -------------------------------------

many=$tmp/many
mkdir -p "$many/x" "$many/y"
for i in $(seq 1 12); do
	f=$many/$([ $((i % 2)) -eq 0 ] && echo x || echo y)/f$i.bin
	head -c $((i * 100)) /dev/urandom >"$f"
	[ $((i % 3)) -eq 0 ] && sign "$f" alice@example.com "$f.sigstore.json"
done
printf 'changed' >>"$many/x/f6.bin" # signed, then changed
"$gate" check --policy "$pol/one.yaml" --current-time "$NOW" --format json --jobs 1 "$many" \
	>"$tmp/jobs1.json" 2>"$tmp/err"
c1=$?
"$gate" check --policy "$pol/one.yaml" --current-time "$NOW" --format json --jobs 4 "$many" \
	>"$tmp/jobs4.json" 2>"$tmp/err"
c4=$?
cp "$tmp/jobs4.json" "$tmp/out"
assert "--jobs 1 and --jobs 4: same exit code" is "$c1" "$c4"
assert "--jobs 1 and --jobs 4: identical JSON" cmp -s "$tmp/jobs1.json" "$tmp/jobs4.json"
assert "--jobs 4: results in sorted order" is \
	"$(j '[r["path"] for r in d["results"]] == sorted(r["path"] for r in d["results"])')" true
assert "--jobs 4: 12 files, 3 allowed" is "$(j '[len(d["results"]), d["allowed"]]')" '[12, 3]'

# ---- fixed decisions and the default ----------------------------------------

check --policy "$pol/png.yaml" --format json "$d"
assert "no rule matches: exit 1" is "$code" 1
assert "no rule matches: rule is null" is "$(j 'd["results"][0]["rule"]')" null
assert "no rule matches: reason says denied by default" has "$tmp/out" "denied by default"

check --policy "$pol/allow.yaml" "$d"
assert "decision: allow: exit 0" is "$code" 0
assert "decision: allow: reason names the rule" has "$tmp/out" "rule 'everything' decides allow"

# ---- freshness: max_age against --current-time ------------------------------

run "$gate" check --policy "$pol/fresh.yaml" --current-time "$(rfc $((T + 1 + 86400)))" "$a"
assert "max_age 1d: exactly one day after signing: exit 0" is "$code" 0
run "$gate" check --policy "$pol/fresh.yaml" --current-time "$(rfc $((T + 1 + 86401)))" "$a"
assert "max_age 1d: one second later: exit 1" is "$code" 1
assert "max_age 1d: the reason names max_age" has_re "$tmp/out" "must be at most [^ ]+ old"
GATE_TIME=$(rfc $((T + 1 + 86401))) run "$gate" check --policy "$pol/fresh.yaml" "$a"
assert "GATE_TIME works like --current-time" is "$code" 1

# ---- managed keys -----------------------------------------------------------

k=$tmp/keys
mkdir -p "$k"
for n in release other; do
	fixture "make the $n key" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$k/$n.key"
	fixture "make the $n public key" openssl pkey -in "$k/$n.key" -pubout -out "$k/$n.pub"
done
m=$tmp/art/keyed.bin
head -c 2048 /dev/urandom >"$m"
fixture "sign with the release key" "$py" "$stack" sign-key "$inst" "$m" --key "$k/release.key" \
	--time "$T" --out "$m.sigstore.json"
key_policy() {
	cat >"$1" <<EOF
version: 1
trust:
  sigstore: {trusted_root: $root}
  keys:
    release: {file: $2}
signers:
  release:
    - key: release
rules:
  - name: release key
    require: {signers: release, tlog: required}
EOF
}
key_policy "$pol/key.yaml" "$k/release.pub"
key_policy "$pol/otherkey.yaml" "$k/other.pub"
check --policy "$pol/key.yaml" --format json "$m"
assert "managed key pinned by the policy: exit 0" is "$code" 0
assert "managed key: signer kind key" is "$(j 'd["results"][0]["evidence"][0]["signer"]')" key
check --policy "$pol/otherkey.yaml" --format json "$m"
assert "policy pins another key: exit 1" is "$code" 1
assert "policy pins another key: says which keys it pins" has "$tmp/out" "no key the policy pins (release) verifies it: signed by another key, or the file changed"

# ---- audit log --------------------------------------------------------------

u=$tmp/art/unexpected.bin
head -c 300 /dev/urandom >"$u"
sign "$u" mallory@example.com "$u.sigstore.json"
devs_policy "$pol/audit.yaml" '{signers: devs}' 'audit: {log: audit.jsonl}'
check --policy "$pol/audit.yaml" "$a" "$u"
assert "audit policy: exit 1 (mallory is no dev)" is "$code" 1
log=$pol/audit.jsonl
assert "audit log written next to the policy" test -s "$log"
audit_summary() {
	"$py" -c 'import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
dec = sorted((e["path"].rsplit("/", 1)[1], e["verdict"]) for e in ev if e["event"] == "decision")
un = [(e["signer"]["identity"], e["evidence"].rsplit("/", 1)[1]) for e in ev
      if e["event"] == "unexpected_signer"]
print(len(ev), dec, un)' "$1" 2>&1
}
assert "audit log: one JSON line per decision, one unexpected_signer event" is \
	"$(audit_summary "$log")" \
	"3 [('app.bin', 'allow'), ('unexpected.bin', 'deny')] [('mallory@example.com', 'unexpected.bin.sigstore.json')]"

# ---- policy diagnostics -----------------------------------------------------

printf 'version: 1\nrules:\n  - name: r\n    decision: maybe\n' >"$pol/bad.yaml"
check --policy "$pol/bad.yaml" "$d"
assert "malformed policy: exit 2" is "$code" 2
assert "malformed policy: FILE:LINE:COL: on stderr" has "$tmp/err" "$pol/bad.yaml:4:15: "
assert "malformed policy: says why" has "$tmp/err" "decision must be allow or deny, not 'maybe'"
assert "malformed policy: no report" is "$(wc -c <"$tmp/out")" 0

run "$gate" policy lint "$pol/two.yaml"
assert "lint clean: exit 0" is "$code" 0
assert "lint clean: summary" has "$tmp/out" "1 rule, 1 signer set, 0 warnings"
cat >"$pol/broad.yaml" <<EOF
version: 1
signers:
  ci:
    - keyless:
        issuer: https://token.actions.githubusercontent.com
        identity_regex: 'https://github.com/org/.*'
rules:
  - name: r
    require: {signers: ci}
EOF
run "$gate" policy lint "$pol/broad.yaml"
assert "lint over-broad: exit 1" is "$code" 1
assert "lint over-broad: FILE:LINE:COL: warning" has "$tmp/out" "$pol/broad.yaml:4:7: warning: "
run "$gate" policy lint "$pol/bad.yaml"
assert "lint malformed: exit 2" is "$code" 2
assert "lint malformed: FILE:LINE:COL: error" has "$tmp/out" "$pol/bad.yaml:4:15: error: "
run "$gate" policy lint "$pol/two.yaml" "$pol/broad.yaml" "$pol/bad.yaml"
assert "lint several: the worst wins (2)" is "$code" 2

run "$gate" policy explain --policy "$pol/two.yaml" --evidence "$store" --current-time "$NOW" "$a"
assert "explain allowed: exit 0" is "$code" 0
assert "explain allowed: [held] signers" has "$tmp/out" "[held] signers: 2 of 2"
assert "explain allowed: [held] tlog" has "$tmp/out" "[held] tlog: "
assert "explain allowed: each identity shown" has "$tmp/out" "identity: bob@example.com"
run "$gate" policy explain --policy "$pol/fresh.yaml" --current-time "$(rfc $((T + 86402)))" "$a"
assert "explain stale: exit 1" is "$code" 1
assert "explain stale: [FAILED] signers" has "$tmp/out" "[FAILED] signers: 0 of 1"
assert "explain stale: [FAILED] max_age" has "$tmp/out" "[FAILED] max_age: "
run "$gate" policy explain --policy "$pol/allow.yaml" "$sp/fifo"
assert "explain on a FIFO: exit 2" is "$code" 2

# ---- messages that name what failed ------------------------------------------
GATE_POLICY='' run "$gate" check "$a"
assert "GATE_POLICY='': exit 2" is "$code" 2
assert "GATE_POLICY='': names the variable" has "$tmp/err" "GATE_POLICY is empty"
run "$gate" check --policy "$tmp/absent.yaml" "$a"
assert "missing policy: names the file" has "$tmp/err" "$tmp/absent.yaml: cannot open"
# A folder gate cannot read: permission denied, not "not a regular file"
# (as nobody when run as root: root reads any folder).
mkdir -p "$tmp/sealed/in" && cp "$a" "$tmp/sealed/in/x" && chmod 755 "$tmp" "$tmp/sealed" &&
	chmod 000 "$tmp/sealed/in"
as_user=()
[ "$(id -u)" -eq 0 ] && as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
run "${as_user[@]+"${as_user[@]}"}" "$gate" check --policy "$pol/allow.yaml" "$tmp/sealed"
assert "unreadable folder: an error (exit 2)" is "$code" 2
assert "unreadable folder: says permission denied" has "$tmp/out" "cannot read folder $tmp/sealed/in: Permission denied"
chmod 755 "$tmp/sealed/in"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
