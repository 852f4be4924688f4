# Sourced by scripts/bench.sh (its helpers and variables): shares on CephFS, measured on a real
# Ceph cluster started here (t/bin/smbgw-ceph-cluster, the one the CephFS tests use; cached under
# ~/.cache/pve-smbgateway/ceph).
#
#   - SMB put/get of a gateway share on CephFS through the node's ceph-fuse mount (the gateway's
#     way: Previous Versions work there) beside a stock smbd serving the same CephFS through
#     vfs_ceph (libcephfs in smbd, no mount), and beside the gateway share on local btrfs
#     measured in phase 3 of the same run
#   - `apply` of 1,000 shares on CephFS beside the 1,000 local shares of phase 1
#
# Everything runs in one network namespace on the cluster's bridge (smbd, ceph-fuse and
# smbclient over that namespace's loopback), so both servers talk to the same Ceph daemons
# through the same path. Nothing outside $WORK and that namespace is touched.

CEPH_SCRIPT=$HERE/../t/bin/smbgw-ceph-cluster
CEPH_DIR=$WORK/ceph
CEPH_NS=smbgwbench-$$
CEPH_MNT=$WORK/cephfs

# the gateway CLI and Samba's tools inside the bench's namespace
in_ns() { nsenter --net="/run/netns/$CEPH_NS" "$@"; }
smb_ns() {
    local port=$1 share=$2 cmds=$3 rc=0
    SMB_OUT=$(in_ns smbclient -s "$CLIENT_CONF" "//127.0.0.1/$share" -p "$port" -U "$USER_NAME%$PASSWORD" -c "$cmds" 2>&1) || rc=$?
    ((rc == 0)) && [[ $SMB_OUT != *NT_STATUS_* ]]
}
wait_share_ns() {
    local deadline=$((${EPOCHREALTIME%.*} + SMB_WAIT_S))
    until smb_ns "$1" "$2" ls; do
        ((${EPOCHREALTIME%.*} < deadline)) || die "share $2 on port $1 (netns $CEPH_NS) did not answer within ${SMB_WAIT_S}s: $SMB_OUT"
    done
}

cephfs_cleanup() {
    # also called from the bench's exit trap: every step is tried, none stops the others
    if [[ -d $WORK/gwceph ]]; then in_ns env PVE_SMBGW_ROOT="$WORK/gwceph" "$BIN" stop >/dev/null 2>&1 || true; fi
    if [[ -d $WORK/stockceph/pid ]]; then kill_smbd_in "$WORK/stockceph/pid" || true; fi
    if mountpoint -q "$CEPH_MNT"; then umount "$CEPH_MNT" 2>/dev/null || umount -l "$CEPH_MNT" || true; fi
    if [[ -d $CEPH_DIR ]]; then
        SMBGW_CEPH_DIR=$CEPH_DIR SMBGW_CEPH_NETNS=$CEPH_NS-c "$CEPH_SCRIPT" stop >/dev/null 2>&1 || true
    fi
    ip netns del "$CEPH_NS" 2>/dev/null || true
}

