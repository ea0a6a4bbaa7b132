#!/usr/bin/env bash
# build-deb.sh - build gate's Debian packages (gate, libgate0, libgate-dev)
# from a copy of the source tree (its build folders left out) in OUT, so
# that the tree stays clean; the .debs and .changes land in OUT. Installs
# the build dependencies first when run as root.
# Usage: packaging/build-deb.sh OUT [-jN]
set -eu
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: build-deb.sh OUT [-jN]}
jobs=${2:--j2}
deps="debhelper dpkg-dev fakeroot"
missing=
for p in $deps; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: missing:$missing (run as root, or install them)" >&2
        exit 2
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
"$src/.ci/deps.sh" build
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
mkdir -p "$out"
tree=$out/gate-$version
rm -rf "$tree"
mkdir "$tree"
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude='./obj-*' -cf - . | tar -C "$tree" -xf -
cd "$tree"
DEB_BUILD_OPTIONS="parallel=${jobs#-j} ${DEB_BUILD_OPTIONS:-}" nice dpkg-buildpackage -us -uc -b
