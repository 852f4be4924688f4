#!/bin/bash
# make test-vm (opt-in, root; not part of `make test`): a vm share on a real guest.
#   1. the guest's disk from scripts/create_vm_template.sh --disk-image (debootstrap), cached in
#      ~/.cache/pve-smbgateway/vm and rebuilt when missing
#   2. the share's cloud-init user-data rendered by the real CLI: `create --mode vm` against the
#      qm/pvesm stand-ins (t/bin), as crates/cli/tests/vm.rs does
#   3. the cloud-init drive as PVE makes it (qemu-server, PVE/QemuServer/Cloudinit.pm,
#      generate_nocloud): user-data from cicustom, network-config from net0/ipconfig0,
#      meta-data with the instance id, empty vendor-data, on an ISO labelled cidata
#   4. QEMU (TCG: no usable KVM here) with the devices PVE gives the VM: the quota-sized data
#      disk as scsi1 on virtio-scsi, the guest agent's virtio-serial port, the cloud-init drive
#      as ide2; the VM's port 445 forwarded to 127.0.0.1 (user-mode network)
#   5. from the node: the guest agent answers, smbclient as the share's user writes a file and
#      reads it back, the share is the data disk (df in the guest, disk size over SMB),
#      cloud-init reports no error, the users' NT hash is nowhere readable but by root
#   6. `update` (new user-data) and the reboot PVE would do (shutdown, new cloud-init drive,
#      start): the file is still there, the change is served, the data disk was not formatted
# Environment: VM_TEST_CACHE (default ~/.cache/pve-smbgateway/vm), VM_TEST_REBUILD=1 (rebuild the
# image), VM_TEST_AGENT_TIMEOUT / VM_TEST_SMB_TIMEOUT (seconds; defaults 900 / 600).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${PVE_SMBGW_BIN:-$REPO/target/release/pve-smbgateway}
CACHE=${VM_TEST_CACHE:-$HOME/.cache/pve-smbgateway/vm}
IMAGE=$CACHE/debian-12-smbgateway.qcow2
AGENT_TIMEOUT=${VM_TEST_AGENT_TIMEOUT:-900}
SMB_TIMEOUT=${VM_TEST_SMB_TIMEOUT:-600}
SHARE=team
VMID=960
SMB_USER=alice
QUOTA=1G
# the slirp network: the VM at .15 (where hostfwd delivers), the gateway .2, DNS .3
VM_IP=10.0.2.15/24
VM_GW=10.0.2.2
VM_DNS=10.0.2.3

