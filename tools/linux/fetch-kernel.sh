#!/bin/sh
# Fetch the pinned Debian arm64 kernel (a raw arm64 Image with realm guest support built in) into a cache
# outside the repository, without touching the machine's apt configuration: the package comes straight from
# the Debian archive's pool path and is checked against the pinned SHA-256. Prints the Image's path.
#
#   tools/linux/fetch-kernel.sh            # → $REALMKIT_CACHE/linux/7.3.4+deb13/vmlinuz.unsigned
#   REALMKIT_CACHE=/tmp/rk tools/linux/fetch-kernel.sh
#
# Needs curl (or wget) and dpkg-deb (or ar + tar + xz). Never commit what it downloads.
set -eu

VERSION="7.3.4+deb13"
DEBVER="7.3.4-1~bpo13+1"
PKG="linux-binary-unsigned-${VERSION}-arm64_${DEBVER}_arm64.deb"
SHA256="e482f44ffc7acb7a3e928882acf0d3b7f1c3faa066e406a225859c001e5721c9"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Backports drop old versions; snapshot.debian.org keeps them.
SNAPSHOT="https://snapshot.debian.org/archive/debian/20261120T000000Z"
POOL="pool/main/l/linux"

CACHE="${REALMKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/realmkit}/linux/${VERSION}"
IMAGE="${CACHE}/vmlinuz.unsigned"
if [ -s "$IMAGE" ]; then
    echo "$IMAGE"
    exit 0
fi
mkdir -p "$CACHE"
DEB="${CACHE}/${PKG}"

fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 -o "$2" "$1"
    else
        wget -q -O "$2" "$1"
    fi
}

if [ ! -s "$DEB" ] || ! echo "${SHA256}  ${DEB}" | sha256sum -c - >/dev/null 2>&1; then
    fetch "${MIRROR}/${POOL}/${PKG}" "$DEB.part" || fetch "${SNAPSHOT}/${POOL}/${PKG}" "$DEB.part"
    mv "$DEB.part" "$DEB"
fi
if ! echo "${SHA256}  ${DEB}" | sha256sum -c - >/dev/null 2>&1; then
    echo "fetch-kernel: ${PKG}: SHA-256 mismatch (expected ${SHA256})" >&2
    rm -f "$DEB"
    exit 1
fi

TMP="${CACHE}/extract.$$"
rm -rf "$TMP"
mkdir -p "$TMP"
if command -v dpkg-deb >/dev/null 2>&1; then
    dpkg-deb -x "$DEB" "$TMP"
else
    (cd "$TMP" && ar x "$DEB" data.tar.xz && tar -xJf data.tar.xz)
fi
mv "$TMP/usr/lib/modules/${VERSION}-arm64/vmlinuz.unsigned" "$IMAGE"
rm -rf "$TMP"
echo "$IMAGE"
