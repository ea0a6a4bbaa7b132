#!/usr/bin/env bash
# test_trust_fresh.sh - stale embedded trust is never used silently: with no
# cached Sigstore root, `gate verify` and `gate check` verify with the root
# embedded in gate; once its TUF root has expired each command warns once
# on stderr, the facts say trust_source/trust_expired, and a policy with
# trust.require_fresh: true denies what only stale trust vouches for. Uses
# the real public-good bundle of examples/sigstore/ (its certificate chain
# is checked at its signing time, so it verifies at any current time).
#
# Env (set by CTest): GATE, GATE_SOURCE_DIR.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${GATE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
. "$here/lib.sh"
cli_setup

ex=$src/examples/sigstore
id=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
iss=https://token.actions.githubusercontent.com
# The embedded TUF root (v15) expired 2026-11-20; times either side of it.
before=2026-01-01T00:00:00Z
after=2026-12-01T00:00:00Z
export GATE_CACHE_DIR=$tmp/cache # empty: no cached root, the embedded one is used
warning="the Sigstore trusted root in use is the one embedded in gate, and its TUF root expired"

v() {
	"$GATE" verify --bundle "$ex/a.txt.sigstore.json" --certificate-identity "$id" \
		--certificate-oidc-issuer "$iss" "$@" "$ex/a.txt"
}

run "verify: stale embedded trust warns and says so in the facts" 0 \
	--err "gate: warning: $warning" --err "run 'gate trust update'" \
	--out '"trust_source": "embedded"' --out '"trust_expired": true' -- \
	v --current-time "$after" --format json
check "verify: the warning is one line" test "$(grep -c warning "$tmp/.stderr")" = 1
run "verify: text facts name the trust" 0 --out "trust: embedded (expired: run 'gate trust update')" -- \
	v --current-time "$after"
run "verify: before the expiry, no warning" 0 --no-err "warning" \
	--out '"trust_source": "embedded"' --out '"trust_expired": false' -- \
	v --current-time "$before" --format json

# gate check: the policy's root is the embedded one (no trust.sigstore).
mkdir -p "$tmp/art"
for n in 1 2 3; do
	cp "$ex/a.txt" "$tmp/art/a$n.txt"
	cp "$ex/a.txt.sigstore.json" "$tmp/art/a$n.txt.sigstore.json"
done
policy() {
	printf '%s\n' "version: 1" "$2" "signers:" "  beacon:" \
		"    - keyless: {issuer: '$iss', identity: '$id'}" "rules:" \
		"  - name: beacon" "    match: {path: ['**/*.txt']}" \
		"    require: {signers: beacon}" >"$1"
}
policy "$tmp/lax.yaml" ""
policy "$tmp/fresh.yaml" "trust: {require_fresh: true}"

GATE_TIME=$after run "check: stale trust allows by default, warns once for every file" 0 \
	--err "gate: warning: $warning" --out '"trust_source": "embedded"' \
	--out '"trust_expired": true' -- \
	"$GATE" check --current-time "$after" --format json --policy "$tmp/lax.yaml" "$tmp/art"
check "check: one warning for three files" test "$(grep -c warning "$tmp/.stderr")" = 1
GATE_TIME=$after run "check: trust.require_fresh denies on stale trust" 1 --out "DENY" \
	--out "trust.require_fresh: 1 of 1 signer signatures verified with the embedded Sigstore trusted root after its TUF root expired" -- \
	"$GATE" check --current-time "$after" --policy "$tmp/fresh.yaml" "$tmp/art/a1.txt"
GATE_TIME=$before run "check: trust.require_fresh allows while the trust is fresh" 0 \
	--out "ALLOW" --no-err "warning" -- \
	"$GATE" check --current-time "$before" --policy "$tmp/fresh.yaml" "$tmp/art/a1.txt"
printf '%s\n' "version: 1" "trust: {require_fresh: yes}" "rules:" "  - name: r" \
	"    decision: deny" >"$tmp/bad.yaml"
run "lint: require_fresh is a boolean" 2 --any "bad.yaml:2:24" \
	--any "trust.require_fresh must be true or false, not 'yes'" -- \
	"$GATE" policy lint "$tmp/bad.yaml"

finish test_trust_fresh