phase_cephfs() {
    local port=4445 stock_port=4446 conf r s put get
    for tool in ceph-mon ceph-osd ceph-mds ceph-mgr ceph-fuse nsenter; do
        command -v "$tool" >/dev/null || die "$tool is missing; run scripts/install-deps.sh"
    done
    log "cephfs: a real Ceph cluster (1 mon, 1 mgr, 2 OSDs, MDS + standby) from the cache"
    tick
    SMBGW_CEPH_DIR=$CEPH_DIR SMBGW_CEPH_NETNS=$CEPH_NS-c "$CEPH_SCRIPT" start >"$WORK/ceph-start.log" 2>&1 ||
        die "the Ceph cluster did not start: $(tail -5 "$WORK/ceph-start.log")"
    tock
    CEPH_START_S=$(calc "$ELAPSED_US/1000000")
    conf=$CEPH_DIR/ceph.conf
    ip netns add "$CEPH_NS"
    ip -n "$CEPH_NS" link set lo up
    SMBGW_CEPH_DIR=$CEPH_DIR SMBGW_CEPH_NETNS=$CEPH_NS-c "$CEPH_SCRIPT" attach "$CEPH_NS" >/dev/null
    mkdir -p "$CEPH_MNT"
    # its own session: smbd's process-group kill on exit must not reach it
    in_ns setsid ceph-fuse -c "$conf" --id admin "$CEPH_MNT" >"$WORK/ceph-fuse.log" 2>&1 ||
        die "ceph-fuse failed: $(tail -3 "$WORK/ceph-fuse.log")"
    mkdir -p "$CEPH_MNT/smbgateway" "$CEPH_MNT/vfs"
    chown "$USER_UID" "$CEPH_MNT/vfs"

    # the gateway's share on the mount, and a stock smbd with vfs_ceph on the same filesystem
    local gwc=$WORK/gwceph st=$WORK/stockceph
    GW_ROOTS+=("$gwc")
    gwn() { in_ns env PVE_SMBGW_ROOT="$gwc" PVE_SMBGW_SMB_PORT=$port PVE_SMBGW_BIND=127.0.0.1 "$BIN" "$@"; }
    printf '%s\n' "$PASSWORD" | gwn user add "$USER_NAME" --password-stdin >/dev/null
    gwn create cbench --path "$CEPH_MNT/smbgateway/cbench" --users "$USER_NAME" >/dev/null
    stock_init "$st" "$stock_port"
    printf '[cbench]\n\tpath = /vfs\n\tvfs objects = ceph\n\tceph:config_file = %s\n\tceph:user_id = admin\n\tkernel share modes = no\n\tposix locking = no\n\tread only = no\n' \
        "$conf" >>"$st/smb.conf"
    in_ns env LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$ACCOUNTS/passwd" NSS_WRAPPER_GROUP="$ACCOUNTS/group" \
        setsid smbd -D -s "$st/smb.conf"
    wait_share_ns "$port" cbench
    wait_share_ns "$stock_port" cbench
    port_ns() { if [[ $1 == gw ]]; then echo "$port"; else echo "$stock_port"; fi; }
    dir_of() { if [[ $1 == gw ]]; then echo "$CEPH_MNT/smbgateway/cbench"; else echo "$CEPH_MNT/vfs"; fi; }

    for s in gw stock; do
        smb_ns "$(port_ns "$s")" cbench "put $WORK/data/big.bin warm.bin; get warm.bin $WORK/data/back.bin" ||
            die "warm-up on CephFS through $s failed: $SMB_OUT"
        cmp -s "$WORK/data/big.bin" "$WORK/data/back.bin" || die "CephFS round trip through $s changed the bytes"
        cmp -s "$WORK/data/big.bin" "$(dir_of "$s")/warm.bin" || die "CephFS put through $s did not store the same bytes"
        rm -f "$(dir_of "$s")/warm.bin" "$WORK/data/back.bin"
    done

    local -A CPUT CGET
    CPUT[gw]= CPUT[stock]= CGET[gw]= CGET[stock]=
    log "cephfs: put and get ${BIG_MIB} MiB, $RUNS runs per server, order alternating"
    for ((r = 0; r < RUNS; r++)); do
        for s in $(order "$r"); do
            rm -f "$(dir_of "$s")/put.bin"
            tick
            smb_ns "$(port_ns "$s")" cbench "put $WORK/data/big.bin put.bin" || die "CephFS put through $s failed: $SMB_OUT"
            tock
            put=$(calc "$BIG_BYTES/$ELAPSED_US")
            CPUT[$s]+="$put "
            tick
            smb_ns "$(port_ns "$s")" cbench "get put.bin /dev/null" || die "CephFS get through $s failed: $SMB_OUT"
            tock
            [[ $SMB_OUT == *"of size $BIG_BYTES as"* ]] || die "CephFS get through $s: unexpected smbclient output: $SMB_OUT"
            get=$(calc "$BIG_BYTES/$ELAPSED_US")
            CGET[$s]+="$get "
            log "  run $((r + 1)) $s: put $put MB/s, get $get MB/s"
        done
    done
    rm -f "$CEPH_MNT/vfs/put.bin" "$CEPH_MNT/smbgateway/cbench/put.bin"
    add_row "CephFS SMB put $GB_LABEL, ceph-fuse mount vs vfs_ceph" MB/s info - "${CPUT[gw]}" "${CPUT[stock]}"
    add_row "CephFS SMB get $GB_LABEL, ceph-fuse mount vs vfs_ceph" MB/s info - "${CGET[gw]}" "${CGET[stock]}"
    add_row "SMB put $GB_LABEL, CephFS (ceph-fuse) vs local btrfs" MB/s info - "${CPUT[gw]}" "${PUT[gw]}"
    add_row "SMB get $GB_LABEL, CephFS (ceph-fuse) vs local btrfs" MB/s info - "${CGET[gw]}" "${GET[gw]}"
    BASELINE_NOTES+=("cephfs: a real cluster on this machine (1 mon, 1 mgr, 2 bluestore OSDs on sparse files, 1 copy; started from the cache in $(fmt_num "$CEPH_START_S") s); ours = the gateway's share on the node's ceph-fuse mount, baseline = a stock smbd serving the same CephFS with vfs_ceph (libcephfs, 'kernel share modes = no', 'posix locking = no', as Samba documents for vfs_ceph), both in one network namespace over its loopback, order alternating; the btrfs rows compare with phase 3's gateway figures of this run")

    # apply of 1,000 shares on CephFS (their directories made beforehand, as in phase 1)
    log "cephfs: apply of $N_SHARES shares on CephFS, $N_APPLY cold runs, beside phase 1's local ones"
    (
        cd "$CEPH_MNT/smbgateway"
        eval "mkdir -m 0770 share{0001..$(printf '%04d' "$N_SHARES")}"
    )
    gwn stop >/dev/null
    {
        for ((i = 1; i <= N_SHARES; i++)); do
            share_attrs "$i"
            ((i > 1)) && printf '\n'
            printf 'share: %s\n\tmode native\n\tpath %s\n\tquota-backend cephfs\n\tusers %s\n' \
                "$SA_NAME" "$CEPH_MNT/smbgateway/$SA_NAME" "$USER_NAME"
        done
    } >"$gwc/config/shares.cfg"
    local ceph_cold=()
    for ((r = 0; r < N_APPLY; r++)); do
        rm -rf "$gwc/samba/shares.d" "$gwc/samba/smb.conf"
        tick
        gwn apply >/dev/null
        tock
        ceph_cold+=("$(calc "$ELAPSED_US/1000")")
        n=$(find "$gwc/samba/shares.d" -name '*.conf' | wc -l)
        [[ $n == "$N_SHARES" ]] || die "apply on CephFS wrote $n share includes, expected $N_SHARES"
    done
    add_row "apply, 1,000 shares on CephFS vs on local disk" ms info - "${ceph_cold[*]}" "$APPLY_COLD_SAMPLES"
    gwn stop >/dev/null
    cephfs_cleanup
}
