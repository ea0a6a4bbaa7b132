#!/usr/bin/env bash
# test_tuf_faults.sh - attacks and broken servers against the TUF client,
# with a real loopback server (tests/tools/tuf_server.py) in front of a
# repository made with `gate tuf repo`: slow retrieval, a stalled server,
# endless data, wrong lengths and hashes, a server dying mid-download,
# rollback of every role, freeze, mix-and-match, a revoked timestamp key,
# malformed JSON, duplicate members, huge numbers, a corrupt local cache,
# FIFOs and folders where cache files belong, a mirror slow enough to
# stretch an update, decisions during an update, a refresh failing for
# every file of a run.
# Each case must end in a clear error with the previous trusted state
# byte-identical, both for `gate trust update` (the Sigstore cache) and for
# a policy whose TUF repository updates during the decision
# (refresh: true): there, a deny that names the reason.
# Bounded: transfers give up after 2 s under 1 KiB/s and 10 s in all
# (GATE_TUF_*); a stalled server is given up on before its stall ends.
# Env (set by CTest): GATE, GATE_SOURCE_DIR, GATE_SHARED_DIR, GATE_BUILD_DIR.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/tuf_lib.sh"

repo=$tmp/repo
saved=$tmp/saved # copies of older metadata, served back by the attacks
mkdir -p "$saved" "$tmp/pol"
if ! make_repo "$repo"; then
	fail "gate tuf repo init"
	finish
fi
art=$tmp/allowed.bin
head -c 2000 /dev/urandom >"$art"
run "$gate" tuf repo add --repo "$repo" "${sign_keys[@]}" \
	"$src/verify/data/trusted_root.json=trusted_root.json" "$art=allowed.bin"
start_server r "$repo"
murl=${url_r}metadata/
turl=${url_r}targets/
C=$tmp/sigstore
update() { run "$gate" trust update --url "$murl" --targets-url "$turl" --dir "$C" "$@"; }
update --root "$repo/metadata/1.root.json"
assert "first update: exit 0" is "$code" 0

cp "$repo/metadata/1.root.json" "$tmp/pol/root.json"
cat >"$tmp/pol/p.yaml" <<EOF
version: 1
trust:
  tuf:
    r: {url: $murl, root: root.json, max_staleness: 1m, refresh: true}
rules:
  - name: listed
    require: {tuf_target: r}
EOF
NOW=$(date -u +%s)
# Decisions at increasing times, 5 minutes apart: each finds the cache
# stale (max_staleness 1m) and so updates first.
dt=0
decide() {
	dt=$((dt + 300))
	run "$gate" check --policy "$tmp/pol/p.yaml" --current-time "$(rfc $((NOW + dt)))" "$art"
}
decide
assert "policy: first decision updates the cache and allows" is "$code" 0
PC=$(ls -d "$GATE_CACHE_DIR"/tuf/repos/r-*)

# publish ROLE: new versions of ROLE and the roles above it.
publish() { "$gate" tuf repo sign --repo "$repo" "${sign_keys[@]}" "$@" >/dev/null 2>&1; }
save() { cp "$repo/metadata/$1" "$saved/$2"; }
serve_as() { fault r "{\"/metadata/$1\": {\"mode\": \"file\", \"path\": \"$2\"}}"; }

# state_but DIR FILE...: the state of DIR without these metadata files.
state_but() {
	local d=$1 f re='^$'
	shift
	for f in "$@"; do re="$re| \\./metadata/$f\$"; done
	(cd "$d" && find . -type f ! -name .lock -print0 | sort -z | xargs -0 sha256sum) |
		grep -vE "$re" | sha256sum | cut -d' ' -f1
}
# old_or_honest FILE SAVED: FILE is what it was, or what the repository
# serves honestly now (verified and persisted before the failing step).
old_or_honest() { cmp -s "$1" "$2" || cmp -s "$1" "$repo/metadata/$(basename "$1")"; }

