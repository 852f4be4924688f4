#!/bin/sh
# Install what building, every test tier, the demo and the bench need on a fresh Debian 12
# (as root). One list: a tier run alone (t/ui/run.sh, t/package/run.sh, cargo nextest) finds
# everything it calls already here. Quick when everything is there: apt-get runs only for
# missing packages. The opt-in VM tier (make test-vm) installs QEMU itself (it must match the
# machine's qemu-utils).
set -eu

# the gateway itself: Samba (server, client, AD DC, winbind), btrfs, ACL and attribute tools
PACKAGES="samba samba-vfs-modules smbclient btrfs-progs acl attr e2fsprogs util-linux procps psmisc \
    perl libjson-xs-perl winbind libnss-winbind samba-ad-dc samba-ad-provision krb5-user dnsutils ldb-tools \
    systemd cloud-init"
# integration tests: nss_wrapper sandboxes, network namespaces and their firewall, CTDB with a
# 3-node corosync (ping checks reachability; CTDB's interface monitor needs ethtool), LXC
# containers from a debootstrapped template
PACKAGES="$PACKAGES libnss-wrapper iproute2 nftables iputils-ping ctdb corosync libquorum5 libcpg4 \
    ethtool lxc lxc-templates uidmap debootstrap zstd"
# CephFS tests (t/bin/smbgw-ceph-cluster, crates/cli/tests/common/ceph.rs): a real cluster with
# mon, mgr, OSDs, MDS and ceph-fuse mounts; monmaptool is in ceph-base, uuidgen in uuid-runtime
PACKAGES="$PACKAGES ceph-mon ceph-osd ceph-mds ceph-mgr ceph-fuse ceph-common ceph-base uuid-runtime"
# UI tier: headless Chromium driven by playwright-core (npm), the API served by a Perl stand-in
PACKAGES="$PACKAGES chromium nodejs npm libhttp-daemon-perl liburi-perl fonts-dejavu-core"
# package tier: a local apt repository for the container, the version of the built package
PACKAGES="$PACKAGES apt-utils dpkg-dev bc"
# bench: system call counts beside the timings; smbtorture (Samba's own load tests); the soak's client
PACKAGES="$PACKAGES strace samba-testsuite python3"
# discovery: WS-Discovery for Windows Explorer, mDNS (Avahi) for macOS Finder; the tests start their own D-Bus (dbus-daemon)
PACKAGES="$PACKAGES wsdd avahi-daemon avahi-utils dbus"
# snapshot schedules and retention: unit tests count in named zones (TZ=Europe/Vienna for DST)
PACKAGES="$PACKAGES tzdata"
# make deb: Debian's packaging tools
if [ "${1:-}" = --packaging ]; then
    PACKAGES="$PACKAGES build-essential debhelper devscripts lintian fakeroot"
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
for p in $PACKAGES; do
    case "$p" in
    # a Node.js of 20 or later from elsewhere (nodesource) brings its own npm
    nodejs | npm) command -v node >/dev/null && command -v npm >/dev/null && continue ;;
    esac
    installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages:$missing -- run as root or install them first" >&2
        exit 1
    fi
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # no daemon may start on its own: the gateway and the tests start what they need
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
# cloud-init is here only for 'cloud-init schema' (the VM user-data check): it must never
# configure this machine at boot
if [ -d /etc/cloud ] && [ ! -e /etc/cloud/cloud-init.disabled ] && [ "$(id -u)" = 0 ]; then
    touch /etc/cloud/cloud-init.disabled
fi
# Debian's samba, ctdb and corosync packages start their daemons where they can; they would hold
# port 445 and the cluster ports the tests use.
for d in smbd nmbd winbindd samba ctdbd corosync; do
    if [ -f "/run/samba/$d.pid" ] && pidof "$d" >/dev/null 2>&1; then
        kill "$(cat "/run/samba/$d.pid")" 2>/dev/null || true
    fi
done
command -v cargo >/dev/null || { echo "cargo is missing: install the Rust toolchain (rustup)" >&2; exit 1; }
cargo fetch --locked -q
