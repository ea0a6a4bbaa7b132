#!/usr/bin/env bash
# test_ledger_cli.sh - `gate ledger` end to end: record-deb on packages
# built by dpkg-deb, list, show, lookup by path and by digest (exit 0
# found, 1 not found), verify under --root (exit 1 naming a modified,
# missing or linked file; 0 when clean), JSON output, the database file's
# mode, refusals (corrupt and newer databases, bad .debs, usage: exit 2)
# and --db / $GATE_LEDGER.
# Env: GATE (the binary).
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cli_setup
cd "$tmp" || exit 1
out=$tmp/.stdout # the last run's stdout (lib.sh)

mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }

if ! command -v dpkg-deb >/dev/null; then
    echo "dpkg-deb not found: cannot build packages" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# Two packages: hello (a binary, a hard link to it, a symlink, a doc in
# nested directories) and libgreet.
mkpkg() { # mkpkg DIR NAME VERSION
    mkdir -p "$1/DEBIAN"
    chmod 755 "$1" "$1/DEBIAN"
    printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: test\n long\n' \
        "$2" "$3" >"$1/DEBIAN/control"
}
mkpkg hello hello 2.10-3
mkdir -p hello/usr/bin hello/usr/share/doc/hello/examples
printf '#!/bin/sh\necho hello\n' >hello/usr/bin/hello
chmod 755 hello/usr/bin/hello
ln hello/usr/bin/hello hello/usr/bin/hello-again
ln -s hello hello/usr/bin/hi
echo "an example" >hello/usr/share/doc/hello/examples/ex.txt
mkpkg greet libgreet1 1.0-1
mkdir -p greet/usr/lib
head -c 5000 /dev/urandom >greet/usr/lib/libgreet.so.1
fixture dpkg-deb --root-owner-group -Zxz --build hello hello.deb
fixture dpkg-deb --root-owner-group -Zgzip --build greet greet.deb

db=$tmp/state/gate/ledger.db
hello_sha=$(sha256sum hello/usr/bin/hello | cut -d' ' -f1)
deb_sha=$(sha256sum hello.deb | cut -d' ' -f1)
ex_sha=$(sha256sum hello/usr/share/doc/hello/examples/ex.txt | cut -d' ' -f1)

# ---- record-deb
run "record-deb" 0 --out "recorded hello 2.10-3 amd64 (3 files) sha256:$deb_sha" \
    --out "recorded libgreet1 1.0-1 amd64 (1 file)" -- \
    "$GATE" ledger --db "$db" record-deb --rule debian-main hello.deb greet.deb
check "ledger file is 0600" mode_is "$db" 600
check "ledger directory is 0700" mode_is "$tmp/state/gate" 700
echo "not a package" >fake.deb
run "record-deb refuses a non-deb, records nothing" 2 --err "fake.deb: not a Debian package" -- \
    "$GATE" ledger --db "$tmp/other.db" record-deb hello.deb fake.deb
run "nothing recorded from the failed batch" 0 --no-out hello -- \
    "$GATE" ledger --db "$tmp/other.db" list
run "record-deb with no file" 2 --err "needs arguments" -- \
    "$GATE" ledger --db "$tmp/never.db" record-deb
check "a usage error creates no ledger" test ! -e "$tmp/never.db"

# ---- list and show
run "list" 0 --out "hello 2.10-3 amd64  3 files  rule=debian-main" \
    --out "libgreet1 1.0-1 amd64  1 file  rule=debian-main" -- "$GATE" ledger --db "$db" list
run "list json" 0 -- "$GATE" ledger --db "$db" --format json list
check "list json fields" json_field "$out" \
    "[p['name'] for p in o['packages']] == ['hello', 'libgreet1'] and o['packages'][0]['files'] == 3 and o['packages'][0]['deb_sha256'] == '$deb_sha'"
run "show" 0 --out "package: hello" --out "version: 2.10-3" --out "deb: sha256:$deb_sha" \
    --out "sha256:$hello_sha" --out "/usr/bin/hello-again" --out "/usr/share/doc/hello/examples/ex.txt" \
    --no-out "/usr/bin/hi" -- "$GATE" ledger --db "$db" show hello
