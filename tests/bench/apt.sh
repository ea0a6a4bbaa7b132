#!/usr/bin/env bash
# apt.sh - what `gate hook apt` costs an apt transaction (a benchmark, never
# a timed test; CTest does not run it).
#
# N generated packages (default 50; FILES files of FILE_KIB KiB each,
# default 10 x 16 KiB) in a local flat repository, all signed with a
# managed key into an evidence store, each with its md5sums as Debian's
# tools write them. Four workloads: "binaries" (file contents are slices of
# this machine's /usr/bin and /usr/lib programs, which compress like real
# packages), "random" (incompressible), and "big-binaries" / "big-random":
# ONE package of one BIG_MIB MiB file (default 100) of either kind. The
# real apt-get
# installs all of them into a fresh throwaway root
# (../shared/notes/apt-throwaway-root.md), once without the hook and once
# with it (enforce mode, ledger on, audit log to a file), RUNS times each
# (default 3), interleaved; only `apt-get install` is timed, not `update`.
# The overhead is best-with over best-without. The hook alone (same
# packages, protocol version 3 on stdin) is timed too.
#
# Usage: sudo bash tests/bench/apt.sh
# Env: N, RUNS, FILES, FILE_KIB, BIG_MIB, HOOK_OPTS (options the hook is
#      installed with, e.g. --no-background), DATA (binaries, random,
#      big-binaries, big-random, small (the first two), big (the last
#      two) or all; default all), GATE (a gate binary; default: build
#      Release into build-aptbench/), NO_DOC=1 (do not touch
#      docs/BENCHMARKS.md), BEFORE=FILE (the output of an earlier run, e.g.
#      with GATE= an older gate, shown in the section as "before").
# Appends (or replaces) its section of docs/BENCHMARKS.md between the
# markers apt-hook-bench:begin/end, leaving the rest of the file alone.
set -u

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${N:-50}
RUNS=${RUNS:-3}
FILES=${FILES:-10}
FILE_KIB=${FILE_KIB:-16}
BIG_MIB=${BIG_MIB:-100}
DATA=${DATA:-all}
case $DATA in
binaries | random | big-binaries | big-random) kinds=$DATA ;;
small) kinds="binaries random" ;;
big) kinds="big-binaries big-random" ;;
all) kinds="binaries random big-binaries big-random" ;;
*) echo "DATA must be binaries, random, big-binaries, big-random, small, big or all" >&2; exit 2 ;;
esac
N0=$N FILES0=$FILES FILE_KIB0=$FILE_KIB

die() {
    echo "apt.sh: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root (apt-get and dpkg --root)"
command -v apt-get >/dev/null || die "apt-get is missing"
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing"

if [ -z "${GATE:-}" ]; then
    build=$src/build-aptbench
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGATE_TESTS=OFF \
        >"/tmp/gate-aptbench-build.log" 2>&1 &&
        make -C "$build" -j2 gate >>"/tmp/gate-aptbench-build.log" 2>&1 ||
        die "build failed, see /tmp/gate-aptbench-build.log"
    GATE=$build/gate
fi
GATE=$(cd "$(dirname "$GATE")" && pwd)/$(basename "$GATE")

tmp=$(mktemp -d /tmp/gate-apt-bench.XXXXXX) || exit 1
case $tmp in /tmp/gate-apt-bench.?*) ;; *) die "unexpected temporary directory" ;; esac
trap 'rm -rf -- "$tmp"' EXIT
log=$tmp/apt.log

# ---- repository ----
EV=$tmp/evidence
"$GATE" keygen --output-key-prefix "$tmp/repo" >/dev/null 2>&1 || die "keygen failed"
# program bytes to slice file contents from (deterministic on one machine;
# the programs again from the start when more is needed)
prog_bytes=$((N * FILES * FILE_KIB * 1024 + 1048576))
big_bytes=$((BIG_MIB * 1048576 + 1048576))
[ "$big_bytes" -gt "$prog_bytes" ] && prog_bytes=$big_bytes
find /usr/bin /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -size +64k 2>/dev/null | sort |
    head -200 >"$tmp/program-list"