# expect_fault DESC WANT [FILE...]: the update fails saying WANT and the
# cache is byte-identical, except that the listed metadata files may hold
# the honest new versions verified before the failing step (spec: what
# was verified stays). Then a decision that must update first denies
# saying WANT, with its cache kept the same way.
expect_fault() {
	local desc=$1 want=$2 s0 p0 t0 f
	shift 2
	local may=("$@")
	s0=$(state_but "$C" "${may[@]+"${may[@]}"}")
	p0=$(state_but "$PC" "${may[@]+"${may[@]}"}")
	mkdir -p "$tmp/before"
	for f in "${may[@]+"${may[@]}"}"; do
		cp "$C/metadata/$f" "$tmp/before/c.$f"
		cp "$PC/metadata/$f" "$tmp/before/p.$f"
	done
	t0=$(date +%s)
	update
	update_s=$(($(date +%s) - t0))
	assert "$desc: update fails (exit 1)" is "$code" 1
	assert "$desc: error says '$want'" has "$tmp/err" "$want"
	assert "$desc: cache byte-identical${may[*]:+ (but ${may[*]})}" is "$(state_but "$C" "${may[@]+"${may[@]}"}")" "$s0"
	for f in "${may[@]+"${may[@]}"}"; do
		assert "$desc: $f old or the honest new one" old_or_honest "$C/metadata/$f" "$tmp/before/c.$f"
	done
	decide
	assert "$desc: policy denies" is "$code" 1
	assert "$desc: the deny names the reason" has "$tmp/out" "$want"
	assert "$desc: policy cache byte-identical${may[*]:+ (but ${may[*]})}" is "$(state_but "$PC" "${may[@]+"${may[@]}"}")" "$p0"
	for f in "${may[@]+"${may[@]}"}"; do
		assert "$desc: policy $f old or the honest new one" old_or_honest "$PC/metadata/$f" "$tmp/before/p.$f"
	done
	assert "$desc: no temporary files left" is "$(find "$C" "$PC" -name '.gate-tuf-*' | wc -l)" 0
	echo "    ($desc: $(($(date +%s) - t0)) s)"
}

# ---- transport --------------------------------------------------------------

fault r '{"/metadata/timestamp.json": {"mode": "trickle", "delay": 0.3}}'
expect_fault "slow retrieval (1 byte / 0.3 s)" "Operation too slow"
fault r '{"/metadata/timestamp.json": {"mode": "stall", "seconds": 30}}'
expect_fault "stalled server" "Operation too slow"
assert "stalled server: given up on before its 30 s stall ended ($update_s s)" test "$update_s" -lt 30
fault r '{"/metadata/timestamp.json": {"mode": "endless"}}'
expect_fault "endless timestamp" "more than the 16384 bytes allowed"
fault r '{"/metadata/timestamp.json": {"mode": "status", "code": 500}}'
expect_fault "HTTP 500" "HTTP status 500"

save snapshot.json snapshot.old
publish snapshot
fault r '{"/metadata/snapshot.json": {"mode": "endless"}}'
expect_fault "endless snapshot (capped at its signed length)" "bytes allowed" timestamp.json
fault r '{"/metadata/snapshot.json": {"mode": "die"}}'
expect_fault "server dies mid-download" "snapshot.json" timestamp.json
fault r '{"/metadata/snapshot.json": {"mode": "length", "length": 100}}'
expect_fault "short Content-Length (truncated snapshot)" "[T12]" timestamp.json

# ---- wrong hashes, mix-and-match, rollback ----------------------------------

"$py" - "$repo/metadata/snapshot.json" "$saved/snapshot.flipped" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b'"sig": "') + 8
b[i] = ord("0") if b[i] != ord("0") else ord("1")
open(sys.argv[2], "wb").write(b)
EOF
serve_as snapshot.json "$saved/snapshot.flipped"
expect_fault "wrong hash (one byte changed, same length)" "[T12]" timestamp.json
serve_as snapshot.json "$saved/snapshot.old"
expect_fault "mix-and-match: the previous snapshot with the new timestamp" "snapshot.json" timestamp.json

fault r '{}'
update
assert "recovery: the honest repository updates (exit 0)" is "$code" 0
decide
assert "recovery: policy allows again" is "$code" 0

save timestamp.json timestamp.old
save targets.json targets.old
publish timestamp
update
decide
serve_as timestamp.json "$saved/timestamp.old"
expect_fault "rollback: an older timestamp" "[T8]"
publish targets
serve_as targets.json "$saved/targets.old"
expect_fault "rollback: an older targets" "[T18]" timestamp.json snapshot.json
fault r '{"/metadata/2.root.json": {"mode": "file", "path": "metadata/1.root.json"}}'
expect_fault "rollback: root 1 served as 2.root.json" "[T2]"

