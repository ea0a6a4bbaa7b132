#!/usr/bin/env bash
# test_completion.sh - completion/gate.bash, sourced into bash, completes
# gate's commands, subcommands, options and option values, and gated's:
# each case sets COMP_WORDS/COMP_CWORD as bash does, calls the function
# `complete -p` registered, and compares COMPREPLY with what is expected.
# Env (set by CTest): GATE, GATE_SOURCE_DIR.
set -u
src=${GATE_SOURCE_DIR:?}
. "$src/tests/cli/lib.sh"
cli_setup
comp=$src/completion/gate.bash

fixture test -f "$comp"
# shellcheck source=/dev/null
. "$comp"

# complete_words WORD... : COMPREPLY, sorted, one per line, for the command
# line WORD... whose last word is the one being completed.
complete_words() {
    local spec fn
    spec=$(complete -p "$1") || return 1
    fn=${spec#*-F }
    fn=${fn%% *}
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect NAME "WANT (space separated, any order)" WORD...
expect() {
    local name=$1 want got
    want=$(tr ' ' '\n' <<<"$2" | sort)
    shift 2
    got=$(complete_words "$@")
    if [ "$got" = "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        echo "  words: $*"
        echo "  want: $(tr '\n' ' ' <<<"$want")"
        echo "  got:  $(tr '\n' ' ' <<<"$got")"
    fi
}

# has NAME WANT WORD... : WANT is among the completions.
has() {
    local name=$1 want=$2
    shift 2
    if complete_words "$@" | grep -qxF -- "$want"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name: '$want' not offered for: $*"
        echo "  got: $(complete_words "$@" | tr '\n' ' ')"
    fi
}

check "gate has a completion function" complete -p gate
check "gated has a completion function" complete -p gated

expect "commands" "verify check policy keygen sign ledger hook tuf trust status version help" gate ''
expect "a command by its prefix" "check" gate ch
expect "check's options by prefix" "--format" gate check --for
expect "check's --format values" "text json sarif junit markdown" gate check --format ''
expect "check's --format value after =" "--format=json --format=junit" gate check --format=j
expect "--format=value split by COMP_WORDBREAKS" "sarif" gate check --format = s
expect "check's --format markdown by prefix" "markdown" gate check --format m
expect "--format= with nothing typed after it" "text json sarif junit markdown" gate check --format =
expect "verify's --format values" "text json" gate verify --format ''
expect "--caller values" "ci apt exec" gate check --caller ''
expect "policy subcommands" "lint explain" gate policy ''
expect "policy explain's options" "--caller --current-time" gate policy explain --c
expect "ledger subcommands" "list show lookup verify record-deb import" gate ledger ''
expect "ledger import's source" "dpkg" gate ledger import ''
expect "ledger import's options" "--debs --db" gate ledger import dpkg --d
expect "ledger verify's --root only" "--root" gate ledger verify --r
expect "hook's adapters" "apt" gate hook ''
expect "hook apt's options" "--no-background --no-ledger" gate hook apt --no
expect "an option's value is not a command word" "--install" gate hook apt --ledger /x --ins
expect "tuf subcommands" "init refresh download repo" gate tuf ''
expect "tuf repo subcommands" "init add sign" gate tuf repo ''
expect "tuf repo sign's roles" "root targets snapshot timestamp" gate tuf repo sign --repo r ''
expect "tuf repo sign's --set-key" "--set-key" gate tuf repo sign --se
expect "trust subcommands" "update show" gate trust ''
expect "keygen's --alg values" "ecdsa-p256 ecdsa-p384 ed25519" gate keygen --alg ''
expect "verify's --crl-mode values" "require prefer ignore" gate verify --crl-mode ''
has "verify's Fulcio claim options" --certificate-github-workflow-ref gate verify --certificate-g
expect "gated's options by prefix" "--posture --probe --policy" gated --p
expect "gated's --posture values" "log fix refuse" gated --posture ''
expect "gated's --default values" "allow deny" gated --default ''
expect "gated's --loader-as-program values" "deny log" gated --loader-as-program ''

# File and folder values come from the file system.
mkdir -p "$tmp/pol/sub"
: >"$tmp/pol/policy.yaml"
expect "--policy completes files" "$tmp/pol/policy.yaml" gate check --policy "$tmp/pol/po"
expect "--evidence completes folders only" "$tmp/pol/sub" gate check --evidence "$tmp/pol/"
expect "check's PATHs complete files" "$tmp/pol/policy.yaml" gate check "$tmp/pol/p"
expect "gated --mount completes folders" "$tmp/pol/sub" gated --mount "$tmp/pol/s"

finish completion
