#!/bin/sh
# Build the pve-smbgateway VM template: Debian 12 (the official generic cloud image) with
# cloud-init, qemu-guest-agent and Samba, as a PVE template VM that `--mode vm` shares clone.
#   create_vm_template.sh [VMID]        (default 9000, the default of --vm-template)
# Environment:
#   STORAGE    PVE storage for the template's disk and cloud-init drive (default local-lvm)
#   BRIDGE     bridge of the template's network interface (default vmbr0; clones set their own)
#   IMAGE      a Debian 12 cloud image to use instead of downloading one (qcow2 or raw)
#   CUSTOMIZED set to 1 if IMAGE already has qemu-guest-agent, samba and acl (skips virt-customize)
# Idempotent: a template VM made by this script is kept; any other VM with that id is refused.
# On a failure the half-made VM is destroyed again. Needs: qm (PVE), wget, sha512sum and
# virt-customize (libguestfs-tools; works without KVM, slowly) unless CUSTOMIZED=1.
set -eu

VERSION=1
VMID=${1:-9000}
STORAGE=${STORAGE:-local-lvm}
BRIDGE=${BRIDGE:-vmbr0}
MARKER="pve-smbgateway template $VERSION"
RELEASE_URL=https://cloud.debian.org/images/cloud/bookworm/latest
IMAGE_NAME=debian-12-genericcloud-amd64.qcow2
CACHE=${CACHE:-/var/lib/vz/template/cache}

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
    # smbd only: no NetBIOS, no AD DC; the share's user-data writes smb.conf at first boot
    LIBGUESTFS_BACKEND=direct virt-customize -a "$work" \
        --install qemu-guest-agent,samba,acl \
        --run-command 'systemctl enable qemu-guest-agent smbd' \
        --run-command 'systemctl mask nmbd samba-ad-dc' \
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
