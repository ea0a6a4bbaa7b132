#!/usr/bin/env bash
# test_attestations.sh - attestations are not signatures: a DSSE in-toto
# statement admits its subject only under a rule that requires attestations
# of its predicate type (require.attestation), with conditions on a SLSA
# provenance v1 predicate (builder id, build type, source repository and
# ref); a rule that requires signers counts signatures only. Bundles come
# from a private Sigstore instance (tests/tools/sigstore_stack.py --dsse
# --predicate-type --predicate).
#
# Env (set by CTest): GATE, GATE_SOURCE_DIR. Skips (exit 0) when
# /usr/bin/python3 has no `cryptography` module.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${GATE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
. "$here/lib.sh"
stack_setup
cli_setup

T=$(date -u +%s)
NOW=$(date -u -d "@$((T + 60))" +%Y-%m-%dT%H:%M:%SZ)
iss=https://token.actions.githubusercontent.com
id=https://github.com/example/app/.github/workflows/release.yml@refs/heads/main
slsa=https://slsa.dev/provenance/v1
builder=https://github.com/actions/runner/github-hosted
inst=$tmp/instance
root=$inst/trusted_root.json
store=$tmp/store
fixture "$py" "$stack" init "$inst" --not-before 2025-01-01T00:00:00Z --days 3650

cat >"$tmp/provenance.json" <<'JSON'
{"buildDefinition": {
   "buildType": "https://actions.github.io/buildtypes/workflow/v1",
   "externalParameters": {"workflow": {"ref": "refs/heads/main",
     "repository": "https://github.com/example/app", "path": ".github/workflows/release.yml"}},
   "resolvedDependencies": [{"uri": "git+https://github.com/example/app@refs/heads/main"}]},
 "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"},
   "metadata": {"invocationId": "https://github.com/example/app/actions/runs/1/attempts/1"}}}
JSON
cat >"$tmp/no-workflow.json" <<'JSON'
{"buildDefinition": {"buildType": "https://example.test/build/v1", "externalParameters": {}},
 "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"}}}
JSON

# art NAME KIND...: a file whose evidence (in the store) is each KIND:
# sig (a message signature), slsa (SLSA v1 provenance of provenance.json),
# bare (SLSA v1 provenance without workflow parameters), other (an
# attestation of another predicate type).
art() {
	local f=$tmp/$1 d k
	shift
	head -c 2048 /dev/urandom >"$f"
	d=$store/sha256/$(sha256sum "$f" | cut -d' ' -f1)
	mkdir -p "$d"
	for k in "$@"; do
		case $k in
			sig) set -- ;;
			slsa) set -- --dsse --predicate-type "$slsa" --predicate "$tmp/provenance.json" ;;
			bare) set -- --dsse --predicate-type "$slsa" --predicate "$tmp/no-workflow.json" ;;
			other) set -- --dsse --predicate-type https://example.test/vuln-scan/v1 ;;
		esac
		fixture "$py" "$stack" sign "$inst" "$f" --identity "$id" --issuer "$iss" \
			--time "$T" --out "$d/$k.sigstore.json" "$@"
	done
	echo "$f"
}
signed=$(art signed.bin sig)
scanned=$(art scanned.bin other)
built=$(art built.bin slsa)
bare=$(art bare.bin bare)

# policy FILE REQUIRE: signer set ci (the release workflow) and one rule.
policy() {
	printf '%s\n' "version: 1" "trust:" "  sigstore: {trusted_root: $root}" \
		"evidence: {dirs: [$store]}" "signers:" "  ci:" \
		"    - keyless: {issuer: $iss, identity: '$id'}" "rules:" \
		"  - name: release" "    require:" "      signers: ci" "$2" >"$1"
}
c() { "$GATE" check --current-time "$NOW" --policy "$@"; }

# ---- a rule that requires signers counts signatures only -------------------

policy "$tmp/sig.yaml" ""
run "signers: a message signature allows" 0 --out "ALLOW" -- c "$tmp/sig.yaml" "$signed"
run "signers: an attestation of any other type is not a signature" 1 --out "DENY" \
	--out "0 of 1 required distinct signers" \
	--out "1 verified attestation not counted: the rule requires signatures" -- \
	c "$tmp/sig.yaml" "$scanned"
