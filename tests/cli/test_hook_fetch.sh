#!/usr/bin/env bash
# test_hook_fetch.sh - evidence fetches of one apt transaction share one
# deadline (--fetch-timeout) and run in parallel. The store is an https://
# server on 127.0.0.1 that accepts every connection and never answers (not
# even the TLS handshake): each fetch can only end at the deadline.
#   - 9 packages fetched one after another (--jobs 1) still end together
#     at the one deadline, not one deadline each;
#   - by default the fetches are in flight at the same time: the server
#     holds 8 open connections at once before any is given up on;
#   - every package is denied, saying the store could not be fetched.
# The time is compared with the configured deadline only, with a wide
# margin (9 deadlines one after another would be 36 s, the bound is 30 s).
# Env: GATE (the binary). Skips (exit 0) without dpkg-deb or python3.
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cli_setup /tmp/gate-hook-fetch.XXXXXX
command -v dpkg-deb >/dev/null || { echo "SKIP: dpkg-deb is missing"; exit 0; }
command -v python3 >/dev/null || { echo "SKIP: python3 is missing"; exit 0; }

# The silent server: prints its port, then the largest number of
# connections it held open at once, to $tmp/held, as it changes.
cat >"$tmp/silent.py" <<'EOF'
import select, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
conns, most, end = [], 0, time.monotonic() + 120
while time.monotonic() < end:
    r, _, _ = select.select([s] + conns, [], [], 0.5)
    for x in r:
        if x is s:
            conns.append(s.accept()[0])
        elif not x.recv(4096):  # the client gave up
            conns.remove(x)
            x.close()
    if len(conns) > most:
        most = len(conns)
        with open(sys.argv[1], "w") as f:
            f.write("%d\n" % most)
EOF
python3 "$tmp/silent.py" "$tmp/held" >"$tmp/port" 2>"$tmp/silent.err" &
spid=$!
trap 'kill $spid 2>/dev/null; rm -rf -- "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(head -1 "$tmp/port")
[ -n "$port" ] || { echo "FAIL the silent server did not start: $(cat "$tmp/silent.err")"; exit 1; }

mkdir -p "$tmp/src"
names=()
for i in 1 2 3 4 5 6 7 8 9; do
    d=$tmp/src/p$i
    mkdir -p "$d/DEBIAN"
    printf 'Package: p%s\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: t\n' \
        "$i" >"$d/DEBIAN/control"
    fixture dpkg-deb --build --root-owner-group "$d" "$tmp/p${i}_1.0_all.deb"
    names+=("p$i")
done
fixture "$GATE" keygen --output-key-prefix "$tmp/k"
cat >"$tmp/policy.yaml" <<EOF
version: 1
mode: enforce
trust:
  keys:
    k: {file: $tmp/k.pub}
signers:
  s:
    - key: k
rules:
  - name: packages need k
    match: { path: ["**/*.deb"], caller: [apt] }
    require: { signers: s }
evidence:
  dirs: ["https://127.0.0.1:$port/store"]
EOF
{
    printf 'VERSION 3\nAPT::Architecture=amd64\n\n'
    for n in "${names[@]}"; do printf '%s - - none < 1.0 all none %s/%s_1.0_all.deb\n' "$n" "$tmp" "$n"; done
} >"$tmp/transaction"
hook=("$GATE" hook apt --no-ledger --cache-dir "$tmp/cache" --policy "$tmp/policy.yaml" --fetch-timeout 4)

t0=$(date +%s)
run "one job: every package denied, the store named" 1 --in "$tmp/transaction" \
    --err "9 of 9 packages refused" --err "https://127.0.0.1:$port/store/sha256/" \
    --err "cannot fetch" -- timeout 200 "${hook[@]}" --jobs 1
t1=$(date +%s)
check "one job: all fetches ended at the one deadline (4 s; $((t1 - t0)) s, bound 30 s)" \
    test $((t1 - t0)) -lt 30
check "one job: one connection at a time" test "$(cat "$tmp/held")" = 1

rm -f "$tmp/held"
run "default jobs: every package denied" 1 --in "$tmp/transaction" --err "9 of 9 packages refused" -- \
    timeout 200 "${hook[@]}"
check "default jobs: 8 fetches were in flight at once" test "$(cat "$tmp/held")" -ge 8

run "--fetch-timeout must be a number of seconds" 2 --err "--fetch-timeout" -- \
    "$GATE" hook apt --fetch-timeout 0
finish test_hook_fetch
