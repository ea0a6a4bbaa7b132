#!/usr/bin/env bash
# test_trust.sh - `gate trust update|show` and the Sigstore trusted root
# over TUF, against a real HTTP server on 127.0.0.1:
#  1. the real Sigstore root history (../shared/tuf/sigstore-production):
#     rotation v5 -> v15 (and v1 -> v15, hex ECDSA keys) at 2026-08-25,
#     every threshold checked on the way (a root with bad signatures, a
#     root served under the wrong version stop it), root 15 verified and
#     persisted, then the missing timestamp stops the update; with the
#     real clock the expired root 15 stops it as a freeze attack and the
#     cache stays byte-identical;
#  2. a Sigstore-shaped repository made with `gate tuf repo` (consistent
#     snapshots, trusted_root.json and signing_config.v0.2.json as
#     targets): update, no-change update (2 requests), `gate trust show`,
#     `gate verify`/`gate check` using the cached root when it is fresh
#     and the embedded one when it is expired or the cache is corrupt.
# Env (set by CTest): GATE, GATE_SOURCE_DIR, GATE_SHARED_DIR, GATE_BUILD_DIR.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/tuf_lib.sh"

history=$shared/tuf/sigstore-production/metadata/root_history
REF=2026-08-25T00:00:00Z

# ---- 1. the real Sigstore root chain --------------------------------------

if [ ! -f "$history/15.root.json" ]; then
	echo "SKIP (part 1): no Sigstore root history at $history"
