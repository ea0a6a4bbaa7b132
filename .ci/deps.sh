#!/usr/bin/env bash
# Installs the Debian 12 packages gate needs that are missing. Idempotent:
# installs nothing (and needs no network) when everything is there.
#   .ci/deps.sh build   what building needs
#   .ci/deps.sh test    also what the test suite needs
set -eu
build_pkgs="build-essential cmake pkg-config libssl-dev libjansson-dev
  libcurl4-openssl-dev libyaml-dev libmagic-dev libsqlite3-dev libarchive-dev
  openssl ca-certificates"
test_pkgs="libcmocka-dev clang libclang-rt-14-dev python3 python3-cryptography
  valgrind time file xxd python3-junitparser python3-yaml python3-jsonschema dpkg-dev gnupg gpgv
  osslsigncode faketime gcc-mingw-w64-x86-64 openjdk-17-jdk-headless zip
  groff-base man-db debian-archive-keyring debhelper lintian"
want=$build_pkgs
[ "${1:-build}" = test ] && want="$build_pkgs $test_pkgs"

missing=
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    echo "error: packages missing and not root: run as root or install:$missing" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
