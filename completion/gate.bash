# bash completion for gate(1) and gated(8).
# The option lists follow each command's --help (gate/cli/*.c,
# hooks/apt/apt_hook.c, gate/daemon/gated.c); tests/cli/test_docs_options.sh
# fails when --help shows a long option that is not offered here.
# Installed as bash-completion/completions/gate and .../gated.

_gate_opts_verify='--bundle --signature --certificate --certificate-chain --key
 --certificate-identity --certificate-identity-regexp --certificate-oidc-issuer
 --certificate-oidc-issuer-regexp --certificate-github-workflow-trigger
 --certificate-github-workflow-sha --certificate-github-workflow-name
 --certificate-github-workflow-repository --certificate-github-workflow-ref
 --trusted-root --insecure-ignore-tlog --current-time --format --new-bundle-format
 --p7s --pe --jar --ca --tsa-ca --crl --crl-mode --crl-fetch --crl-cache
 --allow-unsigned-entries --help'
_gate_opts_check='--policy --evidence --caller --format --output --jobs --current-time
 --allow-empty --help'
_gate_opts_policy_explain='--policy --caller --evidence --current-time'
_gate_opts_keygen='--alg --output-key-prefix --passphrase-env --help'
_gate_opts_sign='--key --passphrase-env --bundle --output-signature --help'
_gate_opts_ledger='--db --format --help'
_gate_opts_ledger_verify='--db --format --root'
_gate_opts_ledger_record_deb='--db --rule'
_gate_opts_ledger_import='--db --format --root --admindir --policy --jobs --force --verbose
 --debs --current-time'
_gate_opts_hook_apt='--policy --evidence --ledger --no-ledger --jobs --fetch-timeout
 --current-time --cache-dir --root --post-invoke --no-background --install --uninstall
 --apt-conf-dir --help'
_gate_opts_tuf='--metadata-dir --metadata-url --target-dir --target-base-url --target-name
 --help'
_gate_opts_tuf_repo='--repo --key --threshold --expires --passphrase-env --help'
_gate_opts_tuf_repo_init='--repo --key --threshold --expires --consistent-snapshot
 --passphrase-env'
_gate_opts_tuf_repo_add='--repo --key --expires --from --prefix --passphrase-env'
_gate_opts_tuf_repo_sign='--repo --key --set-key --threshold --expires --passphrase-env'
_gate_opts_trust='--dir --url --targets-url --root --policy --repo --format --help'
_gate_opts_status='--status --format --help'
_gated_opts='--policy --ledger --mount --filesystem --interpreter --interpreter-inline
 --loader-as-program --deadline-ms --default --workers --cache --queue --max-size
 --log-queue --status --audit --follow-mounts --posture --sysctl-root --cache-dir --probe
 --version --help'

# Options that take no value; every other long option takes the next word.
_gate_flags='--insecure-ignore-tlog --new-bundle-format --pe --jar --crl-fetch
 --allow-unsigned-entries --allow-empty --force --verbose --no-ledger --install --uninstall
 --consistent-snapshot --probe --version --help'
_gate_flags=$(echo $_gate_flags)

