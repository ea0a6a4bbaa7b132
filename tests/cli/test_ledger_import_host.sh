#!/usr/bin/env bash
# test_ledger_import_host.sh - `gate ledger import dpkg` against this
# machine's own dpkg database, read-only, into a ledger in a temporary
# directory. The first run is killed (SIGKILL) once it has committed
# something; the second run resumes: it skips what the first committed and
# imports the rest. Then, checked independently of gate (Python, from
# dpkg's files): every installed package is in the ledger at its version;
# for every package, the recorded files are exactly the listed paths that
# are regular files now (diversions applied); for every package the
# resumed run imported, each listed path that is neither recorded, a
# directory nor a link was reported with a reason; spot checks of digests
# against sha256sum; dpkg's database is unchanged. Skips (exit 0) without
# a dpkg database.
# Env: GATE (the binary).
set -u

GATE=${GATE:?GATE must name the gate binary}
GATE=$(cd "$(dirname "$GATE")" && pwd)/$(basename "$GATE")
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
ADMIN=/var/lib/dpkg
if [ ! -s "$ADMIN/status" ] || ! command -v python3 >/dev/null; then
    echo "SKIP: no dpkg database at $ADMIN (or no python3)"
    exit 0
fi
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf -- "$tmp"' EXIT
cd "$tmp" || exit 1
printf 'version: 1\nrules:\n  - name: nothing\n    decision: deny\n' >policy.yaml
db=$tmp/ledger.db
before=$(stat -c '%Y %s' "$ADMIN/status" "$ADMIN/diversions" 2>/dev/null; ls -l --time-style=+%s "$ADMIN/info" | md5sum)

count() {
    python3 - "$db" <<'PY' 2>/dev/null || echo 0
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=1)
print(c.execute("SELECT count(*) FROM packages").fetchone()[0])
PY
}

# ---- 1. interrupted ----
"$GATE" ledger --db "$db" import dpkg --policy policy.yaml --jobs 1 >first.out 2>first.err &
pid=$!
killed=0
for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || break
    if [ "$(count)" -gt 0 ]; then
        kill -KILL "$pid" && killed=1
        break
    fi
    sleep 0.05
done
wait "$pid" 2>/dev/null
pid=
committed=$(count)
check "the first run was interrupted after committing (SIGKILL)" test "$killed" -eq 1
check "what it committed survives the crash" test "$committed" -gt 0

# ---- 2. resumed ----
SECONDS=0
"$GATE" ledger --db "$db" import dpkg --policy policy.yaml --format json >second.json 2>second.err
rc=$?
check "resumed run: exit 0 or 1 (1: files changed or missing on this machine)" test "$rc" -le 1
check "resumed run: skipped exactly what the first committed" \
    json_field second.json "o['skipped'] == $committed and o['imported'] + o['skipped'] == o['packages']"
echo "resumed: $(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(o["imported"], "packages,", o["files"], "files,", o["bytes"], "bytes in", round(o["seconds"], 1), "s")' second.json)"

check "ledger matches dpkg's database, file by file" python3 - "$db" "$ADMIN" second.json <<'PY'
import json, os, sqlite3, stat, sys
db, admin, events = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
def stanzas(text):
    for block in text.split("\n\n"):
        f, key = {}, None
        for line in block.split("\n"):
            if line[:1] in (" ", "\t") and key:
                f[key] += "\n" + line
            elif ":" in line:
                key, v = line.split(":", 1)
                f[key] = v.strip()
        if f:
            yield f
pkgs = {}
for f in stanzas(open(os.path.join(admin, "status"), encoding="utf-8", errors="replace").read()):
    if f.get("Status", "").split()[-1:] == ["installed"]:
        pkgs[(f["Package"], f["Architecture"])] = f["Version"]
div = {}
if os.path.exists(os.path.join(admin, "diversions")):
    lines = open(os.path.join(admin, "diversions"), encoding="utf-8", errors="replace").read().split("\n")
    for i in range(0, len(lines) - 2, 3):
        div[lines[i]] = (lines[i + 1], lines[i + 2])
c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
rows = {(n, a): v for n, a, v in c.execute("SELECT name, arch, version FROM packages")}
bad = []
if rows != pkgs:
    bad.append("packages differ: missing %s, extra %s" % (sorted(set(pkgs) - set(rows))[:5], sorted(set(rows) - set(pkgs))[:5]))
files = {}
for n, a, p in c.execute("SELECT p.name, p.arch, f.path FROM files f JOIN packages p ON p.id = f.pkg"):
    files.setdefault((n, a), set()).add(p)
# packages the resumed run imported and reported something about
imported = {(e["package"], e["architecture"]) for e in events["events"]}
reported = {(e["package"], e["architecture"], e["path"]) for e in events["events"] if not e["recorded"]}
checked = 0
for (n, a) in pkgs:
    lf = None
    for name in ("%s:%s.list" % (n, a), "%s.list" % n):
        if os.path.exists(os.path.join(admin, "info", name)):
            lf = os.path.join(admin, "info", name)
            break
    want, problems = set(), set()
    for path in (open(lf, "rb").read().decode("utf-8", "surrogateescape").split("\n") if lf else []):
        if not path or path == "/.":
            continue
        real = path
        if path in div and div[path][1] != n:
            real = div[path][0]
        try:
            st = os.lstat(real)
        except OSError:
            problems.add(path)
            continue
        if stat.S_ISREG(st.st_mode):
            want.add(real)
        elif not (stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            problems.add(path)
    got = files.get((n, a), set())
    checked += len(want)
    if got != want:
        bad.append("%s:%s: recorded %d, regular files %d; e.g. %s" % (n, a, len(got), len(want), sorted(got ^ want)[:3]))
    for p in problems:
        if (n, a, p) not in reported and (n, a) in imported:
            bad.append("%s:%s: %s neither recorded nor reported" % (n, a, p))
print("%d packages, %d regular files checked" % (len(pkgs), checked))
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
PY
tail -1 "$tmp/.check" 2>/dev/null

spot() { # PATH: the ledger holds the digest sha256sum computes now
    local d
    d=$(sha256sum "$1" | cut -d' ' -f1)
    "$GATE" ledger --db "$db" lookup "$1" | grep -qF "sha256:$d"
}
for f in /usr/bin/dpkg /bin/bash /bin/dash; do
    [ -f "$f" ] && check "digest of $f matches sha256sum" spot "$f"
done
after=$(stat -c '%Y %s' "$ADMIN/status" "$ADMIN/diversions" 2>/dev/null; ls -l --time-style=+%s "$ADMIN/info" | md5sum)
check "dpkg's database is untouched" test "$before" = "$after"

finish