run "signers: SLSA provenance is not a signature either" 1 --out "DENY" -- \
	c "$tmp/sig.yaml" "$built"

# ---- attestation rules: predicate type and SLSA conditions -----------------

policy "$tmp/slsa.yaml" "      attestation:
        predicate_type: $slsa
        builder_id: $builder
        build_type_regex: 'https://actions\.github\.io/buildtypes/workflow/v[0-9]+'
        source_repository: https://github.com/example/app
        source_ref_regex: 'refs/heads/(main|release/.*)'"
run "attestation: SLSA provenance meeting every condition allows" 0 --out "ALLOW" \
	--out "1 verified attestation, 1 from the set" -- c "$tmp/slsa.yaml" "$built"
run "attestation: a signature does not stand for an attestation" 1 --out "DENY" \
	--out "0 of 0 verified attestations are" -- c "$tmp/slsa.yaml" "$signed"
run "attestation: another predicate type denies" 1 --out "DENY" \
	--out "attestations must be of type '$slsa' and meet the rule's conditions: 0 of 1" -- \
	c "$tmp/slsa.yaml" "$scanned"
run "attestation: a predicate without the source repository denies" 1 --out "DENY" -- \
	c "$tmp/slsa.yaml" "$bare"
policy "$tmp/builder.yaml" "      attestation:
        predicate_type: $slsa
        builder_id: https://github.com/actions/runner/self-hosted"
run "attestation: another builder denies" 1 --out "DENY" -- c "$tmp/builder.yaml" "$built"
policy "$tmp/tag.yaml" "      attestation:
        predicate_type: $slsa
        source_ref_regex: 'refs/tags/v.*'"
run "attestation: another source ref denies" 1 --out "DENY" -- c "$tmp/tag.yaml" "$built"
policy "$tmp/scan.yaml" "      attestation: {predicate_type: https://example.test/vuln-scan/v1}"
run "attestation: a rule for the scan type admits the scan attestation" 0 --out "ALLOW" -- \
	c "$tmp/scan.yaml" "$scanned"
run "attestation: ... and not the provenance" 1 --out "DENY" -- c "$tmp/scan.yaml" "$built"

# ---- facts: the predicate's claims in gate verify's output ----------------

run "verify: the predicate's claims are facts" 0 \
	--out '"predicate_type": "https://slsa.dev/provenance/v1"' \
	--out '"builder_id": "https://github.com/actions/runner/github-hosted"' \
	--out '"source_repository": "https://github.com/example/app"' \
	--out '"source_ref": "refs/heads/main"' -- \
	"$GATE" verify --format json --trusted-root "$root" --current-time "$NOW" \
	--certificate-identity "$id" --certificate-oidc-issuer "$iss" \
	--bundle "$store/sha256/$(sha256sum "$built" | cut -d' ' -f1)/slsa.sigstore.json" "$built"

# ---- load-time errors name FILE:LINE:COLUMN --------------------------------

policy "$tmp/e1.yaml" "      attestation: {builder_id: $builder}"
run "lint: attestation needs predicate_type" 2 --any "e1.yaml:12:20" \
	--any "attestation needs predicate_type" -- "$GATE" policy lint "$tmp/e1.yaml"
policy "$tmp/e2.yaml" "      attestation: {predicate_type: https://example.test/x, source_ref: main}"
run "lint: SLSA conditions need the SLSA predicate type" 2 --any "e2.yaml:12:" \
	--any "source_ref is a condition on SLSA provenance" -- "$GATE" policy lint "$tmp/e2.yaml"
policy "$tmp/e3.yaml" "      attestation: {predicate_type: $slsa, builder: x}"
run "lint: an unknown condition" 2 --any "e3.yaml:12:" \
	--any "unknown key 'builder' in attestation" -- "$GATE" policy lint "$tmp/e3.yaml"
policy "$tmp/e4.yaml" "      attestation: {predicate_type: $slsa, builder_id: a, builder_id_regex: b}"
run "lint: exact and regexp of one condition" 2 --any "e4.yaml:12:" \
	--any "attestation takes builder_id or builder_id_regex, not both" -- \
	"$GATE" policy lint "$tmp/e4.yaml"

finish test_attestations