for _ in $(seq 1 100); do xargs cat <"$tmp/program-list" 2>/dev/null; done |
    head -c "$prog_bytes" >"$tmp/programs"

# workload KIND: N, FILES, FILE_KIB and names for it
workload() {
    case $1 in
    big-*) N=1 FILES=1 FILE_KIB=$((BIG_MIB * 1024)) ;;
    *) N=$N0 FILES=$FILES0 FILE_KIB=$FILE_KIB0 ;;
    esac
    names=()
    for i in $(seq 1 "$N"); do names+=("benchpkg$i"); done
}

# make_repo KIND: $tmp/repo-KIND with the N packages, signed into $EV
make_repo() {
    workload "$1"
    REPO=$tmp/repo-$1
    mkdir -p "$REPO" "$EV"
    local i f p d hex off=0
    for i in $(seq 1 "$N"); do
        p=benchpkg$i
        d=$tmp/src-$1/$p
        mkdir -p "$d/DEBIAN" "$d/usr/share/$p"
        for f in $(seq 1 "$FILES"); do
            if [ "${1#big-}" = random ]; then
                head -c $((FILE_KIB * 1024)) /dev/urandom >"$d/usr/share/$p/data$f"
            else
                tail -c +$((off + 1)) "$tmp/programs" | head -c $((FILE_KIB * 1024)) >"$d/usr/share/$p/data$f"
                off=$((off + FILE_KIB * 1024))
            fi
        done
        # Installed-Size in KiB, as dpkg-gencontrol writes it for every
        # package Debian ships.
        printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nInstalled-Size: %s\nMaintainer: b <b@example.org>\nDescription: gate bench %s\n' \
            "$p" "$(du -sk --apparent-size "$d/usr" | cut -f1)" "$p" >"$d/DEBIAN/control"
        (cd "$d" && find usr -type f | sort | xargs md5sum) >"$d/DEBIAN/md5sums" || die "md5sums"
        dpkg-deb --build --root-owner-group "$d" "$REPO/${p}_1.0_all.deb" >/dev/null || die "dpkg-deb"
        hex=$(sha256sum "$REPO/${p}_1.0_all.deb" | cut -d' ' -f1)
        mkdir -p "$EV/sha256/$hex"
        "$GATE" sign --key "$tmp/repo.key" --bundle "$EV/sha256/$hex/repo.sigstore.json" \
            --output-signature "$tmp/.unused.sig" "$REPO/${p}_1.0_all.deb" >/dev/null || die "sign"
    done
    if command -v dpkg-scanpackages >/dev/null; then
        (cd "$REPO" && dpkg-scanpackages . /dev/null >Packages 2>/dev/null)
    else
        (cd "$REPO" && apt-ftparchive packages . >Packages 2>/dev/null) || die "no dpkg-scanpackages or apt-ftparchive"
    fi
    deb_bytes=$(cat "$REPO"/*.deb | wc -c)
}

cat >"$tmp/policy.yaml" <<EOF
version: 1
mode: enforce
trust:
  keys:
    repo: { file: $tmp/repo.pub }
signers:
  repo-team:
    - key: repo
rules:
  - name: packages need the repo key
    match: { type: [application/vnd.debian.binary-package], caller: [apt] }
    require: { signers: repo-team }
  - name: everything else is denied
    decision: deny
evidence:
  dirs: [$EV]
audit:
  log: $tmp/audit.log
EOF

# ---- throwaway roots (tests/cli/apt_root.sh) ----
. "$(dirname "${BASH_SOURCE[0]}")/../cli/apt_root.sh"
new_root() { # new_root NAME with|without
    make_root "$1" "deb [trusted=yes] file:$REPO ./"
    if [ "$2" = with ]; then
        "$GATE" hook apt --install --apt-conf-dir "$ROOT/etc/apt/apt.conf.d" \
            --policy "$tmp/policy.yaml" --ledger "$ROOT/ledger.db" ${HOOK_OPTS:-} >/dev/null || die "hook --install"
    fi
    apt_root update || die "apt-get update failed: $(tail -5 "$tmp/apt.log")"
}

now_ns() { date +%s%N; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }

# one_run with|without: prints the install time in ns
one_run() {
    new_root "root-$1" "$1"
    sync
    local t0 t1
    t0=$(now_ns)
    apt_root install "${names[@]}" || die "apt-get install ($1) failed: $(tail -5 "$tmp/apt.log")"
    t1=$(now_ns)
    local n
    n=$(dpkg --root="$ROOT" --admindir="$ROOT/var/lib/dpkg" -l 'benchpkg*' 2>/dev/null | grep -c '^ii')
    [ "$n" -eq "$N" ] || die "$1: $n of $N packages installed"
    if [ "$1" = with ]; then
        grep -qE "gate: $N packages? allowed" "$tmp/apt.log" || die "the hook did not allow the packages"
    fi
    echo $((t1 - t0))
}

best_of() { # best_of CURRENT NEW: the smaller
    if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi
}
median() { # median MS...: of the given times
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench KIND: measure one workload; appends its lines to $summary and its
# table row to $rows
summary=
rows=
bench() {
    make_repo "$1"
    local r mode t t0 t1 best_without= best_with= best_hook= all_without= all_with=
    for r in $(seq 1 "$RUNS"); do
        for mode in without with; do
            t=$(one_run $mode) || exit 1
            if [ $mode = with ]; then
                all_with="$all_with $(ms "$t")"
                best_with=$(best_of "$best_with" "$t")
            else
                all_without="$all_without $(ms "$t")"
                best_without=$(best_of "$best_without" "$t")
            fi
        done
    done
    # the hook alone: the same N packages as apt announces them
    {
        printf 'VERSION 3\nAPT::Architecture=amd64\n\n'
        for p in "${names[@]}"; do printf '%s - - none < 1.0 all none %s/./%s_1.0_all.deb\n' "$p" "$REPO" "$p"; done
    } >"$tmp/stdin"
    for r in $(seq 1 "$RUNS"); do
        rm -f "$tmp/hook-ledger.db"*
        t0=$(now_ns)
        "$GATE" hook apt --policy "$tmp/policy.yaml" --ledger "$tmp/hook-ledger.db" <"$tmp/stdin" \
            2>/dev/null || die "hook alone failed"
        t1=$(now_ns)
        best_hook=$(best_of "$best_hook" $((t1 - t0)))
    done
    local overhead status share med_without med_with med_overhead
    overhead=$(awk -v a="$best_with" -v b="$best_without" 'BEGIN { printf "%.1f", (a - b) * 100 / b }')
    # shellcheck disable=SC2086
    med_without=$(median $all_without)
    # shellcheck disable=SC2086
    med_with=$(median $all_with)
    med_overhead=$(awk -v a="$med_with" -v b="$med_without" 'BEGIN { printf "%.1f", (a - b) * 100 / b }')
    # apt waits for the hook before dpkg starts: its own time over the best
    # run without it estimates the overhead with less noise
    share=$(awk -v a="$best_hook" -v b="$best_without" 'BEGIN { printf "%.1f", a * 100 / b }')
    status=$(awk -v o="$overhead" 'BEGIN { print (o <= 10 ? "met" : "MISSED") }')
    local lines="$1: apt-get install of $N packages ($FILES x $FILE_KIB KiB files each, $((deb_bytes / 1024)) KiB of .deb): without the hook $(ms "$best_without") ms, with it $(ms "$best_with") ms, overhead $overhead% (goal <= 10%: $status; best of $RUNS, fresh root each run)
$1: runs without:$all_without ms; with:$all_with ms; medians $med_without and $med_with ms, overhead $med_overhead%
$1: pre-install hook alone ($N packages, verify + ledger): $(ms "$best_hook") ms (best of $RUNS), $share% of the best run without it"
    echo "$lines"
    summary="$summary${summary:+
}$lines"
    rows="$rows| hook overhead on an apt transaction ≤ 10%, $1 | $overhead% best, $med_overhead% median (pre-install alone: $share%) | $status |
"
}

echo "gate: $GATE ($("$GATE" --version 2>/dev/null | head -1))"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for kind in $kinds; do
    bench "$kind"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "load average before: $load_before, after: $load_after"

[ "${NO_DOC:-0}" = 1 ] && exit 0
doc=$src/docs/BENCHMARKS.md
section=$(cat <<EOF
<!-- apt-hook-bench:begin (written by tests/bench/apt.sh; rerunning replaces only this section) -->
# \`gate hook apt\` benchmark

Command (as root; builds gate in Release into \`build-aptbench/\`):

\`\`\`
sudo bash tests/bench/apt.sh
\`\`\`

The real \`apt-get install\` of $N0 generated packages ($FILES0 x $FILE_KIB0 KiB
files each), or of one package of one $BIG_MIB MiB file (\`big-\`), from a
local flat repository into a fresh throwaway root, without and with the
hook (enforce mode, every package signed with a managed key in an
evidence store, the ledger recorded after dpkg by \`--post-invoke\`, audit
events to a file), $RUNS runs of each, interleaved; only \`apt-get
install\` is timed (\`update\` is not). \`N\`, \`RUNS\`, \`FILES\`,
\`FILE_KIB\` and \`BIG_MIB\` change the workload. File contents:
\`binaries\` are slices of this machine's /usr/bin and /usr/lib programs
(they compress like real packages), \`random\` is incompressible data.
Every package carries its md5sums, as Debian's tools write them.

- $(nproc) CPUs, \`$cpu\`; $(. /etc/os-release && echo "$PRETTY_NAME"), apt $(apt-get --version | head -1 | cut -d' ' -f2), dpkg $(dpkg-query -W -f='${Version}' dpkg 2>/dev/null)
- $(date -u +%Y-%m-%d) ($(date -u +%H:%M) UTC); load average $load_before before the
  run, $load_after after (other work on the machine inflates both columns)

\`\`\`
$summary
\`\`\`
${BEFORE:+
Before (the same runs with the gate named in the first line, which reads
every allowed .deb whole, data.tar decompressed, for the ledger before
dpkg runs):

\`\`\`
$(cat "$BEFORE")
\`\`\`
}
| goal | measured | status |
|---|---|---|
$rows
The hook decides the packages in parallel (one job per CPU), then reads
each allowed .deb once more, hashing every byte (it must be the .deb it
decided) but decompressing only control.tar: the control fields and the
md5sums are kept as pending in one SQLite transaction. It then starts a
detached step that decodes each pending .deb's data.tar (SHA-256 and size
of every file) while dpkg unpacks, on the CPU dpkg leaves; after dpkg,
\`--post-invoke\` waits for that step and records the files dpkg lists
with those digests. Before, the hook decoded data.tar before dpkg ran,
and apt waited for it (about 80% of the hook's time in liblzma).
"pre-install hook alone" over the best run without the hook estimates
the part apt waits for before dpkg; the difference of runs carries the
run-to-run noise of apt and dpkg on a shared machine (see the individual
runs and medians).
<!-- apt-hook-bench:end -->
EOF
)
python3 - "$doc" "$section" <<'EOF'
import re, sys
path, section = sys.argv[1], sys.argv[2]
try:
    text = open(path).read()
except FileNotFoundError:
    text = ""
pat = re.compile(r"<!-- apt-hook-bench:begin.*?<!-- apt-hook-bench:end -->\n?", re.S)
if pat.search(text):
    text = pat.sub(lambda m: section + "\n", text, count=1)
else:
    text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
open(path + ".tmp", "w").write(text)
import os
os.replace(path + ".tmp", path)
EOF
echo "apt.sh: results written to $doc"
