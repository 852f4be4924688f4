#!/bin/sh
# systemd-analyze verify of our units, as packaged, before they are installed: ExecStart points
# at the binaries in the package build tree (systemd insists that they exist), nothing else
# changes. With --source: the units in systemd/ against the binaries in target/release (after
# 'cargo build --release'; no package build needed).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --source ]; then
    units=$root/systemd
    bin=$root/target/release
else
    units=$root/debian/pve-smbgateway/lib/systemd/system
    bin=$root/debian/pve-smbgateway/usr/sbin
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in "$units"/*.service "$units"/*.timer; do
    [ -e "$unit" ] || continue
    sed "s|/usr/sbin/|$bin/|" "$unit" > "$tmp/$(basename "$unit")"
done
# verify exits 0 on unknown keys and bad values (it ignores them): any message is a failure
out=$(systemd-analyze verify --man=no "$tmp"/* 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then
    echo "$out" >&2
    exit 1
fi
echo "units verified: $(cd "$tmp" && echo *)"