# ---- freeze -------------------------------------------------------------------

fault r '{}'
publish --expires timestamp=2020-01-01T00:00:00Z timestamp
expect_fault "freeze: expired timestamp" "expired metadata: possible freeze attack: timestamp"
publish timestamp
update
assert "freeze over: update (exit 0)" is "$code" 0
decide
assert "freeze over: policy allows" is "$code" 0
# A replayed, once valid timestamp that has since expired.
s0=$(state_of "$C")
GATE_TIME=$(rfc $((NOW + 2 * 86400))) update
assert "frozen repository seen later: exit 1" is "$code" 1
assert "frozen repository seen later: freeze error" has "$tmp/err" "possible freeze attack"
assert "frozen repository seen later: cache byte-identical" is "$(state_of "$C")" "$s0"

# ---- malformed metadata ---------------------------------------------------------

printf '{"signed": {"_type": "timestamp", ' >"$saved/ts.truncated"
serve_as timestamp.json "$saved/ts.truncated"
expect_fault "malformed JSON" "timestamp: invalid JSON"
assert "malformed JSON: tagged with the TUF step [T7]" has "$tmp/out" "[T7]"
assert "malformed JSON: no Sigstore rule tag" hasnt "$tmp/out" "[S1]"
"$py" - "$repo/metadata/timestamp.json" "$saved/ts.dup" "$saved/ts.huge" <<'EOF'
import sys
t = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(t.replace('"_type": "timestamp",', '"_type": "timestamp", "_type": "timestamp",', 1))
import re
open(sys.argv[3], "w").write(re.sub(r'("spec_version": "[^"]*",\n\s*"version": )\d+', r'\g<1>123456789012345678901234567890', t, 1))
EOF
serve_as timestamp.json "$saved/ts.dup"
expect_fault "duplicate member in metadata" "duplicate"
serve_as timestamp.json "$saved/ts.huge"
expect_fault "huge number in metadata" "too big integer"
assert "huge number: tagged with the TUF step [T7]" has "$tmp/out" "[T7]"
assert "huge number: no Sigstore rule tag" hasnt "$tmp/out" "[S1]"
fault r '{}'

# ---- targets ------------------------------------------------------------------------

tr=$C/targets/trusted_root.json
cp "$tr" "$tmp/tr.before"
# The same trusted root, other bytes (re-indented): a new target version.
"$py" -c 'import json,sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2],"w"), indent=3)' \
	"$src/verify/data/trusted_root.json" "$tmp/tr.new"
"$py" -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[100]^=1; open(sys.argv[2],"wb").write(b)' \
	"$tmp/tr.new" "$tmp/tr.flipped"
run "$gate" tuf repo add --repo "$repo" "${sign_keys[@]}" "$tmp/tr.new=trusted_root.json"
fault r '{"/targets/trusted_root.json": {"mode": "die"}}'
s0=$(state_of "$C/targets")
update
assert "target: server dies mid-download: exit 1" is "$code" 1
assert "target: the cached trusted_root.json is unchanged" same "$tr" "$tmp/tr.before"
assert "target: no partial file" is "$(find "$C" -name '.gate-tuf-*' | wc -l)" 0
fault r '{"/targets/trusted_root.json": {"mode": "endless"}}'
update
assert "target: endless data: exit 1" is "$code" 1
assert "target: endless data: capped at the signed length" has "$tmp/err" "bytes allowed"
assert "target: endless data: targets unchanged" is "$(state_of "$C/targets")" "$s0"
fault r "{\"/targets/trusted_root.json\": {\"mode\": \"file\", \"path\": \"$tmp/tr.flipped\"}}"
update
assert "target: wrong bytes: exit 1" is "$code" 1
assert "target: wrong bytes: hash error" has "$tmp/err" "trusted_root.json: hash mismatch [T25]"
assert "target: wrong bytes: targets unchanged" is "$(state_of "$C/targets")" "$s0"
fault r '{}'
update
assert "target: honest server: the new trusted_root.json arrives" same "$tr" "$tmp/tr.new"
decide
assert "target: policy allows again" is "$code" 0

