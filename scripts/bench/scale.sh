# Sourced by scripts/bench.sh (its helpers and variables, perl_sandbox/perl_bench of the Perl
# phase): how the control plane grows with the number of shares. `list`, `apply` (from no
# generated files, and a no-op re-run) and the REST API's GET of the share list (the Perl handler
# through scripts/bench/perl-bridge.pl) at 100, 1,000 and 10,000 shares, and the daemon's sampling
# cycle (pve-smbgatewayd --bench-cycles) with 100 and 1,000 quota shares on the bench's btrfs.
# Printed as a growth table, time per share at each size: a flat row is linear, a falling one
# better. A step that takes longer than SCALE_STEP_MAX_S is run once and said so.

SCALE_SIZES=(100 1000 10000)
SCALE_QUOTA_SIZES=(100 1000)
SCALE_STEP_MAX_S=180

# scale_time VAR CMD...: run CMD, append its time in ms to array VAR.
scale_time() {
    local -n acc=$1
    shift
    tick
    "$@" >/dev/null
    tock
    acc+=("$(calc "$ELAPSED_US/1000")")
}

# N shares in sandbox ROOT (the mix of phase 1), their directories made beforehand.
scale_sandbox() {
    local root=$1 n=$2 dirs=$3
    printf '%s\n' "$PASSWORD" | gw "$root" "$P_GW1" user add "$USER_NAME" --password-stdin >/dev/null
    mkdir -p "$dirs"
    shares_cfg "$root" "$n" "$dirs"
    awk '/^share: / {print $2}' "$root/config/shares.cfg" | (cd "$dirs" && xargs mkdir -m 0770)
}

# One growth line: LABEL then "N: median ms (us per share)" for each size measured.
scale_line() {
    local label=$1 n line
    local -n med=$2
    printf -v line '%-34s' "$label"
    for n in $(printf '%s\n' "${SCALE_SIZES[@]}" "${SCALE_QUOTA_SIZES[@]}" | sort -nu); do
        [[ -n ${med[$n]:-} ]] || continue
        line+=$(printf ' %6s: %9s ms (%7s us/share)' "$n" "$(fmt_num "${med[$n]}")" "$(fmt_num "$(calc "${med[$n]} * 1000 / $n")")")
    done
    SCALE_NOTES+=("$line")
}

# A row per operation: us per share at the largest size beside us per share at 100 (ratio =
# growth; 1.00x is linear).
scale_row() {
    local label=$1 big=$2
    local -n med=$3
    [[ -n ${med[$big]:-} && -n ${med[100]:-} ]] || return 0
    add_row "scale: $label, per share at $big vs 100" us info - \
        "$(calc "${med[$big]} * 1000 / $big")" "$(calc "${med[100]} * 1000 / 100")"
}

# scale_execs N WHAT CMD...: count the programs CMD starts in quota sandbox $root (strace).
scale_execs() {
    local n=$1 what=$2 trace=$WORK/scale-execs.strace
    shift 2
    PVE_SMBGW_ROOT=$root PVE_SMBGW_SMB_PORT=$P_GW1 PVE_SMBGW_BIND=127.0.0.1 \
        strace -f -qq -z -e trace=execve -e signal=none -o "$trace" "$@" >/dev/null 2>&1 || true
    SCALE_NOTES+=("$n quota shares: $what starts $(($(grep -c 'execve(' "$trace" || true) - 1)) programs (strace): $(grep -c '"btrfs", "filesystem", "sync"' "$trace" || true) 'btrfs filesystem sync', $(grep -c '"btrfs", "qgroup", "show"' "$trace" || true) 'btrfs qgroup show'")
}

