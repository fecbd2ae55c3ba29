#!/bin/sh
# Installs what a64-diff needs (Debian/Ubuntu, as root): qemu-user (qemu-aarch64: cases at EL0), qemu-system-arm
# (qemu-system-aarch64: cases at EL1, --system) and the
# aarch64 cross binutils (as, ld) that assemble and link the QEMU-side harness when the tool runs.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (it calls apt-get install)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends qemu-user qemu-system-arm binutils-aarch64-linux-gnu
qemu-aarch64 --version | head -n 1
qemu-system-aarch64 --version | head -n 1
aarch64-linux-gnu-as --version | head -n 1
