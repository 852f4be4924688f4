#!/bin/bash
# make demo: a real share on a loop-backed btrfs volume, served by a real smbd that the gateway
# starts in sandbox mode, used with smbclient. Nothing outside $DEMO_DIR is touched.
#   make demo         run it (again: it cleans up the previous run first)
#   make demo-clean   stop smbd, unmount, remove $DEMO_DIR
set -euo pipefail

DEMO_DIR=${DEMO_DIR:-/tmp/pve-smbgateway-demo}
BIN=${BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/pve-smbgateway}
USER_NAME=demo
PASSWORD=${DEMO_PASSWORD:-Demo-Passw0rd}

export PVE_SMBGW_ROOT="$DEMO_DIR/root"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

clean() {
    [ -d "$DEMO_DIR" ] || return 0
    "$BIN" stop >/dev/null 2>&1 || true
    # samba-dcerpcd, started by smbd on demand, re-parents to PID 1 and outlives it
    pkill -f -- "--configfile=$DEMO_DIR/root/samba/smb.conf" 2>/dev/null || true
    if mountpoint -q "$DEMO_DIR/mnt"; then umount "$DEMO_DIR/mnt"; fi
    if [ -f "$DEMO_DIR/loopdev" ]; then losetup -d "$(cat "$DEMO_DIR/loopdev")" 2>/dev/null || true; fi
    rm -rf "$DEMO_DIR"
}

if [ "${1:-}" = clean ]; then
    clean
    echo "demo removed ($DEMO_DIR)"
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "make demo needs root (loop device, mount, smbd)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "$BIN is missing: run 'make build' first" >&2; exit 1; }
clean
mkdir -p "$DEMO_DIR/mnt"

# port 445 unless something already listens there
PORT=445
if (exec 3<>/dev/tcp/127.0.0.1/445) 2>/dev/null; then PORT=4445; fi
export PVE_SMBGW_SMB_PORT=$PORT

say "a 512 MiB btrfs volume on a loop device"
truncate -s 512M "$DEMO_DIR/btrfs.img"
LOOP=$(losetup --find --show "$DEMO_DIR/btrfs.img")
echo "$LOOP" > "$DEMO_DIR/loopdev"
mkfs.btrfs -q -f "$LOOP"
mount "$LOOP" "$DEMO_DIR/mnt"
echo "$LOOP mounted on $DEMO_DIR/mnt"

say "a Samba user (password read from stdin, never from argv)"
echo "$PASSWORD" | "$BIN" user add "$USER_NAME" --password-stdin

say "the share, planned first (--dry-run changes nothing)"
CREATE=(create demo --path "$DEMO_DIR/mnt/demo" --users "$USER_NAME" --comment "pve-smbgateway demo share" --recycle-bin --quota 256M)
"$BIN" "${CREATE[@]}" --dry-run

say "the share, for real"
"$BIN" "${CREATE[@]}"

say "a file written and read back over SMB with smbclient"
CREDS="$DEMO_DIR/smbclient.creds"
(umask 077; printf 'username = %s\npassword = %s\n' "$USER_NAME" "$PASSWORD" > "$CREDS")
head -c 1M /dev/urandom > "$DEMO_DIR/upload.bin"
OUT=$(smbclient "//127.0.0.1/demo" -p "$PORT" -A "$CREDS" \
    -c "put $DEMO_DIR/upload.bin hello.bin; get hello.bin $DEMO_DIR/download.bin; ls" 2>&1)
echo "$OUT"
if grep -q NT_STATUS_ <<<"$OUT" || ! cmp -s "$DEMO_DIR/upload.bin" "$DEMO_DIR/download.bin"; then
    echo "demo FAILED: the file did not survive the round trip over SMB" >&2
    exit 1
fi
echo "round trip OK: 1 MiB written and read back byte for byte; on disk as $DEMO_DIR/mnt/demo/hello.bin"

say "what smbd offers"
smbclient -L //127.0.0.1 -p "$PORT" -A "$CREDS" -g 2>/dev/null | grep '^Disk' || true

say "the quota: a btrfs subvolume with a qgroup limit, shown to clients as the disk size"
"$BIN" quota-status demo
DU=$(smbclient "//127.0.0.1/demo" -p "$PORT" -A "$CREDS" -c du 2>&1 || true)
echo "$DU" | grep blocks || echo "$DU"
# 256 MiB in smbclient's 1 KiB blocks: the quota, not the 512 MiB volume
if ! grep -qE '^[[:space:]]*262144 blocks of size 1024\.' <<<"$DU"; then
    echo "demo FAILED: SMB clients do not see the 256 MiB quota as the disk size (smbd's dfree helper; see $PVE_SMBGW_ROOT/log/smbd.log)" >&2
    exit 1
fi
echo "quota OK: SMB clients see 256 MiB as the size of the share's disk"

say "status"
"$BIN" status
"$BIN" list

say "where everything lives"
cat <<TXT
  share config      $PVE_SMBGW_ROOT/config/shares.cfg
  generated Samba   $PVE_SMBGW_ROOT/samba/smb.conf and $PVE_SMBGW_ROOT/samba/shares.d/
  Samba users       $PVE_SMBGW_ROOT/accounts/ (nss_wrapper) + $PVE_SMBGW_ROOT/samba/private/passdb.tdb
  smbd log          $PVE_SMBGW_ROOT/log/smbd.log
  share data        $DEMO_DIR/mnt/demo (a btrfs subvolume on $LOOP, 256 MiB quota)

Try it yourself (the password is $PASSWORD):
  smbclient //127.0.0.1/demo -p $PORT -U $USER_NAME
  PVE_SMBGW_ROOT=$PVE_SMBGW_ROOT PVE_SMBGW_SMB_PORT=$PORT $BIN --help

Clean up: make demo-clean
TXT
