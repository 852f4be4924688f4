# Sourced by scripts/bench.sh (its helpers and variables, the loop-backed btrfs at $MNT): share
# snapshots. `snapshot create` and `snapshot delete` (the prune's step) on a share holding
# 100,000 files beside `btrfs subvolume snapshot -r` / `btrfs subvolume delete` of the same
# subvolume by hand; one daemon round that takes the share's scheduled snapshot and prunes one
# (`pve-smbgatewayd --once --now`); and the daemon's CPU per cycle with 100 shares that have a
# schedule (none due: the scheduling decision) beside the same 100 shares without one.

SNAP_DIRS=100    # the 100,000-file share: this many directories ...
SNAP_FILES=1000  # ... of this many files (4 bytes each)
SNAP_SHARES=100  # scheduled shares for the daemon's cycle

phase_snapshots() {
    if [[ -z $LOOPDEV ]]; then
        BASELINE_NOTES+=("snapshots SKIPPED: no loop-backed btrfs")
        return 0
    fi
    local root=$WORK/gwsnap share=$MNT/snapfiles r n=$((QUICK ? 3 : 7)) name t0 i line kv
    local ours_c=() base_c=() ours_d=() base_d=()
    GW_ROOTS+=("$root")
    log "snapshots: a btrfs share of $((SNAP_DIRS * SNAP_FILES)) files; create and delete, $n runs each, beside the btrfs tool"
    printf '%s\n' "$PASSWORD" | gw "$root" "$P_GW1" user add "$USER_NAME" --password-stdin >/dev/null
    gw "$root" "$P_GW1" create snapfiles --path "$share" --users "$USER_NAME" --shadow-copies 1 \
        --snapshot-schedule hourly --snapshot-keep keep-last=1 >/dev/null
    python3 - "$share" "$SNAP_DIRS" "$SNAP_FILES" <<'EOF'
import os, sys
root, dirs, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    path = os.path.join(root, f"d{d}")
    os.mkdir(path)
    for f in range(files):
        fd = os.open(os.path.join(path, f"f{f}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"data")
        os.close(fd)
EOF
    sync
    for ((r = 0; r < n; r++)); do
        # a second apart: one snapshot per second
        sleep 1
        tick
        gw "$root" "$P_GW1" snapshot create snapfiles >/dev/null
        tock
        ours_c+=("$(calc "$ELAPSED_US/1000")")
        name=$(ls "$share/.snapshots" | tail -1)
        tick
        gw "$root" "$P_GW1" snapshot delete snapfiles "$name" >/dev/null
        tock
        ours_d+=("$(calc "$ELAPSED_US/1000")")
        [[ ! -e $share/.snapshots/$name ]] || die "snapshot delete left $share/.snapshots/$name"
        tick
        btrfs -q subvolume snapshot -r "$share" "$share/.snapshots/by-hand" >/dev/null
        tock
        base_c+=("$(calc "$ELAPSED_US/1000")")
        tick
        btrfs -q subvolume delete "$share/.snapshots/by-hand" >/dev/null
        tock
        base_d+=("$(calc "$ELAPSED_US/1000")")
    done
    add_row "snapshot create, share of 100,000 files" ms info - "${ours_c[*]}" "${base_c[*]}"
    add_row "snapshot delete (prune step), share of 100,000 files" ms info - "${ours_d[*]}" "${base_d[*]}"
    BASELINE_NOTES+=("snapshot create/delete: 'btrfs subvolume snapshot -r' / 'btrfs subvolume delete' of the same subvolume by hand; ours is the CLI run (config read, the snapshot through the handles of the share and its .snapshots, its UUID checked and recorded, the journal)")

    # a daemon round with the schedule due: one snapshot taken, keep-last=1 prunes the previous one
    t0=$(date +%s)
    PVE_SMBGW_ROOT=$root PVE_SMBGW_SMB_PORT=$P_GW1 PVE_SMBGW_BIND=127.0.0.1 "$DAEMON" --once --now "$t0" >/dev/null 2>&1
    local rounds=()
    for ((r = 1; r <= n; r++)); do
        tick
        PVE_SMBGW_ROOT=$root PVE_SMBGW_SMB_PORT=$P_GW1 PVE_SMBGW_BIND=127.0.0.1 TZ=UTC \
            "$DAEMON" --once --now $((t0 + r * 3600)) >/dev/null 2>&1 || die "pve-smbgatewayd --once --now failed"
        tock
        rounds+=("$(calc "$ELAPSED_US/1000")")
    done
    [[ $(gw "$root" "$P_GW1" snapshot list snapfiles --output-format json | grep -o '"kind":"scheduled"' | wc -l) == 1 ]] ||
        die "keep-last=1 did not leave one scheduled snapshot"
    BASELINE_NOTES+=("snapshots: one daemon round (pve-smbgatewayd --once: quota sample, schedule, health checks) taking the due snapshot of the 100,000-file share and pruning the previous one: median $(fmt_num "$(median "${rounds[@]}")") ms over $n rounds")
    gw "$root" "$P_GW1" stop >/dev/null

    # the daemon's cycle with SNAP_SHARES shares, scheduled (none due) or not
    local -A cpu=()
    for kind in plain scheduled; do
        root=$WORK/gwsched-$kind
        GW_ROOTS+=("$root")
        mkdir -p "$root/config" "$MNT/sched-$kind"
        {
            for ((i = 1; i <= SNAP_SHARES; i++)); do
                printf -v name 's%04d' "$i"
                btrfs -q subvolume create "$MNT/sched-$kind/$name" >&2
                ((i > 1)) && printf '\n'
                printf 'share: %s\n\tmode native\n\tpath %s\n\tquota-backend btrfs\n' "$name" "$MNT/sched-$kind/$name"
                [[ $kind == scheduled ]] && printf '\tsnapshot-schedule mon..fri 08..18:00\n\tsnapshot-keep keep-hourly=24,keep-daily=7\n'
            done
        } >"$root/config/shares.cfg"
        # the schedules start counting at the first round; none is due in the cycles after it
        PVE_SMBGW_ROOT=$root PVE_SMBGW_SMB_PORT=$P_GW1 PVE_SMBGW_BIND=127.0.0.1 "$DAEMON" --once >/dev/null 2>&1 || true
        local samples=()
        for ((r = 0; r < n; r++)); do
            line=$(PVE_SMBGW_ROOT=$root PVE_SMBGW_SMB_PORT=$P_GW1 PVE_SMBGW_BIND=127.0.0.1 "$DAEMON" --bench-cycles 20 2>/dev/null |
                grep '^bench:') || die "pve-smbgatewayd --bench-cycles with $SNAP_SHARES $kind shares failed"
            local -A D=()
            for kv in ${line#bench: }; do D[${kv%%=*}]=${kv#*=}; done
            samples+=("$(calc "${D[cpu_ms_per_cycle]} + ${D[cpu_children_ms_per_cycle]}")")
        done
        cpu[$kind]="${samples[*]}"
    done
    add_row "daemon CPU per cycle, $SNAP_SHARES scheduled shares" ms info - "${cpu[scheduled]}" "${cpu[plain]}"
    BASELINE_NOTES+=("daemon cycle with schedules: pve-smbgatewayd --bench-cycles 20 (share list, quota sample, snapshot schedules; CPU of the daemon and its programs per cycle) over $SNAP_SHARES btrfs shares with 'snapshot-schedule mon..fri 08..18:00' (none due) beside the same $SNAP_SHARES shares without a schedule")
    rm -rf "$WORK/gwsched-plain" "$WORK/gwsched-scheduled"
    btrfs -q subvolume delete "$MNT"/sched-*/s* >/dev/null 2>&1 || true
}
