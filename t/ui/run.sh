#!/bin/bash
# Browser tests of the web UI (test tier 4): headless Debian chromium driven by playwright-core,
# GPL ExtJS 6.2 from npm, stand-ins of the Proxmox/PVE ExtJS base classes (t/ui/standins), our
# www/ files (built into www/pve-smbgateway.js), and the real API (PVE::API2::SMBGateway) on the real Rust core in sandbox mode with
# its own smbd, served by t/ui/server.pl; modes lxc and vm through the pct, pvesm and qm
# stand-ins of t/bin; all in a network namespace of its own. Root only (smbd, loop device, netns).
#
#   t/ui/run.sh            install what is missing, build, run t/ui/test.js
#   SMBGW_BUILD_DIR=DIR t/ui/run.sh    the same against a gateway built elsewhere (no cargo build)
#
# npm packages live in ${XDG_CACHE_HOME:-/root/.cache}/pve-smbgateway/npm (rebuilt with npm ci
# whenever t/ui/package-lock.json changes), never in the repository.
# Screenshots: target/ui-screenshots/*.png. Everything started here is stopped on exit.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
UI="$REPO/t/ui"
CACHE="${XDG_CACHE_HOME:-/root/.cache}/pve-smbgateway/npm"
SHOTS="$REPO/target/ui-screenshots"
# SMBGW_BUILD_DIR: use the gateway built there (pve-smbgateway, libpve_rs_smbgateway.so) instead of
# building target/release
BUILD="${SMBGW_BUILD_DIR:-$REPO/target/release}"
BIN="$BUILD/pve-smbgateway"

[ "$(id -u)" = 0 ] || { echo "t/ui/run.sh: needs root (smbd, loop devices, a network namespace)" >&2; exit 1; }

# --- what the tests need from Debian: the one list of every tier (chromium, nodejs, npm, the
# Perl HTTP server's modules, samba, btrfs-progs, ...), so this tier runs alone on a fresh machine
"$REPO/scripts/install-deps.sh"
# node >= 20 for playwright-core: Debian's nodejs (18) is too old, a newer one may be there already
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    echo "t/ui/run.sh: needs node >= 20 (playwright-core $(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' "$UI/package.json"))" >&2
    exit 1
fi

# --- npm packages (playwright-core, extjs-gpl), cached outside the repository
mkdir -p "$CACHE"
if ! cmp -s "$UI/package-lock.json" "$CACHE/package-lock.json" || [ ! -d "$CACHE/node_modules/playwright-core" ] \
    || [ ! -f "$CACHE/node_modules/extjs-gpl/build/ext-all.js" ]; then
    echo "== npm ci in $CACHE"
    cp "$UI/package.json" "$UI/package-lock.json" "$CACHE/"
    (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error)
fi
EXTJS="$CACHE/node_modules/extjs-gpl/build"

# --- the gateway (a no-op when it is built; waits for the shared target dir's lock)
[ -n "${SMBGW_BUILD_DIR:-}" ] || (cd "$REPO" && cargo build --release --locked --quiet)

# the UI file the package ships, built from www/'s class files (www/Makefile), each checked
make -s -C "$REPO/www" check
sh -n "$REPO/www/ui-hook"

# --- sandbox
WORK=$(mktemp -d /tmp/smbgw-ui.XXXXXX)
chmod 0755 "$WORK"
SERVER_PID=
LOOPDEV=
export PERL5LIB="$REPO/perl:$REPO/t/lib"
export PVE_RS_SMBGW_SO="$BUILD/libpve_rs_smbgateway.so"
export PVE_SMBGW_BIN="$BIN"
export PVE_SMBGW_ROOT="$WORK/root"
export PVE_STANDIN_TASK_DIR="$WORK/tasks"
free_port() { perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0)->sockport'; }
export PVE_SMBGW_SMB_PORT=$(free_port)
HTTP_PORT=$(free_port)

