#!/bin/sh
# Build the pve-smbgateway VM template: Debian 12 (the official generic cloud image) with
# cloud-init, qemu-guest-agent, Samba, wsdd and Avahi, as a PVE template VM that `--mode vm`
# shares clone.
#   create_vm_template.sh [VMID]        (default 9000, the default of --vm-template)
#   create_vm_template.sh --disk-image FILE
#       only the guest's disk, without PVE or a download (t/vm/run.sh boots it): Debian 12 by
#       debootstrap with the same packages and set-up, as FILE (qcow2, one ext4 filesystem
#       labelled smbgw-root, no partitions, no boot loader) and FILE.vmlinuz, FILE.initrd beside
#       it for a direct kernel boot (root=LABEL=smbgw-root). Kept when all three exist.
# Environment:
#   STORAGE    PVE storage for the template's disk and cloud-init drive (default local-lvm)
#   BRIDGE     bridge of the template's network interface (default vmbr0; clones set their own)
#   IMAGE      a Debian 12 cloud image to use instead of downloading one (qcow2 or raw)
#   CUSTOMIZED set to 1 if IMAGE already has qemu-guest-agent, samba, acl, wsdd and avahi-daemon
#              (skips virt-customize)
#   MIRROR     Debian mirror for --disk-image (default http://deb.debian.org/debian)
# Idempotent: a template VM made by this script is kept; any other VM with that id is refused.
# On a failure the half-made VM is destroyed again. Needs: qm (PVE), wget, sha512sum and
# virt-customize (libguestfs-tools; works without KVM, slowly) unless CUSTOMIZED=1;
# --disk-image needs root, debootstrap, mkfs.ext4 and qemu-img.
set -eu

VERSION=1
VMID=${1:-9000}
STORAGE=${STORAGE:-local-lvm}
BRIDGE=${BRIDGE:-vmbr0}
MARKER="pve-smbgateway template $VERSION"
RELEASE_URL=https://cloud.debian.org/images/cloud/bookworm/latest
IMAGE_NAME=debian-12-genericcloud-amd64.qcow2
CACHE=${CACHE:-/var/lib/vz/template/cache}
# What the gateway needs in the guest, the same for both ways of building it: smbd only (no
# NetBIOS, no AD DC); the share's user-data writes smb.conf at first boot. wsdd and avahi-daemon
# answer discovery only when the node's setting says so: the user-data enables them (and
# installs them into a VM of an older template), so they start disabled
GUEST_PACKAGES=qemu-guest-agent,samba,acl,wsdd,avahi-daemon
GUEST_SETUP='systemctl enable qemu-guest-agent smbd && systemctl mask nmbd samba-ad-dc && systemctl disable wsdd avahi-daemon'
# --disk-image: what the cloud image brings and debootstrap's minbase lacks (the cloud kernel,
# as in Debian's genericcloud image; ifupdown is what cloud-init renders network-config for;
# dbus for hostnamectl)
IMAGE_PACKAGES="linux-image-cloud-amd64 systemd-sysv udev kmod dbus ifupdown iproute2 isc-dhcp-client netbase cloud-init"

# --disk-image FILE: the guest's disk by debootstrap, no PVE involved
disk_image() {
    out=$1
    if [ -s "$out" ] && [ -s "$out.vmlinuz" ] && [ -s "$out.initrd" ]; then
        echo "disk image exists: $out"
        return 0
    fi
    [ "$(id -u)" = 0 ] || { echo "--disk-image needs root (debootstrap)" >&2; exit 1; }
    for tool in debootstrap mkfs.ext4 qemu-img; do
        command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install debootstrap e2fsprogs qemu-utils)" >&2; exit 1; }
    done
    tmp=$(mktemp -d /var/tmp/smbgw-vm-image.XXXXXX)
    trap 'umount -l "$tmp/root/proc" 2>/dev/null || true; rm -rf "$tmp"' EXIT
    root=$tmp/root
    export DEBIAN_FRONTEND=noninteractive
    debootstrap --variant=minbase bookworm "$root" "${MIRROR:-http://deb.debian.org/debian}"
    # the rest with apt (debootstrap's --include resolves dependencies too loosely for
    # cloud-init's); no service may start in the chroot, it would run on this host
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    mount -t proc proc "$root/proc"
    # shellcheck disable=SC2086
    chroot "$root" apt-get install -y -q --no-install-recommends $IMAGE_PACKAGES
    # the gateway's packages as virt-customize installs them: with their recommends
    # (samba-vfs-modules: recycle bin, shadow copies, macOS)
    # shellcheck disable=SC2046
    chroot "$root" apt-get install -y -q $(echo "$GUEST_PACKAGES" | tr , ' ')
    chroot "$root" sh -c "$GUEST_SETUP"
    # cloud-init's default locale, en_US.UTF-8, must be in locale.gen: Debian's locale-gen
    # ignores the name cloud-init passes it (canonical/cloud-init#4195)
    sed -i 's/^# *\(en_US.UTF-8 UTF-8\)$/\1/' "$root/etc/locale.gen"
    chroot "$root" locale-gen
    umount "$root/proc"
    rm "$root/usr/sbin/policy-rc.d"
    echo "$MARKER" > "$root/etc/pve-smbgateway-template"
    echo 'LABEL=smbgw-root / ext4 errors=remount-ro 0 1' > "$root/etc/fstab"
    echo localhost > "$root/etc/hostname"
    # nothing of the build host stays inside; every clone makes its own machine id
    : > "$root/etc/resolv.conf"
    : > "$root/etc/machine-id"
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
    kernel=$(ls "$root"/boot/vmlinuz-* | tail -n 1)
    initrd=$(ls "$root"/boot/initrd.img-* | tail -n 1)
    mkdir -p "$(dirname "$out")"
    cp "$kernel" "$out.vmlinuz.tmp"
    cp "$initrd" "$out.initrd.tmp"
    # the filesystem straight from the directory: no loop device, no mount
    mkfs.ext4 -q -L smbgw-root -d "$root" "$tmp/disk.raw" 2G
    qemu-img convert -O qcow2 "$tmp/disk.raw" "$out.tmp"
    mv "$out.vmlinuz.tmp" "$out.vmlinuz"
    mv "$out.initrd.tmp" "$out.initrd"
    mv "$out.tmp" "$out"
    echo "disk image written: $out ($(du -h "$out" | cut -f1)), $out.vmlinuz, $out.initrd"
}
if [ "${1:-}" = --disk-image ]; then
    [ -n "${2:-}" ] || { echo "usage: $0 --disk-image FILE" >&2; exit 1; }
    disk_image "$2"
    exit 0
