#!/usr/bin/env bash
# test_docs_options.sh - the documentation cannot drift from the options:
# every long option a command's --help shows must be offered by the bash
# completion (completion/gate.bash) in that command's context, and must
# appear in its manual page (man/gate.1, man/gated.8); every command
# `gate --help` lists must be completed and have a section in gate.1;
# every page must render without a groff or man warning.
# Options named inside quoted example commands ('gate verify --key ...')
# belong to that other command and are left out.
# Env (set by CTest): GATE, GATE_SOURCE_DIR, GATE_BUILD_DIR.
set -u
src=${GATE_SOURCE_DIR:?}
. "$src/tests/cli/lib.sh"
cli_setup
GATED=${GATED:-${GATE_BUILD_DIR:?}/gated}
comp=$src/completion/gate.bash

fixture test -f "$comp"
fixture test -f "$src/man/gate.1"
fixture test -f "$src/man/gated.8"
fixture test -x "$GATED"
# shellcheck source=/dev/null
. "$comp"
# The pages with roff's \- written as -.
sed 's/\\-/-/g' "$src/man/gate.1" >"$tmp/gate.1.txt"
sed 's/\\-/-/g' "$src/man/gated.8" >"$tmp/gated.8.txt"

# help_options HELPFILE: the long options of a --help text, one per line;
# "--a-b|-c|-d" stands for --a-b, --a-c and --a-d.
help_options() {
    perl -0777 -ne '
        s/\x27gate [^\x27]*\x27//g;
        while (/(--[a-z0-9][a-z0-9-]*)((?:\|-[a-z0-9-]+)*)/g) {
            my ($opt, $alts) = ($1, $2);
            print "$opt\n";
            (my $stem = $opt) =~ s/-[a-z0-9]+$//;
            print "$stem$_\n" for $alts =~ /\|(-[a-z0-9-]+)/g;
        }' "$1" | sort -u
}

# offered CMD WORD...: the options completion offers after "CMD WORD... --".
offered() {
    local spec fn
    spec=$(complete -p "$1") || return 1
    fn=${spec#*-F }
    fn=${fn%% *}
    COMP_WORDS=("$@" --)
    COMP_CWORD=$#
    COMPREPLY=()
    "$fn" "$1" -- "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}"
}

# each_option LABEL WHERE TEST: TEST OPT holds for every option in
# $tmp/opts, else one failure naming the options for which it does not.
each_option() {
    local opt missing=
    while read -r opt; do
        "$3" "$opt" || missing="$missing $opt"
    done <"$tmp/opts"
    if [ -z "$missing" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $1: options in --help but not $2:$missing"
    fi
}
in_offered() { grep -qxF -- "$1" "$tmp/offered"; }
in_page() { grep -qE -- "$1([^a-z0-9-]|\$)" "$page_txt"; }

# check_help LABEL PAGE HELP-CMD -- CONTEXT... : every option of HELP-CMD's
# --help is offered in one of the completion CONTEXTs (each a quoted
# command line) and appears in PAGE.
check_help() {
    local label=$1 page=$2 ctx
    shift 2
    local -a helpcmd=()
    while [ "$1" != -- ]; do
        helpcmd+=("$1")
        shift
    done
    shift
    if ! "${helpcmd[@]}" --help >"$tmp/help" 2>&1; then
        failed=$((failed + 1))
        echo "FAIL $label: ${helpcmd[*]} --help failed: $(head -c 300 "$tmp/help")"
        return
    fi
    help_options "$tmp/help" >"$tmp/opts"
    : >"$tmp/offered"
    for ctx in "$@"; do
        # shellcheck disable=SC2086
        offered $ctx >>"$tmp/offered"
    done
    each_option "$label" "completed" in_offered
    page_txt=$page
    each_option "$label" "in $(basename "$page" .txt)" in_page
}

g=$tmp/gate.1.txt
check_help "gate verify" "$g" "$GATE" verify -- "gate verify"
check_help "gate check" "$g" "$GATE" check -- "gate check"
check_help "gate policy" "$g" "$GATE" policy -- "gate policy lint" "gate policy explain"
check_help "gate keygen" "$g" "$GATE" keygen -- "gate keygen"
check_help "gate sign" "$g" "$GATE" sign -- "gate sign"
check_help "gate ledger" "$g" "$GATE" ledger -- "gate ledger" "gate ledger list" \
    "gate ledger verify" "gate ledger record-deb" "gate ledger import dpkg"
check_help "gate hook apt" "$g" "$GATE" hook apt -- "gate hook apt"
check_help "gate tuf" "$g" "$GATE" tuf -- "gate tuf" "gate tuf download"
check_help "gate tuf repo" "$g" "$GATE" tuf repo -- "gate tuf repo init" "gate tuf repo add" \
    "gate tuf repo sign"
check_help "gate trust" "$g" "$GATE" trust -- "gate trust update" "gate trust show"
check_help "gate status" "$g" "$GATE" status -- "gate status"
check_help "gated" "$tmp/gated.8.txt" "$GATED" -- "gated"

# The commands gate --help lists: completed, and a section of gate.1.
run "gate --help" 0 -- "$GATE" --help
sed -n '/^Commands:/,/^$/p' "$tmp/.stdout" | awk 'NR > 1 && NF { print $1 }' >"$tmp/cmds"
run "gate --help lists commands" 0 -- test -s "$tmp/cmds"
COMP_WORDS=(gate '')
COMP_CWORD=1
_gate gate '' gate
printf '%s\n' "${COMPREPLY[@]}" >"$tmp/offered"
while read -r c; do
    run "command '$c' is completed" 0 -- grep -qxF -- "$c" "$tmp/offered"
    run "command '$c' has a section in gate.1" 0 -- grep -qE -- "^\\.SS gate $c( |\$)" "$src/man/gate.1"
done <"$tmp/cmds"

# Each page renders without a warning from groff or man.
for page in gate.1 gate-policy.5 gated.8; do
    title=$(basename "$page" | tr '[:lower:]' '[:upper:]' | sed 's/\.\(.\)$/(\1)/')
    run "$page: groff -man -ww has no warning" 0 --no-any "warning" --no-any "error" -- \
        groff -man -ww -z "$src/man/$page"
    run "$page: man -l renders it" 0 --out "$title" --no-err "" -- man -l -Tutf8 "$src/man/$page"
done

# The check itself: an option missing from the completion or the page is
# caught (a copy of the help with one made-up option).
printf '  --policy FILE  x\n  --no-such-option  y\n' >"$tmp/fake"
help_options "$tmp/fake" >"$tmp/opts"
run "a made-up option is read from a help text" 0 -- grep -qxF -- --no-such-option "$tmp/opts"
run "a made-up option is not in gate.1" 1 -- grep -qE -- "--no-such-option([^a-z0-9-]|\$)" "$g"
run "a made-up option is not completed" 1 -- grep -qxF -- --no-such-option <(offered gate check)
printf "  'gate verify --key PUB'  --certificate-github-workflow-trigger|-sha V\n" >"$tmp/fake"
help_options "$tmp/fake" >"$tmp/opts"
run "alternatives after | are expanded" 0 -- grep -qxF -- --certificate-github-workflow-sha "$tmp/opts"
run "options of a quoted example command are left out" 1 -- grep -qxF -- --key "$tmp/opts"

finish docs_options