run "show with arch" 0 --out "package: hello" -- "$GATE" ledger --db "$db" show hello:amd64
run "show json" 0 -- "$GATE" ledger --db "$db" show hello --format json
check "show json files" json_field "$out" \
    "[f['path'] for f in o['packages'][0]['files']] == ['/usr/bin/hello', '/usr/bin/hello-again', '/usr/share/doc/hello/examples/ex.txt'] and o['packages'][0]['files'][0]['sha256'] == '$hello_sha'"
run "show unknown package" 1 --err "not in the ledger" -- "$GATE" ledger --db "$db" show nope
run "show other arch" 1 -- "$GATE" ledger --db "$db" show hello:i386

# ---- lookup
run "lookup by path" 0 --out "/usr/bin/hello sha256:$hello_sha hello 2.10-3 amd64" -- \
    "$GATE" ledger --db "$db" lookup /usr/bin/hello
run "lookup by digest" 0 --out "/usr/bin/hello " --out "/usr/bin/hello-again " -- \
    "$GATE" ledger --db "$db" lookup "sha256:$hello_sha"
run "lookup by bare upper-case digest" 0 --out "/usr/bin/hello-again" -- \
    "$GATE" ledger --db "$db" lookup "$(echo "$hello_sha" | tr a-f A-F)"
run "lookup json" 0 -- "$GATE" ledger --db "$db" --format json lookup "$ex_sha"
check "lookup json fields" json_field "$out" \
    "o['found'] == 1 and o['files'][0]['path'] == '/usr/share/doc/hello/examples/ex.txt' and o['files'][0]['package'] == 'hello'"
run "lookup unknown path" 1 --err "not in the ledger" -- "$GATE" ledger --db "$db" lookup /usr/bin/nope
run "lookup a symlink path (not recorded)" 1 -- "$GATE" ledger --db "$db" lookup /usr/bin/hi
run "lookup unknown digest" 1 -- \
    "$GATE" ledger --db "$db" lookup "sha256:$(printf x | sha256sum | cut -d' ' -f1)"
run "lookup neither path nor digest" 2 --err "neither an absolute path nor a sha256" -- \
    "$GATE" ledger --db "$db" lookup usr/bin/hello
run "lookup short digest" 2 -- "$GATE" ledger --db "$db" lookup sha256:abcd

# ---- verify under a root
mkdir root
fixture dpkg-deb -x hello.deb root
fixture dpkg-deb -x greet.deb root
run "verify clean root" 0 --out "4 files checked, 0 problems" -- \
    "$GATE" ledger --db "$db" verify --root root
run "verify clean root json" 0 -- "$GATE" ledger --db "$db" verify --root root --format json
check "verify json ok" json_field "$out" "o['ok'] is True and o['checked'] == 4 and o['problems'] == []"
echo "tampered" >>root/usr/share/doc/hello/examples/ex.txt
run "verify finds a modified file" 1 \
    --out "modified: /usr/share/doc/hello/examples/ex.txt (hello 2.10-3)" \
    --out "4 files checked, 1 problem" -- "$GATE" ledger --db "$db" verify --root root
run "verify json names it" 1 -- "$GATE" ledger --db "$db" --format json verify --root root
check "verify json problem" json_field "$out" \
    "o['ok'] is False and [(p['path'], p['status']) for p in o['problems']] == [('/usr/share/doc/hello/examples/ex.txt', 'modified')]"
run "verify only /usr/bin is clean" 0 --out "2 files checked, 0 problems" -- \
    "$GATE" ledger --db "$db" verify --root root /usr/bin
rm root/usr/lib/libgreet.so.1
cp root/usr/bin/hello copy-of-hello
rm root/usr/bin/hello-again
ln -s "$tmp/copy-of-hello" root/usr/bin/hello-again
run "verify missing and linked" 1 --out "missing: /usr/lib/libgreet.so.1 (libgreet1 1.0-1)" \
    --out "replaced by a link: /usr/bin/hello-again (hello 2.10-3)" \
    --out "4 files checked, 3 problems" -- "$GATE" ledger --db "$db" verify --root root/
