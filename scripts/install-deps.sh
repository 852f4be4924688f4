#!/bin/sh
# Install what building, testing and the demo need on a fresh Debian 12 (as root).
# Quick when everything is there already: apt-get runs only for missing packages.
set -eu

PACKAGES="samba samba-vfs-modules smbclient btrfs-progs acl attr libnss-wrapper procps psmisc e2fsprogs util-linux perl libjson-xs-perl \
    winbind libnss-winbind samba-ad-dc samba-ad-provision krb5-user dnsutils ldb-tools systemd cloud-init"
# make deb: Debian's packaging tools
if [ "${1:-}" = --packaging ]; then
    PACKAGES="$PACKAGES build-essential debhelper devscripts lintian fakeroot"
fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages:$missing -- run as root or install them first" >&2
        exit 1
    fi
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # no daemon may start on its own: the gateway starts the smbd it needs
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
# cloud-init is here only for 'cloud-init schema' (the VM user-data check): it must never
# configure this machine at boot
if [ -d /etc/cloud ] && [ ! -e /etc/cloud/cloud-init.disabled ] && [ "$(id -u)" = 0 ]; then
    touch /etc/cloud/cloud-init.disabled
fi
# Debian's samba package starts smbd/nmbd where it can; they would hold port 445.
for d in smbd nmbd; do
    if pidof "$d" >/dev/null 2>&1 && [ -f "/run/samba/$d.pid" ]; then
        kill "$(cat /run/samba/$d.pid)" 2>/dev/null || true
    fi
done
command -v cargo >/dev/null || { echo "cargo is missing: install the Rust toolchain (rustup)" >&2; exit 1; }
cargo fetch --locked -q
