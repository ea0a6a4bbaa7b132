# apt_root.sh - the real apt-get and dpkg in a throwaway root under $tmp,
# never against the host's package database. Sourced by the tests (and
# tests/bench/apt.sh) that need them; set $tmp (the caller's own temporary
# directory) and $log (where apt-get's output goes) first.
#   make_root NAME SOURCE-LINE [APT-CONF-LINE...]  a fresh root $tmp/NAME:
#       the apt and dpkg directories, an empty dpkg database, /bin/sh and
#       its libraries (maintainer scripts run chrooted into the root), the
#       one sources.list line, and $tmp/NAME.apt.conf pointing apt and dpkg
#       there (plus the extra lines); sets ROOT and APT_CONFIG.
#   guard               exit unless ROOT and APT_CONFIG are such a root's.
#   apt_root ARGS...    apt-get -q -y in the root, output in $log.
#   dpkg_root ARGS...   dpkg on the root's database.
#   installed PKG       dpkg in the root says "install ok installed".
#   apt_test_start NAME the prologue of a test that runs apt in such roots:
#       $GATE made absolute; skip (exit 0) unless root with apt-get and
#       dpkg-deb; $tmp a new /tmp/NAME.XXXXXX, removed on exit unless
#       KEEP_TMP is set.
ROOT=
APT_CONFIG=

apt_test_start() {
    GATE=${GATE:?GATE must name the gate binary}
    GATE=$(cd "$(dirname "$GATE")" && pwd)/$(basename "$GATE")
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: not root: apt-get and dpkg --root need root"; exit 0; }
    local t
    for t in apt-get dpkg-deb; do
        command -v $t >/dev/null || { echo "SKIP: $t is missing"; exit 0; }
    done
    tmp=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
    case $tmp in
    "/tmp/$1."?*) ;;
    *) echo "unexpected temporary directory '$tmp'" >&2; exit 1 ;;
    esac
    trap '[ -n "${KEEP_TMP:-}" ] || rm -rf -- "$tmp"' EXIT
}

guard() {
    : "${ROOT:?ROOT is unset}" "${APT_CONFIG:?APT_CONFIG is unset}"
    case $ROOT in "$tmp"/?*) ;; *) echo "refusing: ROOT=$ROOT is outside $tmp" >&2; exit 1 ;; esac
    case $APT_CONFIG in "$tmp"/?*) ;; *) echo "refusing: APT_CONFIG outside $tmp" >&2; exit 1 ;; esac
    grep -qxF "Dir \"$ROOT/\";" "$APT_CONFIG" || { echo "refusing: $APT_CONFIG is not for $ROOT" >&2; exit 1; }
}

apt_root() {
    guard
    APT_CONFIG=$APT_CONFIG apt-get -q -y "$@" >"$log" 2>&1
}

dpkg_root() {
    guard
    dpkg --root="$ROOT" --admindir="$ROOT/var/lib/dpkg" "$@"
}

installed() {
    guard
    [ "$(dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Status}' "$1" 2>/dev/null)" = \
        "install ok installed" ]
}

make_root() {
    local name=$1 source=$2 lib line
    shift 2
    : "${tmp:?}" "${name:?}"
    ROOT=$tmp/$name
    APT_CONFIG=$tmp/$name.apt.conf
    rm -rf -- "$ROOT"
    mkdir -p "$ROOT"/etc/apt/apt.conf.d "$ROOT"/etc/apt/sources.list.d \
        "$ROOT"/etc/apt/preferences.d "$ROOT"/var/lib/apt/lists/partial \
        "$ROOT"/var/cache/apt/archives/partial "$ROOT"/var/lib/dpkg/info \
        "$ROOT"/var/lib/dpkg/updates "$ROOT"/var/lib/dpkg/triggers "$ROOT"/var/log "$ROOT"/bin
    : >"$ROOT/var/lib/dpkg/status"
    cp "$(readlink -f /bin/sh)" "$ROOT/bin/sh"
    for lib in $(ldd "$(readlink -f /bin/sh)" | grep -o '/[^ ]*'); do
        mkdir -p "$ROOT$(dirname "$lib")"
        cp -L "$lib" "$ROOT$lib"
    done
    echo "$source" >"$ROOT/etc/apt/sources.list"
    {
        echo "Dir \"$ROOT/\";"
        echo "Dir::State::status \"$ROOT/var/lib/dpkg/status\";"
        echo 'APT::Sandbox::User "root";'
        for line in "$@"; do echo "$line"; done
        echo "DPkg::Options {\"--root=$ROOT\"; \"--admindir=$ROOT/var/lib/dpkg\"; \"--log=$ROOT/var/log/dpkg.log\";};"
    } >"$APT_CONFIG"
}
