#!/usr/bin/env bash
# test_ledger_import.sh - `gate ledger import dpkg` over a dpkg database
# made here (status, info/*.list, *.md5sums, diversions) and its files
# under --root: regular files recorded with their state (as shipped,
# config, changed since install, no md5sum), links and directories not
# hashed, missing and non-regular files reported with the reason, a
# diverted file recorded where it really is, multi-arch list names, only
# installed packages; exit 1 when a file is missing or changed; resuming
# skips what is recorded at its version, --force re-hashes, a new version
# is imported again; packages no longer installed (imported or recorded by
# the hook) are forgotten by a whole import; selection by name; refusals (malformed status with
# its line, unknown package, usage) with exit 2.
# Env: GATE (the binary).
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cli_setup
cd "$tmp" || exit 1

ROOT=$tmp/root
ADMIN=$ROOT/var/lib/dpkg
mkdir -p "$ADMIN/info" "$ROOT/usr/bin" "$ROOT/etc" "$ROOT/usr/share/doc/hello" \
    "$ROOT/usr/lib" "$ROOT/usr/share/broken" "$ROOT/usr/share/nosums"

put() { # put PATH CONTENT: a file under the root
    printf '%s\n' "$2" >"$ROOT$1"
}
md5() { printf '%s\n' "$1" | md5sum | cut -d' ' -f1; }
sha() { printf '%s\n' "$1" | sha256sum | cut -d' ' -f1; }
stanza() { # NAME VERSION ARCH STATUS [extra lines]
    printf 'Package: %s\nStatus: %s\nVersion: %s\nArchitecture: %s\nDescription: test\n long text\n' \
        "$1" "$4" "$2" "$3"
    [ $# -gt 4 ] && printf '%s\n' "$5"
    echo
}

put /usr/bin/hello "hello binary"
ln -s hello "$ROOT/usr/bin/hi"
put /etc/hello.conf "hello config, edited"
put /usr/share/doc/hello/README "hello readme"
put /usr/lib/libx.so.2 "libx"
put /usr/bin/broken "broken, patched by hand"
mkfifo "$ROOT/usr/share/broken/fifo"
put /usr/share/nosums/f "no sums"
put /usr/bin/tool "the diverter's tool"
put /usr/bin/tool.distrib "the original tool"

printf '/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/bin/hi\n/etc\n/etc/hello.conf\n/usr/share/doc/hello\n/usr/share/doc/hello/README\n' \
    >"$ADMIN/info/hello.list"
printf '%s  usr/bin/hello\n%s  usr/share/doc/hello/README\n' "$(md5 "hello binary")" \
    "$(md5 "hello readme")" >"$ADMIN/info/hello.md5sums"
printf '/usr/lib\n/usr/lib/libx.so.2\n' >"$ADMIN/info/libx:amd64.list"
printf '%s  usr/lib/libx.so.2\n' "$(md5 libx)" >"$ADMIN/info/libx:amd64.md5sums"
printf '/usr/bin/broken\n/usr/share/broken/gone\n/usr/share/broken/fifo\n' >"$ADMIN/info/broken.list"
printf '%s  usr/bin/broken\n%s  usr/share/broken/gone\n' "$(md5 "broken")" "$(md5 gone)" \
    >"$ADMIN/info/broken.md5sums"
printf '/usr/share/nosums/f\n' >"$ADMIN/info/nosums.list"
printf '/usr/bin/tool\n' >"$ADMIN/info/diverter.list"
printf '%s  usr/bin/tool\n' "$(md5 "the diverter's tool")" >"$ADMIN/info/diverter.md5sums"
printf '/usr/bin/tool\n' >"$ADMIN/info/toolpkg.list"
printf '%s  usr/bin/tool\n' "$(md5 "the original tool")" >"$ADMIN/info/toolpkg.md5sums"
printf '/usr/bin/removed\n' >"$ADMIN/info/removed.list"
printf '/usr/bin/tool\n/usr/bin/tool.distrib\ndiverter\n' >"$ADMIN/diversions"
{
    stanza hello 1.0 amd64 "install ok installed" "Conffiles:
 /etc/hello.conf $(md5 "hello config")"
    stanza libx 2.0 amd64 "install ok installed" "Multi-Arch: same"
    stanza broken 1.0 all "install ok installed"
    stanza nosums 1.0 all "install ok installed"
    stanza removed 1.0 amd64 "deinstall ok config-files"
    stanza diverter 1.0 all "install ok installed"
    stanza toolpkg 1.0 all "install ok installed"
    stanza nolist 1.0 all "install ok installed"
} >"$ADMIN/status"

mkdir -p "$tmp/gone/DEBIAN" "$tmp/gone/usr/bin"
printf 'Package: gone\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: t\n' \
    >"$tmp/gone/DEBIAN/control"
echo gone >"$tmp/gone/usr/bin/gone"
fixture dpkg-deb --root-owner-group --build "$tmp/gone" "$tmp/gone.deb"
db=$tmp/ledger.db
printf 'version: 1\nrules:\n  - name: nothing\n    decision: deny\n' >"$tmp/empty.yaml"
imp() { "$GATE" ledger --db "$db" import dpkg --root "$ROOT" --policy "$tmp/empty.yaml" "$@"; }

# ---- the first import ----
run "import: exit 1 (a file missing, one changed)" 1 \
    --out "7 packages installed: 7 imported (0 vouched for by an archive, 7 dpkg only), 0 already recorded" \
    --out "8 files recorded" --out "5 as shipped, 1 config, 1 changed, 1 without a dpkg md5sum" \
    --out "2 listed files not recorded" --out "1 links and" \
    --out "changed: /usr/bin/broken (broken 1.0): changed since install" \
    --out "missing: /usr/share/broken/gone (broken 1.0): No such file or directory" \
    --out "not a regular file: /usr/share/broken/fifo (broken 1.0)" \
    --out "unverified: /usr/share/nosums/f (nosums 1.0)" \
    --out "no file list: nolist (nolist 1.0)" \
    --no-out "config:" --no-out removed -- imp --jobs 2
run "hello recorded from dpkg, config file marked" 0 --out "source: dpkg" --out "deb: -" \
    --out "sha256:$(sha "hello config, edited")" --out "/etc/hello.conf [config]" \
    --out "sha256:$(sha "hello binary")" -- "$GATE" ledger --db "$db" show hello
run "multi-arch list name" 0 --out "sha256:$(sha libx)" -- "$GATE" ledger --db "$db" show libx:amd64
run "a diverted file is recorded where it is" 0 \
    --out "sha256:$(sha "the original tool")" --out " 18 /usr/bin/tool.distrib" \
    -- "$GATE" ledger --db "$db" show toolpkg
run "the diverting package keeps the path" 0 --out "sha256:$(sha "the diverter's tool")" \
    --out " /usr/bin/tool"$'\n' -- "$GATE" ledger --db "$db" show diverter
run "changed file recorded as changed" 0 --out "/usr/bin/broken [changed]" \
    -- "$GATE" ledger --db "$db" show broken
run "lookup shows state and source" 0 --out "/usr/bin/hello sha256:$(sha "hello binary") hello 1.0 amd64 [ok, dpkg]" \
    -- "$GATE" ledger --db "$db" lookup /usr/bin/hello
run "not installed: not imported" 1 --err "not in the ledger" -- "$GATE" ledger --db "$db" show removed
run "a link is not recorded" 1 -- "$GATE" ledger --db "$db" lookup /usr/bin/hi

# ---- resuming ----
run "again: everything already recorded" 0 --out "0 imported" --out "7 already recorded" \
    --no-out "changed:" -- imp
sed -i 's/^Version: 1.0$/Version: 1.0/; /^Package: hello$/,/^$/ s/^Version: 1.0$/Version: 1.1/' "$ADMIN/status"
run "a new version is imported again" 0 --out "1 imported" --out "6 already recorded" -- imp
run "the ledger has the new version" 0 --out "version: 1.1" -- "$GATE" ledger --db "$db" show hello
run "--force re-hashes everything" 1 --out "7 imported" --out "0 already recorded" -- imp --force
run "--verbose names config files" 1 --out "config: /etc/hello.conf (hello 1.1): config file" \
    -- imp --force --verbose

# ---- the ledger follows removals ----
fixture "$GATE" ledger --db "$db" record-deb "$tmp/gone.deb" # a package the hook recorded
sed -i '/^Package: nosums$/,/^$/ s/^Status: install ok installed$/Status: deinstall ok config-files/' "$ADMIN/status"
run "removed packages are forgotten" 0 --out "2 packages no longer installed forgotten" \
    --out "forgotten: nosums (nosums 1.0): recorded, but no longer installed" \
    --out "forgotten: gone (gone 1.0)" -- imp
run "nosums is gone from the ledger" 1 -- "$GATE" ledger --db "$db" show nosums
run "the others stay" 0 --out "version: 1.1" -- "$GATE" ledger --db "$db" show hello
run "a selective import forgets nothing" 0 --no-out forgotten -- imp hello
sed -i '/^Package: nosums$/,/^$/ s/^Status: deinstall ok config-files$/Status: install ok installed/' "$ADMIN/status"

# ---- selection and JSON ----
run "selected packages only" 0 --out "2 packages installed: 2 imported" -- \
    "$GATE" ledger --db "$tmp/sel.db" import dpkg --root "$ROOT" --policy "$tmp/empty.yaml" hello libx:amd64
run "selected: nothing else recorded" 1 -- "$GATE" ledger --db "$tmp/sel.db" show broken
"$GATE" ledger --db "$tmp/j.db" import dpkg --root "$ROOT" --policy "$tmp/empty.yaml" --format json >j.json
check "json: exit 1" test $? -eq 1
check "json: counts" json_field j.json 'o["packages"] == 7 and o["files"] == 8 and o["ok"] == 5 and o["problems"] == 2 and o["links"] == 1 and o["changed"] == 1'
check "json: events name path, status and reason" json_field j.json \
    '{"path": "/usr/share/broken/gone", "status": "missing", "recorded": False} .items() <= [e for e in o["events"] if e["path"] == "/usr/share/broken/gone"][0].items()'

# ---- progress: on a terminal only ----
if command -v script >/dev/null; then
    script -qec "$GATE ledger --db $tmp/tty.db import dpkg --root $ROOT --policy $tmp/empty.yaml" \
        /dev/null >"$tmp/tty.out" 2>&1
    check "a terminal gets a progress bar" grep -qF "] 7/7 packages, 8 files" "$tmp/tty.out"
fi
run "no terminal, no progress bar" 1 --no-out "packages, 8 files" -- \
    "$GATE" ledger --db "$tmp/notty.db" import dpkg --root "$ROOT" --policy "$tmp/empty.yaml"
check "no progress bar on stderr either" not grep -qF "packages, 8 files" "$tmp/.stderr"

# ---- refusals ----
run "unknown package" 2 --err "nothere: not installed" -- imp nothere
run "unknown database" 2 --err "import knows one package database: dpkg" -- \
    "$GATE" ledger --db "$db" import rpm
run "--jobs out of range" 2 --err "--jobs must be a number from 1 to 64" -- imp --jobs 0
run "import options elsewhere" 2 --err "go with import" -- "$GATE" ledger --db "$db" --force list
run "no database" 2 --err "dpkg database $tmp/nowhere: No such file or directory" -- \
    "$GATE" ledger --db "$tmp/n.db" import dpkg --admindir "$tmp/nowhere" --policy "$tmp/empty.yaml"
mkdir -p "$tmp/nul/info"
printf 'Package: n\nStatus: install ok installed\nVersion: 1\nArchitecture: all\nConffiles:\n /etc/n.conf 0123\n\n' >"$tmp/nul/status"
printf '/etc/n.conf\n/usr\0/bin/n\n/usr/bin/m\n' >"$tmp/nul/info/n.list"
printf '/usr/bin/m\nusr/bin/m.distrib\nother\n' >"$tmp/nul/diversions"
run "a list line with a NUL byte: reported" 1 \
    --out "contains a NUL byte: /usr (n 1)" \
    --out "diverted to a relative path: /usr/bin/m (n 1): diverted to usr/bin/m.distrib" -- timeout 20 "$GATE" ledger --db "$tmp/nul.db" import dpkg \
    --admindir "$tmp/nul" --root "$tmp/nul" --policy "$tmp/empty.yaml"
mkdir -p "$tmp/bad"
printf 'Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n\n x: y\n' >"$tmp/bad/status"
run "malformed status: names the line" 2 --err "$tmp/bad/status:7: malformed field" -- \
    "$GATE" ledger --db "$tmp/b.db" import dpkg --admindir "$tmp/bad" --policy "$tmp/empty.yaml"
printf 'Package: a\nStatus: install ok installed\n\n' >"$tmp/bad/status"
run "installed without a version" 2 --err "installed package 'a' without a version" -- \
    "$GATE" ledger --db "$tmp/b.db" import dpkg --admindir "$tmp/bad" --policy "$tmp/empty.yaml"
printf 'Package: ../../x\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n' >"$tmp/bad/status"
run "a package name that could name another file" 2 --err "installed package '../../x': not a valid package name" -- \
    "$GATE" ledger --db "$tmp/b.db" import dpkg --admindir "$tmp/bad" --policy "$tmp/empty.yaml"
printf '/a\n/b\n' >"$tmp/bad/diversions"
printf 'Package: a\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n' >"$tmp/bad/status"
run "diversions not in triples" 2 --err "not a whole number of (from, to, package) triples" -- \
    "$GATE" ledger --db "$tmp/b.db" import dpkg --admindir "$tmp/bad" --policy "$tmp/empty.yaml"

finish