# ---- key rotation with a revoked key --------------------------------------------------

cp -a "$repo" "$tmp/repo-before-rotation"
mkkey ts2 ecdsa-p256
run "$gate" tuf repo sign --repo "$repo" --key "root=$tmp/keys/root1.key" --key "root=$tmp/keys/root2.key" \
	--set-key "timestamp=$tmp/keys/ts2.pub" root
assert "rotation: root v2 revokes the timestamp key" is "$code" 0
run "$gate" tuf repo sign --repo "$repo" --key "timestamp=$tmp/keys/ts2.key" timestamp
# The attacker still holds the old timestamp key and signs with it.
"$gate" tuf repo sign --repo "$tmp/repo-before-rotation" --key "timestamp=$tmp/keys/ts.key" \
	--expires timestamp=30d timestamp >/dev/null 2>&1
serve_as timestamp.json "$tmp/repo-before-rotation/metadata/timestamp.json"
ts0=$(sha256sum <"$C/metadata/timestamp.json")
update
assert "revoked key: update fails (exit 1)" is "$code" 1
assert "revoked key: the timestamp threshold is not met" has "$tmp/err" "[T7]"
assert "revoked key: root v2 was verified and persisted" same "$C/metadata/root.json" "$repo/metadata/2.root.json"
# T4: the timestamp keys changed, so the cached timestamp no longer is a
# baseline (fast-forward recovery); what matters is that nothing signed by
# the revoked key was stored.
no_revoked_ts() { [ ! -e "$C/metadata/timestamp.json" ] || [ "$(sha256sum <"$C/metadata/timestamp.json")" = "$ts0" ]; }
assert "revoked key: no timestamp signed by the revoked key stored" no_revoked_ts
decide
assert "revoked key: policy denies" is "$code" 1
assert "revoked key: the deny names the threshold" has "$tmp/out" "T7"
fault r '{}'
update
assert "rotation: the timestamp signed by the new key is accepted" is "$code" 0

# ---- a corrupt local cache ---------------------------------------------------------------

cp "$C/metadata/root.json" "$tmp/root.save"
head -c 100 "$tmp/root.save" >"$C/metadata/root.json"
run "$gate" trust show --dir "$C"
assert "truncated cached root.json: trust show says T1" has "$tmp/out" "[T1]"
# An update sets the damaged root aside and starts again from the root it
# is given (T1), walking the rotations forward (T2).
update --root "$repo/metadata/1.root.json"
assert "truncated cached root.json: the update repairs it (exit 0)" is "$code" 0
assert "truncated cached root.json: warns that it was set aside" has "$tmp/err" "set aside metadata/root.json"
assert "truncated cached root.json: the newest root again" same "$C/metadata/root.json" "$tmp/root.save"
assert "truncated cached root.json: its bytes kept aside" is "$(cat "$C"/.damaged.root.json.* | wc -c)" 100
printf 'garbage' >"$PC/metadata/timestamp.json"
run "$gate" check --policy "$tmp/pol/p.yaml" --current-time "$(rfc $((NOW + dt + 300)))" "$art"
assert "corrupt cached timestamp, refresh: true: the update repairs it, allow" is "$code" 0
sed 's/refresh: true/refresh: false/; s/max_staleness: 1m/max_staleness: 1w/' "$tmp/pol/p.yaml" >"$tmp/pol/offline.yaml"
printf 'garbage' >"$PC/metadata/timestamp.json"
run "$gate" check --policy "$tmp/pol/offline.yaml" --current-time "$(rfc $((NOW + dt + 360)))" "$art"
assert "corrupt cached timestamp, offline: deny" is "$code" 1
assert "corrupt cached timestamp, offline: says why" has "$tmp/out" "no valid cached timestamp (offline)"

# ---- cache entries that are not files (issue 16) --------------------------------------
# A FIFO must never make a command wait (for a writer that never comes);
# `timeout` only turns a hang into exit 124 so that the test ends.
bounded() { run timeout 60 "$@"; }
# regular FILE: a plain file again (not a FIFO, not a folder).
regular() { [ -f "$1" ] && [ ! -p "$1" ] && [ ! -L "$1" ]; }
fault r '{}'
cp "$tmp/root.save" "$C/metadata/root.json"
update
rm -f "$C"/.damaged.*

