#!/bin/sh
# Build the pve-smbgateway container template: Debian 12 (debootstrap) with Samba preinstalled,
# so provisioning an LXC share needs no network inside the container and takes seconds.
#   create_ct_template.sh [OUTPUT]
# OUTPUT defaults to the PVE template cache: /var/lib/vz/template/cache/debian-12-smbgateway_<version>_amd64.tar.gz
# Idempotent: an existing OUTPUT is kept. MIRROR overrides the Debian mirror.
set -eu

VERSION=1
OUT=${1:-/var/lib/vz/template/cache/debian-12-smbgateway_${VERSION}_amd64.tar.gz}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
PACKAGES=systemd,systemd-sysv,dbus,ifupdown,iproute2,iputils-ping,procps,less,acl,attr,ca-certificates,samba,samba-vfs-modules,smbclient,winbind,libnss-winbind,krb5-user,wsdd,avahi-daemon

if [ -s "$OUT" ]; then
    echo "template exists: $OUT"
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/smbgw-template.XXXXXX)
trap 'umount -l "$tmp/rootfs/proc" 2>/dev/null || true; rm -rf "$tmp"' EXIT
rootfs=$tmp/rootfs
# the container's root is mapped to an unprivileged id; debconf must not ask anything
DEBIAN_FRONTEND=noninteractive debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$MIRROR"

# Samba as the gateway runs it: smbd only (winbindd when the share's node is a domain member)
for unit in nmbd samba-ad-dc winbind; do
    chroot "$rootfs" systemctl disable "$unit" >/dev/null 2>&1 || true
    chroot "$rootfs" systemctl mask "$unit" >/dev/null 2>&1 || true
done
chroot "$rootfs" systemctl unmask winbind >/dev/null 2>&1 || true
# discovery (wsdd, Avahi) answers only when the node's setting says so: the gateway starts it
for unit in wsdd avahi-daemon; do
    chroot "$rootfs" systemctl disable "$unit" >/dev/null 2>&1 || true
done
chroot "$rootfs" systemctl enable smbd >/dev/null 2>&1
# the gateway writes smb.conf; until then smbd serves nothing
printf '[global]\n\tserver role = standalone server\n\tdisable netbios = yes\n' > "$rootfs/etc/samba/smb.conf"
echo "pve-smbgateway template $VERSION" > "$rootfs/etc/pve-smbgateway-template"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/etc/machine-id
: > "$rootfs/etc/machine-id"
mkdir -p "$(dirname "$OUT")"
# device nodes are made by LXC at start (PVE unpacks templates without ./dev/*)
tar -C "$rootfs" --numeric-owner --exclude="./dev/*" -czf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
echo "template written: $OUT ($(du -h "$OUT" | cut -f1))"