phase_scale() {
    local n root r runs ms list=() cold=() noop=() api=() out line first
    local -A M_LIST=() M_COLD=() M_NOOP=() M_API=() M_CYCLE=() M_CYCLE_CPU=() M_QNOOP=()
    local qnoop=()
    log "scale: list, apply (cold, no-op) and the API's share list at ${SCALE_SIZES[*]} shares; the daemon's cycle at ${SCALE_QUOTA_SIZES[*]} quota shares"
    for n in "${SCALE_SIZES[@]}"; do
        root=$WORK/scale$n
        GW_ROOTS+=("$root")
        runs=$((QUICK ? 3 : 5))
        ((n >= 10000)) && runs=$((QUICK ? 1 : 3))
        log "scale: $n shares, $runs runs each"
        scale_sandbox "$root" "$n" "$WORK/scale/shares$n"
        tick
        gw "$root" "$P_GW1" apply >/dev/null # starts smbd with the n shares
        tock
        first=$(calc "$ELAPSED_US/1000")
        list=() cold=() noop=() api=()
        for ((r = 0; r < runs; r++)); do
            scale_time list gw "$root" "$P_GW1" list
            rm -rf "$root/samba/shares.d" "$root/samba/smb.conf"
            scale_time cold gw "$root" "$P_GW1" apply
            out=$(gw "$root" "$P_GW1" apply)
            [[ $out == *"nothing to do"* ]] || die "apply with $n shares was not a no-op the second time: $(head -3 <<<"$out")"
            scale_time noop gw "$root" "$P_GW1" apply
            # a step over the limit is measured once
            (($(calc "(${cold[-1]} > $SCALE_STEP_MAX_S * 1000) ? 1 : 0"))) && {
                SCALE_NOTES+=("$n shares: one cold apply took $(fmt_num "${cold[-1]}") ms (> $SCALE_STEP_MAX_S s); measured once")
                break
            }
        done
        [[ $(($(gw "$root" "$P_GW1" list | wc -l) - 1)) == "$n" ]] || die "list does not show $n shares"
        perl_bench "$root" api "$runs"
        [[ ${PB[shares]} == "$n" ]] || die "the API returned ${PB[shares]} shares, expected $n"
        M_LIST[$n]=$(median "${list[@]}") M_COLD[$n]=$(median "${cold[@]}") M_NOOP[$n]=$(median "${noop[@]}")
        # shellcheck disable=SC2086 # PB holds a sample list
        M_API[$n]=$(median ${PB[api_ms]})
        # shellcheck disable=SC2086
        SCALE_NOTES+=("$n shares: the API $(fmt_num "${M_API[$n]}") ms; in the same process list_shares() alone $(fmt_num "$(median ${PB[bridge_ms]})") ms, of it the Rust call (read, parse, check shares.cfg, JSON out) $(fmt_num "$(median ${PB[call_ms]})") ms for ${PB[json_bytes]} bytes of JSON; the first apply (starting smbd) $(fmt_num "$first") ms")
        log "  $n shares: list ${M_LIST[$n]} ms, apply cold ${M_COLD[$n]} ms (first, starting smbd: $first ms), no-op ${M_NOOP[$n]} ms, API ${M_API[$n]} ms"
        gw "$root" "$P_GW1" stop >/dev/null
        rm -rf "$WORK/scale/shares$n" "$root"
    done

    # the daemon's cycle over quota shares: subvolumes made beforehand, apply sets their limits
    if [[ -n $LOOPDEV ]]; then
        local dir i name cycles=3 kv
        for n in "${SCALE_QUOTA_SIZES[@]}"; do
            root=$WORK/scaleq$n dir=$MNT/scaleq$n
            GW_ROOTS+=("$root")
            log "scale: daemon cycle with $n quota shares ($cycles cycles)"
            printf '%s\n' "$PASSWORD" | gw "$root" "$P_GW1" user add "$USER_NAME" --password-stdin >/dev/null
            mkdir -m 0755 "$dir"
            {
                for ((i = 1; i <= n; i++)); do
                    printf -v name 'q%05d' "$i"
                    btrfs -q subvolume create "$dir/$name" >&2
                    ((i > 1)) && printf '\n'
                    printf 'share: %s\n\tmode native\n\tpath %s\n\tusers %s\n\tquota 16M\n\tquota-backend btrfs\n' \
                        "$name" "$dir/$name" "$USER_NAME"
                done
            } >"$root/config/shares.cfg"
            tick
            gw "$root" "$P_GW1" apply >/dev/null
            tock
            SCALE_NOTES+=("$n quota shares: apply setting $n qgroup limits (smbd starting) took $(fmt_num "$(calc "$ELAPSED_US/1000")") ms")
            line=$(PVE_SMBGW_ROOT=$root PVE_SMBGW_SMB_PORT=$P_GW1 PVE_SMBGW_BIND=127.0.0.1 "$DAEMON" --bench-cycles "$cycles" 2>/dev/null |
                grep '^bench:') || die "pve-smbgatewayd --bench-cycles $cycles with $n quota shares failed"
            local -A D=()
            for kv in ${line#bench: }; do D[${kv%%=*}]=${kv#*=}; done
            [[ ${D[quota_shares]} == "$n" ]] || die "the daemon sampled ${D[quota_shares]} quota shares, expected $n"
            M_CYCLE[$n]=${D[wall_ms_per_cycle]}
            M_CYCLE_CPU[$n]=$(calc "${D[cpu_ms_per_cycle]} + ${D[cpu_children_ms_per_cycle]}")
            log "  $n quota shares: ${M_CYCLE[$n]} ms per cycle (CPU ${M_CYCLE_CPU[$n]} ms), RSS ${D[rss_kib]} KiB"
            SCALE_NOTES+=("$n quota shares: daemon RSS ${D[rss_kib]} KiB after $cycles cycles (peak ${D[rss_peak_kib]})")
            scale_time qnoop gw "$root" "$P_GW1" apply
            M_QNOOP[$n]=${qnoop[-1]}
            # what grows: the programs one cycle and one no-op apply start, per share (each
            # 'btrfs qgroup show' lists every qgroup of the filesystem); counted at the smallest
            # size, strace slows each of them down
            if command -v strace >/dev/null && ((n == SCALE_QUOTA_SIZES[0])); then
                scale_execs "$n" "one daemon cycle (pve-smbgatewayd --once)" "$DAEMON" --once
                scale_execs "$n" "one no-op apply" "$BIN" apply
            fi
            gw "$root" "$P_GW1" stop >/dev/null
        done
    else
        SCALE_NOTES+=("daemon cycle SKIPPED: no loop-backed btrfs for the quota shares")
    fi

    SCALE_NOTES+=("median ms at each size (us per share):")
    scale_line "list" M_LIST
    scale_line "apply, no generated files" M_COLD
    scale_line "apply, no-op re-run" M_NOOP
    scale_line "API GET .../shares (Perl handler)" M_API
    scale_line "daemon cycle, wall" M_CYCLE
    scale_line "daemon cycle, CPU (own + btrfs)" M_CYCLE_CPU
    scale_line "apply, no-op, quota shares" M_QNOOP
    scale_row "list" 10000 M_LIST
    scale_row "apply, no generated files" 10000 M_COLD
    scale_row "apply, no-op" 10000 M_NOOP
    scale_row "API GET .../shares" 10000 M_API
    scale_row "daemon cycle (wall)" 1000 M_CYCLE
    scale_row "apply, no-op, quota shares" 1000 M_QNOOP
    BASELINE_NOTES+=("scale: the baseline of each 'scale:' row is the same operation's time per share at 100 shares in this run (RATIO = growth per share; 1.00x is linear, below is better); shares.cfg written directly with the mix of phase 1, directories made beforehand; the API row is the Perl handler under the PVE stand-ins as in the API row above")
}
