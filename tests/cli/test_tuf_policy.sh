#!/usr/bin/env bash
# test_tuf_policy.sh - TUF targets as an allowlist (`trust.tuf.NAME` and
# `require: {tuf_target: NAME, tuf_path: GLOB}`), against a repository made
# with `gate tuf repo` and served on 127.0.0.1: deny before the first
# update, allow by length + SHA-256 after `gate trust update --policy`,
# deny a changed byte, a path outside tuf_path, a replaced target, offline
# lookups within max_staleness (server down), deny past it, `refresh: true`
# updating during a decision (and denying when that fails), expired
# metadata (freeze), a corrupt cache, policy load errors, `trust show`.
# Env (set by CTest): GATE, GATE_SOURCE_DIR, GATE_SHARED_DIR, GATE_BUILD_DIR.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/tuf_lib.sh"

repo=$tmp/repo
art=$tmp/art
pol=$tmp/pol
mkdir -p "$art/pool" "$art/tools" "$pol"
head -c 3000 /dev/urandom >"$art/pool/foo_1.0_amd64.deb"
head -c 5000 /dev/urandom >"$art/tools/bar"
cp "$art/tools/bar" "$art/pool/bar-as.deb"
cp "$art/pool/foo_1.0_amd64.deb" "$art/pool/foo-flipped.deb"
# flip one bit of byte 1500 (setting it to a fixed value would leave the
# file unchanged when the random byte already had that value)
b=$(od -An -tu1 -j1500 -N1 "$art/pool/foo-flipped.deb" | tr -d ' ')
printf "\\$(printf '%03o' $((b ^ 1)))" >"$tmp/flip.byte"
fixture dd if="$tmp/flip.byte" of="$art/pool/foo-flipped.deb" bs=1 seek=1500 conv=notrunc
cmp -s "$art/pool/foo_1.0_amd64.deb" "$art/pool/foo-flipped.deb" && { echo "FAIL: the flip changed nothing"; exit 1; }

if ! make_repo "$repo"; then
	fail "gate tuf repo init"
	finish
fi
run "$gate" tuf repo add --repo "$repo" "${sign_keys[@]}" \
	"$art/pool/foo_1.0_amd64.deb=debs/foo_1.0_amd64.deb" "$art/tools/bar=tools/bar"
assert "repo add: exit 0" is "$code" 0
start_server corp "$repo"
cp "$repo/metadata/1.root.json" "$pol/corp-root.json"

# policy FILE EXTRA-REPO-FIELDS
policy() {
	cat >"$1" <<EOF
version: 1
trust:
  tuf:
    corp: {url: ${url_corp}metadata/, root: corp-root.json, $2}
rules:
  - name: debs from corp
    match: {path: "**/*.deb"}
    require: {tuf_target: corp, tuf_path: "debs/*.deb"}
  - name: tools from corp
    match: {path: "**/tools/*"}
    require: {tuf_target: corp}
  - name: nothing else
    decision: deny
EOF
}
policy "$pol/p.yaml" "max_staleness: 2h"
P=$pol/p.yaml
NOW=$(date -u +%s)
at() { rfc $((NOW + $1)); }
check() { run "$gate" check --policy "$P" --format json "$@"; }
reason() { j 'd["results"][0]["reason"]'; }

run "$gate" policy lint "$P"
assert "lint: the policy loads (exit 0)" is "$code" 0

check --current-time "$(at 0)" "$art/pool/foo_1.0_amd64.deb"
assert "never updated: deny (exit 1)" is "$code" 1
assert "never updated: says so" has "$tmp/out" "TUF repository 'corp' never updated: run 'gate trust update --policy'"
assert "never updated: no network during the decision" is "$(nrequests corp)" 0

GATE_TIME=$(at 0) run "$gate" trust update --policy "$P"
assert "trust update --policy: exit 0" is "$code" 0
assert "trust update --policy: counts roles and targets" has "$tmp/out" "TUF repository 'corp' updated: 1 role, 2 targets"

check --current-time "$(at 60)" "$art/pool/foo_1.0_amd64.deb"
assert "listed artifact: allow (exit 0)" is "$code" 0
assert "listed artifact: reason names the target and role" is "$(reason)" \
	"rule 'debs from corp': listed as 'debs/foo_1.0_amd64.deb' by role 'targets' of TUF repository 'corp'"
assert "listed artifact: requirement line tuf_target" \
	is "$(j '[r["requirement"] for r in d["results"][0]["requirements"]]')" '["tuf_target"]'