rm "$C/metadata/timestamp.json" && mkfifo "$C/metadata/timestamp.json"
bounded "$gate" trust show --dir "$C"
assert "FIFO at metadata/timestamp.json: trust show does not hang" test "$code" -ne 124
assert "FIFO at metadata/timestamp.json: trust show says why" has "$tmp/out" "no valid cached timestamp"
bounded "$gate" trust update --url "$murl" --targets-url "$turl" --dir "$C"
assert "FIFO at metadata/timestamp.json: the update repairs it (exit 0)" is "$code" 0
assert "FIFO at metadata/timestamp.json: a file again" regular "$C/metadata/timestamp.json"
assert "FIFO at metadata/timestamp.json: set aside, said so" has "$tmp/err" "set aside metadata/timestamp.json"
assert "FIFO at metadata/timestamp.json: kept aside" test -p "$(ls -d "$C"/.damaged.timestamp.json.* | head -1)"
rm -f "$C"/.damaged.*

rm -f "$C/.lock" && mkfifo "$C/.lock"
bounded "$gate" trust show --dir "$C"
assert "FIFO at .lock: trust show does not hang" test "$code" -ne 124
bounded "$gate" trust update --url "$murl" --targets-url "$turl" --dir "$C"
assert "FIFO at .lock: the update does not hang, exit 0" is "$code" 0
assert "FIFO at .lock: a lock file again" regular "$C/.lock"
rm -f "$C"/.damaged.*

rm "$C/metadata/root.json" && mkfifo "$C/metadata/root.json"
bounded "$gate" trust show --dir "$C"
assert "FIFO at metadata/root.json: trust show does not hang" test "$code" -ne 124
assert "FIFO at metadata/root.json: trust show says not a regular file" has "$tmp/out" "not a regular file"
bounded "$gate" trust update --url "$murl" --targets-url "$turl" --dir "$C" --root "$repo/metadata/1.root.json"
assert "FIFO at metadata/root.json: the update repairs it (exit 0)" is "$code" 0
assert "FIFO at metadata/root.json: the newest root again" same "$C/metadata/root.json" "$tmp/root.save"
rm -f "$C"/.damaged.*

printf '{}' >"$C/metadata/root.json"
update --root "$repo/metadata/1.root.json"
assert "cached root.json '{}': the update repairs it (exit 0)" is "$code" 0
assert "cached root.json '{}': the newest root again" same "$C/metadata/root.json" "$tmp/root.save"
rm -f "$C"/.damaged.*

rm "$C/metadata/timestamp.json" && mkdir "$C/metadata/timestamp.json"
update
assert "folder at metadata/timestamp.json: the update repairs it (exit 0)" is "$code" 0
assert "folder at metadata/timestamp.json: a file again" regular "$C/metadata/timestamp.json"
rm -rf "$C"/.damaged.*

rm "$C/targets/trusted_root.json" && mkdir "$C/targets/trusted_root.json"
update
assert "folder at targets/trusted_root.json: the update repairs it (exit 0)" is "$code" 0
assert "folder at targets/trusted_root.json: the verified file again" same "$C/targets/trusted_root.json" "$tmp/tr.new"
rm -rf "$C"/targets/.damaged.*

# A file:// repository: read without blocking, regular files only (libcurl
# would open a FIFO there and wait past every timeout).
cp -a "$repo" "$tmp/frepo"
rm "$tmp/frepo/metadata/timestamp.json" && mkfifo "$tmp/frepo/metadata/timestamp.json"
bounded "$gate" trust update --url "file://$tmp/frepo/metadata/" --targets-url "file://$tmp/frepo/targets/" \
	--dir "$tmp/fcache" --root "$repo/metadata/1.root.json"
assert "file:// repository with a FIFO: the update fails, no hang (exit 1)" is "$code" 1
assert "file:// repository with a FIFO: says not a regular file" has "$tmp/err" "timestamp.json: not a regular file"
rm "$tmp/frepo/metadata/timestamp.json" && cp "$repo/metadata/timestamp.json" "$tmp/frepo/metadata/"
run "$gate" trust update --url "file://$tmp/frepo/metadata/" --targets-url "file://$tmp/frepo/targets/" \
	--dir "$tmp/fcache" --root "$repo/metadata/1.root.json"
