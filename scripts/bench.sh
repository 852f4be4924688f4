#!/usr/bin/env bash
# pve-smbgateway benchmark (`make bench`). Run as root on Debian 12.
#
# Every figure is printed beside the same work done by hand with Samba's own tools (or, for
# throughput, beside a stock smb.conf serving the same directory), measured in this run:
#   - `list` over 1,000 shares                          target <= 20 ms
#   - `create` of a native share until it answers SMB   target <= 1 s
#   - `apply` with 1,000 shares                         target <= 2 s
#     (each run opens every share directory through handles without following links, the
#     check that keeps a path turned into a link out of the served config; apply never creates
#     a missing share directory, which would hide an unmounted storage)
#   - granting (and revoking) a user on a share holding 100,000 files: the fd walk setting ACLs
#     on every entry, beside `setfacl -R` on an identical tree
#   - SMB throughput over loopback on a loop-backed btrfs: 1 GiB put and get, 2,000 x 4 KiB
#     files; targets: read >= 1.1x stock, write >= 1.0x, small files >= 1.0x
#   - quota enforcement overshoot on that btrfs: a 128 MiB SMB put into a share with a 64 MiB
#     quota, bytes stored beyond the limit as a fraction of it      target <= 1 %
#     (beside btrfs' own precision: a hand-made subvolume + qgroup limit, the same bytes by dd)
#   - shares on CephFS, a real cluster (scripts/bench/cephfs.sh): SMB put/get through the
#     node's ceph-fuse mount beside vfs_ceph and beside local btrfs; apply of 1,000 CephFS shares
#   - `quota-status` with 100 quota shares                          target <= 50 ms
#     (beside `btrfs filesystem sync` + `btrfs qgroup show` by hand; `quota-sample` of all 100
#     beside 100 such pairs, without a target)
#   - the Perl bridge PVE::RS::SMBGateway: list_shares() of 10 shares     target <= 50 us
#     (beside reading and parsing shares.cfg by hand in Perl)
#   - Active Directory: ad-join and ad-status against a real DC; mode lxc: create until SMB answers;
#     HA: failover figures (crash, partitions of a non-leader and of the leader, planned move, SMB
#     read resuming) beside CTDB's defaults, each a real 3-node cluster in network namespaces
#   - HA on CephFS: the crash of the VIP holder and the death of the whole node (its CephFS
#     client fenced), a planned move, the leader cut off beside corosync's membership change in
#     the same event (target: VIP within 1.5 s of it; within 4 s of a crash), kill -9 of the
#     active MDS beside Ceph's own failover (phase_ha_cephfs)
#   - the REST API's GET /nodes/{node}/smbgateway/shares of 1,000 shares through the Perl
#     handler (PVE::API2::SMBGateway under the PVE stand-ins of t/lib)  target <= 30 ms
#     (beside the bridge call alone); and the perl process's RSS around 100k bridge calls
#     (scripts/bench/perl-bridge.pl does the Perl side)
#   - Samba's own load tests (scripts/bench/smbtorture.sh): smbtorture's smb2.bench.* and the
#     multi-client bench.nbench (our load file) on a gateway share beside a stock share
#   - the soak (scripts/bench/soak.sh): 100 smbclient sessions doing mixed create/write/read/
#     rename/delete for 60 s while shares are created, updated and deleted and the daemon samples
#     quotas: client errors, lost writes, control-plane failures (all targets 0), p50/p99 of small
#     operations and smbd's memory beside a stock share; then one share's quota filling up (only
#     its writers see DISK_FULL)
#   - the scale of the control plane (scripts/bench/scale.sh): list, apply and the API's share
#     list at 100, 1,000 and 10,000 shares, the daemon's cycle at 100 and 1,000 quota shares, as
#     time per share
#   - scheduled snapshots (scripts/bench/prune.sh): the prune decision over 10,000 snapshots
#     beside a plain sort of their times, the next run of 1,000 schedules beside 1,000 libc
#     local-time round trips
#   - share snapshots (scripts/bench/snapshots.sh): snapshot create and delete on a share of
#     100,000 files beside the btrfs tool, a daemon round taking and pruning a scheduled one, and
#     the daemon's CPU per cycle with 100 scheduled shares beside 100 without a schedule
# Performance is measured, not asserted: a missed target is marked MISSED, the exit code stays 0.
# The exit code is non-zero only when the bench itself cannot run: 2 when it refuses to start (not
# root, no free loop device, no smbtorture, no python3), 1 when a command fails.
#
# Environment:
#   BENCH_QUICK=1     fewer runs, smaller transfers (a quick check; figures are indicative only)
#   BENCH_RUNS=N      runs per throughput figure (default 7; quick 3)
#   BENCH_PORT=P      first TCP port to try (default 4460); six free ports from there are used
#   BENCH_TMPDIR=DIR  where the temporary directory goes (default /tmp)
#   BENCH_BIN=PATH    the binary (default target/release/pve-smbgateway of this tree)
#   BENCH_SO=PATH     the bridge library (default target/release/libpve_rs_smbgateway.so)
#
# Nothing outside the temporary directory is changed: no /etc/samba, no system users (accounts
# live in the sandbox through nss_wrapper), network on 127.0.0.1 only. Everything started here
# is stopped and removed on exit.

set -Eeuo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${BENCH_BIN:-$HERE/../target/release/pve-smbgateway}
SO=${BENCH_SO:-$HERE/../target/release/libpve_rs_smbgateway.so}
DAEMON=${BENCH_DAEMON:-$(dirname "$BIN")/pve-smbgatewayd}
QUICK=${BENCH_QUICK:-0}
[[ $QUICK == 0 || -z $QUICK ]] && QUICK=0 || QUICK=1

if ((QUICK)); then
    RUNS=${BENCH_RUNS:-3}     # throughput runs
    N_LIST=7                  # list runs
    N_APPLY=3                 # apply runs (each kind)
    N_CREATE=3                # create runs (each kind)
    BIG_MIB=256
    N_SMALL=500
    N_QUOTA=3                 # quota overshoot runs (each kind)
    N_QSTATUS=11              # quota-status runs
    N_QSAMPLE=3               # quota-sample runs
    N_BRIDGE=5                # bridge batches (each side) ...
    N_BRIDGE_CALLS=100        # ... of this many calls
    N_API=7                   # API list runs (each side)
    N_TREE=1                  # grant/revoke runs on the 100,000-file share (each side)
else
    RUNS=${BENCH_RUNS:-7}
    N_LIST=21
    N_APPLY=5
    N_CREATE=5
    BIG_MIB=1024
    N_SMALL=2000
    N_QUOTA=5
    N_QSTATUS=21
    N_QSAMPLE=5
    N_BRIDGE=11
    N_BRIDGE_CALLS=300
    N_API=21
    N_TREE=3
fi
N_SHARES=1000
SMALL_KIB=4
QUOTA_MIB=64      # the quota of the overshoot share ...
QUOTA_PUT_MIB=128 # ... and what is written into it
N_QSHARES=100     # quota shares for quota-status / quota-sample
QSHARE_MIB=16     # the quota of each of them
USER_NAME=alice
PASSWORD='Bench-Pass1!'
SMB_WAIT_S=30 # give up waiting for a share to answer after this long
N_BRIDGE_SHARES=10    # shares behind the bridge round trip
N_RSS_CALLS=100000    # bridge calls between the two RSS readings (~3 s)
TREE_DIRS=100         # the 100,000-file share: this many directories ...
TREE_FILES=1000       # ... of this many files

# ---------------------------------------------------------------------------------------------
# helpers

log() { printf '[bench %(%T)T] %s\n' -1 "$*" >&2; }
die() {
    printf '[bench] error: %s\n' "$*" >&2
    exit 1
}
trap 'die "command failed (line $LINENO): $BASH_COMMAND"' ERR

# Timing without forks: bash's $EPOCHREALTIME in microseconds.
tick() { T0=${EPOCHREALTIME/./}; }
tock() { ELAPSED_US=$((${EPOCHREALTIME/./} - T0)); }

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN {printf \"%s\", $*}"; }

# The gateway CLI in sandbox ROOT on PORT.
gw() {
    local root=$1 port=$2
    shift 2
    PVE_SMBGW_ROOT=$root PVE_SMBGW_SMB_PORT=$port PVE_SMBGW_BIND=127.0.0.1 "$BIN" "$@"
}

# A Samba tool for the stock servers, with the sandbox's accounts (nss_wrapper) like the gateway's.
ACCOUNTS= # set once the first sandbox has its accounts
nss() { LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD=$ACCOUNTS/passwd NSS_WRAPPER_GROUP=$ACCOUNTS/group "$@"; }

# smbclient against 127.0.0.1:PORT/SHARE with commands CMDS. smbclient -c exits 0 even when a
# command fails, so its output is checked for NT_STATUS_ too. Output in SMB_OUT.
smb() {
    local port=$1 share=$2 cmds=$3 rc=0
    SMB_OUT=$(smbclient -s "$CLIENT_CONF" "//127.0.0.1/$share" -p "$port" -U "$USER_NAME%$PASSWORD" -c "$cmds" 2>&1) || rc=$?
    ((rc == 0)) && [[ $SMB_OUT != *NT_STATUS_* ]]
}

# Poll until SHARE on PORT answers `ls`.
wait_share() {
    local port=$1 share=$2 deadline=$((${EPOCHREALTIME%.*} + SMB_WAIT_S))
    until smb "$port" "$share" ls; do
        ((${EPOCHREALTIME%.*} < deadline)) || die "share $share on port $port did not answer within ${SMB_WAIT_S}s: $SMB_OUT"
    done
}