assert "listed artifact: the evidence is labelled tuf_target" \
	is "$(j '[(e["source"], e["signer"], e["repository"], e["target"]) for e in d["results"][0]["evidence"]]')" \
	'[["tuf:corp", "tuf_target", "corp", "debs/foo_1.0_amd64.deb"]]'
# The same label in every other output: SARIF, JUnit, the audit log, and
# policy explain's title. SARIF and JUnit show the evidence of a denied
# file: listed, but the rule also wants a signature nobody made.
fixture openssl ecparam -genkey -name prime256v1 -noout -out "$tmp/nobody.key"
fixture openssl ec -in "$tmp/nobody.key" -pubout -out "$pol/nobody.pub"
cat >"$pol/kinds.yaml" <<EOF
version: 1
trust:
  tuf:
    corp: {url: ${url_corp}metadata/, root: corp-root.json, max_staleness: 2h}
  keys:
    nobody: {file: nobody.pub}
signers:
  nobody: [{key: nobody}]
rules:
  - name: listed and signed
    require: {tuf_target: corp, signers: nobody}
audit: {log: $tmp/audit.jsonl}
EOF
deb=$art/pool/foo_1.0_amd64.deb
run "$gate" check --policy "$pol/kinds.yaml" --format sarif --current-time "$(at 60)" "$deb"
assert "listed, unsigned: deny" is "$code" 1
assert "sarif: the evidence is labelled tuf_target" \
	is "$(j '[e["signer"] for e in d["runs"][0]["results"][0]["properties"]["evidence"]]')" '["tuf_target"]'
assert "audit: the decision's signer is labelled tuf_target" \
	is "$(j '[s["kind"] for s in d["signers"]]' "$tmp/audit.jsonl")" '["tuf_target"]'
assert "audit: a listing from the policy's repository is not an unexpected signer" \
	is "$(grep -c unexpected_signer "$tmp/audit.jsonl")" 0
run "$gate" check --policy "$pol/kinds.yaml" --format junit --current-time "$(at 60)" "$deb"
assert "junit: the evidence is labelled tuf_target" has "$tmp/out" "tuf:corp: verified, tuf_target"
run "$gate" policy explain --policy "$pol/kinds.yaml" --current-time "$(at 60)" "$deb"
assert "explain: the signer is a TUF target" has "$tmp/out" "signer: TUF target"

check --current-time "$(at 60)" "$art/pool/foo-flipped.deb"
assert "one byte changed: deny" is "$code" 1
assert "one byte changed: not a target" has "$tmp/out" "not a target of TUF repository 'corp' under 'debs/*.deb'"

check --current-time "$(at 60)" "$art/pool/bar-as.deb"
assert "a target outside tuf_path: deny" is "$code" 1
check --current-time "$(at 60)" "$art/tools/bar"
assert "the same file under the tools rule (no tuf_path): allow" is "$code" 0

run "$gate" policy explain --policy "$P" --current-time "$(at 60)" "$art/tools/bar"
assert "explain shows the tuf_target line" has "$tmp/out" "tuf_target"

# Offline: the server answers nothing useful; lookups use the cache.
clear_log corp
fault corp '{"/metadata/timestamp.json": {"mode": "status", "code": 503}}'
check --current-time "$(at 3600)" "$art/pool/foo_1.0_amd64.deb"
assert "offline within max_staleness: allow" is "$code" 0
assert "offline lookups make no request" is "$(nrequests corp)" 0

check --current-time "$(at $((3 * 3600)))" "$art/pool/foo_1.0_amd64.deb"
assert "past max_staleness: deny" is "$code" 1
assert "past max_staleness: says how old" has "$tmp/out" "last updated 3h ago, more than max_staleness 2h"

# refresh: true, but the server fails: deny with the reason.
policy "$pol/r.yaml" "max_staleness: 2h, refresh: true"
P=$pol/r.yaml
check --current-time "$(at $((3 * 3600)))" "$art/pool/foo_1.0_amd64.deb"
assert "refresh: true, server failing: deny" is "$code" 1
assert "refresh: true, server failing: says the update failed" has "$tmp/out" "and the update failed"
assert "refresh: true, server failing: HTTP status named" has "$tmp/out" "HTTP status 503"
fault corp '{}'
clear_log corp
check --current-time "$(at $((3 * 3600)))" "$art/pool/foo_1.0_amd64.deb"
assert "refresh: true: a stale cache is updated during the decision: allow" is "$code" 0
assert "refresh: true: the decision fetched root and timestamp" has "$tmp/corp.log" "GET /metadata/timestamp.json 200"
P=$pol/p.yaml
check --current-time "$(at $((3 * 3600 + 60)))" "$art/pool/foo_1.0_amd64.deb"
assert "refreshed cache: the plain policy allows again" is "$code" 0