say() { printf '\n== %s\n' "$*"; }
fail() { echo "test-vm FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, network namespace)"
[ -x "$BIN" ] || fail "$BIN is missing: run 'make build' first"

# -- what this target needs; apt-get only for what is missing. QEMU must match qemu-utils:
# where qemu-utils comes from bookworm-backports (it does on this machine), Debian's own
# qemu-system-x86 7.2 would remove it (qemu-utils 10 Breaks qemu-system-common << 8)
install_deps() {
    local p missing=() qemu_utils
    for p in qemu-system-x86 qemu-utils genisoimage debootstrap e2fsprogs smbclient samba \
        libnss-wrapper acl iproute2 python3; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] && return 0
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    qemu_utils=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
    if [[ " ${missing[*]} " == *" qemu-system-x86 "* && $qemu_utils == *bpo* ]]; then
        local apt_dir
        apt_dir=$(mktemp -d /var/tmp/smbgw-vm-apt.XXXXXX)
        mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
        printf 'deb http://deb.debian.org/debian %s main\n' bookworm bookworm-backports > "$apt_dir/sources.list"
        # a private package list: /etc/apt stays as it is
        local opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
            -o "Dir::State::lists=$apt_dir/lists" -o "Dir::Cache::archives=$apt_dir/archives")
        apt-get "${opts[@]}" update -q
        apt-get "${opts[@]}" install -y -q --no-install-recommends --no-remove -t bookworm-backports qemu-system-x86
        rm -rf "$apt_dir"
        local rest=()
        for p in "${missing[@]}"; do [ "$p" = qemu-system-x86 ] || rest+=("$p"); done
        missing=(${rest[@]+"${rest[@]}"})
        [ ${#missing[@]} = 0 ] && return 0
    fi
    apt-get update -q
    # --no-remove: never take away what the machine has
    apt-get install -y -q --no-install-recommends --no-remove "${missing[@]}"
}

T_START=$(now)
say "packages"
install_deps

# -- 1. the guest's disk, built by the shipped template script
say "guest disk image ($IMAGE)"
if [ "${VM_TEST_REBUILD:-0}" = 1 ]; then rm -f "$IMAGE" "$IMAGE.vmlinuz" "$IMAGE.initrd"; fi
if [ -s "$IMAGE" ] && [ -s "$IMAGE.vmlinuz" ] && [ -s "$IMAGE.initrd" ]; then IMAGE_BUILD=warm; else IMAGE_BUILD=cold; fi
t=$(now)
mkdir -p "$CACHE"
"$REPO/scripts/create_vm_template.sh" --disk-image "$IMAGE"
T_IMAGE=$(since "$t")

# -- everything of this run lives here (0700: the user-data holds NT hashes) and goes at exit
WORK=$(mktemp -d /var/tmp/smbgw-vm-test.XXXXXX)
NETNS=smbgw-vmtest-$$
QEMU_PID=
LISTENER_PID=
PASSED=
cleanup() {
    local rc=$?
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        if [ -z "$PASSED" ] && [ -S "$WORK/qga.sock" ]; then
            echo "-- cloud-init in the guest (what the guest agent could read):" >&2
            timeout 20 python3 "$REPO/t/vm/qga.py" "$WORK/qga.sock" exec tail -n 40 /var/log/cloud-init-output.log >&2 || true
        fi
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    if [ -n "$LISTENER_PID" ]; then kill "$LISTENER_PID" 2>/dev/null || true; wait "$LISTENER_PID" 2>/dev/null || true; fi
    ip netns del "$NETNS" 2>/dev/null || true
    if [ -n "$PASSED" ]; then rm -f "$CACHE/last-failed-console.log"; fi
    if [ -z "$PASSED" ] && [ -s "$WORK/console.log" ]; then
        # the console of a failed run stays for a look (no secrets: nothing prints the user-data)
        cp "$WORK/console.log" "$CACHE/last-failed-console.log"
        echo "-- guest console (tail; all of it in $CACHE/last-failed-console.log):" >&2
        tail -n 30 "$WORK/console.log" >&2
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# -- 2. the user-data, rendered by the gateway itself: `create --mode vm` in sandbox mode with the
# qm/pvesm stand-ins. It runs in a network namespace that has the share's bridge and, at the VM's
# address, a listener standing in for the VM's smbd, so the create completes (the stand-in qm
# boots nothing) and keeps what it wrote.
say "the share's user-data, from pve-smbgateway create --mode vm (stand-ins for qm and pvesm)"
t=$(now)
SANDBOX=$WORK/sandbox
mkdir -p "$SANDBOX"
export PVE_SMBGW_ROOT=$SANDBOX/root
PVE_SMBGW_SMB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PVE_SMBGW_SMB_PORT PVE_SMBGW_BIN=$BIN
export PATH=$REPO/t/bin:$PATH
export QM_STANDIN_CONF_DIR=$PVE_SMBGW_ROOT/pve/qemu-server QM_STANDIN_STATE_DIR=$SANDBOX/qm-state \
    QM_STANDIN_VOLUME_DIR=$SANDBOX/volumes QM_STANDIN_LOG=$SANDBOX/qm.log \
    PCT_STANDIN_CONF_DIR=$PVE_SMBGW_ROOT/pve/lxc PCT_STANDIN_STORAGE_DIR=$SANDBOX/vz
ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
ip -n "$NETNS" link add vmbr0 type bridge
ip -n "$NETNS" link set vmbr0 up
ip -n "$NETNS" addr add "$VM_IP" dev vmbr0
ip netns exec "$NETNS" python3 -c '
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 445))
s.listen(8)
while True:
    s.accept()[0].close()' "${VM_IP%/*}" &
