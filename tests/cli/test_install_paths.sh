#!/usr/bin/env bash
# test_install_paths.sh - `cmake --install` of the build under test: the
# apt snippet goes to SYSCONFDIR/apt/apt.conf.d and gated's unit to the
# prefix's lib/systemd/system, both naming the binaries of the prefix given
# at install time; DESTDIR holds every file written (nothing lands in the
# host's /etc).
# Env: GATE, GATE_BUILD_DIR.
set -u

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
cli_setup /tmp/gate-install.XXXXXX
if ! command -v cmake >/dev/null || [ -z "${GATE_BUILD_DIR:-}" ]; then
    echo "SKIP: needs cmake and GATE_BUILD_DIR"
    exit 0
fi
host_snippet_before=$([ -e /etc/apt/apt.conf.d/50gate ] && echo yes || echo no)

# ---- --prefix /opt/x under DESTDIR ----
fixture env DESTDIR="$tmp/d1" cmake --install "$GATE_BUILD_DIR" --prefix /opt/x
check "opt: snippet under the prefix's etc" test -f "$tmp/d1/opt/x/etc/apt/apt.conf.d/50gate"
check "opt: snippet names the installed gate" grep -qxF \
    'DPkg::Pre-Install-Pkgs {"/opt/x/bin/gate hook apt";};' "$tmp/d1/opt/x/etc/apt/apt.conf.d/50gate"
check "opt: snippet's post-invoke names it too" grep -qxF \
    'DPkg::Post-Invoke {"/opt/x/bin/gate hook apt --post-invoke";};' "$tmp/d1/opt/x/etc/apt/apt.conf.d/50gate"
check "opt: snippet mode 0644" test "$(stat -c %a "$tmp/d1/opt/x/etc/apt/apt.conf.d/50gate")" = 644
unit=$tmp/d1/opt/x/lib/systemd/system/gated.service
check "opt: unit under the prefix" test -f "$unit"
check "opt: unit starts the installed gated" grep -qE '^ExecStart=/opt/x/sbin/gated ' "$unit"
check "opt: unit lints with the installed gate" grep -qF "ExecStartPre=/bin/sh -c '/opt/x/bin/gate policy lint" "$unit"
check "opt: no template placeholder left" not grep -rq '@S\?BINDIR@' "$tmp/d1"
check "opt: nothing outside the prefix" test "$(find "$tmp/d1" -mindepth 1 -maxdepth 1)" = "$tmp/d1/opt"
check "opt: binaries installed" test -x "$tmp/d1/opt/x/bin/gate" -a -x "$tmp/d1/opt/x/sbin/gated"

# ---- --prefix /usr: the snippet goes to /etc, where apt reads it ----
fixture env DESTDIR="$tmp/d2" cmake --install "$GATE_BUILD_DIR" --prefix /usr
check "usr: snippet in /etc/apt/apt.conf.d" grep -qxF \
    'DPkg::Pre-Install-Pkgs {"/usr/bin/gate hook apt";};' "$tmp/d2/etc/apt/apt.conf.d/50gate"
check "usr: unit in /usr/lib/systemd/system" grep -qE '^ExecStart=/usr/sbin/gated ' \
    "$tmp/d2/usr/lib/systemd/system/gated.service"
check "usr: no /usr/etc" test ! -e "$tmp/d2/usr/etc"

check "the host's apt configuration is untouched" \
    test "$([ -e /etc/apt/apt.conf.d/50gate ] && echo yes || echo no)" = "$host_snippet_before"
finish test_install_paths
