#!/usr/bin/env bash
# test_modes.sh - one policy, a mode per caller: `mode: {apt: ..., exec:
# ..., ci: ...}`. `gate check --caller C` and the apt hook each take the
# mode of their caller (a caller left out is enforce); an unknown caller or
# mode is refused with FILE:LINE:COLUMN by `gate policy lint` and by every
# command that loads the policy.
# Env: GATE.
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cli_setup /tmp/gate-modes.XXXXXX
cd "$tmp" || exit 1

printf 'not a package\n' >"$tmp/x.deb"
cat >"$tmp/split.yaml" <<'EOF2'
version: 1
mode:
  apt: audit
  exec: audit
rules:
  - name: nothing
    decision: deny
EOF2
run "lint: per-caller modes load" 0 -- "$GATE" policy lint "$tmp/split.yaml"

# ---- gate check: the mode of --caller ----
run "check, caller apt: audit allows" 0 -- \
    "$GATE" check --policy "$tmp/split.yaml" --caller apt --format json "$tmp/x.deb"
check "check, caller apt: denied, allowed by audit" grep -qF '"allowed": true' "$tmp/.stdout"
run "check, caller ci (left out): enforce denies" 1 -- \
    "$GATE" check --policy "$tmp/split.yaml" --caller ci --format json "$tmp/x.deb"
check "check, caller ci: denied, not allowed" grep -qF '"allowed": false' "$tmp/.stdout"

# ---- the apt hook: caller apt ----
printf 'VERSION 3\nAPT::Architecture=amd64\n\nx - - none < 1.0 all none %s\n' "$tmp/x.deb" >"$tmp/tx"
run "hook: apt is audit: denial reported, apt proceeds" 0 --in "$tmp/tx" \
    --err "DENY (audit mode: allowed)" -- \
    "$GATE" hook apt --no-ledger --policy "$tmp/split.yaml"
sed 's/apt: audit/apt: enforce/' "$tmp/split.yaml" >"$tmp/apt-enforce.yaml"
run "hook: apt is enforce: refused" 1 --in "$tmp/tx" --err "DENY" -- \
    "$GATE" hook apt --no-ledger --policy "$tmp/apt-enforce.yaml"

# ---- refused ----
printf 'version: 1\nmode: {apt: enforce, yum: audit}\nrules: []\n' >"$tmp/bad-caller.yaml"
run "lint: unknown caller, file:line:col" 2 \
    --any "$tmp/bad-caller.yaml:2:22: error: unknown caller 'yum' in mode: callers are apt, exec and ci" -- \
    "$GATE" policy lint "$tmp/bad-caller.yaml"
run "check: unknown caller refused" 2 --err "$tmp/bad-caller.yaml:2:22:" -- \
    "$GATE" check --policy "$tmp/bad-caller.yaml" "$tmp/x.deb"
printf 'version: 1\nmode: {exec: maybe}\nrules: []\n' >"$tmp/bad-mode.yaml"
run "lint: unknown mode of a caller" 2 \
    --any "$tmp/bad-mode.yaml:2:14: error: mode.exec must be enforce, audit or off, not 'maybe'" -- \
    "$GATE" policy lint "$tmp/bad-mode.yaml"
printf 'version: 1\nmode: {ci: off}\nrules: []\n' >"$tmp/ci-off.yaml"
run "lint: a caller off is warned about" 1 --any "mode of caller ci is off" -- \
    "$GATE" policy lint "$tmp/ci-off.yaml"
finish test_modes
