#!/bin/sh
# systemd-analyze verify of our units, as packaged, before they are installed: ExecStart points
# at the binary in the package build tree (systemd insists that it exists), nothing else changes.
set -eu
staged=$(cd "$(dirname "$0")/.." && pwd)/debian/pve-smbgateway
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in "$staged"/lib/systemd/system/*; do
    sed "s|/usr/sbin/pve-smbgateway|$staged/usr/sbin/pve-smbgateway|" "$unit" > "$tmp/$(basename "$unit")"
done
systemd-analyze verify --man=no "$tmp"/*
echo "units verified: $(cd "$tmp" && echo *)"
