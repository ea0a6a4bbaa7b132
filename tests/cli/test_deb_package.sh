#!/usr/bin/env bash
# test_deb_package.sh - the Debian packages built with dpkg-buildpackage
# (packaging/build-deb.sh, once, -j2, niced): what each ships, that gated's
# unit is installed but never enabled, that the apt snippet is no file of the
# package (postinst writes it, prerm removes it: a conffile would outlive
# `apt-get remove` and leave apt calling a missing program), that the
# libraries gate loads on first use are in Depends, that the shipped
# starter policy lints clean and is audit for apt, that the packaged gate
# runs and its man page is found, and that lintian reports no error.
# Root only (dpkg-buildpackage's fakeroot-free build, lintian); skips when
# dpkg-buildpackage or debhelper is missing.
# Env: GATE, GATE_SOURCE_DIR.
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
src=${GATE_SOURCE_DIR:?}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: not root"; exit 0; }
command -v dpkg-buildpackage >/dev/null || { echo "SKIP: dpkg-buildpackage is missing (package dpkg-dev)"; exit 0; }
command -v dh >/dev/null || { echo "SKIP: debhelper is missing (package debhelper)"; exit 0; }
cli_setup /tmp/gate-deb.XXXXXX

fixture "$src/packaging/build-deb.sh" "$tmp/out" -j2
deb=$tmp/out/gate_0.1.0_amd64.deb
lib=$tmp/out/libgate0_0.1.0_amd64.deb
dev=$tmp/out/libgate-dev_0.1.0_amd64.deb
for f in "$deb" "$lib" "$dev"; do check "built: $(basename "$f")" test -f "$f"; done
fixture sh -c "dpkg-deb -c '$deb' | awk '{print \$6}' >'$tmp/gate.list'"
for f in ./usr/bin/gate ./usr/sbin/gated ./lib/systemd/system/gated.service \
    ./usr/share/man/man1/gate.1.gz ./usr/share/man/man5/gate-policy.5.gz \
    ./usr/share/man/man8/gated.8.gz ./usr/share/bash-completion/completions/gate \
    ./usr/share/bash-completion/completions/gated ./etc/gate/policy.yaml; do
    check "gate ships $f" grep -qxF "$f" "$tmp/gate.list"
done
check "the apt snippet is no file of the package" not grep -q 'apt.conf.d' "$tmp/gate.list"
fixture dpkg-deb -e "$deb" "$tmp/ctl"
check "conffile: the starter policy" grep -qxF /etc/gate/policy.yaml "$tmp/ctl/conffiles"
check "postinst writes the hook" grep -qF 'gate hook apt --install' "$tmp/ctl/postinst"
check "prerm removes the hook" grep -qF 'gate hook apt --uninstall' "$tmp/ctl/prerm"
check "postrm purge removes the state" grep -qF 'rm -rf /var/lib/gate /var/cache/gate' "$tmp/ctl/postrm"
# dh_installsystemd --no-enable --no-start: enabled again only when the
# administrator had enabled it (was-enabled), never started.
check "gated is enabled only if it was" grep -qF "deb-systemd-helper --quiet was-enabled 'gated.service'" "$tmp/ctl/postinst"
check "gated is not started" not grep -qE 'deb-systemd-invoke (start|restart)' "$tmp/ctl/postinst"
fixture sh -c "dpkg-deb -f '$deb' Depends >'$tmp/depends'"
for p in libcurl4 libarchive13 libmagic1 libyaml-0-2 libsqlite3-0 libssl3 libjansson4; do
    check "Depends: $p (loaded on first use or linked)" grep -qE "(^| )$p( |,|$)" "$tmp/depends"
done
fixture sh -c "dpkg-deb -c '$lib' | awk '{print \$6}' >'$tmp/lib.list'"
check "libgate0 ships libgate.so.0" grep -qE '^\./usr/lib/[^/]+/libgate\.so\.0$' "$tmp/lib.list"
fixture sh -c "dpkg-deb -c '$dev' | awk '{print \$6}' >'$tmp/dev.list'"
for f in 'include/gate/gate\.h' 'libgate\.so$' 'libgate\.a' 'pkgconfig/libgate\.pc'; do
    check "libgate-dev ships $f" grep -qE "$f" "$tmp/dev.list"
done

# The packaged files, unpacked (never installed on this host).
fixture dpkg-deb -x "$deb" "$tmp/x"
fixture dpkg-deb -x "$lib" "$tmp/x"
run "the packaged gate runs" 0 --out "gate" -- "$tmp/x/usr/bin/gate" version
run "the starter policy lints clean" 0 --out "0 warnings" -- \
    "$tmp/x/usr/bin/gate" policy lint "$tmp/x/etc/gate/policy.yaml"
check "the starter policy is audit for apt" grep -qx '  apt: audit' "$tmp/x/etc/gate/policy.yaml"
if command -v man >/dev/null; then
    check "man finds gate-policy" man -M "$tmp/x/usr/share/man" -w gate-policy
fi
check "unit: the packaged gated" grep -qE '^ExecStart=/usr/sbin/gated ' "$tmp/x/lib/systemd/system/gated.service"

if command -v lintian >/dev/null; then
    lintian --tag-display-limit 0 "$tmp/out/gate_0.1.0_amd64.changes" >"$tmp/lintian" 2>&1
    check "lintian: no errors" not grep -q '^E:' "$tmp/lintian"
else
    echo "SKIP (partly): lintian is missing"
fi
finish test_deb_package