assert "file:// repository: updates (exit 0)" is "$code" 0

# ---- one deadline per update, decisions while an update runs ------------------------
# Each file arrives above the low-speed limit (1 B/s here) but takes 3 s;
# with 5 s for the whole update, timestamp + snapshot cannot both make it.
export GATE_TUF_LOW_SPEED_LIMIT=1
fixture "$gate" tuf repo sign --repo "$repo" "${sign_keys[@]}" --key "timestamp=$tmp/keys/ts2.key" snapshot
fault r '{"/metadata/timestamp.json": {"mode": "spread", "seconds": 3},
          "/metadata/snapshot.json": {"mode": "spread", "seconds": 3}}'
GATE_TUF_TIMEOUT=5 update
assert "slow mirror: one deadline for the whole update (exit 1)" is "$code" 1
assert "slow mirror: says the update ran out of time" has "$tmp/err" "ran out of time: 5 s for the whole update (GATE_TUF_TIMEOUT)"

# A decision while a (slow) update of its repository runs: the last good
# metadata, at once; not "an update is in progress".
fault r '{}'
run "$gate" trust update --policy "$tmp/pol/p.yaml"
assert "policy cache updated (exit 0)" is "$code" 0
sed 's/refresh: true/refresh: false/; s/max_staleness: 1m/max_staleness: 1w/' "$tmp/pol/p.yaml" >"$tmp/pol/fresh.yaml"
fault r '{"/metadata/timestamp.json": {"mode": "spread", "seconds": 8}}'
clear_log r
GATE_TUF_TIMEOUT=30 "$gate" trust update --policy "$tmp/pol/p.yaml" >"$tmp/bg.out" 2>&1 &
bg=$!
for _ in $(seq 200); do grep -q timestamp.json "$tmp/r.log" && break; sleep 0.05; done
run "$gate" check --policy "$tmp/pol/fresh.yaml" "$art"
assert "decision during an update: the last good metadata allows (exit 0)" is "$code" 0
run "$gate" check --policy "$tmp/pol/p.yaml" --current-time "$(rfc $((NOW + dt + 900)))" "$art"
assert "stale, refresh: true, during an update: the last good metadata allows" is "$code" 0
wait "$bg"
code=$?
assert "the slow update itself completes" is "$code" 0
unset GATE_TUF_LOW_SPEED_LIMIT

# ---- a failed refresh is not retried for every file ---------------------------------
fault r '{"/metadata/timestamp.json": {"mode": "status", "code": 500}}'
mkdir -p "$tmp/many"
for i in 1 2 3 4 5; do cp "$art" "$tmp/many/a$i.bin"; done
clear_log r
run "$gate" check --jobs 1 --policy "$tmp/pol/p.yaml" --current-time "$(rfc $((NOW + dt + 1800)))" "$tmp/many"
assert "failed refresh: every file denied" is "$code" 1
assert "failed refresh: one attempt for the run, not one per file" is "$(grep -c 'timestamp.json' "$tmp/r.log")" 1
assert "failed refresh: later files say it failed earlier in this run" has "$tmp/out" "earlier in this run"
fault r '{}'

# ---- a garbage last-update is not "never updated" -----------------------------------
printf 'garbage\n' >"$PC/last-update"
run "$gate" check --policy "$tmp/pol/fresh.yaml" "$art"
assert "garbage last-update: deny" is "$code" 1
assert "garbage last-update: says it is unreadable" has "$tmp/out" "last-update is unreadable or not a unix time"
assert "garbage last-update: not 'never updated'" hasnt "$tmp/out" "never updated"
run "$gate" trust show --policy "$tmp/pol/fresh.yaml"
assert "garbage last-update: trust show says so" has "$tmp/out" "last update unknown: last-update is unreadable"
run "$gate" trust update --policy "$tmp/pol/fresh.yaml"
run "$gate" check --policy "$tmp/pol/fresh.yaml" "$art"
assert "garbage last-update: the next update rewrites it, allow" is "$code" 0

finish