_gate_files() { mapfile -t COMPREPLY < <(compgen -f -- "$1"); }
_gate_dirs() { mapfile -t COMPREPLY < <(compgen -d -- "$1"); }
_gate_words() { mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2"); }

# The value of option $2 in command context $1 (e.g. "check", "ledger
# import", "gated"), for the word $3. Returns 1 when $2 takes no value.
_gate_value() {
    local ctx=$1 opt=$2 cur=$3
    case $opt in
    --format)
        case $ctx in
        check) _gate_words 'text json sarif junit markdown' "$cur" ;;
        *) _gate_words 'text json' "$cur" ;;
        esac ;;
    --caller) _gate_words 'ci apt exec' "$cur" ;;
    --alg) _gate_words 'ecdsa-p256 ecdsa-p384 ed25519' "$cur" ;;
    --crl-mode) _gate_words 'require prefer ignore' "$cur" ;;
    --default | --interpreter-inline) _gate_words 'allow deny' "$cur" ;;
    --loader-as-program) _gate_words 'deny log' "$cur" ;;
    --posture) _gate_words 'log fix refuse' "$cur" ;;
    --audit) _gate_words 'syslog stderr' "$cur"; [ ${#COMPREPLY[@]} -gt 0 ] || _gate_files "$cur" ;;
    --root)
        case $ctx in
        trust*) _gate_files "$cur" ;;
        *) _gate_dirs "$cur" ;;
        esac ;;
    --repo)
        case $ctx in
        tuf\ repo*) _gate_dirs "$cur" ;;
        *) COMPREPLY=() ;;
        esac ;;
    --bundle | --signature | --certificate | --certificate-chain | --key | --trusted-root | \
        --p7s | --ca | --tsa-ca | --crl | --policy | --output | --db | --ledger | --status | \
        --interpreter | --output-key-prefix | --output-signature | --set-key)
        _gate_files "$cur" ;;
    --evidence | --crl-cache | --debs | --admindir | --cache-dir | --apt-conf-dir | \
        --metadata-dir | --target-dir | --from | --mount | --filesystem | --follow-mounts | \
        --sysctl-root | --dir)
        _gate_dirs "$cur" ;;
    --certificate-* | --current-time | --jobs | --passphrase-env | --fetch-timeout | \
        --metadata-url | --target-base-url | --target-name | --targets-url | --url | \
        --threshold | --expires | --prefix | --rule | --deadline-ms | --workers | --cache | \
        --queue | --max-size | --log-queue)
        COMPREPLY=() ;;
    *) return 1 ;;
    esac
    return 0
}

# Sets cur (the word being completed), w (the words before it) and prev
# (the option whose value cur is, or the word before cur). With '=' in
# COMP_WORDBREAKS, as by default, "--opt=val" arrives as "--opt" "=" "val".
_gate_words_before() {
    cur=${COMP_WORDS[COMP_CWORD]}
    w=("${COMP_WORDS[@]:0:COMP_CWORD}")
    prev=
    local n=${#w[@]}
    if [ "$cur" = "=" ] && [ "$n" -ge 2 ]; then
        cur=
        prev=${w[n - 1]}
    elif [ "$n" -ge 3 ] && [ "${w[n - 1]}" = "=" ]; then
        prev=${w[n - 2]}
    elif [ "$n" -ge 2 ]; then
        prev=${w[n - 1]}
    fi
}

# Completes word $cur in context $ctx with option list $opts; $subs are the
# words that may come next when no option is being typed.
_gate_complete() {
    local ctx=$1 opts=$2 subs=$3 cur=$4 prev=$5 filesok=$6
    if [[ $cur == --*=* ]]; then
        local opt=${cur%%=*} i
        if _gate_value "$ctx" "$opt" "${cur#*=}"; then
            for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]="$opt=${COMPREPLY[i]}"; done
            return 0
        fi
    fi
    if [[ $prev == --* ]] && _gate_value "$ctx" "$prev" "$cur"; then
        return 0
    fi
    if [[ $cur == -* ]]; then
        _gate_words "$opts" "$cur"
    elif [ -n "$subs" ]; then
        _gate_words "$subs" "$cur"
    elif [ "$filesok" = 1 ]; then
        _gate_files "$cur"
    else
        COMPREPLY=()
    fi
}