else
	start_server hist "$history"
	c=$tmp/chain5
	GATE_TIME=$REF run "$gate" trust update --url "$url_hist" --dir "$c" --root "$history/5.root.json"
	assert "v5 -> v15: the update stops (exit 1)" is "$code" 1
	assert "v5 -> v15: says the root went from v5 to v15" has "$tmp/err" "TUF root v5 -> v15"
	assert "v5 -> v15: stops at the missing timestamp" has "$tmp/err" "timestamp.json: HTTP status 404"
	assert "v5 -> v15: root 15 persisted byte-exact" same "$c/metadata/root.json" "$history/15.root.json"
	assert "v5 -> v15: no timestamp, snapshot or targets cached" \
		is "$(ls "$c/metadata")" root.json
	assert "v5 -> v15: no update time recorded" test ! -e "$c/last-update"
	want=$(for n in $(seq 6 16); do echo "GET /$n.root.json $([ "$n" -le 15 ] && echo 200 || echo 404)"; done
		echo "GET /timestamp.json 404")
	assert "v5 -> v15: requests 6..16.root.json then timestamp.json" is "$(requests hist)" "$want"

	# The real clock is past root 15's expiry (2026-11-20T13:58:18Z).
	if [ "$(date -u +%s)" -ge 1795183098 ]; then
		before=$(state_of "$c")
		clear_log hist
		run "$gate" trust update --url "$url_hist" --dir "$c"
		assert "real clock: expired root 15 stops the update (exit 1)" is "$code" 1
		assert "real clock: 'expired metadata: possible freeze attack'" \
			has "$tmp/err" "expired metadata: possible freeze attack: root v15 expired at 2026-11-20T13:58:18Z [T3]"
		assert "real clock: cache byte-identical" is "$(state_of "$c")" "$before"
		assert "real clock: root.json still root 15" same "$c/metadata/root.json" "$history/15.root.json"
		assert "real clock: nothing fetched after the 16.root.json probe" \
			is "$(requests hist)" "GET /16.root.json 404"
	else
		echo "SKIP (clock before 2026-11-20): expired root 15 case"
	fi

	# Bonus: from root 1 (hex-encoded ECDSA keys in roots 1-4).
	c1=$tmp/chain1
	GATE_TIME=$REF run "$gate" trust update --url "$url_hist" --dir "$c1" --root "$history/1.root.json"
	assert "v1 -> v15 (hex ECDSA keys): rotates to v15" has "$tmp/err" "TUF root v1 -> v15"
	assert "v1 -> v15: root 15 persisted" same "$c1/metadata/root.json" "$history/15.root.json"

	# Every threshold is checked: root 10 with its signatures spoiled.
	bad=$tmp/badhist
	mkdir -p "$bad"
	cp "$history"/*.root.json "$bad/"
	"$py" - "$bad/10.root.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
for s in d["signatures"]:
    s["sig"] = ("00" if s["sig"][:2] != "00" else "11") + s["sig"][2:]
json.dump(d, open(p, "w"))
EOF
	start_server bad "$bad"
	cb=$tmp/chainbad
	GATE_TIME=$REF run "$gate" trust update --url "$url_bad" --dir "$cb" --root "$history/5.root.json"
	assert "spoiled root 10: exit 1" is "$code" 1
	assert "spoiled root 10: a threshold error" has "$tmp/err" "[T2]"
	assert "spoiled root 10: trusted root stays v9" same "$cb/metadata/root.json" "$history/9.root.json"
	assert "spoiled root 10: rotation v5 -> v9 reported" has "$tmp/err" "TUF root v5 -> v9"

	# Root 12 served as 10.root.json: version must be N+1.
	fault bad "{\"/10.root.json\": {\"mode\": \"file\", \"path\": \"$history/12.root.json\"}}"
	cv=$tmp/chainver
	GATE_TIME=$REF run "$gate" trust update --url "$url_bad" --dir "$cv" --root "$history/5.root.json"
	assert "root 12 as 10.root.json: rejected" has "$tmp/err" "[T2]"
	assert "root 12 as 10.root.json: stays v9" same "$cv/metadata/root.json" "$history/9.root.json"
	fault bad '{}'

	# The default cache bootstraps from the embedded root (v15).
	GATE_TIME=$REF run "$gate" trust update --url "$url_hist"
	assert "embedded bootstrap: cache root = embedded root" \
		same "$GATE_CACHE_DIR/tuf/sigstore/metadata/root.json" "$src/verify/data/root.json"
	assert "embedded bootstrap: stops at the missing timestamp" has "$tmp/err" "timestamp.json"
	rm -rf "$GATE_CACHE_DIR/tuf/sigstore"
fi

# ---- 2. a Sigstore-shaped repository ---------------------------------------

repo=$tmp/sigstore-repo
if ! make_repo "$repo" --consistent-snapshot; then
	fail "gate tuf repo init"
	finish
fi
have_stack=false
if "$py" -c 'import cryptography' 2>/dev/null; then
	fixture "$py" "$src/tests/tools/sigstore_stack.py" init "$tmp/stack" \
		--not-before 2025-01-01T00:00:00Z --days 3650
	have_stack=true
	tr=$tmp/stack/trusted_root.json
else
	echo "SKIP (verify with the cached root): no python3-cryptography for the test Sigstore"
	tr=$src/verify/data/trusted_root.json
fi
sc=$shared/tuf/sigstore-production/targets/signing_config.v0.2.json
files=("$tr=trusted_root.json")
[ -f "$sc" ] && files+=("$sc=signing_config.v0.2.json")
run "$gate" tuf repo add --repo "$repo" "${sign_keys[@]}" "${files[@]}"
assert "repo add trusted_root.json: exit 0" is "$code" 0
start_server sig "$repo"
murl=${url_sig}metadata
turl=${url_sig}targets/
cache=$GATE_CACHE_DIR/tuf/sigstore

run "$gate" trust update --url "$murl" --targets-url "$turl" --root "$repo/metadata/1.root.json"
assert "update: exit 0" is "$code" 0
assert "update: trusted_root.json cached byte-exact" same "$cache/targets/trusted_root.json" "$tr"
if [ -f "$sc" ]; then
	assert "update: signing config cached" same "$cache/targets/signing_config.v0.2.json" "$sc"
fi
assert "update: versioned snapshot and targets fetched (consistent snapshots)" \
	has "$tmp/sig.log" "GET /metadata/2.snapshot.json 200"
grep -qE "GET /targets/[0-9a-f]{64}\.trusted_root\.json 200" "$tmp/sig.log" &&
	pass "update: trusted_root.json fetched as HASH.trusted_root.json" ||
	fail "update: trusted_root.json fetched as HASH.trusted_root.json"
assert "update: time recorded" test -s "$cache/last-update"

clear_log sig
run "$gate" trust update --url "$murl" --targets-url "$turl"
assert "no-change update: exit 0" is "$code" 0
assert "no-change update: targets unchanged" has "$tmp/out" "(targets unchanged)"
assert "no-change update: 2 requests (2.root.json probe, timestamp.json)" \
	is "$(requests sig)" "GET /metadata/2.root.json 404
GET /metadata/timestamp.json 200"

run "$gate" trust show
assert "show: exit 0" is "$code" 0
assert "show: source is the cache" has "$tmp/out" "Sigstore trusted root: cache $cache"
assert "show: TUF root version and expiry" has "$tmp/out" "root       v1, expires"
assert "show: timestamp version" has "$tmp/out" "timestamp  v2, expires"
assert "show: transparency logs listed with validity" has "$tmp/out" "Transparency logs:"
run "$gate" trust show --format json
assert "show --format json: source cache" is "$(j 'd["sigstore"]["source"]')" cache
assert "show --format json: tlogs have validity" is "$(j '"start" in d["sigstore"]["tlogs"][0]')" true

if $have_stack; then
	rekor=$(j 'd["tlogs"][0]["baseUrl"]' "$tr")
	assert "show: the cached root's log is listed" has "$tmp/out" "$rekor"
	art=$tmp/artifact.bin
	head -c 1000 /dev/urandom >"$art"
	fixture "$py" "$src/tests/tools/sigstore_stack.py" sign "$tmp/stack" "$art" \
		--identity dev@example.com --issuer https://accounts.example.com --time 1750000000 \
		--out "$art.sigstore.json"
	vflags=(--bundle "$art.sigstore.json" --certificate-identity dev@example.com
		--certificate-oidc-issuer https://accounts.example.com --current-time 2025-06-16T00:00:00Z)
	run "$gate" verify "${vflags[@]}" "$art"
	assert "verify with the cached trusted root (no --trusted-root): exit 0" is "$code" 0
	cat >"$tmp/policy.yaml" <<EOF
version: 1
signers:
  dev:
    - keyless: {issuer: https://accounts.example.com, identity: dev@example.com}
rules:
  - name: dev signs
    require: {signers: dev}
EOF
	run "$gate" check --policy "$tmp/policy.yaml" --current-time 2025-06-16T00:00:00Z "$art"
	assert "check with the policy's default root = the cached one: exit 0" is "$code" 0

	# Expired timestamp (1 day): the embedded root is used instead.
	later=$(rfc $(($(date +%s) + 3 * 86400)))
	GATE_TIME=$later run "$gate" verify "${vflags[@]}" "$art"
	assert "timestamp expired: verify falls back to the embedded root (exit 1)" is "$code" 1
	GATE_TIME=$later run "$gate" check --policy "$tmp/policy.yaml" --current-time 2025-06-16T00:00:00Z "$art"
	assert "timestamp expired: check denies with the embedded root" is "$code" 1
fi
later=$(rfc $(($(date +%s) + 3 * 86400)))
GATE_TIME=$later run "$gate" trust show
assert "timestamp expired: show says embedded" has "$tmp/out" "Sigstore trusted root: embedded"
assert "timestamp expired: show says why" has "$tmp/out" "expired metadata: possible freeze attack: timestamp"

# Expired timestamp on the server: the update fails, the cache stays.
before=$(state_of "$cache")
fixture "$gate" tuf repo sign --repo "$repo" "${sign_keys[@]}" --expires timestamp=2020-01-01T00:00:00Z timestamp
run "$gate" trust update --url "$murl" --targets-url "$turl"
assert "server timestamp expired: exit 1" is "$code" 1
assert "server timestamp expired: freeze attack error" has "$tmp/err" "expired metadata: possible freeze attack: timestamp v3"
assert "server timestamp expired: cache byte-identical" is "$(state_of "$cache")" "$before"
run "$gate" trust show
assert "server timestamp expired: the cached root is still used" has "$tmp/out" "Sigstore trusted root: cache"

# A corrupt cached target: the metadata verifies, the file does not.
cp "$cache/targets/trusted_root.json" "$tmp/tr.save"
printf ' ' >>"$cache/targets/trusted_root.json"
run "$gate" trust show
assert "corrupt cached trusted_root.json: embedded used" has "$tmp/out" "Sigstore trusted root: embedded"
assert "corrupt cached trusted_root.json: says why" has "$tmp/out" "no verified copy in the cache"
if $have_stack; then
	run "$gate" verify "${vflags[@]}" "$art"
	assert "corrupt cached trusted_root.json: verify does not use it (exit 1)" is "$code" 1
fi
cp "$tmp/tr.save" "$cache/targets/trusted_root.json"

# A truncated cached snapshot: offline verification fails, embedded used;
# the next update repairs it.
head -c 40 "$cache/metadata/snapshot.json" >"$tmp/sn" && cp "$tmp/sn" "$cache/metadata/snapshot.json"
run "$gate" trust show
assert "truncated cached snapshot: embedded used" has "$tmp/out" "Sigstore trusted root: embedded"
fixture "$gate" tuf repo sign --repo "$repo" "${sign_keys[@]}" timestamp
run "$gate" trust update --url "$murl" --targets-url "$turl"
assert "truncated cached snapshot: the next update repairs it" is "$code" 0
run "$gate" trust show
assert "repaired: the cache is used again" has "$tmp/out" "Sigstore trusted root: cache"

# A new trusted root published: the update brings it.
if [ -f "$sc" ]; then
	fixture "$gate" tuf repo add --repo "$repo" "${sign_keys[@]}" "$src/verify/data/trusted_root.json=trusted_root.json"
	run "$gate" trust update --url "$murl" --targets-url "$turl"
	assert "new trusted_root.json: exit 0" is "$code" 0
	assert "new trusted_root.json: cached" same "$cache/targets/trusted_root.json" "$src/verify/data/trusted_root.json"
fi

# Usage errors.
run "$gate" trust
assert "trust without a sub-command: exit 2" is "$code" 2
run "$gate" trust update --policy "$tmp/none.yaml" --url x
assert "update --policy with --url: exit 2" is "$code" 2
run "$gate" trust show --url x
assert "show --url: exit 2" is "$code" 2

finish