fi

case $VMID in
    [1-9][0-9][0-9]|[1-9][0-9][0-9][0-9]*) ;;
    *) echo "VMID '$VMID' is not a guest id (100-999999999)" >&2; exit 1 ;;
esac

# -- idempotence: our template is kept, someone else's VM is never touched
if config=$(qm config "$VMID" 2>/dev/null); then
    if printf '%s\n' "$config" | grep -qx "template: 1" && printf '%s\n' "$config" | grep -qx "description: $MARKER"; then
        echo "template exists: VM $VMID ($MARKER)"
        exit 0
    fi
    echo "VM $VMID exists and is not the gateway's template; give another VMID" >&2
    exit 1
fi

tmp=$(mktemp -d /var/tmp/smbgw-vm-template.XXXXXX)
created=
cleanup() {
    rc=$?
    if [ "$rc" != 0 ] && [ -n "$created" ]; then
        echo "failed; destroying the half-made VM $VMID" >&2
        qm destroy "$VMID" --purge 1 >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT

# -- the image: downloaded once into the template cache and checked against Debian's SHA512SUMS
if [ -z "${IMAGE:-}" ]; then
    IMAGE=$CACHE/$IMAGE_NAME
    if [ ! -s "$IMAGE" ]; then
        mkdir -p "$CACHE"
        wget -q -O "$tmp/$IMAGE_NAME" "$RELEASE_URL/$IMAGE_NAME"
        wget -q -O "$tmp/SHA512SUMS" "$RELEASE_URL/SHA512SUMS"
        (cd "$tmp" && grep " $IMAGE_NAME\$" SHA512SUMS | sha512sum -c --quiet -)
        mv "$tmp/$IMAGE_NAME" "$IMAGE"
    fi
fi
[ -s "$IMAGE" ] || { echo "image $IMAGE is missing" >&2; exit 1; }

# -- what the gateway needs inside, on a copy (the cached image stays pristine)
work=$tmp/disk.qcow2
cp "$IMAGE" "$work"
if [ "${CUSTOMIZED:-0}" != 1 ]; then
    command -v virt-customize >/dev/null || { echo "virt-customize is missing (apt-get install libguestfs-tools)" >&2; exit 1; }
    LIBGUESTFS_BACKEND=direct virt-customize -a "$work" \
        --install "$GUEST_PACKAGES" \
        --run-command "$GUEST_SETUP" \
        --write "/etc/pve-smbgateway-template:$MARKER" \
        --truncate /etc/machine-id
fi

# -- the template VM: disk imported as scsi0, a cloud-init drive, the guest agent on
qm create "$VMID" --name smbgw-template --description "$MARKER" --ostype l26 --memory 1024 --cores 1 \
    --net0 "virtio,bridge=$BRIDGE" --scsihw virtio-scsi-pci --serial0 socket --vga serial0 --agent 1
created=1
qm importdisk "$VMID" "$work" "$STORAGE"
# the imported volume is the VM's first unused disk (its output differs between PVE versions)
imported=$(qm config "$VMID" | sed -n 's/^unused0: //p')
[ -n "$imported" ] || { echo "qm importdisk left no unused0 volume in VM $VMID" >&2; exit 1; }
qm set "$VMID" --scsi0 "$imported" --boot order=scsi0
qm set "$VMID" --ide2 "$STORAGE:cloudinit" --ipconfig0 ip=dhcp
qm template "$VMID"
created=
echo "template written: VM $VMID on $STORAGE ($MARKER)"
