#!/usr/bin/env bash
# test_fulcio_claims.sh - Fulcio extension claims (GitHub workflow
# repository, ref, trigger, SHA, name; source repository URI, ref, digest;
# build signer URI; runner environment) matched by policy keyless entries
# (exact and anchored regexp) and by `gate verify`'s cosign flags
# (--certificate-github-workflow-*), `--new-bundle-format` and '-' (the
# artifact on standard input), on bundles from a private Sigstore instance
# (tests/tools/sigstore_stack.py --ext).
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
id=https://github.com/example/project/.github/workflows/release.yml@refs/heads/main
inst=$tmp/instance
root=$inst/trusted_root.json
art=$tmp/app.bin
head -c 8192 /dev/urandom >"$art"

fixture "$py" "$stack" init "$inst" --not-before 2025-01-01T00:00:00Z --days 3650
fixture "$py" "$stack" sign "$inst" "$art" --identity "$id" --issuer "$iss" --time "$T" \
	--ext github_workflow_trigger=push \
	--ext github_workflow_sha=0123456789abcdef0123456789abcdef01234567 \
	--ext github_workflow_name=release \
	--ext github_workflow_repository=example/project \
	--ext github_workflow_ref=refs/heads/main \
	--ext source_repository_uri=https://github.com/example/project \
	--ext source_repository_ref=refs/heads/main \
	--ext source_repository_digest=0123456789abcdef0123456789abcdef01234567 \
	--ext build_signer_uri="$id" \
	--ext runner_environment=github-hosted

# ---- gate verify: cosign's flags ----------------------------------------

v() {
	"$GATE" verify --trusted-root "$root" --current-time "$NOW" --bundle "$art.sigstore.json" \
		--certificate-identity "$id" --certificate-oidc-issuer "$iss" "$@"
}
run "verify with every workflow flag" 0 --out "verified:" -- \
	v --new-bundle-format \
	--certificate-github-workflow-trigger push \
	--certificate-github-workflow-sha 0123456789abcdef0123456789abcdef01234567 \
	--certificate-github-workflow-name release \
	--certificate-github-workflow-repository example/project \
	--certificate-github-workflow-ref refs/heads/main "$art"
for flag in trigger:pull_request sha:ffffffffffffffffffffffffffffffffffffffff name:ci \
	repository:example/other ref:refs/heads/dev; do
	name=${flag%%:*} want=${flag#*:}
	run "verify rejects another workflow $name" 1 \
		--out "rule: S16" --out "field: certificate.extensions.github_workflow_$name" \
		--out "is not the expected '$want'" -- \
		v --certificate-github-workflow-"$name" "$want" "$art"
done
run "verify: the artifact from standard input" 0 --in "$art" --out "verified: -" -- \
	v --certificate-github-workflow-ref refs/heads/main -
head -c 100 "$art" >"$tmp/other.bin"
run "verify: other bytes on standard input are rejected" 1 --in "$tmp/other.bin" \
	--out "rejected: -" -- v -
run "verify: --key excludes the workflow flags" 2 --err "github-workflow" -- \
	"$GATE" verify --trusted-root "$root" --bundle "$art.sigstore.json" --key "$root" \
	--certificate-github-workflow-ref refs/heads/main "$art"

# A certificate without the extensions: a flag that names one rejects.
plain=$tmp/plain.bin
head -c 100 /dev/urandom >"$plain"
fixture "$py" "$stack" sign "$inst" "$plain" --identity "$id" --issuer "$iss" --time "$T"
run "verify: a missing extension rejects" 1 \
	--out "the certificate has no github_workflow_ref extension" -- \
	"$GATE" verify --trusted-root "$root" --current-time "$NOW" --bundle "$plain.sigstore.json" \
	--certificate-identity "$id" --certificate-oidc-issuer "$iss" \
	--certificate-github-workflow-ref refs/heads/main "$plain"

# ---- policy keyless entries -------------------------------------------------

# policy FILE CLAIMS: one keyless entry (issuer, identity and CLAIMS).
policy() {
	cat >"$1" <<EOF
version: 1
trust:
  sigstore: {trusted_root: $root}
signers:
  ci:
    - keyless:
        issuer: $iss
        identity_regex: 'https://github\.com/example/project/.*'
$2
rules:
  - name: ci builds
    require: {signers: ci}
EOF
}
c() { "$GATE" check --current-time "$NOW" --policy "$@"; }

policy "$tmp/all.yaml" "        github_workflow_repository: example/project
        github_workflow_ref: refs/heads/main
        github_workflow_trigger: push
        github_workflow_name: release
        github_workflow_sha_regex: '[0-9a-f]{40}'
        source_repository_uri: https://github.com/example/project
        source_repository_ref_regex: 'refs/heads/(main|release/.*)'
        source_repository_digest: 0123456789abcdef0123456789abcdef01234567
        build_signer_uri_regex: 'https://github\.com/example/project/\.github/workflows/release\.yml@.*'
        runner_environment: github-hosted"
run "policy: every claim matches" 0 --out "ALLOW" --out "1 from the set" -- c "$tmp/all.yaml" "$art"
policy "$tmp/ref.yaml" "        github_workflow_ref: refs/heads/dev"
run "policy: another workflow ref denies" 1 --out "DENY" --out "0 from the set" -- c "$tmp/ref.yaml" "$art"
policy "$tmp/tag.yaml" "        source_repository_ref_regex: 'refs/tags/v.*'"
run "policy: a source ref regexp that does not match denies" 1 --out "DENY" --out "0 from the set" -- \
	c "$tmp/tag.yaml" "$art"
policy "$tmp/anch.yaml" "        runner_environment_regex: 'github'"
run "policy: regexps are anchored" 1 --out "DENY" --out "0 from the set" -- c "$tmp/anch.yaml" "$art"
policy "$tmp/runner.yaml" "        runner_environment: self-hosted"
run "policy: a self-hosted runner requirement denies" 1 --out "DENY" --out "0 from the set" -- \
	c "$tmp/runner.yaml" "$art"
policy "$tmp/missing.yaml" "        source_repository_ref: refs/heads/main"
run "policy: a claim the certificate lacks denies" 1 --out "DENY" --out "0 from the set" -- \
	c "$tmp/missing.yaml" "$plain"

# Load-time errors name FILE:LINE:COLUMN.
policy "$tmp/both.yaml" "        github_workflow_ref: refs/heads/main
        github_workflow_ref_regex: 'refs/.*'"
run "policy: exact and regexp of one claim" 2 --any "both.yaml:" \
	--any "keyless takes github_workflow_ref or github_workflow_ref_regex, not both" -- \
	"$GATE" policy lint "$tmp/both.yaml"
policy "$tmp/unknown.yaml" "        github_workflow_branch: main"
run "policy: an unknown claim" 2 --any "unknown.yaml:9:9" \
	--any "unknown key 'github_workflow_branch' in keyless" -- \
	"$GATE" policy lint "$tmp/unknown.yaml"
policy "$tmp/badre.yaml" "        github_workflow_ref_regex: 'refs/(heads'"
run "policy: a bad claim regexp" 2 --any "badre.yaml:9:" --any "bad regexp" -- \
	"$GATE" policy lint "$tmp/badre.yaml"

finish test_fulcio_claims
