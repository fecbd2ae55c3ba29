#!/bin/sh
# Install the CCA realm measurement calculator (`realm-measurements`, crate cca-realm-measurements 0.1.0,
# MIT/Apache-2.0) for `realm bench`, which compares `realm measure` with it (issue 14). The binary goes to
# ~/.cache/realmkit/calculator/bin, where `realm bench` looks for it besides PATH; it is never committed.
#
# Usage: tools/calculator/install.sh
set -eu

root="${REALMKIT_CALCULATOR_ROOT:-$HOME/.cache/realmkit/calculator}"
version=0.1.0

if ! cargo install --root "$root" cca-realm-measurements --version "$version" --locked; then
    echo "install.sh: --locked failed; retrying without it (dependencies resolved afresh)" >&2
    cargo install --root "$root" cca-realm-measurements --version "$version"
fi

bin="$root/bin/realm-measurements"
if [ ! -x "$bin" ]; then
    echo "install.sh: cargo install succeeded but $bin is missing; installed binaries:" >&2
    ls -l "$root/bin" >&2 || true
    exit 1
fi
echo "$bin"