# A replaced target: the old bytes are no longer allowed after the update.
head -c 3000 /dev/urandom >"$art/pool/foo_1.1.deb"
fixture "$gate" tuf repo add --repo "$repo" "${sign_keys[@]}" "$art/pool/foo_1.1.deb=debs/foo_1.0_amd64.deb"
GATE_TIME=$(at $((4 * 3600))) run "$gate" trust update --policy "$P"
assert "update after a replaced target: exit 0" is "$code" 0
check --current-time "$(at $((4 * 3600 + 60)))" "$art/pool/foo_1.0_amd64.deb"
assert "replaced target: the old file is denied" is "$code" 1
check --current-time "$(at $((4 * 3600 + 60)))" "$art/pool/foo_1.1.deb"
assert "replaced target: the new file is allowed" is "$code" 0

# Expired metadata in the cache (timestamp lives 1 day): freeze.
policy "$pol/w.yaml" "max_staleness: 2w"
P=$pol/w.yaml
check --current-time "$(at $((3 * 86400)))" "$art/pool/foo_1.1.deb"
assert "cached timestamp expired: deny" is "$code" 1
assert "cached timestamp expired: freeze attack" has "$tmp/out" "expired metadata: possible freeze attack: timestamp"

# A corrupt cache: the cached targets.json loses a byte.
cdir=$(ls -d "$GATE_CACHE_DIR"/tuf/repos/corp-*)
cp "$cdir/metadata/targets.json" "$tmp/targets.save"
head -c -2 "$tmp/targets.save" >"$cdir/metadata/targets.json"
check --current-time "$(at $((4 * 3600 + 120)))" "$art/pool/foo_1.1.deb"
assert "corrupt cached targets.json: deny" is "$code" 1
assert "corrupt cached targets.json: says why" has "$tmp/out" "TUF repository 'corp': targets: no valid cached copy (offline) [T17]"
cp "$tmp/targets.save" "$cdir/metadata/targets.json"
check --current-time "$(at $((4 * 3600 + 120)))" "$art/pool/foo_1.1.deb"
assert "cache restored: allow" is "$code" 0

# trust show --policy
run "$gate" trust show --policy "$P"
assert "trust show --policy: exit 0" is "$code" 0
assert "trust show --policy: the repository" has "$tmp/out" "TUF repository 'corp': ${url_corp}metadata/"
assert "trust show --policy: last update" has "$tmp/out" "last update:"
run "$gate" trust show --policy "$P" --format json
assert "trust show --policy json: verified" is "$(j 'd["tuf_repositories"][0]["verified"]')" true

# The cache is keyed on the root: another root, another (empty) cache.
make_keys
mkkey other ed25519
fixture "$gate" tuf repo init --repo "$tmp/other" --key "root=$tmp/keys/other.key" \
	--key "timestamp=$tmp/keys/other.key" --key "snapshot=$tmp/keys/other.key" \
	--key "targets=$tmp/keys/other.key"
sed "s|corp-root.json|$tmp/other/metadata/root.json|" "$pol/p.yaml" >"$pol/other.yaml"
run "$gate" check --policy "$pol/other.yaml" --current-time "$(at $((4 * 3600 + 60)))" "$art/pool/foo_1.1.deb"
assert "another root: its own cache, never updated: deny" has "$tmp/out" "never updated"

# ---- interoperability with python-tuf (when deps.sh has installed it) ------

if have_python_tuf; then
	# The reference client (ngclient) reads the repository gate published.
	rm -rf "$tmp/pymd" "$tmp/pytd" && mkdir -p "$tmp/pymd" "$tmp/pytd"
	cp "$repo/metadata/1.root.json" "$tmp/pymd/root.json"
	run pytuf '
import sys
from tuf.ngclient import Updater
u = Updater(metadata_dir=sys.argv[1], metadata_base_url=sys.argv[2], target_dir=sys.argv[3],
            target_base_url=sys.argv[4], bootstrap=open(sys.argv[1] + "/root.json", "rb").read())
u.refresh()
t = u.get_targetinfo("debs/foo_1.0_amd64.deb")
print(u.download_target(t))' "$tmp/pymd" "${url_corp}metadata/" "$tmp/pytd" "${url_corp}targets/"
	assert "python-tuf refreshes and downloads from a gate-made repository" is "$code" 0
	assert "python-tuf got the current target bytes" same "$(cat "$tmp/out")" "$art/pool/foo_1.1.deb"

	# gate reads a repository python-tuf made (Metadata API, ed25519).
	pyrepo=$tmp/pyrepo
	head -c 1234 /dev/urandom >"$art/pyfile.bin"
	run pytuf '