_gate() {
    local cur prev
    local -a w
    _gate_words_before
    # The command words typed so far, options and their values left out.
    local -a cmd=()
    local i skip=0
    for ((i = 1; i < ${#w[@]}; i++)); do
        if [ $skip = 1 ]; then
            skip=0
            continue
        fi
        case ${w[i]} in
        --*=*) ;;
        -j) skip=1 ;;
        --*) [[ " $_gate_flags " == *" ${w[i]} "* ]] || skip=1 ;;
        -*) ;;
        *) cmd+=("${w[i]}") ;;
        esac
    done
    COMPREPLY=()
    case ${cmd[0]-} in
    '') _gate_complete '' '--help --version' \
        'verify check policy keygen sign ledger hook tuf trust status version help' \
        "$cur" "$prev" 0 ;;
    verify | check | keygen | sign | status)
        local v=_gate_opts_${cmd[0]}
        _gate_complete "${cmd[0]}" "${!v}" '' "$cur" "$prev" 1 ;;
    policy)
        case ${cmd[1]-} in
        '') _gate_complete policy '--help' 'lint explain' "$cur" "$prev" 0 ;;
        lint) _gate_complete 'policy lint' '' '' "$cur" "$prev" 1 ;;
        explain) _gate_complete 'policy explain' "$_gate_opts_policy_explain" '' "$cur" "$prev" 1 ;;
        esac ;;
    ledger)
        case ${cmd[1]-} in
        '') _gate_complete ledger "$_gate_opts_ledger" \
            'list show lookup verify record-deb import' "$cur" "$prev" 0 ;;
        list | show | lookup) _gate_complete "ledger ${cmd[1]}" '--db --format' '' "$cur" "$prev" 0 ;;
        verify) _gate_complete 'ledger verify' "$_gate_opts_ledger_verify" '' "$cur" "$prev" 1 ;;
        record-deb) _gate_complete 'ledger record-deb' "$_gate_opts_ledger_record_deb" '' \
            "$cur" "$prev" 1 ;;
        import)
            local subs=dpkg
            [ -n "${cmd[2]-}" ] && subs=
            _gate_complete 'ledger import' "$_gate_opts_ledger_import" "$subs" "$cur" "$prev" 0 ;;
        esac ;;
    hook)
        case ${cmd[1]-} in
        '') _gate_complete hook '--help' 'apt' "$cur" "$prev" 0 ;;
        apt) _gate_complete 'hook apt' "$_gate_opts_hook_apt" '' "$cur" "$prev" 0 ;;
        esac ;;
    tuf)
        case ${cmd[1]-} in
        '') _gate_complete tuf "$_gate_opts_tuf" 'init refresh download repo' "$cur" "$prev" 0 ;;
        init) _gate_complete 'tuf init' "$_gate_opts_tuf" '' "$cur" "$prev" 1 ;;
        refresh | download) _gate_complete "tuf ${cmd[1]}" "$_gate_opts_tuf" '' "$cur" "$prev" 0 ;;
        repo)
            case ${cmd[2]-} in
            '') _gate_complete 'tuf repo' "$_gate_opts_tuf_repo" 'init add sign' "$cur" "$prev" 0 ;;
            init) _gate_complete 'tuf repo init' "$_gate_opts_tuf_repo_init" '' "$cur" "$prev" 0 ;;
            add) _gate_complete 'tuf repo add' "$_gate_opts_tuf_repo_add" '' "$cur" "$prev" 1 ;;
            sign) _gate_complete 'tuf repo sign' "$_gate_opts_tuf_repo_sign" \
                'root targets snapshot timestamp' "$cur" "$prev" 0 ;;
            esac ;;
        esac ;;
    trust)
        case ${cmd[1]-} in
        '') _gate_complete trust '--help' 'update show' "$cur" "$prev" 0 ;;
        update | show) _gate_complete "trust ${cmd[1]}" "$_gate_opts_trust" '' "$cur" "$prev" 0 ;;
        esac ;;
    esac
    return 0
}

_gated() {
    local cur prev
    local -a w
    _gate_words_before
    COMPREPLY=()
    _gate_complete gated "$_gated_opts" '' "$cur" "$prev" 0
    return 0
}

complete -F _gate gate
complete -F _gated gated