LISTENER_PID=$!
# the template VM 9000, made by the shipped script from our disk image (qm is the stand-in)
IMAGE="$IMAGE" CUSTOMIZED=1 "$REPO/scripts/create_vm_template.sh" 9000 >/dev/null
PASSWORD=$(head -c 15 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$PASSWORD" | "$BIN" user add "$SMB_USER" --password-stdin >/dev/null
ip netns exec "$NETNS" "$BIN" create "$SHARE" --mode vm --users "$SMB_USER" --quota "$QUOTA" \
    --vm-id "$VMID" --vm-cores 2 --bridge vmbr0 --ip "$VM_IP" --gateway "$VM_GW"
kill "$LISTENER_PID"; wait "$LISTENER_PID" 2>/dev/null || true; LISTENER_PID=
ip netns del "$NETNS"
SNIPPET=$(pvesm path "local:snippets/smbgw-$SHARE-user.yaml")
[ -s "$SNIPPET" ] || fail "the CLI left no user-data at $SNIPPET"
qm config "$VMID" > "$WORK/vm.conf"
conf() { sed -n "s/^$1: //p" "$WORK/vm.conf"; }
MEMORY=$(conf memory)
CORES=$(conf cores)
MAC=$(conf net0 | sed -n 's/^virtio=\([0-9A-Fa-f:]*\),.*/\1/p')
IPCONFIG=$(conf ipconfig0)
DATA_SIZE=$(conf scsi1 | sed -n 's/.*,size=\([0-9]*[KMGT]\).*/\1/p')
if [ -z "$MEMORY" ] || [ -z "$CORES" ] || [ -z "$MAC" ] || [ -z "$IPCONFIG" ] || [ -z "$DATA_SIZE" ]; then
    fail "VM $VMID's config lacks memory, cores, net0, ipconfig0 or scsi1: $(cat "$WORK/vm.conf")"
fi
echo "VM $VMID: memory $MEMORY MiB, $CORES cores, net0 $MAC, ipconfig0 $IPCONFIG, scsi1 $DATA_SIZE"
T_RENDER=$(since "$t")

# -- 3. the cloud-init drive, as qemu-server's generate_nocloud makes it at every VM start
CIDRIVE=$WORK/vm-$VMID-cloudinit.raw
make_cloudinit_drive() {
    local seed=$WORK/cidata ip gw netmask
    mkdir -p "$seed"
    cp "$SNIPPET" "$seed/user-data"
    # nocloud_network(): version 1, the interface by its MAC, named eth<N>; the netmask from
    # the prefix; DNS from the node's resolv.conf, here slirp's resolver
    ip=${IPCONFIG#ip=}; ip=${ip%%,*}
    gw=$(sed -n 's/.*gw=\([^,]*\).*/\1/p' <<<"$IPCONFIG")
    netmask=$(python3 -c 'import ipaddress, sys; print(ipaddress.ip_network("0.0.0.0/" + sys.argv[1]).netmask)' "${ip#*/}")
    {
        printf 'version: 1\nconfig:\n'
        printf "    - type: physical\n      name: eth0\n      mac_address: '%s'\n      subnets:\n" "${MAC,,}"
        printf "      - type: static\n        address: '%s'\n        netmask: '%s'\n" "${ip%/*}" "$netmask"
        [ -z "$gw" ] || printf "        gateway: '%s'\n" "$gw"
        printf "    - type: nameserver\n      address:\n      - '%s'\n" "$VM_DNS"
    } > "$seed/network-config"
    # meta-data: the instance id is the SHA-1 of user-data and network-config, so cloud-init
    # runs again when either changes
    INSTANCE_ID=$(cat "$seed/user-data" "$seed/network-config" | sha1sum | cut -d' ' -f1)
    printf 'instance-id: %s\n' "$INSTANCE_ID" > "$seed/meta-data"
    : > "$seed/vendor-data"
    # PVE pipes this into a 4 MiB volume (its qemu-img dd has isize=); the same size by truncate
    rm -f "$CIDRIVE"
    genisoimage -quiet -iso-level 3 -J -R -V cidata -o "$CIDRIVE" "$seed"
    truncate -s 4M "$CIDRIVE"
    for f in network-config meta-data; do echo "$f:"; sed 's/^/  /' "$seed/$f"; done
    rm -rf "$seed"
}
say "cloud-init drive (NoCloud, as PVE builds it)"
make_cloudinit_drive

# -- 4. the VM: system disk a copy-on-write clone of the cached image (the full clone's
# stand-in), an empty data disk of the quota's size, QEMU's devices as PVE's cfg2cmd sets them
qemu-img create -q -f qcow2 -F qcow2 -b "$IMAGE" "$WORK/vm-$VMID-disk-0.qcow2"
truncate -s "$DATA_SIZE" "$WORK/vm-$VMID-disk-1.raw"
SMB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_vm() {
    rm -f "$WORK/qga.sock"
    qemu-system-x86_64 -name "smbgw-$SHARE" -machine pc -accel tcg -m "$MEMORY" -smp "$CORES" \
        -nodefaults -display none -serial "file:$WORK/console.log" \
        -kernel "$IMAGE.vmlinuz" -initrd "$IMAGE.initrd" -append "root=LABEL=smbgw-root rw console=ttyS0" \
        -drive "file=$WORK/vm-$VMID-disk-0.qcow2,if=none,id=drive-virtio0,format=qcow2" \
        -device virtio-blk-pci,drive=drive-virtio0,id=virtio0 \
        -device virtio-scsi-pci,id=scsihw0 \
        -drive "file=$WORK/vm-$VMID-disk-1.raw,if=none,id=drive-scsi1,format=raw" \
        -device scsi-hd,bus=scsihw0.0,channel=0,scsi-id=0,lun=1,drive=drive-scsi1,id=scsi1,device_id=drive-scsi1 \
        -drive "file=$CIDRIVE,if=none,id=drive-ide2,media=cdrom,format=raw,readonly=on" \
        -device ide-cd,bus=ide.1,unit=0,drive=drive-ide2,id=ide2 \
        -chardev "socket,path=$WORK/qga.sock,server=on,wait=off,id=qga0" \
        -device virtio-serial,id=qga0 -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
        -netdev "user,id=net0,net=10.0.2.0/24,restrict=on,hostfwd=tcp:127.0.0.1:$SMB_PORT-:445" \
        -device "virtio-net-pci,mac=$MAC,netdev=net0,id=net0" &
    QEMU_PID=$!
}
qga() { python3 "$REPO/t/vm/qga.py" "$WORK/qga.sock" "$@"; }
alive() { kill -0 "$QEMU_PID" 2>/dev/null || fail "QEMU exited"; }
# SMB as the share's user; the password goes in a 0600 file, not argv
CREDS=$WORK/smb.creds
(umask 077; printf 'username = %s\npassword = %s\n' "$SMB_USER" "$PASSWORD" > "$CREDS")
smb() { timeout 60 smbclient "//127.0.0.1/$SHARE" -p "$SMB_PORT" -m SMB3 -A "$CREDS" -c "$1" 2>&1; }

# Boot, then wait for: the guest agent (the guest is up: what the gateway waits for first), smbd
# listening on 445 in the guest (what the gateway waits for next), cloud-init done with this
# instance, and SMB as the share's user (data disk mounted, smb.conf written, the user's hash
# imported, smbd restarted). Sets T_AGENT, T_PORT, T_CLOUD, T_SMB: seconds from QEMU's start.
boot_and_wait() {
    local t_boot out deadline
    t_boot=$(now)
    T_PORT='' T_CLOUD='' T_SMB=''
    start_vm
    until [ -S "$WORK/qga.sock" ] && qga ping; do
        alive
        [ "$(since "$t_boot" | cut -d. -f1)" -lt "$AGENT_TIMEOUT" ] || fail "no guest agent within $AGENT_TIMEOUT s"
        sleep 2
    done
    T_AGENT=$(since "$t_boot")
    echo "guest agent answers after $T_AGENT s"
    deadline=$(( $(since "$t_boot" | cut -d. -f1) + SMB_TIMEOUT ))
    while [ -z "$T_PORT" ] || [ -z "$T_CLOUD" ] || [ -z "$T_SMB" ]; do
        alive
        [ "$(since "$t_boot" | cut -d. -f1)" -lt "$deadline" ] ||
            fail "within $SMB_TIMEOUT s after the agent: smbd listening ${T_PORT:-no}, cloud-init done ${T_CLOUD:-no}, SMB login ${T_SMB:-no} ($out)"
        if [ -z "$T_PORT" ] && qga exec sh -c 'ss -Hltn "sport = :445" | grep -q .' 2>/dev/null; then
            T_PORT=$(since "$t_boot"); echo "smbd listens on 445 in the guest after $T_PORT s"
        fi
        if [ -z "$T_CLOUD" ] && qga exec test -e /run/cloud-init/result.json 2>/dev/null; then
            T_CLOUD=$(since "$t_boot"); echo "cloud-init done after $T_CLOUD s"
        fi
        if [ -z "$T_SMB" ] && out=$(smb ls) && ! grep -q NT_STATUS_ <<<"$out"; then
            T_SMB=$(since "$t_boot"); echo "SMB share $SHARE answers $SMB_USER after $T_SMB s"
        fi
        sleep 1
    done
}

# cloud-init finished this instance (the meta-data's id) without an error
check_cloud_init() {
    local result errors id
    result=$(qga exec cat /run/cloud-init/result.json) || fail "no /run/cloud-init/result.json in the guest"
    echo "$result"
    errors=$(python3 -c 'import json, sys; print(len(json.loads(sys.argv[1])["v1"]["errors"]))' "$result")
    [ "$errors" = 0 ] || fail "cloud-init reports errors"
    id=$(qga exec cat /var/lib/cloud/data/instance-id) || fail "no instance id in the guest"
    [ "$id" = "$INSTANCE_ID" ] || fail "the guest runs instance $id, the cloud-init drive says $INSTANCE_ID"
}

say "boot (TCG, ${MEMORY} MiB, $CORES vCPUs)"
boot_and_wait
T_AGENT1=$T_AGENT T_PORT1=$T_PORT T_CLOUD1=$T_CLOUD T_SMB1=$T_SMB

# -- 5. checks from the node
say "a file over SMB, written and read back"
head -c 4M /dev/urandom > "$WORK/upload.bin"
out=$(smb "put $WORK/upload.bin upload.bin; get upload.bin $WORK/download.bin; du")
echo "$out"
! grep -q NT_STATUS_ <<<"$out" || fail "smbclient: $out"
cmp "$WORK/upload.bin" "$WORK/download.bin" || fail "the file read back differs"
echo "round trip OK: 4 MiB byte for byte"

say "the share is the quota-sized data disk (scsi1)"
data_bytes=$(numfmt --from=iec "$DATA_SIZE")
# smbclient's du: "N blocks of size B. F blocks available"
read -r blocks size < <(sed -n 's/^[[:space:]]*\([0-9]*\) blocks of size \([0-9]*\)\..*/\1 \2/p' <<<"$out") ||
    fail "smbclient's du printed no disk size"
smb_total=$((blocks * size))
echo "SMB disk size: $smb_total bytes (data disk: $data_bytes)"
dev=$(qga exec readlink -f /dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi1) || fail "no /dev/disk/by-id/...drive-scsi1 in the guest"
df_line=$(qga exec df -B1 --output=source,size,target /srv/share | tail -n 1) || fail "df /srv/share in the guest"
label=$(qga exec blkid -o value -s LABEL "$dev") || fail "blkid $dev in the guest"
owner=$(qga exec stat -c '%U %s' /srv/share/upload.bin) || fail "upload.bin is not in /srv/share in the guest"
echo "guest: scsi1 is $dev (label $label); df /srv/share: $df_line; upload.bin: $owner"
read -r df_source df_size df_target <<<"$df_line"
if [ "$df_source" != "$dev" ] || [ "$df_target" != /srv/share ]; then fail "/srv/share is not on scsi1 ($dev): $df_line"; fi
[ "$label" = smbgw-data ] || fail "scsi1 carries label '$label', not smbgw-data"
# ext4 keeps a few percent for itself: the filesystem is 90-100 % of the disk, and SMB shows it
if [ "$df_size" -gt "$data_bytes" ] || [ "$df_size" -lt $((data_bytes * 9 / 10)) ]; then fail "df size $df_size for a $data_bytes-byte disk"; fi
if [ "$smb_total" -gt "$data_bytes" ] || [ "$smb_total" -lt $((data_bytes * 9 / 10)) ]; then fail "SMB reports $smb_total bytes for a $data_bytes-byte disk"; fi
[ "$owner" = "$SMB_USER 4194304" ] || fail "upload.bin in the guest: $owner"

say "cloud-init's own verdict; where the user's NT hash is left in the guest"
check_cloud_init
qga exec test ! -e /root/.pve-smbgateway-users || fail "the NT hash file stayed in the guest"
# the hash goes to grep on its stdin, never on a command line
hash=$(sed -n "s/^ *$SMB_USER:[0-9]*:[^:]*:\([0-9A-F]\{32\}\):.*/\1/p" "$SNIPPET")
[ -n "$hash" ] || fail "no NT hash for $SMB_USER in the user-data"
holders=$(printf '%s\n' "$hash" | qga --stdin exec sh -c \
    'grep -rlF -D skip -f - /etc /root /run /var/lib/cloud /var/log /var/tmp /tmp 2>/dev/null | xargs -r stat -L -c "%a %U:%G %n"') || true
echo "${holders:-(no file)}"
while read -r mode _ file; do
    [ -n "$file" ] || continue
    [ $((8#$mode & 8#044)) = 0 ] || fail "the NT hash is readable by others than root in $file (mode $mode)"
done <<<"$holders"
# the cloud-init drive holds it too, for as long as it stays attached (as on PVE)
qga exec stat -c '%a %U:%G %n (the cloud-init drive)' /dev/sr0 || true

# -- 6. update: the gateway rewrites the user-data and reboots the VM (qm reboot: shutdown, then
# start, and PVE makes a new cloud-init drive at the start); the data disk keeps its data
say "update: new user-data, the VM rebooted with a new cloud-init drive"
t=$(now)
"$BIN" update "$SHARE" --comment "Team files after update"
grep -q '"reboot","'"$VMID"'"' "$QM_STANDIN_LOG" || fail "the update did not reboot VM $VMID (qm.log)"
qm config "$VMID" > "$WORK/vm.conf"
old_instance=$INSTANCE_ID
make_cloudinit_drive
[ "$INSTANCE_ID" != "$old_instance" ] || fail "the new user-data gives the same instance id"
qga shutdown
for _ in $(seq 120); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 1; done
if kill -0 "$QEMU_PID" 2>/dev/null; then fail "the guest did not power off within 120 s"; fi
wait "$QEMU_PID" 2>/dev/null || true
T_SHUTDOWN=$(since "$t")
boot_and_wait
T_AGENT2=$T_AGENT T_PORT2=$T_PORT T_CLOUD2=$T_CLOUD T_SMB2=$T_SMB
out=$(smb "get upload.bin $WORK/again.bin") || fail "smbclient after the reboot: $out"
cmp "$WORK/upload.bin" "$WORK/again.bin" || fail "upload.bin changed across the reboot"
comment=$(timeout 60 smbclient -L //127.0.0.1 -p "$SMB_PORT" -m SMB3 -A "$CREDS" -g 2>/dev/null | grep "^Disk|$SHARE|") || true
[ "$comment" = "Disk|$SHARE|Team files after update" ] || fail "the share list after the update: $comment"
check_cloud_init
# a new instance must leave the data disk's filesystem alone: only the first boot may make it
# (fs_setup with `partition: none` formats whatever is there, canonical/cloud-init#3902; here
# the mounted disk would save it, a kept disk attached to a new VM would be wiped)
mkfs_runs=$(qga exec grep -c "Creating file system smbgw-data" /var/log/cloud-init.log) || true
[ "$mkfs_runs" = 1 ] || fail "cloud-init ran mkfs on the data disk at ${mkfs_runs:-?} of 2 instances (fs_setup)"
echo "after the reboot: upload.bin unchanged on the data disk, the new comment served, no mkfs"
T_TOTAL=$(since "$T_START")
PASSED=1

say "timings"
row() { printf '  %-44s %s s%s\n' "$1" "$2" "${3:+ ($3)}"; }
row "guest disk image" "$T_IMAGE" "$IMAGE_BUILD"
row "user-data by pve-smbgateway create" "$T_RENDER"
row "first boot to guest agent" "$T_AGENT1"
row "first boot to smbd listening in the guest" "$T_PORT1"
row "first boot to cloud-init done" "$T_CLOUD1"
row "first boot to SMB login to the share" "$T_SMB1"
row "update, then shutdown" "$T_SHUTDOWN"
row "second boot to guest agent" "$T_AGENT2"
row "second boot to smbd listening in the guest" "$T_PORT2"
row "second boot to cloud-init done" "$T_CLOUD2"
row "second boot to SMB login to the share" "$T_SMB2"
row "whole test" "$T_TOTAL"
echo "test-vm OK"