run "verify relative path" 2 --err "not an absolute path" -- \
    "$GATE" ledger --db "$db" verify --root root usr/bin
# Restore and pass again.
rm -rf root && mkdir root
fixture dpkg-deb -x hello.deb root
fixture dpkg-deb -x greet.deb root
run "verify restored root" 0 --out "0 problems" -- "$GATE" ledger --db "$db" verify --root root

# ---- re-record replaces
mkpkg hello hello 2.11-1
echo "new doc" >hello/usr/share/doc/hello/examples/ex.txt
# zstd where this dpkg has it (a probe: failing means the default compressor)
dpkg-deb --root-owner-group -Zzstd --build hello hello2.deb >/dev/null 2>&1 ||
    fixture dpkg-deb --root-owner-group --build hello hello2.deb
run "re-record" 0 --out "recorded hello 2.11-1" -- "$GATE" ledger --db "$db" record-deb hello2.deb
run "old digest gone" 1 -- "$GATE" ledger --db "$db" lookup "$ex_sha"
run "one hello" 0 --out "hello 2.11-1 amd64" --no-out "2.10-3" -- "$GATE" ledger --db "$db" list

# ---- database selection and refusals
run "GATE_LEDGER selects the database" 0 --out "libgreet1" -- env GATE_LEDGER="$db" "$GATE" ledger list
run "missing database" 2 --err "cannot open ledger" -- "$GATE" ledger --db "$tmp/absent.db" list
check "read-only commands create nothing" test ! -e "$tmp/absent.db"
cp "$db" corrupt.db
printf 'garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage' |
    dd of=corrupt.db conv=notrunc status=none
before=$(sha256sum corrupt.db)
run "corrupt database" 2 --err "not an SQLite database" -- "$GATE" ledger --db corrupt.db record-deb greet.deb
run "corrupt database (read)" 2 --err "corrupt.db" -- "$GATE" ledger --db corrupt.db list
check "corrupt database untouched" test "$before" = "$(sha256sum corrupt.db)"
if command -v sqlite3 >/dev/null; then
    sqlite3 newer.db 'CREATE TABLE packages (x); PRAGMA user_version = 7;'
    run "newer schema" 2 --err "schema version 7 is newer" -- "$GATE" ledger --db newer.db list
fi

# ---- a ledger on a read-only file system (a private mount namespace)
ro() { # ro DIR CMD...: CMD with DIR bind-mounted read-only
    local d=$1
    shift
    unshare -rm sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' \
        sh "$d" "$@"
}
if command -v unshare >/dev/null && ro "$tmp" true 2>/dev/null; then
    mkdir -p rodisk
    cp "$db" rodisk/l.db
    run "read-only disk: list reads the ledger" 0 --out "libgreet1" -- ro "$tmp/rodisk" "$GATE" ledger --db "$tmp/rodisk/l.db" list
    run "read-only disk: lookup" 0 --out "hello" -- ro "$tmp/rodisk" "$GATE" ledger --db "$tmp/rodisk/l.db" lookup /usr/bin/hello
    printf 'x' >rodisk/l.db-wal
    run "read-only disk, unmerged log: says what failed" 2 \
        --err "is on a read-only file system and its write-ahead log" --no-err "disk I/O error" \
        -- ro "$tmp/rodisk" "$GATE" ledger --db "$tmp/rodisk/l.db" list
else
    echo "SKIP read-only disk cases: no private mount namespace (unshare -rm)"
fi

# ---- usage
run "no command" 2 --err "a command is required" -- "$GATE" ledger --db "$db"
run "unknown command" 2 --err "unknown command" -- "$GATE" ledger --db "$db" frobnicate
run "root outside verify" 2 --err "--root goes with verify" -- "$GATE" ledger --db "$db" --root / list
run "bad format" 2 --err "--format" -- "$GATE" ledger --db "$db" --format sarif list
run "show needs a name" 2 -- "$GATE" ledger --db "$db" show
run "help" 0 --out "record-deb" --out "lookup PATH|DIGEST" -- "$GATE" ledger --help
run "in the top-level usage" 0 --out "ledger" -- "$GATE" --help

finish