import os, sys
from datetime import datetime, timedelta, timezone
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (Metadata, MetaFile, Root, Snapshot, TargetFile, Targets,
                              Timestamp)
from tuf.api.serialization.json import JSONSerializer
out, art = sys.argv[1], sys.argv[2]
os.makedirs(out + "/metadata")
exp = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=7)
signer = CryptoSigner.generate_ed25519()
root = Root(expires=exp)
for role in ("root", "timestamp", "snapshot", "targets"):
    root.add_key(signer.public_key, role)
targets = Targets(expires=exp)
targets.targets["py/file.bin"] = TargetFile.from_file("py/file.bin", art)
snapshot = Snapshot(expires=exp)
timestamp = Timestamp(expires=exp)
# consistent_snapshot is on by default: versioned names too.
for name, signed in (("1.root", root), ("1.targets", targets), ("targets", targets),
                     ("1.snapshot", snapshot), ("snapshot", snapshot), ("timestamp", timestamp)):
    md = Metadata(signed)
    md.sign(signer)
    md.to_file(out + "/metadata/" + name + ".json", JSONSerializer(compact=False))
' "$pyrepo" "$art/pyfile.bin"
	assert "python-tuf builds a repository" is "$code" 0
	cat >"$pol/py.yaml" <<EOF
version: 1
trust:
  tuf:
    py: {url: "file://$pyrepo/metadata/", root: $pyrepo/metadata/1.root.json}
rules:
  - name: from python-tuf
    require: {tuf_target: py, tuf_path: "py/*"}
EOF
	run "$gate" trust update --policy "$pol/py.yaml"
	assert "gate updates from a python-tuf repository (file://)" is "$code" 0
	run "$gate" check --policy "$pol/py.yaml" "$art/pyfile.bin"
	assert "python-tuf target allowed by gate" is "$code" 0
else
	echo "SKIP (python-tuf interop): no python-tuf in $tuf_deps (tuf-conformance deps.sh)"
fi

# Policy errors at file:line:column.
perr() { # perr DESC WANT-MSG YAML
	printf '%s\n' "$3" >"$pol/bad.yaml"
	run "$gate" policy lint "$pol/bad.yaml"
	if [ "$code" -eq 2 ] && has "$tmp/out" "$2"; then pass "$1"; else fail "$1"; fi
}
hdr="version: 1
trust:
  tuf:"
perr "unknown repository in tuf_target" "unknown TUF repository 'nope'" "$hdr
    corp: {url: https://x/, root: corp-root.json}
rules:
  - name: r
    require: {tuf_target: nope}"
perr "url scheme" "url must be https://, http:// or file://" "$hdr
    corp: {url: ftp://x/, root: corp-root.json}
rules: [{name: r, decision: deny}]"
perr "root is not a root" "TUF root" "$hdr
    corp: {url: https://x/, root: $repo/metadata/timestamp.json}
rules: [{name: r, decision: deny}]"
perr "root file missing" "bad.yaml:4:" "$hdr
    corp: {url: https://x/, root: missing.json}
rules: [{name: r, decision: deny}]"
perr "bad repository name" "TUF repository name" "$hdr
    ../x: {url: https://x/, root: corp-root.json}
rules: [{name: r, decision: deny}]"
perr "max_staleness not a duration" "max_staleness must be a duration" "$hdr
    corp: {url: https://x/, root: corp-root.json, max_staleness: soon}
rules: [{name: r, decision: deny}]"
perr "refresh not a boolean" "refresh must be true or false" "$hdr
    corp: {url: https://x/, root: corp-root.json, refresh: maybe}
rules: [{name: r, decision: deny}]"
perr "unknown key in a repository" "unknown key 'mirror'" "$hdr
    corp: {url: https://x/, root: corp-root.json, mirror: x}
rules: [{name: r, decision: deny}]"
perr "tuf_path without tuf_target" "tuf_path needs tuf_target" "$hdr
    corp: {url: https://x/, root: corp-root.json}
rules:
  - name: r
    require: {tuf_path: 'a/*'}"
perr "threshold with tuf_target only" "need signers" "$hdr
    corp: {url: https://x/, root: corp-root.json}
rules:
  - name: r
    require: {tuf_target: corp, threshold: 2}"

finish