port_in_use() { [[ -n $(ss -Hltn "sport = :$1") ]]; }

# smbd's pid from the pid file in DIR if that smbd runs, else nothing.
smbd_pid_in() {
    local f pid
    for f in "$1"/*.pid; do
        [[ -f $f ]] || continue
        pid=$(<"$f")
        if [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == smbd ]]; then
            echo "$pid"
            break
        fi
    done
}

kill_smbd_in() {
    local pid i
    pid=$(smbd_pid_in "$1")
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 500; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.02
    done
    kill -KILL "$pid" 2>/dev/null || true
}

wait_port() {
    local port=$1 deadline=$((${EPOCHREALTIME%.*} + 15))
    until port_in_use "$port"; do
        ((${EPOCHREALTIME%.*} < deadline)) || die "nothing listens on port $port after 15 s"
        sleep 0.01
    done
}

# ---------------------------------------------------------------------------------------------
# preconditions

# Refusals (exit 2) before any figure: without root, loop devices or smbtorture the run could only
# print part of the figures as if they were all.
refuse() {
    printf '[bench] refusing to run: %s\n' "$*" >&2
    exit 2
}
[[ $(id -u) == 0 ]] || refuse "the bench must run as root (it mounts a loop device and starts smbd)"
[[ -e /dev/loop-control ]] && losetup -f >/dev/null 2>&1 ||
    refuse "no free loop device (losetup -f failed): the throughput, quota and soak figures need a loop-backed btrfs"
command -v smbtorture >/dev/null || refuse "smbtorture is missing (package samba-testsuite); run scripts/install-deps.sh"
command -v python3 >/dev/null || refuse "python3 is missing (the soak's client, scripts/bench/soak-client.py)"
[[ -x $BIN ]] || die "binary $BIN is missing; run 'cargo build --release' first"
[[ -f $SO ]] || die "bridge library $SO is missing; run 'cargo build --release' first"
command -v perl >/dev/null || die "perl is missing"
for tool in smbd smbclient smbcontrol smbpasswd testparm setfacl mkfs.btrfs btrfs losetup ss awk; do
    command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps.sh"
done
[[ -n $(ldconfig -p | grep -F libnss_wrapper.so) ]] || die "libnss_wrapper.so is missing (package libnss-wrapper)"

# six free ports: gateway + stock for the 1,000-share phase, the cold-create phase (its gateway
# port again for the 100 quota shares), throughput (its gateway port again for the quota share)
PORTS=()
p=${BENCH_PORT:-4460}
while ((${#PORTS[@]} < 6)); do
    ((p < 65535)) || die "no six free TCP ports from ${BENCH_PORT:-4460} up"
    port_in_use "$p" || PORTS+=("$p")
    p=$((p + 1))
done
P_GW1=${PORTS[0]} P_ST1=${PORTS[1]} P_GWC=${PORTS[2]} P_STC=${PORTS[3]} P_GW2=${PORTS[4]} P_ST2=${PORTS[5]}

# ---------------------------------------------------------------------------------------------
# temporary area and cleanup

WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/pve-smbgw-bench.XXXXXX")
# share users must be able to walk to their directories
chmod 755 "$WORK"
GW_ROOTS=()
MNT=$WORK/mnt
LOOPDEV=

cleanup() {
    local rc=$? root
    trap - ERR EXIT INT TERM
    set +e
    log "cleaning up"
    for root in "${GW_ROOTS[@]}"; do
        [[ -d $root ]] && gw "$root" 1 stop >/dev/null 2>&1
    done
    declare -F cephfs_cleanup >/dev/null && cephfs_cleanup
    declare -F datapath_cleanup >/dev/null && datapath_cleanup
    declare -F winacl_cleanup >/dev/null && winacl_cleanup
    for root in "$WORK"/stock*/; do
        [[ -d $root/pid ]] && kill_smbd_in "$root/pid"
    done
    if mountpoint -q "$MNT"; then
        umount "$MNT" || umount -l "$MNT"
    fi
    [[ -n $LOOPDEV ]] && losetup -d "$LOOPDEV"
    if mountpoint -q "$MNT"; then
        log "$MNT is still mounted; leaving $WORK in place"
    else
        rm -rf --one-file-system "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK/client"/{cache,lock,state,private}
CLIENT_CONF=$WORK/client/smb.conf
# smbclient with default settings, its caches kept in the temporary area
cat >"$CLIENT_CONF" <<EOF
[global]
	cache directory = $WORK/client/cache
	lock directory = $WORK/client/lock
	state directory = $WORK/client/state
	private dir = $WORK/client/private
EOF

# A stock standalone smb.conf: nothing but what keeps it in DIR, on PORT, on 127.0.0.1.
# (load printers = no only stops it from looking for printers; no file I/O setting is touched.)
stock_global() {
    local dir=$1 port=$2
    cat <<EOF
[global]
	server role = standalone server
	interfaces = 127.0.0.1
	bind interfaces only = yes
	smb ports = $port
	private dir = $dir/private
	lock directory = $dir/lock
	state directory = $dir/state
	cache directory = $dir/cache
	pid directory = $dir/pid
	ncalrpc dir = $dir/ncalrpc
	binddns dir = $dir/bind-dns
	usershare path = $dir/usershares
	passdb backend = tdbsam:$dir/private/passdb.tdb
	log file = $dir/log.smbd
	load printers = no
EOF
}

# Prepare the runtime directories of a stock server in DIR and give it the Samba user.
stock_init() {
    local dir=$1 port=$2
    mkdir -p "$dir"/{private,lock,state,cache,pid,ncalrpc,bind-dns,usershares}
    chmod 700 "$dir/private"
    stock_global "$dir" "$port" >"$dir/smb.conf"
    printf '%s\n%s\n' "$PASSWORD" "$PASSWORD" | nss smbpasswd -c "$dir/smb.conf" -s -a "$USER_NAME" >/dev/null
}

stock_start() {
    local dir=$1 port=$2
    nss smbd -D -s "$dir/smb.conf"
    wait_port "$port"
}

# The share section exactly as the gateway renders it (samba-templates/share.conf), so the
# by-hand baseline gives Samba the same text to parse.
# share_section NAME PATH READ_ONLY COMMENT
share_section() {
    local ro=no
    [[ $3 == 1 ]] && ro=yes
    printf '[%s]\n\tpath = %s\n\twide links = no\n' "$1" "$2"
    [[ -n $4 ]] && printf '\tcomment = %s\n' "$4"
    printf '\tread only = %s\n\tbrowseable = yes\n\tguest ok = no\n\tvalid users = %s\n\tcase sensitive = auto\n' \
        "$ro" "$USER_NAME"
}

# the shares of the 1,000-share phase: every 4th read-only, every 10th with a comment
share_attrs() { # i -> NAME RO COMMENT in SA_NAME SA_RO SA_COMMENT
    printf -v SA_NAME 'share%04d' "$1"
    SA_RO=0
    (($1 % 4 == 0)) && SA_RO=1
    SA_COMMENT=
    (($1 % 10 == 0)) && SA_COMMENT="bench share $1"
    return 0
}

# results: one row per figure
ROW_LABEL=() ROW_OURS=() ROW_BASE=() ROW_UNIT=() ROW_KIND=() ROW_TARGET=() ROW_SAMPLES=()
# add_row LABEL UNIT KIND TARGET "OURS_SAMPLES" "BASE_SAMPLES"
#   KIND max: ours must be <= TARGET (in UNIT); KIND ratio: ours/baseline must be >= TARGET;
#   KIND min: ours must be >= TARGET (a count that must not be 0); KIND info: no target
add_row() {
    ROW_LABEL+=("$1") ROW_UNIT+=("$2") ROW_KIND+=("$3") ROW_TARGET+=("$4")
    # shellcheck disable=SC2086
    ROW_OURS+=("$(median $5)") ROW_BASE+=("$(median $6)")
    ROW_SAMPLES+=("ours: $5 | baseline: $6")
}
fmt_num() { awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v; else printf "%.2f", v }'; }

BASELINE_NOTES=()
QUOTA_NOTES=() # what the quota phase saw besides its figures
SOAK_NOTES=()  # what the soak saw besides its rows (scripts/bench/soak.sh)
SCALE_NOTES=() # the growth table of the control plane (scripts/bench/scale.sh)

# ---------------------------------------------------------------------------------------------
log "temporary area $WORK; ports ${PORTS[*]}; $( ((QUICK)) && echo 'QUICK mode' || echo 'full run')"
SAMBA_VERSION=$(smbd --version | awk '{print $2}')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# Context for the config figures: the gateway writes its files atomically (write, fsync,
# rename, fsync the directory), so the latency of fsync on this disk matters. 100 such writes:
mkdir -p "$WORK/fsync"
tick
for ((i = 0; i < 100; i++)); do
    dd if=/dev/zero of="$WORK/fsync/f$i" bs=4k count=1 conv=fsync status=none
done
tock
FSYNC_MS=$(calc "$ELAPSED_US / 100 / 1000")
rm -rf "$WORK/fsync"

# ============================================================================================
# Phase 1: 1,000 shares -- list, apply, create on a running server
# ============================================================================================
GW1=$WORK/gw1 ST1=$WORK/stock1
GW_ROOTS+=("$GW1")
log "phase 1: sandbox with $N_SHARES shares (port $P_GW1) and a stock smbd with the same $N_SHARES sections (port $P_ST1)"
printf '%s\n' "$PASSWORD" | gw "$GW1" "$P_GW1" user add "$USER_NAME" --password-stdin >/dev/null
ACCOUNTS=$GW1/accounts
USER_UID=$(awk -F: -v u="$USER_NAME" '$1 == u {print $3}' "$ACCOUNTS/passwd")
[[ -n $USER_UID ]] || die "user $USER_NAME is not in $ACCOUNTS/passwd"
# start the gateway's smbd (apply of an empty config starts it)
gw "$GW1" "$P_GW1" apply >/dev/null

mkdir -p "$WORK/shares"
CFG=$GW1/config/shares.cfg
{
    for ((i = 1; i <= N_SHARES; i++)); do
        share_attrs "$i"
        dir=$WORK/shares/$SA_NAME
        ((i > 1)) && printf '\n'
        printf 'share: %s\n\tmode native\n\tpath %s\n' "$SA_NAME" "$dir"
        [[ -n $SA_COMMENT ]] && printf '\tcomment %s\n' "$SA_COMMENT"
        ((SA_RO)) && printf '\tread-only 1\n'
        printf '\tusers %s\n' "$USER_NAME"
    done
} >"$CFG"
# the share directories exist already (apply leaves existing directories as they are; the
# by-hand baseline does not create them either)
(
    cd "$WORK/shares"
    eval "mkdir -m 0770 share{0001..$(printf '%04d' "$N_SHARES")}"
)
[[ $(gw "$GW1" "$P_GW1" list | wc -l) == $((N_SHARES + 1)) ]] || die "list does not show $N_SHARES shares"

# The by-hand apply: regenerate smb.conf with a shell loop, check it with testparm, reload smbd.
hand_write_conf() {
    local i
    {
        stock_global "$ST1" "$P_ST1"
        for ((i = 1; i <= N_SHARES; i++)); do
            share_attrs "$i"
            share_section "$SA_NAME" "$WORK/shares/$SA_NAME" "$SA_RO" "$SA_COMMENT"
        done
    } >"$ST1/smb.conf.new"
    mv "$ST1/smb.conf.new" "$ST1/smb.conf"
}
hand_apply() {
    hand_write_conf
    nss testparm -s --suppress-prompt "$ST1/smb.conf" >/dev/null 2>&1 || die "testparm rejected $ST1/smb.conf"
    nss smbcontrol -s "$ST1/smb.conf" smbd reload-config
}

stock_init "$ST1" "$P_ST1"
hand_write_conf
stock_start "$ST1" "$P_ST1"
[[ $(nss testparm -s --suppress-prompt "$ST1/smb.conf" 2>/dev/null | grep -c '^\[share') == "$N_SHARES" ]] ||
    die "the stock smb.conf does not have $N_SHARES shares"

# ---- list ----------------------------------------------------------------------------------
log "list: $N_LIST runs each (text, json, testparm baseline)"
ours_text=() ours_json=() base=() base_awk=()
for ((r = 0; r < N_LIST; r++)); do
    tick
    gw "$GW1" "$P_GW1" list >/dev/null
    tock
    ours_text+=("$(calc "$ELAPSED_US/1000")")
    tick
    gw "$GW1" "$P_GW1" list --output-format json >/dev/null
    tock
    ours_json+=("$(calc "$ELAPSED_US/1000")")
    tick
    nss testparm -s --suppress-prompt "$ST1/smb.conf" 2>/dev/null | sed -n 's/^\[\(.*\)\]$/\1/p' >/dev/null
    tock
    base+=("$(calc "$ELAPSED_US/1000")")
    tick
    awk '/^\[/ { gsub(/^\[|\]$/, ""); if ($0 != "global") print }' "$ST1/smb.conf" >/dev/null
    tock
    base_awk+=("$(calc "$ELAPSED_US/1000")")
done
add_row "list, 1,000 shares (text)" ms max 20 "${ours_text[*]}" "${base[*]}"
add_row "list, 1,000 shares (--output-format json)" ms max 20 "${ours_json[*]}" "${base[*]}"
BASELINE_NOTES+=("list: 'testparm -s' on a hand-written smb.conf with the same 1,000 sections, share names cut out with sed (for reference: awk alone over that smb.conf, no Samba tool, takes $(fmt_num "$(median "${base_awk[@]}")") ms)")

# ---- apply -----------------------------------------------------------------------------------
log "apply: $N_APPLY runs from no generated files, $N_APPLY no-op runs, same by hand"
ours_cold=() ours_noop=() base=()
for ((r = 0; r < N_APPLY; r++)); do
    rm -rf "$GW1/samba/shares.d" "$GW1/samba/smb.conf"
    tick
    gw "$GW1" "$P_GW1" apply >/dev/null
    tock
    ours_cold+=("$(calc "$ELAPSED_US/1000")")
    n=$(find "$GW1/samba/shares.d" -name '*.conf' | wc -l)
    [[ $n == "$N_SHARES" ]] || die "apply wrote $n share includes, expected $N_SHARES"
    tick
    hand_apply
    tock
    base+=("$(calc "$ELAPSED_US/1000")")
done
for ((r = 0; r < N_APPLY; r++)); do
    tick
    out=$(gw "$GW1" "$P_GW1" apply)
    tock
    ours_noop+=("$(calc "$ELAPSED_US/1000")")
    [[ $out == *"nothing to do"* ]] || die "second apply was not a no-op: $out"
done
add_row "apply, 1,000 shares, no generated files" ms max 2000 "${ours_cold[*]}" "${base[*]}"
APPLY_COLD_SAMPLES="${ours_cold[*]}" # the CephFS phase compares with these
add_row "apply, 1,000 shares, no-op re-run" ms max 2000 "${ours_noop[*]}" "${base[*]}"
BASELINE_NOTES+=("apply: a bash loop writes the same 1,000 sections into one smb.conf, 'testparm -s' checks it, 'smbcontrol smbd reload-config' (smbd running); a person has no cheaper way to know nothing changed, so the no-op row has the same baseline")

# ---- create on the running 1,000-share server --------------------------------------------------
log "create with $N_SHARES shares and smbd running: $N_CREATE runs each, until smbclient lists the share"
mkdir -p "$WORK/new"
ours=() base=()
for ((r = 1; r <= N_CREATE; r++)); do
    name=$(printf 'new%02d' "$r")
    tick
    gw "$GW1" "$P_GW1" create "$name" --path "$WORK/new/gw-$name" --users "$USER_NAME" >/dev/null
    wait_share "$P_GW1" "$name"
    tock
    ours+=("$(calc "$ELAPSED_US/1000")")

    tick
    mkdir -m 0770 "$WORK/new/st-$name"
    setfacl -m "u:$USER_UID:rwx,d:u:$USER_UID:rwx" "$WORK/new/st-$name"
    share_section "$name" "$WORK/new/st-$name" 0 "" >>"$ST1/smb.conf"
    nss testparm -s --suppress-prompt "$ST1/smb.conf" >/dev/null 2>&1 || die "testparm rejected $ST1/smb.conf"
    nss smbcontrol -s "$ST1/smb.conf" smbd reload-config
    wait_share "$P_ST1" "$name"
    tock
    base+=("$(calc "$ELAPSED_US/1000")")
done
add_row "create until SMB answers, 1,000 shares, smbd running" ms max 1000 "${ours[*]}" "${base[*]}"
BASELINE_NOTES+=("create (smbd running): mkdir + setfacl for the user, append the section to the 1,000-share smb.conf, 'testparm -s', 'smbcontrol smbd reload-config'; the clock stops when 'smbclient -c ls' on the new share succeeds (polled back to back, on both sides)")

log "phase 1 done; stopping its servers"
gw "$GW1" "$P_GW1" stop >/dev/null
kill_smbd_in "$ST1/pid"

# ============================================================================================
# Phase 1b: grant and revoke a user on a share holding 100,000 files
# ============================================================================================
# A tree of DIRS directories of FILES empty files each in DIR.
make_tree() {
    local dir=$1 d
    for ((d = 0; d < TREE_DIRS; d++)); do
        mkdir -p "$dir/d$d"
        (cd "$dir/d$d" && eval "touch f{1..$TREE_FILES}")
    done
}

phase_acl_tree() {
    local root=$WORK/gwt tree=$WORK/tree/gw hand=$WORK/tree/hand r bob_uid probe
    local ours=() base=() ours_rev=() base_rev=() entries=$((TREE_DIRS * (TREE_FILES + 1)))
    GW_ROOTS+=("$root")
    log "acl tree: a share of $entries entries; grant and revoke a user, $N_TREE runs each, beside setfacl -R"
    printf '%s\n' "$PASSWORD" | gw "$root" "$P_GW1" user add "$USER_NAME" --password-stdin >/dev/null
    printf '%s\n' "$PASSWORD" | gw "$root" "$P_GW1" user add bob --password-stdin >/dev/null
    bob_uid=$(awk -F: '$1 == "bob" {print $3}' "$root/accounts/passwd")
    [[ -n $bob_uid ]] || die "user bob is not in $root/accounts/passwd"
    make_tree "$tree"
    make_tree "$hand"
    # the same starting point on both sides: the share's user already has its entries everywhere
    gw "$root" "$P_GW1" create tree --path "$tree" --users "$USER_NAME" >/dev/null
    setfacl -R -m "u:$USER_UID:rwX,d:u:$USER_UID:rwX" "$hand"
    probe=d$((TREE_DIRS / 2))/f$((TREE_FILES / 2))
    for ((r = 0; r < N_TREE; r++)); do
        tick
        gw "$root" "$P_GW1" update tree --users "$USER_NAME,bob" >/dev/null
        tock
        ours+=("$(calc "$ELAPSED_US/1000")")
        getfacl -n "$tree/$probe" 2>/dev/null | grep -q "^user:$bob_uid:rw-" || die "bob has no entry on $tree/$probe"
        tick
        gw "$root" "$P_GW1" update tree --users "$USER_NAME" >/dev/null
        tock
        ours_rev+=("$(calc "$ELAPSED_US/1000")")
        ! getfacl -n "$tree/$probe" 2>/dev/null | grep -q "^user:$bob_uid:" || die "bob's entry on $tree/$probe stayed"
        tick
        setfacl -R -m "u:$bob_uid:rwX,d:u:$bob_uid:rwX" "$hand"
        tock
        base+=("$(calc "$ELAPSED_US/1000")")
        tick
        setfacl -R -x "u:$bob_uid,d:u:$bob_uid" "$hand"
        tock
        base_rev+=("$(calc "$ELAPSED_US/1000")")
    done
    add_row "grant a user, share of 100,000 files (fd walk)" ms info - "${ours[*]}" "${base[*]}"
    add_row "revoke a user, share of 100,000 files (fd walk)" ms info - "${ours_rev[*]}" "${base_rev[*]}"
    BASELINE_NOTES+=("grant/revoke on $entries entries: 'setfacl -R -m u:UID:rwX,d:u:UID:rwX' / 'setfacl -R -x u:UID,d:u:UID' on an identical tree; ours is the whole 'update --users' (validation, config, Samba reload) around the walk that opens every entry without following links and sets its ACL with fsetxattr")
    gw "$root" "$P_GW1" stop >/dev/null
    rm -rf "$WORK/tree"
}
phase_acl_tree

# ============================================================================================
# Phase 2: create of the first share, smbd not running yet
# ============================================================================================
log "create of the first share (smbd starts): $N_CREATE runs each, fresh sandbox / fresh smb.conf each"
mkdir -p "$WORK/cold"
ours=() base=()
for ((r = 1; r <= N_CREATE; r++)); do
    root=$WORK/gwc$r
    GW_ROOTS+=("$root")
    printf '%s\n' "$PASSWORD" | gw "$root" "$P_GWC" user add "$USER_NAME" --password-stdin >/dev/null
    tick
    gw "$root" "$P_GWC" create data --path "$WORK/cold/gw$r" --users "$USER_NAME" >/dev/null
    wait_share "$P_GWC" data
    tock
    ours+=("$(calc "$ELAPSED_US/1000")")
    gw "$root" "$P_GWC" stop >/dev/null

    dir=$WORK/stockc$r
    stock_init "$dir" "$P_STC"
    tick
    mkdir -m 0770 "$WORK/cold/st$r"
    setfacl -m "u:$USER_UID:rwx,d:u:$USER_UID:rwx" "$WORK/cold/st$r"
    share_section data "$WORK/cold/st$r" 0 "" >>"$dir/smb.conf"
    nss testparm -s --suppress-prompt "$dir/smb.conf" >/dev/null 2>&1 || die "testparm rejected $dir/smb.conf"
    nss smbd -D -s "$dir/smb.conf"
    wait_share "$P_STC" data
    tock
    base+=("$(calc "$ELAPSED_US/1000")")
    kill_smbd_in "$dir/pid"
done
add_row "create until SMB answers, first share, smbd starts" ms max 1000 "${ours[*]}" "${base[*]}"
BASELINE_NOTES+=("create (first share): a stock smb.conf with the Samba user already in its passdb; mkdir + setfacl, append the section, 'testparm -s', 'smbd -D'; the clock stops when 'smbclient -c ls' succeeds")

# ============================================================================================
# Phase 3: throughput, our generated share vs a stock smb.conf, same directory on btrfs
# ============================================================================================
log "throughput: loop-backed btrfs in $WORK"
FS_NOTE=
truncate -s 4G "$WORK/btrfs.img"
mkdir -p "$MNT"
if LOOPDEV=$(losetup -f --show "$WORK/btrfs.img" 2>/dev/null) && mkfs.btrfs -q -f "$LOOPDEV" >/dev/null 2>&1 &&
    mount "$LOOPDEV" "$MNT"; then
    FS_NOTE="btrfs on $LOOPDEV (4 GiB image file on $(df --output=fstype "$WORK" | tail -1))"
else
    [[ -n $LOOPDEV ]] && losetup -d "$LOOPDEV"
    LOOPDEV=
    FS_NOTE="NO LOOP DEVICE: the shares live on $(df --output=fstype "$WORK" | tail -1) in $MNT instead of btrfs"
    log "warning: $FS_NOTE"
fi

GW2=$WORK/gw2 ST2=$WORK/stock2
GW_ROOTS+=("$GW2")
SHARE_DIR=$MNT/bench
printf '%s\n' "$PASSWORD" | gw "$GW2" "$P_GW2" user add "$USER_NAME" --password-stdin >/dev/null
[[ $(awk -F: -v u="$USER_NAME" '$1 == u {print $3}' "$GW2/accounts/passwd") == "$USER_UID" ]] ||
    die "user $USER_NAME got another uid in the second sandbox"
ACCOUNTS=$GW2/accounts
gw "$GW2" "$P_GW2" create bench --path "$SHARE_DIR" --users "$USER_NAME" >/dev/null
stock_init "$ST2" "$P_ST2"
printf '[bench]\n\tpath = %s\n\tread only = no\n' "$SHARE_DIR" >>"$ST2/smb.conf"
stock_start "$ST2" "$P_ST2"
wait_share "$P_GW2" bench
wait_share "$P_ST2" bench

BIG_BYTES=$((BIG_MIB * 1024 * 1024))
log "test data: ${BIG_MIB} MiB file, $N_SMALL x $SMALL_KIB KiB files (random)"
mkdir -p "$WORK/data/small"
head -c "$BIG_BYTES" /dev/urandom >"$WORK/data/big.bin"
head -c $((N_SMALL * SMALL_KIB * 1024)) /dev/urandom | split -b $((SMALL_KIB * 1024)) -a 4 -d - "$WORK/data/small/f"
[[ $(find "$WORK/data/small" -type f | wc -l) == "$N_SMALL" ]] || die "could not make $N_SMALL small files"
cat "$WORK/data/big.bin" >/dev/null

# server order alternates run by run (ABBA...), so drift in the machine hits both alike
order() { if (($1 % 2)); then echo "stock gw"; else echo "gw stock"; fi; }
port_of() { if [[ $1 == gw ]]; then echo "$P_GW2"; else echo "$P_ST2"; fi; }

# One unmeasured round per server first (btrfs allocates its first chunks, smbd maps its
# code), which also checks that the bytes survive the round trip both ways.
log "warm-up: one unmeasured put, get and mput per server, contents compared"
for s in gw stock; do
    smb "$(port_of "$s")" bench "put $WORK/data/big.bin warm.bin; get warm.bin $WORK/data/back.bin" ||
        die "warm-up on $s failed: $SMB_OUT"
    cmp -s "$WORK/data/big.bin" "$SHARE_DIR/warm.bin" || die "put through $s did not store the same bytes"
    cmp -s "$WORK/data/big.bin" "$WORK/data/back.bin" || die "get through $s did not return the same bytes"
    smb "$(port_of "$s")" bench "prompt off; mkdir warm; cd warm; lcd $WORK/data/small; mput *" ||
        die "warm-up on $s failed: $(grep -m3 NT_STATUS_ <<<"$SMB_OUT")"
    rm -rf "$SHARE_DIR/warm.bin" "$SHARE_DIR/warm" "$WORK/data/back.bin"
done
sync

declare -A PUT GET SMALL
for s in gw stock; do PUT[$s]= GET[$s]= SMALL[$s]=; done

log "put ${BIG_MIB} MiB: $RUNS runs per server"
for ((r = 0; r < RUNS; r++)); do
    for s in $(order "$r"); do
        rm -f "$SHARE_DIR/put.bin"
        sync
        tick
        smb "$(port_of "$s")" bench "put $WORK/data/big.bin put.bin" || die "put to $s failed: $SMB_OUT"
        tock
        [[ $(stat -c %s "$SHARE_DIR/put.bin") == "$BIG_BYTES" ]] || die "put to $s: wrong size"
        PUT[$s]+="$(calc "$BIG_BYTES/$ELAPSED_US") "
        log "  put run $((r + 1)) $s: $(calc "$BIG_BYTES/$ELAPSED_US") MB/s"
    done
done
rm -f "$SHARE_DIR/put.bin"

log "get ${BIG_MIB} MiB to /dev/null: $RUNS runs per server (file in the page cache for both)"
cp "$WORK/data/big.bin" "$SHARE_DIR/get.bin"
sync
cat "$SHARE_DIR/get.bin" >/dev/null
for ((r = 0; r < RUNS; r++)); do
    for s in $(order "$r"); do
        tick
        smb "$(port_of "$s")" bench "get get.bin /dev/null" || die "get from $s failed: $SMB_OUT"
        tock
        [[ $SMB_OUT == *"of size $BIG_BYTES as"* ]] || die "get from $s: unexpected smbclient output: $SMB_OUT"
        GET[$s]+="$(calc "$BIG_BYTES/$ELAPSED_US") "
        log "  get run $((r + 1)) $s: $(calc "$BIG_BYTES/$ELAPSED_US") MB/s"
    done
done
rm -f "$SHARE_DIR/get.bin"

log "$N_SMALL x $SMALL_KIB KiB files (mput): $RUNS runs per server"
for ((r = 0; r < RUNS; r++)); do
    for s in $(order "$r"); do
        rm -rf "$SHARE_DIR/small"
        sync
        tick
        smb "$(port_of "$s")" bench "prompt off; mkdir small; cd small; lcd $WORK/data/small; mput *" ||
            die "mput to $s failed: $(grep -m3 NT_STATUS_ <<<"$SMB_OUT")"
        tock
        n=$(find "$SHARE_DIR/small" -type f | wc -l)
        [[ $n == "$N_SMALL" ]] || die "mput to $s: $n files arrived, expected $N_SMALL"
        SMALL[$s]+="$(calc "$N_SMALL * 1000000 / $ELAPSED_US") "
        log "  small files run $((r + 1)) $s: $(calc "$N_SMALL * 1000000 / $ELAPSED_US") files/s"
    done
done
rm -rf "$SHARE_DIR/small"

GB_LABEL=$( ((BIG_MIB == 1024)) && echo "1 GiB" || echo "$BIG_MIB MiB")
add_row "SMB put $GB_LABEL (write)" MB/s ratio 1.0 "${PUT[gw]}" "${PUT[stock]}"
add_row "SMB get $GB_LABEL (read)" MB/s ratio 1.1 "${GET[gw]}" "${GET[stock]}"
add_row "SMB put $N_SMALL x $SMALL_KIB KiB files" files/s ratio 1.0 "${SMALL[gw]}" "${SMALL[stock]}"
# shares on CephFS (scripts/bench/cephfs.sh): compared with the btrfs figures above
# shellcheck source=scripts/bench/cephfs.sh
source "$HERE/bench/cephfs.sh"
phase_cephfs
BASELINE_NOTES+=("throughput: the same directory on the same btrfs, served by a stock smb.conf (only sandbox paths, port, 127.0.0.1, tdbsam, load printers = no; Samba defaults otherwise) running beside our generated one; smbclient put/get/mput over 127.0.0.1, wall clock around the whole smbclient call (connect + logon included on both sides), server order alternating between runs, sync before each write")
# the data path on a tmpfs, where the disk is not the ceiling (scripts/bench/datapath.sh)
source "$HERE/bench/datapath.sh" && phase_datapath
# what Windows ACLs cost per file created (scripts/bench/winacl.sh)
source "$HERE/bench/winacl.sh" && phase_winacl

# ============================================================================================
# Phase 4: quotas on the same btrfs -- enforcement overshoot through SMB, quota-status latency
# ============================================================================================
kill_smbd_in "$ST2/pid" # the stock server is done

# The level-0 qgroup of the subvolume at PATH once the last transaction is committed (qgroup
# numbers only move at commits): QG_REF (referenced bytes), QG_LIMIT (max_referenced or none).
qgroup_of() {
    local out row
    btrfs filesystem sync "$1"
    out=$(btrfs qgroup show -reF --raw "$1")
    row=$(awk '$1 ~ /^0\// {print $2, $4; exit}' <<<"$out")
    read -r QG_REF QG_LIMIT <<<"$row"
    [[ $QG_REF =~ ^[0-9]+$ ]] || die "btrfs shows no level-0 qgroup for $1: $out"
}
# bytes stored beyond LIMIT as a percentage of it (0 if within)
overshoot_pct() { calc "($1 > $2 ? $1 - $2 : 0) * 100 / $2"; }

# What SMB clients are told about the size of SHARE on PORT ('du': the dfree figures):
# DU_TOTAL and DU_AVAIL blocks of DU_BSIZE bytes.
smb_du() {
    local row
    smb "$1" "$2" du || die "'du' on $2 failed: $SMB_OUT"
    row=$(awk '/blocks of size/ {sub(/\.$/, "", $5); print $1, $5, $6; exit}' <<<"$SMB_OUT")
    read -r DU_TOTAL DU_BSIZE DU_AVAIL <<<"$row"
    [[ $DU_TOTAL =~ ^[0-9]+$ && $DU_AVAIL =~ ^[0-9]+$ ]] || die "unexpected 'du' output on $2: $SMB_OUT"
}

# ---- overshoot ---------------------------------------------------------------------------------
phase_quota_overshoot() {
    local qdir=$MNT/qshare bdir=$MNT/qbase limit=$((QUOTA_MIB * 1024 * 1024)) r status dd_out
    local ours=() base=() ours_ref=() base_ref=() ours_size=() base_size=() statuses=() dd_errors=()
    local du_text= du_total=0 du_bsize=0 avail_before avail_after avail_status st_ms=()
    log "quota overshoot: share with a $QUOTA_MIB MiB quota, $QUOTA_PUT_MIB MiB put through SMB, $N_QUOTA runs; same bytes by dd into a hand-made subvolume"
    head -c $((QUOTA_PUT_MIB * 1024 * 1024)) /dev/urandom >"$WORK/data/quota.bin"

    tick
    gw "$GW2" "$P_GW2" create qshare --path "$qdir" --users "$USER_NAME" --quota "${QUOTA_MIB}M" >/dev/null
    wait_share "$P_GW2" qshare
    tock
    QUOTA_NOTES+=("create qshare --quota ${QUOTA_MIB}M (subvolume, quotas enabled on the filesystem, qgroup limit, dfree command) until SMB answers: $(fmt_num "$(calc "$ELAPSED_US/1000")") ms")
    # quota enable starts a rescan of the filesystem; let it finish so both sides count alike
    btrfs quota rescan -W "$MNT" >/dev/null 2>&1 || true
    [[ $(stat -c %i "$qdir") == 256 ]] || die "$qdir is not a btrfs subvolume"
    grep -q '^[[:space:]]*dfree command' "$GW2"/samba/shares.d/qshare.conf ||
        QUOTA_NOTES+=("qshare.conf has no 'dfree command' line")
    qgroup_of "$qdir"
    [[ $QG_LIMIT == "$limit" ]] ||
        QUOTA_NOTES+=("the gateway set a qgroup limit of $QG_LIMIT bytes on $qdir, not $limit (the overshoot is measured against $limit)")

    # the baseline by hand (quotas are already enabled on the filesystem)
    btrfs subvolume create "$bdir" >/dev/null
    btrfs qgroup limit "${QUOTA_MIB}M" "$bdir"

    for ((r = 1; r <= N_QUOTA; r++)); do
        rm -f "$qdir/big.bin"
        qgroup_of "$qdir"
        ((r == 1)) && smb_du "$P_GW2" qshare && du_total=$DU_TOTAL du_bsize=$DU_BSIZE avail_before=$DU_AVAIL
        smb "$P_GW2" qshare "put $WORK/data/quota.bin big.bin" || true
        status="no NT_STATUS (the put went through)"
        [[ $SMB_OUT =~ NT_STATUS_[A-Z_]+ ]] && status=${BASH_REMATCH[0]}
        statuses+=("$status")
        qgroup_of "$qdir"
        ours+=("$(overshoot_pct "$QG_REF" "$limit")") ours_ref+=("$QG_REF")
        ours_size+=("$(stat -c '%s/%b/%B' "$qdir/big.bin" 2>/dev/null || echo none)")
        if ((r == 1)); then
            smb_du "$P_GW2" qshare
            avail_after=$DU_AVAIL
            gw "$GW2" "$P_GW2" quota-status qshare >/dev/null
            smb_du "$P_GW2" qshare
            avail_status=$DU_AVAIL
        fi

        rm -f "$bdir/big.bin"
        qgroup_of "$bdir"
        dd_out=$(dd if=/dev/zero of="$bdir/big.bin" bs=1M count="$QUOTA_PUT_MIB" 2>&1) || true
        [[ $dd_out == *"Disk quota exceeded"* ]] || dd_errors+=("run $r: $(head -1 <<<"$dd_out")")
        qgroup_of "$bdir"
        base+=("$(overshoot_pct "$QG_REF" "$limit")") base_ref+=("$QG_REF")
        base_size+=("$(stat -c '%s/%b/%B' "$bdir/big.bin" 2>/dev/null || echo none)")
    done
    add_row "quota overshoot, $QUOTA_PUT_MIB MiB SMB put, $QUOTA_MIB MiB quota" % max 1 "${ours[*]}" "${base[*]}"
    BASELINE_NOTES+=("quota overshoot: a subvolume made by hand on the same btrfs ('btrfs subvolume create', 'btrfs qgroup limit ${QUOTA_MIB}M'), $QUOTA_PUT_MIB MiB written locally with 'dd if=/dev/zero bs=1M' (no SMB; no compression on this mount, so zeros take the same room as the random bytes of the SMB put) -- btrfs' own enforcement precision; both sides: bytes stored = 'referenced' of the level-0 qgroup after 'btrfs filesystem sync', overshoot = max(0, referenced - limit) / limit")

    QUOTA_NOTES+=("smbclient put of $QUOTA_PUT_MIB MiB into qshare ended with: $(printf '%s\n' "${statuses[@]}" | sort | uniq -c | awk '{c=$1; $1=""; printf "%s%s x%s", (NR > 1 ? ", " : ""), substr($0, 2), c}') (expected NT_STATUS_DISK_FULL every run)")
    QUOTA_NOTES+=("bytes stored (qgroup referenced, per run) of the $limit-byte limit: ours ${ours_ref[*]}; by hand ${base_ref[*]}")
    QUOTA_NOTES+=("big.bin on disk (size/blocks/block size from stat, per run): ours ${ours_size[*]}; by hand ${base_size[*]}")
    ((${#dd_errors[@]} == 0)) || QUOTA_NOTES+=("dd did not end with 'Disk quota exceeded': ${dd_errors[*]}")
    du_text="SMB 'du' on qshare: $du_total blocks of $du_bsize bytes in total"
    if [[ $((du_total * du_bsize)) == "$limit" ]]; then
        du_text+=" = the $QUOTA_MIB MiB quota (ok)"
    else
        du_text+=" = $((du_total * du_bsize)) bytes, NOT the $QUOTA_MIB MiB quota ($((limit / 1024)) blocks of 1024 expected)"
    fi
    du_text+="; blocks available: $avail_before before the put, $avail_after right after it, $avail_status after 'quota-status qshare'"
    ((avail_after == avail_status)) ||
        du_text+=" (the dfree figures come from a cache that only apply, quota-status and quota-sample refresh)"
    QUOTA_NOTES+=("$du_text")

    # for the quota-status row: the same call in a sandbox with just this one quota share
    for ((r = 0; r < N_QSTATUS; r++)); do
        tick
        gw "$GW2" "$P_GW2" quota-status qshare >/dev/null
        tock
        st_ms+=("$(calc "$ELAPSED_US/1000")")
    done
    QSTATUS_ONE_MS=$(median "${st_ms[@]}")

    log "quota overshoot done; stopping the throughput sandbox's smbd"
    gw "$GW2" "$P_GW2" stop >/dev/null
}

# ---- quota-status / quota-sample with 100 quota shares ------------------------------------------
phase_quota_status() {
    local GW3=$WORK/gw3 dir=$MNT/quota qlimit=$((QSHARE_MIB * 1024 * 1024)) i r name n out
    local ours=() base=() names=() execs
    GW_ROOTS+=("$GW3")
    log "quota-status: $N_QSHARES shares with a $QSHARE_MIB MiB quota each (sandbox on port $P_GWC), $N_QSTATUS runs; by hand: btrfs filesystem sync + btrfs qgroup show"
    printf '%s\n' "$PASSWORD" | gw "$GW3" "$P_GWC" user add "$USER_NAME" --password-stdin >/dev/null
    gw "$GW3" "$P_GWC" apply >/dev/null
    mkdir -m 0755 "$dir"
    # the subvolumes as a restore or another tool left them: apply never creates a missing
    # share directory (it would hide an unmounted storage), it sets the limits
    for ((i = 1; i <= N_QSHARES; i++)); do
        printf -v name 'quota%03d' "$i"
        names+=("$name")
        btrfs -q subvolume create "$dir/$name"
    done
    {
        for ((i = 0; i < N_QSHARES; i++)); do
            ((i > 0)) && printf '\n'
            printf 'share: %s\n\tmode native\n\tpath %s\n\tusers %s\n\tquota %sM\n\tquota-backend btrfs\n' \
                "${names[$i]}" "$dir/${names[$i]}" "$USER_NAME" "$QSHARE_MIB"
        done
    } >"$GW3/config/shares.cfg"
    # apply sets the subvolumes' limits
    tick
    gw "$GW3" "$P_GWC" apply >/dev/null
    tock
    QUOTA_NOTES+=("apply of the $N_QSHARES quota shares written into shares.cfg (their subvolumes made beforehand; sets $N_QSHARES qgroup limits, starts smbd): $(fmt_num "$(calc "$ELAPSED_US/1000")") ms")
    n=$(($(gw "$GW3" "$P_GWC" list | wc -l) - 1))
    [[ $n == "$N_QSHARES" ]] || die "list shows $n shares, expected $N_QSHARES"
    n=$(btrfs qgroup show -re --raw "$MNT" | awk -v l="$qlimit" '$1 ~ /^0\// && $4 == l' | wc -l)
    [[ $n == "$N_QSHARES" ]] || die "$n qgroups have a limit of $QSHARE_MIB MiB, expected $N_QSHARES"
    out=$(gw "$GW3" "$P_GWC" quota-status "${names[0]}" --output-format json)
    [[ $out == *"\"limit\":$qlimit"* ]] || die "unexpected quota-status output: $out"

    for ((r = 0; r < N_QSTATUS; r++)); do
        name=${names[$(((r * 37) % N_QSHARES))]} # a different share each run
        tick
        gw "$GW3" "$P_GWC" quota-status "$name" >/dev/null
        tock
        ours+=("$(calc "$ELAPSED_US/1000")")
        tick
        btrfs filesystem sync "$dir/$name"
        btrfs qgroup show -reF --raw "$dir/$name" >/dev/null
        tock
        base+=("$(calc "$ELAPSED_US/1000")")
    done
    add_row "quota-status, $N_QSHARES quota shares" ms max 50 "${ours[*]}" "${base[*]}"
    BASELINE_NOTES+=("quota-status: the same figures by hand for the same share: 'btrfs filesystem sync' + 'btrfs qgroup show -reF --raw' on its subvolume (what the gateway runs for one share)")
    QUOTA_NOTES+=("quota-status in the throughput sandbox, where qshare is the only quota share: $(fmt_num "$QSTATUS_ONE_MS") ms (median of $N_QSTATUS)")
    if command -v strace >/dev/null; then
        PVE_SMBGW_ROOT=$GW3 PVE_SMBGW_SMB_PORT=$P_GWC PVE_SMBGW_BIND=127.0.0.1 \
            strace -f -qq -z -e trace=execve -e signal=none -o "$WORK/quota-status.strace" "$BIN" quota-status "${names[0]}" >/dev/null
        # successful execve calls only (-z); the first is the gateway itself
        execs=$(grep -c 'execve(' "$WORK/quota-status.strace" || true)
        QUOTA_NOTES+=("one quota-status call with $N_QSHARES quota shares starts $((execs - 1)) programs (strace), $(grep -c '"btrfs", "filesystem", "sync"' "$WORK/quota-status.strace" || true) of them 'btrfs filesystem sync' and $(grep -c '"btrfs", "qgroup", "show"' "$WORK/quota-status.strace" || true) 'btrfs qgroup show'")
    fi

    log "quota-sample: all $N_QSHARES shares in one call, $N_QSAMPLE runs; by hand: $N_QSHARES x (sync + qgroup show)"
    ours=() base=()
    for ((r = 0; r < N_QSAMPLE; r++)); do
        tick
        out=$(gw "$GW3" "$P_GWC" quota-sample)
        tock
        ours+=("$(calc "$ELAPSED_US/1000")")
        n=$(grep -c "^quota[0-9]*: " <<<"$out" || true)
        [[ $n == "$N_QSHARES" ]] || die "quota-sample reported $n shares, expected $N_QSHARES: $(head -3 <<<"$out")"
        tick
        for name in "${names[@]}"; do
            btrfs filesystem sync "$dir/$name"
            btrfs qgroup show -reF --raw "$dir/$name" >/dev/null
        done
        tock
        base+=("$(calc "$ELAPSED_US/1000")")
    done
    add_row "quota-sample, $N_QSHARES quota shares (one call)" ms info - "${ours[*]}" "${base[*]}"
    BASELINE_NOTES+=("quota-sample: $N_QSHARES x ('btrfs filesystem sync' + 'btrfs qgroup show -reF --raw') in a bash loop; the gateway also writes each share's usage history and the dfree cache")

    # the daemon: an hour of 5-minute sampling (12 cycles) and a day (288), back to back
    local cycles line
    for cycles in 12 288; do
        ((QUICK)) && ((cycles > 12)) && continue
        log "daemon: $cycles sampling cycles of the $N_QSHARES quota shares (pve-smbgatewayd --bench-cycles)"
        line=$(PVE_SMBGW_ROOT=$GW3 PVE_SMBGW_SMB_PORT=$P_GWC PVE_SMBGW_BIND=127.0.0.1 "$DAEMON" --bench-cycles "$cycles" 2>/dev/null |
            grep '^bench:') || die "pve-smbgatewayd --bench-cycles $cycles failed"
        declare -A D=()
        for kv in ${line#bench: }; do D[${kv%%=*}]=${kv#*=}; done
        add_row "daemon RSS after $cycles cycles x $N_QSHARES shares" KiB max 20480 "${D[rss_kib]}" "${D[rss_kib]}"
        add_row "daemon CPU per cycle ($cycles cycles), own + children" ms info - \
            "$(calc "${D[cpu_ms_per_cycle]} + ${D[cpu_children_ms_per_cycle]}")" "$(median "${base[@]}")"
        QUOTA_NOTES+=("daemon, $cycles cycles: ${D[wall_ms_per_cycle]} ms wall per cycle, ${D[cpu_ms_per_cycle]} ms own CPU + ${D[cpu_children_ms_per_cycle]} ms in btrfs per cycle, RSS ${D[rss_kib]} KiB (peak ${D[rss_peak_kib]})")
    done
    BASELINE_NOTES+=("daemon RSS: no baseline (the target is the issue's 20 MB); daemon CPU: beside the wall time of the same $N_QSHARES x (sync + qgroup show) by hand")

    log "quota phase done; stopping its smbd"
    gw "$GW3" "$P_GWC" stop >/dev/null
}

if [[ -n $LOOPDEV ]]; then
    phase_quota_overshoot
    phase_quota_status
else
    log "warning: no btrfs volume; the quota figures are skipped"
    QUOTA_NOTES+=("quota figures SKIPPED: no loop-backed btrfs volume (see the filesystem line above)")
fi

# ============================================================================================
# Phase 5: the Perl side -- bridge round trip, REST API list, RSS over many bridge calls
# ============================================================================================
PERL_NOTES=()

# A sandbox for the bridge: N shares written straight into ROOT/config/shares.cfg (the mix of
# phase 1; list reads the config only, so no smbd and no share directories are needed).
# ROOT/config/shares.cfg with N shares (the mix of share_attrs) whose directories are DIR/<name>.
shares_cfg() {
    local root=$1 n=$2 dirs=$3 i
    mkdir -p "$root/config"
    {
        for ((i = 1; i <= n; i++)); do
            share_attrs "$i"
            ((i > 1)) && printf '\n'
            printf 'share: %s\n\tmode native\n\tpath %s\n' "$SA_NAME" "$dirs/$SA_NAME"
            [[ -n $SA_COMMENT ]] && printf '\tcomment %s\n' "$SA_COMMENT"
            ((SA_RO)) && printf '\tread-only 1\n'
            printf '\tusers %s\n' "$USER_NAME"
        done
    } >"$root/config/shares.cfg"
}

perl_sandbox() {
    shares_cfg "$1" "$2" "$WORK/perl/shares"
}

# scripts/bench/perl-bridge.pl MODE ARGS in sandbox ROOT; its "KEY VALUES..." lines into PB.
declare -A PB
perl_bench() {
    local root=$1 out key vals
    shift
    out=$(PVE_SMBGW_ROOT=$root PVE_RS_SMBGW_SO=$SO PERL5LIB=$HERE/../perl:$HERE/../t/lib \
        PVE_STANDIN_TASK_DIR=$WORK/perl/tasks perl "$HERE/bench/perl-bridge.pl" "$@")
    while read -r key vals; do PB[$key]=$vals; done <<<"$out"
}

# shellcheck disable=SC2086 # the sample lists in PB are split into words on purpose
phase_perl() {
    local P10=$WORK/perl/root10 P1K=$WORK/perl/root1k r ours=() base=() cli=() v
    local rss_loaded rss_before rss_mid rss_after rss_err t0 t1 tn
    perl_sandbox "$P10" "$N_BRIDGE_SHARES"
    perl_sandbox "$P1K" "$N_SHARES"

    log "perl bridge: list_shares() of $N_BRIDGE_SHARES shares, $N_BRIDGE batches x $N_BRIDGE_CALLS calls in one perl process; by hand: open + regex parse of shares.cfg"
    perl_bench "$P10" bridge "$N_BRIDGE" "$N_BRIDGE_CALLS"
    [[ ${PB[shares]} == "$N_BRIDGE_SHARES" ]] || die "list_shares returned ${PB[shares]} shares, expected $N_BRIDGE_SHARES"
    add_row "bridge list_shares(), $N_BRIDGE_SHARES shares (per call)" us max 50 "${PB[bridge_us]}" "${PB[hand_us]}"
    BASELINE_NOTES+=("bridge list_shares(): in the same perl process, shares.cfg read and parsed by hand per call (open, a line loop with two regexes, one hash per share, no defaults or checks); both see the same $N_BRIDGE_SHARES shares (checked); batches interleaved, per-call time of each batch")
    PERL_NOTES+=("list_shares() of $N_BRIDGE_SHARES shares, $(fmt_num "$(median ${PB[bridge_us]})") us = the XS call _call('list') $(fmt_num "$(median ${PB[call_us]})") us (Rust: read, parse and check shares.cfg, JSON out, ${PB[json_bytes]} bytes) + JSON::PP decode of that string in Perl $(fmt_num "$(median ${PB[decode_us]})") us (the decoder PVE/RS/SMBGateway.pm uses, timed alone) + the JSON::PP encode of the arguments")
    read -r t0 t1 tn <<<"${PB[rss_timed_kib]}"
    PERL_NOTES+=("RSS of that process around its $tn timed list_shares() calls (JSON::PP included): $t0 KiB before, $t1 KiB after")

    log "perl API: GET /nodes/pve1/smbgateway/shares with $N_SHARES shares through PVE::APIStandin::call_api, $N_API runs; beside: list_shares() alone"
    perl_bench "$P1K" api "$N_API"
    [[ ${PB[shares]} == "$N_SHARES" ]] || die "the API returned ${PB[shares]} shares, expected $N_SHARES"
    for ((r = 0; r < N_API; r++)); do
        tick
        gw "$P1K" "$P_GW1" list --output-format json >/dev/null
        tock
        cli+=("$(calc "$ELAPSED_US/1000")")
    done
    add_row "API GET .../shares (Perl handler), 1,000 shares" ms max 30 "${PB[api_ms]}" "${PB[bridge_ms]}"
    BASELINE_NOTES+=("API list: PVE::RS::SMBGateway::list_shares() alone in the same process, so the ratio is the Perl API layer's share (authentication, permission check of root@pam, parameter validation, handler); the API side stops at the handler's Perl data (no HTTP, no JSON encoding of the response as pveproxy would do)")
    PERL_NOTES+=("$N_SHARES shares: API $(fmt_num "$(median ${PB[api_ms]})") ms, list_shares() $(fmt_num "$(median ${PB[bridge_ms]})") ms = _call('list') $(fmt_num "$(median ${PB[call_ms]})") ms (${PB[json_bytes]} bytes of JSON) + JSON::PP decode $(fmt_num "$(median ${PB[decode_ms]})") ms; shares.cfg parsed by hand in Perl: $(fmt_num "$(median ${PB[hand_ms]})") ms; 'pve-smbgateway list --output-format json' as a process on the same sandbox: $(fmt_num "$(median "${cli[@]}")") ms")
    PERL_NOTES+=("the API layer around a method that does nothing (GET /nodes/pve1/smbgateway, the directory index): $(fmt_num "$(median ${PB[index_us]})") us per call")

    log "perl RSS: $N_RSS_CALLS bridge calls (_call('list'), $N_BRIDGE_SHARES shares) in one perl process"
    perl_bench "$P10" rss "$N_RSS_CALLS"
    read -r rss_loaded rss_before rss_mid rss_after rss_err <<<"${PB[rss_kib]}"
    for v in "$rss_loaded" "$rss_before" "$rss_mid" "$rss_after" "$rss_err"; do
        [[ $v =~ ^[0-9]+$ ]] || die "unexpected RSS figures: ${PB[rss_kib]}"
    done
    add_row "perl RSS after $((N_RSS_CALLS / 1000))k bridge calls vs before" KiB info - "$rss_after" "$rss_before"
    BASELINE_NOTES+=("perl RSS: VmRSS of the same perl process before the $N_RSS_CALLS calls (after loading and 1,000 warm-up calls); the calls are the XS round trip of list_shares() without the pure-Perl JSON::PP around it (_call('list', '{}'): argument string in, ${N_BRIDGE_SHARES}-share JSON out), what crosses the Rust/Perl boundary")
    PERL_NOTES+=("RSS (KiB): $rss_loaded after loading the bridge, $rss_before after 1,000 calls, $rss_mid after $((N_RSS_CALLS / 2)) more, $rss_after after $N_RSS_CALLS ($(((rss_after - rss_before) * 1024 / N_RSS_CALLS)) bytes per call), $rss_err after 1,000 more calls that die (show of a missing share); the $N_RSS_CALLS calls took $(cut -d' ' -f2 <<<"${PB[rss_calls]}") s")
}
phase_perl
# Samba's own load tools, the soak and the scale of the control plane (scripts/bench/*.sh)
source "$HERE/bench/smbtorture.sh" && phase_smbtorture
source "$HERE/bench/soak.sh" && phase_soak
source "$HERE/bench/scale.sh" && phase_scale
# the retention and schedules of scheduled snapshots (scripts/bench/prune.sh)
source "$HERE/bench/prune.sh" && phase_prune
source "$HERE/bench/snapshots.sh" && phase_snapshots
source "$HERE/bench/import.sh" && phase_import

# ---- Active Directory ------------------------------------------------------------------------
# A real DC and member in network namespaces: the AD integration test measures in bench mode
# (crates/cli/tests/ad.rs, SMBGW_AD_BENCH) and writes label|ours|baseline lines.
# Run integration test TEST in bench mode (it writes label|ours|baseline lines, in ms, to the file
# named by VAR) and add a row per line.
bench_test() {
    local test=$1 var=$2 out=$WORK/$1-bench.txt label ours base
    (cd "$HERE/.." && env "$var=$out" cargo test --release --locked -q -p pve-smbgateway --test "$test" >"$WORK/$test-bench.log" 2>&1) ||
        die "the $test bench failed: $(tail -20 "$WORK/$test-bench.log")"
    while IFS='|' read -r label ours base; do
        add_row "$label" ms info - "$ours" "$base"
    done <"$out"
}

phase_ad() {
    log "active directory: DC + member in network namespaces (the ad integration test in bench mode)"
    bench_test ad SMBGW_AD_BENCH
    BASELINE_NOTES+=("ad-join: by hand with the same smb.conf and krb5.conf: 'net ads join' (password on a pipe), 'winbindd -D', 'wbinfo -t' polled until it succeeds; ours adds the preflight (DNS SRV, DC ports, clock), testparm, writing the config and restarting smbd")
    BASELINE_NOTES+=("ad-status: reading ad.json + pidof winbindd by hand; ad-status --check: 'wbinfo --ping-dc' + 'net ads testjoin' by hand (ours also reads the clock skew with 'net ads info' and records the result)")
}
phase_ad

# ---- LXC placement ---------------------------------------------------------------------------
# A real unprivileged container from the gateway template (the lxc integration test in bench mode,
# crates/cli/tests/lxc.rs, SMBGW_LXC_BENCH).
phase_lxc() {
    log "lxc: create --mode lxc until SMB answers, beside pct create + start by hand until smbd answers"
    bench_test lxc SMBGW_LXC_BENCH
    BASELINE_NOTES+=("lxc: by hand, 'pct create' of the same template with the same net0 and mp0 + 'pct start', until the template's smbd answers on port 445 (its default config, no share); ours adds the validation, the id mapping, the users' import, the share's configuration, testparm and a restart of smbd")
}
phase_lxc

# ---- high availability -----------------------------------------------------------------------
# A real 3-node CTDB + corosync cluster with smbd in network namespaces (crates/ha/tests in bench
# mode, SMBGW_HA_BENCH): failover times with our tunables and lock beside CTDB's defaults.
phase_ha() {
    local out=$WORK/ha-bench.txt label ours base
    log "ha: failover figures, ours (KeepaliveInterval=1, KeepaliveLimit=3, corosync lock) beside CTDB's defaults"
    # each run of the five events takes about 5 min (ours 1.7, CTDB's defaults 3.5)
    (cd "$HERE/.." && SMBGW_HA_BENCH=$out SMBGW_HA_BENCH_RUNS=$((QUICK ? 1 : 3)) \
        cargo test --release --locked -q -p smbgw-ha --test smb >"$WORK/ha-bench.log" 2>&1) ||
        die "the HA bench failed: $(tail -20 "$WORK/ha-bench.log")"
    while IFS='|' read -r label ours base; do
        add_row "$label" ms info - "$ours" "$base"
    done <"$out"
    BASELINE_NOTES+=("ha: the same events on the same cluster with CTDB's defaults (KeepaliveInterval=5, KeepaliveLimit=5) and an fcntl lock file on a local directory, as CTDB is commonly set up; a partitioned leader never fails over there (the figure is the time waited)")
}
phase_ha

# HA with the shares on a real CephFS (crates/ha/tests/cephfs_failover.rs in bench mode, one test
# at a time so two labs never share the 2 cores): the crash of the VIP holder and the death of the
# whole node, whose CephFS client the leader fences (the crash tests); then, on one lab
# (failover_figures_on_cephfs_bench), a planned move (ha-failover), the leader cut off beside
# corosync's own membership change seen by a survivor in the same event, and kill -9 of the
# active MDS with Ceph's mds_beacon_grace and with 10 s, beside Ceph reporting the standby active.
# A client writes through the VIP in every event; every acknowledged write must read back.
# Rows come as label|ours|baseline[|target ms]; a target makes the row a "<= target" check.
phase_ha_cephfs() {
    local out=$WORK/ha-cephfs-bench.txt label ours base target
    log "ha on cephfs: crash and death of the VIP holder, planned move, leader cut off (beside corosync), kill -9 of the active MDS; 3 nodes with their own ceph-fuse mounts"
    (cd "$HERE/.." && SMBGW_HA_BENCH=$out SMBGW_HA_BENCH_RUNS=$((QUICK ? 1 : 3)) \
        cargo test --release --locked -q -p smbgw-ha --test cephfs_failover -- --test-threads=1 --nocapture \
        acknowledged_writes_survive_a failover_figures_on_cephfs_bench >"$WORK/ha-cephfs-bench.log" 2>&1) ||
        die "the HA-on-CephFS bench failed: $(tail -20 "$WORK/ha-cephfs-bench.log")"
    while IFS='|' read -r label ours base target; do
        if [[ -n $target ]]; then
            add_row "$label" ms max "$target" "$ours" "$base"
        else
            add_row "$label" ms info - "$ours" "$base"
        fi
    done <"$out"
    BASELINE_NOTES+=("ha on cephfs, crash and node death: no baseline (0); target: the VIP answers within 4 s of the crash. Without fencing, writes after a node death wait for the MDS session timeout (60 s by default; 61 s measured before fencing existed)")
    BASELINE_NOTES+=("ha on cephfs, leader cut off (its link to the other nodes down; its CephFS link stays up, so its client is fenced by the new leader): baseline = the time until a survivor's 'corosync-quorumtool -l -p' no longer lists it, polled every 10 ms in the same event -- the safe limit, as the cut-off leader must lose the cluster lock first; target: the VIP answers within 1.5 s of it (the row 'after the membership change' = VIP time minus membership time of the same event). The corosync token is 1000 ms here (PVE's default 3000 ms lengthens both)")
    BASELINE_NOTES+=("ha on cephfs, planned move: no baseline (0); 'ha-failover' run by the CLI on the holder, the clock starts before it")
    BASELINE_NOTES+=("ha on cephfs, kill -9 of the active MDS (no HA node dies: the fixture runs the MDS daemons in its own netns): baseline = 'ceph mds stat' naming another MDS active (polled ~every 0.1 s plus the CLI's own latency, so it can come after the first write), which SMB cannot beat. The stall is the mon's failure detection: an MDS is replaced when its last beacon is older than mds_beacon_grace (default 15 s), checked at each mon tick (5 s). The admin can shorten it with 'ceph config set global mds_beacon_grace 10' (the second row; 9-14.5 s against 15-19 s in the runs made while writing this bench); unless grace - mds_beacon_interval (4 s) > mon_tick_interval (5 s), i.e. with a grace of 9 s or less, the mon resets every beacon at each tick and never replaces a dead MDS (8 s measured: writes hung past 90 s). After detection the standby needs < 1 s (replay, reconnect, rejoin), unless a client does not reconnect: then it waits mds_reconnect_timeout (45 s) and evicts it -- seen once in each run of 2-3 rounds while writing this bench (the first kill of round 2; once evicted they no longer delay the later ones), for two idle clients from the daemons' own netns that are none of the test's mounts (most likely the mgr's volumes module: the fixture makes the fs with 'ceph fs volume create'; the test prints the MDS's 'evicting unresponsive client' lines into ha-cephfs-bench.log), 61-66 s in all. 'allow_standby_replay' would shorten only the replay. The gateway changes none of these")
}
phase_ha_cephfs

# ============================================================================================
# report
# ============================================================================================
log "done; report on stdout"
{
    echo
    echo "pve-smbgateway bench -- $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -n), $(nproc) CPUs, Samba $SAMBA_VERSION, $("$BIN" --version)"
    ((QUICK)) && echo "BENCH_QUICK=1: fewer runs and smaller transfers; the figures are indicative only"
    echo "load average: $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end (other work on this machine shows up as noise)"
    echo "disk under the sandboxes: $(df --output=fstype "$WORK" | tail -1), one 4 KiB write + fsync takes $(fmt_num "$FSYNC_MS") ms (dd conv=fsync, mean of 100)"
    echo "medians: list of $N_LIST runs, apply of $N_APPLY, create of $N_CREATE, throughput of $RUNS, quota overshoot of $N_QUOTA, quota-status of $N_QSTATUS, quota-sample of $N_QSAMPLE, bridge of $N_BRIDGE batches x $N_BRIDGE_CALLS calls, API list of $N_API; filesystem: $FS_NOTE"
    echo "RATIO = ours / baseline (times: lower is better; rates: higher is better)"
    echo
    printf '%-54s %12s %12s %8s %-18s %s\n' FIGURE OURS BASELINE RATIO TARGET RESULT
    for i in "${!ROW_LABEL[@]}"; do
        ours=${ROW_OURS[$i]} base=${ROW_BASE[$i]} unit=${ROW_UNIT[$i]} target=${ROW_TARGET[$i]}
        # the ratio as printed (2 decimals) is what is compared, so the table agrees with itself
        # (no ratio against a baseline of 0, e.g. no overshoot at all)
        ratio=$(awk -v o="$ours" -v b="$base" 'BEGIN {if (b == 0) print "-"; else printf "%.2f", o / b}')
        ratio_text=$ratio
        [[ $ratio == - ]] || ratio_text=${ratio}x
        result=met
        case ${ROW_KIND[$i]} in
        max)
            target_text="<= $target $unit"
            ok=$(calc "($ours <= $target) ? 1 : 0")
            ;;
        ratio)
            target_text=">= ${target}x baseline"
            ok=0
            [[ $ratio == - ]] || ok=$(calc "($ratio >= $target) ? 1 : 0")
            ;;
        min)
            target_text=">= $target $unit"
            ok=$(calc "($ours >= $target) ? 1 : 0")
            ;;
        *)
            target_text="(none)" ok=1 result=-
            ;;
        esac
        ((ok)) || result=MISSED
        printf '%-54s %12s %12s %8s %-18s %s\n' "${ROW_LABEL[$i]}" "$(fmt_num "$ours") $unit" \
            "$(fmt_num "$base") $unit" "$ratio_text" "$target_text" "$result"
    done
    echo
    echo "Baselines (same run, same machine):"
    for note in "${BASELINE_NOTES[@]}"; do echo "  - $note"; done
    echo "  (issue reference, another machine: stock ~460 MB/s put, ~770 MB/s get, ~730 small files/s)"
    if ((${#QUOTA_NOTES[@]})); then
        echo
        echo "Quota details (same run):"
        for note in "${QUOTA_NOTES[@]}"; do echo "  - $note"; done
    fi
    if ((${#SOAK_NOTES[@]})); then
        echo
        echo "Soak details (same run):"
        for note in "${SOAK_NOTES[@]}"; do echo "  - $note"; done
    fi
    if ((${#SCALE_NOTES[@]})); then
        echo
        echo "Scale of the control plane (same run; per share = time / shares, so a flat row is linear):"
        for note in "${SCALE_NOTES[@]}"; do echo "  $note"; done
    fi
    echo
    echo "Perl bridge details (same run):"
    for note in "${PERL_NOTES[@]}"; do echo "  - $note"; done
    echo
    echo "Samples:"
    for i in "${!ROW_LABEL[@]}"; do
        printf '  %s [%s]\n    %s\n' "${ROW_LABEL[$i]}" "${ROW_UNIT[$i]}" \
            "$(sed -E 's/([0-9]+\.[0-9])[0-9]*/\1/g; s/  +/ /g' <<<"${ROW_SAMPLES[$i]}")"
    done
}
exit 0
