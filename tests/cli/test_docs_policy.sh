#!/usr/bin/env bash
# test_docs_policy.sh - every example policy in man/gate-policy.5 (each
# .EX block that starts with "version: 1") loads and lints clean, so the
# reference cannot show a key, a value or a layout the loader refuses. The
# files the examples name are made here with the real tools: keys from
# examples/keys, a trusted root from the private Sigstore instance, an
# X.509 PKI with openssl (tests/tools/codesign_pki.sh), a TUF root with
# `gate tuf repo init`, digest lists; the apt examples name Debian's own
# archive keyring.
# Env (set by CTest): GATE, GATE_SOURCE_DIR.
set -u
src=${GATE_SOURCE_DIR:?}
here=$src/tests/cli
. "$here/lib.sh"
stack_setup
cli_setup
page=$src/man/gate-policy.5
fx=$tmp/fx

mkdir -p "$fx"
fixture cp -r "$src/examples/keys" "$fx/keys"
fixture "$py" "$stack" init "$tmp/instance" --not-before 2025-01-01T00:00:00Z --days 3650
fixture cp "$tmp/instance/trusted_root.json" "$fx/trusted_root.json"
fixture bash "$src/tests/tools/codesign_pki.sh" "$tmp/pki"
fixture cp "$tmp/pki/root.pem" "$fx/corp-root.pem"
fixture cp "$tmp/pki/tsa-root.pem" "$fx/tsa-root.pem"
fixture cp "$tmp/pki/int.crl" "$fx/corp.crl"
fixture "$GATE" keygen --alg ed25519 --output-key-prefix "$tmp/tuf"
fixture "$GATE" tuf repo init --repo "$tmp/tufrepo" --key root="$tmp/tuf.key" \
    --key targets="$tmp/tuf.key" --key snapshot="$tmp/tuf.key" --key timestamp="$tmp/tuf.key"
fixture cp "$tmp/tufrepo/metadata/root.json" "$fx/corp-root.json"
fixture test -f /usr/share/keyrings/debian-archive-keyring.gpg
printf '%s\n' '# revoked builds' \
    'sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae' >"$fx/revoked.txt"
printf '%s\n' 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' >"$fx/pinned.txt"

# The examples, unescaped from roff: \(aq is ', \- is -, \e is \.
fixture perl -e '
    my ($page, $dir) = @ARGV;
    open(my $in, "<", $page) or die "$page: $!\n";
    my ($n, $block, $inex) = (0, "", 0);
    while (<$in>) {
        if (/^\.EX\b/) { ($inex, $block) = (1, ""); next; }
        if (/^\.EE\b/) {
            $inex = 0;
            next unless $block =~ /^version: 1\n/;
            $n++;
            open(my $out, ">", sprintf("%s/ex%02d.yaml", $dir, $n)) or die "$!\n";
            print $out $block;
            close $out;
            next;
        }
        next unless $inex;
        s/\\\(aq/\x27/g; s/\\-/-/g; s/\\&//g; s/\\e/\\/g;
        $block .= $_;
    }
    die "no example policy in $page\n" unless $n;
' "$page" "$fx"

count=0
for ex in "$fx"/ex*.yaml; do
    count=$((count + 1))
    name=$(basename "$ex")
    run "man page example $name lints clean" 0 --out "$name: " --out ", 0 warnings" \
        --no-out "error:" --no-out "warning:" -- "$GATE" policy lint "$ex"
done
# Guards the extraction itself: the page has a dozen examples, not one.
run "the page's example policies were all found ($count)" 0 -- test "$count" -ge 10

# A broken example must fail this test, not pass unseen.
printf 'version: 1\nrules:\n  - name: a\n    decison: deny\n' >"$tmp/broken.yaml"
run "a policy with an unknown key does not lint clean" 2 \
    --out "broken.yaml:4:5: error: unknown key 'decison' in a rule" -- "$GATE" policy lint "$tmp/broken.yaml"

finish docs_policy