NETNS=
cleanup() {
    set +e
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    "$BIN" stop >/dev/null 2>&1
    [ -n "$NETNS" ] && ip netns del "$NETNS"
    if mountpoint -q "$WORK/btrfs" 2>/dev/null; then umount "$WORK/btrfs"; fi
    [ -n "$LOOPDEV" ] && losetup -d "$LOOPDEV"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK/data" "$SHOTS"
rm -f "$SHOTS"/*.png

# btrfs on a loop device for the quota share (else the share is made without a quota)
QUOTA_DIR=
truncate -s 300M "$WORK/btrfs.img"
if LOOPDEV=$(losetup --find --show "$WORK/btrfs.img" 2>/dev/null) && mkfs.btrfs -q -f "$LOOPDEV" >/dev/null 2>&1 \
    && mkdir -p "$WORK/btrfs" && mount "$LOOPDEV" "$WORK/btrfs"; then
    chmod 0755 "$WORK/btrfs"
    QUOTA_DIR="$WORK/btrfs"
else
    echo "note: no btrfs loop device here; the wizard's share gets no quota" >&2
fi

# a Samba user of the sandbox for smbclient
UI_USER=uitest
UI_PASSWORD="Ui-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$UI_PASSWORD" | "$BIN" user add "$UI_USER" --password-stdin >/dev/null

# modes lxc and vm: the gateway calls pct, pvesm and qm, here the stand-ins of t/bin (only those:
# the zfs stand-in would change what the native shares find), keeping their guests, configs and
# volumes in the sandbox; the configs where the sandbox's gateway looks for guest ids in use
mkdir -p "$WORK/bin"
ln -s "$REPO/t/bin/pct" "$REPO/t/bin/pvesm" "$REPO/t/bin/qm" "$WORK/bin/"
export PATH="$WORK/bin:$PATH"
export PCT_STANDIN_CONF_DIR="$PVE_SMBGW_ROOT/pve/lxc" PCT_STANDIN_LXC_PATH="$WORK/lxc" \
    PCT_STANDIN_STORAGE_DIR="$WORK/vz" PCT_STANDIN_LOG="$WORK/pct.log"
export QM_STANDIN_CONF_DIR="$PVE_SMBGW_ROOT/pve/qemu-server" QM_STANDIN_STATE_DIR="$WORK/qm-state" \
    QM_STANDIN_VOLUME_DIR="$WORK/volumes" QM_STANDIN_LOG="$WORK/qm.log"
# the server, smbd and the browser run in a network namespace of their own: the guests' bridge
# stays out of the host's network, and chromium does not see the host's interfaces change (other
# tests add and remove some, and chromium aborts its requests then: ERR_NETWORK_CHANGED)
ip netns add "smbgwui$$"
NETNS="smbgwui$$"
ip -n "$NETNS" link set lo up
# the guests' bridge, with the address of the test's VM on it (where the test stands in for the
# VM's smbd, as crates/cli/tests/vm.rs does); no uplink
BRIDGE=vmbr-ui
GUEST_NET=10.97.0
ip -n "$NETNS" link add "$BRIDGE" type bridge
ip -n "$NETNS" addr add "$GUEST_NET.20/24" dev "$BRIDGE"
ip -n "$NETNS" link set "$BRIDGE" up
# the gateway's CT template: the tests only dry-run lxc shares, which check that it exists
mkdir -p "$WORK/vz/template/cache"
: >"$WORK/vz/template/cache/debian-12-smbgateway_1_amd64.tar.gz"
# the gateway's VM template 9000, made by our script from an image that needs no customizing
head -c 4096 /dev/zero >"$WORK/image.qcow2"
IMAGE="$WORK/image.qcow2" CUSTOMIZED=1 "$REPO/scripts/create_vm_template.sh" 9000 >/dev/null
rm -f "$QM_STANDIN_LOG"

# the page: a copy of the test template, hooked by www/ui-hook exactly like the real one
cp "$UI/index.html.tpl" "$WORK/index.html.tpl"
SMBGW_UI_JS="$REPO/www/pve-smbgateway.js" "$REPO/www/ui-hook" apply "$WORK/index.html.tpl"
"$REPO/www/ui-hook" status "$WORK/index.html.tpl"

ip netns exec "$NETNS" perl "$UI/server.pl" --port "$HTTP_PORT" --extjs "$EXTJS" --index "$WORK/index.html.tpl" \
    >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 50); do grep -q '^listening' "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^listening' "$WORK/server.out" || { cat "$WORK/server.err" >&2; exit 1; }

echo "== browser tests (screenshots in $SHOTS)"
rc=0
SMBGW_UI_URL="http://127.0.0.1:$HTTP_PORT/" SMBGW_UI_SHOTS="$SHOTS" SMBGW_DATA_DIR="$WORK/data" \
    SMBGW_QUOTA_DIR="$QUOTA_DIR" SMBGW_UI_USER="$UI_USER" SMBGW_UI_PASSWORD="$UI_PASSWORD" \
    SMBGW_UI_PROFILE_DIR="$WORK" SMBGW_UI_BRIDGE="$BRIDGE" SMBGW_UI_VM_IP="$GUEST_NET.20" \
    SMBGW_UI_WORK="$WORK" NODE_PATH="$CACHE/node_modules" \
    ip netns exec "$NETNS" node --test --test-concurrency=1 "$UI/test.js" || rc=$?
if [ $rc -ne 0 ]; then
    echo "== server log" >&2
    tail -n 50 "$WORK/server.err" >&2
fi
exit $rc
