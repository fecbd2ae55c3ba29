#!/bin/sh
# Fetch the pinned Debian arm64 kernel (a raw arm64 Image with realm guest support built in) into a cache
# outside the repository, without touching the machine's apt configuration: the package comes straight from
# the Debian archive's pool path and is checked against the pinned SHA-256. Prints the Image's path.
#
#   tools/linux/fetch-kernel.sh            # → $REALMKIT_CACHE/linux/7.3.4+deb13/vmlinuz.unsigned
#   tools/linux/fetch-kernel.sh --modules  # → $REALMKIT_CACHE/linux/7.3.4+deb13/modules (a directory)
#   REALMKIT_CACHE=/tmp/rk tools/linux/fetch-kernel.sh
#
# --modules fetches the same kernel's linux-modules package (86 MB) instead and prints a directory with the
# attestation modules, decompressed: configfs.ko, tsm_report.ko and arm-cca-guest.ko (CONFIG_CONFIGFS_FS,
# CONFIG_TSM_REPORTS and CONFIG_ARM_CCA_GUEST are =m in Debian's arm64 config; arm-cca-guest depends on
# tsm_report, which depends on configfs). `realm initramfs --attest --modules DIR` puts them in the initramfs.
#
# Needs curl (or wget) and dpkg-deb (or ar + tar), xz. Never commit what it downloads.
set -eu

VERSION="7.3.4+deb13"
DEBVER="7.3.4-1~bpo13+1"
PKG="linux-binary-unsigned-${VERSION}-arm64_${DEBVER}_arm64.deb"
SHA256="e482f44ffc7acb7a3e928882acf0d3b7f1c3faa066e406a225859c001e5721c9"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Backports drop old versions; snapshot.debian.org keeps them.
SNAPSHOT="https://snapshot.debian.org/archive/debian/20261120T000000Z"
POOL="pool/main/l/linux"

MODPKG="linux-modules-${VERSION}-arm64_${DEBVER}_arm64.deb"
MODSHA256="df2a118b535e735230717512a9fe4d30b0c24a3c6e68470d5d13e9a08ddfd29a"
MODULES="configfs tsm_report arm-cca-guest"

CACHE="${REALMKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/realmkit}/linux/${VERSION}"
IMAGE="${CACHE}/vmlinuz.unsigned"
MODDIR="${CACHE}/modules"
WANT=image
case "${1:-}" in
    --modules) WANT=modules; PKG="$MODPKG"; SHA256="$MODSHA256" ;;
    "") ;;
    *) echo "fetch-kernel: unknown argument $1 (--modules or nothing)" >&2; exit 2 ;;
esac
if [ "$WANT" = image ] && [ -s "$IMAGE" ]; then
    echo "$IMAGE"
    exit 0
fi
if [ "$WANT" = modules ] && [ -s "$MODDIR/arm-cca-guest.ko" ]; then
    echo "$MODDIR"
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
if [ "$WANT" = modules ]; then
    mkdir -p "$MODDIR.part"
    for m in $MODULES; do
        ko="$(find "$TMP/usr/lib/modules/${VERSION}-arm64/kernel" -name "$m.ko*" | head -1)"
        if [ -z "$ko" ]; then
            echo "fetch-kernel: $m.ko is not in ${PKG}" >&2
            rm -rf "$TMP" "$MODDIR.part"
            exit 1
        fi
        case "$ko" in
            *.xz) xz -dc "$ko" >"$MODDIR.part/$m.ko" ;;
            *) cp "$ko" "$MODDIR.part/$m.ko" ;;
        esac
    done
    rm -rf "$MODDIR"
    mv "$MODDIR.part" "$MODDIR"
    # The modules are all that is kept: the 86 MB package is not needed again.
    rm -rf "$TMP" "$DEB"
    echo "$MODDIR"
    exit 0
fi
mv "$TMP/usr/lib/modules/${VERSION}-arm64/vmlinuz.unsigned" "$IMAGE"
rm -rf "$TMP"
echo "$IMAGE"
