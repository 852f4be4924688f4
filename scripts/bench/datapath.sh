# Sourced by scripts/bench.sh (its helpers and variables): the SMB data path where the disk is not
# the ceiling. Phase 3 of the bench measures on a loop-backed btrfs, whose own write speed caps
# both servers, so a difference in smbd's configuration drowns in the disk's swings; here the
# shares live on a tmpfs, and each figure comes with its spread and a paired ratio (the two
# servers' figures of the same round divided), so a ranking can be told from chance.
#
# Variants, all serving directories of the same tmpfs, measured in the same rounds:
#   stock       a stock smb.conf (stock_global of bench.sh: sandbox paths, port, tdbsam, no
#               printers; Samba's defaults otherwise) serving the gateway share's directory
#   gw          a share made by the CLI with its defaults (alternate data streams on)
#   gw-nostr    the same with --streams 0: what streams cost
#   gw-uring    the same with --option 'vfs objects=streams_xattr io_uring' (io_uring last)
# The three gateway shares live in one sandbox (one smbd, the gateway's globals).
#
# Besides MB/s (smbclient put of a file from the tmpfs, get to /dev/null), smbd's CPU time per
# GiB: the serving process's user + system time, which the smbd parent collects when it reaps
# it (cutime + cstime in /proc/PID/stat), steadier than MB/s on a machine doing other work.
#
# BENCH_DP_ROUNDS=N sets the rounds (default 15 of 1 GiB; BENCH_QUICK=1: 5 of 256 MiB).

DP_T=$WORK/dp-tmpfs

datapath_cleanup() {
    # also called from the bench's exit trap: every step is tried, none stops the others
    [[ -d $WORK/dp-gw ]] && gw "$WORK/dp-gw" 1 stop >/dev/null 2>&1
    [[ -d $WORK/stock-dp/pid ]] && kill_smbd_in "$WORK/stock-dp/pid"
    if mountpoint -q "$DP_T"; then umount "$DP_T" 2>/dev/null || umount -l "$DP_T"; fi
    return 0
}

# CPU ticks smbd PID has collected from its reaped children (cutime + cstime).
dp_cpu() { awk '{print $16 + $17}' "/proc/$1/stat"; }
dp_children() { pgrep -P "$1" | sort | tr '\n' ' '; }
# Wait (at most 10 s) until smbd PID has reaped the connection process of the last client, i.e.
# its children are those listed in BEFORE again, so that process's CPU time is in dp_cpu.
dp_wait_reaped() {
    local pid=$1 before=$2 i
    for ((i = 0; i < 1000; i++)); do
        [[ $(dp_children "$pid") == "$before" ]] && return 0
        sleep 0.01
    done
    die "smbd $pid did not reap its connection process within 10 s"
}

# "SAMPLES" -> "median q1 q3 min max" (quartiles interpolated, Python's statistics.quantiles)
dp_stats() {
    printf '%s\n' $1 | sort -g | awk '{a[++n] = $1}
        function q(p,  h, lo) { h = p * (n + 1); if (h < 1) h = 1; if (h > n) h = n; lo = int(h)
            return a[lo] + (h - lo) * ((lo < n ? a[lo + 1] : a[lo]) - a[lo]) }
        END { printf "%g %g %g %g %g", q(0.5), q(0.25), q(0.75), a[1], a[n] }'
}
# "A" "B" HIGHER_IS_BETTER -> per-round ratios A/B: "median q1 q3 better n"
dp_paired() {
    local r med q1 q3
    r=$(paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '$2 > 0 {print $1 / $2}')
    read -r med q1 q3 _ _ <<<"$(dp_stats "$r")"
    printf '%.2f %.2f %.2f %s %s' "$med" "$q1" "$q3" \
        "$(awk -v hi="$3" '(hi && $1 > 1) || (!hi && $1 < 1) {n++} END {print n + 0}' <<<"$r")" "$(wc -l <<<"$r")"
}

phase_datapath() {
    local rounds mib bytes gwd=$WORK/dp-gw std=$WORK/stock-dp gw_port st_port p fs_note v r
    local order c0 kids t cmd gwpid stpid pid line fs_tag accounts_before=$ACCOUNTS
    local -A port dir pid_of PUTS GETS PCPU GCPU
    local variants=(stock gw gw-nostr gw-uring)
    if ((QUICK)); then rounds=${BENCH_DP_ROUNDS:-5} mib=256; else rounds=${BENCH_DP_ROUNDS:-15} mib=1024; fi
    bytes=$((mib * 1024 * 1024))
    # two free ports above the bench's own
    p=$((${PORTS[5]} + 1)) gw_port= st_port=
    while [[ -z $st_port ]]; do
        ((p < 65535)) || die "no two free TCP ports for the data-path phase"
        if ! port_in_use "$p"; then if [[ -z $gw_port ]]; then gw_port=$p; else st_port=$p; fi; fi
        p=$((p + 1))
    done

    # the tmpfs: a source file, one file to get per share directory, one put in flight
    mkdir -p "$DP_T"
    mount -t tmpfs -o "size=$((5 * mib + 64))m,mode=0755" smbgw-bench-dp "$DP_T"
    fs_note="tmpfs ($((5 * mib + 64)) MiB)" fs_tag=tmpfs
    touch "$DP_T/probe"
    if ! setfattr -n user.smbgw-probe -v 1 "$DP_T/probe" 2>/dev/null; then
        # before Linux 6.6 tmpfs has no user xattrs, which streams_xattr (and DOS attributes) need
        umount "$DP_T"
        DP_T=$MNT/dp
        mkdir -p "$DP_T"
        # five files of this size must fit beside phase 3's leftovers on its 4 GiB btrfs
        ((mib <= 512)) || mib=512
        bytes=$((mib * 1024 * 1024))
        fs_note="NOT RAM-BACKED: tmpfs has no user xattrs on Linux $(uname -r) (they came with 6.6), so the shares are on the btrfs of phase 3 ($FS_NOTE), with ${mib} MiB files"
        fs_tag=NO-TMPFS
        log "warning: data path: $fs_note"
    fi
    rm -f "$DP_T/probe"
    log "data path: $fs_note; ${mib} MiB put and get, $rounds alternating rounds, servers on ports $gw_port (gateway) and $st_port (stock)"

    GW_ROOTS+=("$gwd")
    printf '%s\n' "$PASSWORD" | gw "$gwd" "$gw_port" user add "$USER_NAME" --password-stdin >/dev/null
    [[ $(awk -F: -v u="$USER_NAME" '$1 == u {print $3}' "$gwd/accounts/passwd") == "$USER_UID" ]] ||
        die "user $USER_NAME got another uid in the data-path sandbox"
    ACCOUNTS=$gwd/accounts
    dir[gw]=$DP_T/gw dir[gw-nostr]=$DP_T/gw-nostr dir[gw-uring]=$DP_T/gw-uring dir[stock]=$DP_T/gw
    gw "$gwd" "$gw_port" create dp --path "${dir[gw]}" --users "$USER_NAME" >/dev/null
    gw "$gwd" "$gw_port" create dpnostr --path "${dir[gw-nostr]}" --users "$USER_NAME" --streams 0 >/dev/null
    gw "$gwd" "$gw_port" create dpuring --path "${dir[gw-uring]}" --users "$USER_NAME" \
        --option 'vfs objects=streams_xattr io_uring' >/dev/null
    stock_init "$std" "$st_port"
    printf '[dp]\n\tpath = %s\n\tread only = no\n' "${dir[gw]}" >>"$std/smb.conf"
    stock_start "$std" "$st_port"
    declare -A share=([stock]=dp [gw]=dp [gw-nostr]=dpnostr [gw-uring]=dpuring)
    port[stock]=$st_port port[gw]=$gw_port port[gw-nostr]=$gw_port port[gw-uring]=$gw_port
    for v in "${variants[@]}"; do wait_share "${port[$v]}" "${share[$v]}"; done
    gwpid=$(smbd_pid_in "$gwd/samba/pid") stpid=$(smbd_pid_in "$std/pid")
    [[ -n $gwpid && -n $stpid ]] || die "data path: no smbd pid (gateway '$gwpid', stock '$stpid')"
    pid_of[stock]=$stpid pid_of[gw]=$gwpid pid_of[gw-nostr]=$gwpid pid_of[gw-uring]=$gwpid

    mkdir -p "$DP_T/src"
    head -c "$bytes" /dev/urandom >"$DP_T/src/big.bin"
    # warm-up and correctness: each variant stores and returns the same bytes, and the streams
    # setting is what it says (a named stream is refused with --streams 0, kept otherwise)
    for v in "${variants[@]}"; do
        smb "${port[$v]}" "${share[$v]}" "put $DP_T/src/big.bin warm.bin; get warm.bin $WORK/dp-back.bin" ||
            die "data path warm-up on $v failed: $SMB_OUT"
        cmp -s "$DP_T/src/big.bin" "${dir[$v]}/warm.bin" || die "data path: put through $v did not store the same bytes"
        cmp -s "$DP_T/src/big.bin" "$WORK/dp-back.bin" || die "data path: get through $v did not return the same bytes"
        rm -f "${dir[$v]}/warm.bin" "$WORK/dp-back.bin"
    done
    echo stream >"$WORK/dp-stream.txt"
    smb "$gw_port" dp "put $WORK/dp-stream.txt s.txt; put $WORK/dp-stream.txt s.txt:Zone.Identifier" ||
        die "data path: the default share refused a named stream: $SMB_OUT"
    ! smb "$gw_port" dpnostr "put $WORK/dp-stream.txt s.txt; put $WORK/dp-stream.txt s.txt:Zone.Identifier" ||
        die "data path: the --streams 0 share stored a named stream"
    rm -f "${dir[gw]}/s.txt" "${dir[gw-nostr]}/s.txt" "$WORK/dp-stream.txt"
    for v in gw gw-nostr gw-uring; do cp "$DP_T/src/big.bin" "${dir[$v]}/get.bin"; done
    dp_multichannel "$gwd" "$gw_port"

    for v in "${variants[@]}"; do PUTS[$v]= GETS[$v]= PCPU[$v]= GCPU[$v]=; done
    for ((r = 0; r < rounds; r++)); do
        order=("${variants[@]}") line=
        ((r % 2)) && order=(gw-uring gw-nostr gw stock)
        for v in "${order[@]}"; do
            pid=${pid_of[$v]}
            for cmd in put get; do
                rm -f "${dir[$v]}/put.bin"
                kids=$(dp_children "$pid") c0=$(dp_cpu "$pid")
                tick
                if [[ $cmd == put ]]; then
                    smb "${port[$v]}" "${share[$v]}" "put $DP_T/src/big.bin put.bin" || die "data path put to $v failed: $SMB_OUT"
                else
                    smb "${port[$v]}" "${share[$v]}" "get get.bin /dev/null" || die "data path get from $v failed: $SMB_OUT"
                fi
                tock
                t=$(calc "$bytes/$ELAPSED_US")
                dp_wait_reaped "$pid" "$kids"
                c0=$(calc "($(dp_cpu "$pid") - $c0) / $(getconf CLK_TCK) * 1024 / $mib")
                if [[ $cmd == put ]]; then
                    [[ $(stat -c %s "${dir[$v]}/put.bin") == "$bytes" ]] || die "data path put to $v: wrong size"
                    PUTS[$v]+="$t " PCPU[$v]+="$c0 "
                else
                    [[ $SMB_OUT == *"of size $bytes as"* ]] || die "data path get from $v: unexpected smbclient output: $SMB_OUT"
                    GETS[$v]+="$t " GCPU[$v]+="$c0 "
                fi
                line+=" $v $cmd $(fmt_num "$t")"
            done
        done
        log "  data path round $((r + 1))/$rounds (MB/s):$line"
    done
    rm -f "${dir[gw]}/put.bin" "${dir[gw-nostr]}/put.bin" "${dir[gw-uring]}/put.bin"
    datapath_cleanup
    ACCOUNTS=$accounts_before # the later phases' stock servers use the accounts of their sandbox
    dp_report "$mib" "$rounds" "$fs_note" "$fs_tag"
}

# SMB3 multichannel as the gateway's smbd serves it: the value in effect (the gateway renders none,
# so Samba's default) and smbtorture's protocol checks that need no selftest socket wrapper (the
# interface list, channels bound to one session). smbclient itself opens one connection only.
dp_multichannel() {
    local gwd=$1 port=$2 value out passed
    value=$(testparm -s --parameter-name='server multi channel support' "$gwd/samba/smb.conf" 2>/dev/null) ||
        die "testparm could not read the gateway's smb.conf"
    if ! command -v smbtorture >/dev/null; then
        BASELINE_NOTES+=("multichannel: 'server multi channel support' is $value in the gateway's smb.conf; smbtorture is missing (package samba-testsuite), its smb2.multichannel.generic was not run")
        return 0
    fi
    out=$(smbtorture "//127.0.0.1/dp" -p "$port" -U "$USER_NAME%$PASSWORD" smb2.multichannel.generic 2>&1) || true
    passed=$(grep -c '^success:' <<<"$out" || true)
    BASELINE_NOTES+=("multichannel: 'server multi channel support' is $value in the gateway's smb.conf (Samba's default, not rendered); smbtorture smb2.multichannel.generic against the default share: $passed of 2 passed ($(grep -E '^(success|failure|error):' <<<"$out" | tr '\n' ' ' | sed 's/ *$//'))")
}

# The rows (medians through add_row) and, per comparison, the spreads and the paired ratios.
dp_report() {
    local mib=$1 rounds=$2 fs_note=$3 fs=$4 label a b name m m2 q1 q3 w n s1 s2 pr what notes=()
    label=$( ((mib == 1024)) && echo "1 GiB" || echo "$mib MiB")
    add_row "$fs put $label, gateway share vs stock" MB/s ratio 1.0 "${PUTS[gw]}" "${PUTS[stock]}"
    add_row "$fs get $label, gateway share vs stock" MB/s ratio 1.1 "${GETS[gw]}" "${GETS[stock]}"
    add_row "$fs smbd CPU per GiB put, gateway vs stock" s info - "${PCPU[gw]}" "${PCPU[stock]}"
    add_row "$fs smbd CPU per GiB get, gateway vs stock" s info - "${GCPU[gw]}" "${GCPU[stock]}"
    add_row "$fs put, share --streams 0 vs default share" MB/s info - "${PUTS[gw-nostr]}" "${PUTS[gw]}"
    add_row "$fs get, share --streams 0 vs default share" MB/s info - "${GETS[gw-nostr]}" "${GETS[gw]}"
    add_row "$fs put, share + io_uring vs default share" MB/s info - "${PUTS[gw-uring]}" "${PUTS[gw]}"
    add_row "$fs get, share + io_uring vs default share" MB/s info - "${GETS[gw-uring]}" "${GETS[gw]}"
    add_row "$fs smbd CPU per GiB put, + io_uring vs default" s info - "${PCPU[gw-uring]}" "${PCPU[gw]}"
    BASELINE_NOTES+=("data path ($fs_note; scripts/bench/datapath.sh): 'stock' is a stock smb.conf (the same one as the throughput figures: sandbox paths, port, 127.0.0.1, tdbsam, load printers = no, Samba's defaults otherwise) serving the directory of the gateway's default share; 'default share' is a share made by 'create --users' (streams on), '--streams 0' and '+ io_uring' ('--option vfs objects=streams_xattr io_uring') are shares of the same sandbox and smbd; $rounds rounds, the order of the four reversed every other round; smbclient put from the tmpfs, get to /dev/null, wall clock around the whole call; CPU = the serving smbd process's user + system time, read from its parent after it is reaped, per GiB")
    for what in "gw stock" "gw-nostr gw" "gw-uring gw"; do
        read -r a b <<<"$what"
        for name in put get "put CPU" "get CPU"; do
            case $name in
            put) s1=${PUTS[$a]} s2=${PUTS[$b]} ;;
            get) s1=${GETS[$a]} s2=${GETS[$b]} ;;
            "put CPU") s1=${PCPU[$a]} s2=${PCPU[$b]} ;;
            *) s1=${GCPU[$a]} s2=${GCPU[$b]} ;;
            esac
            read -r m q1 q3 _ _ <<<"$(dp_stats "$s1")"
            m="$a $(fmt_num "$m") (quartiles $(fmt_num "$q1")-$(fmt_num "$q3"))"
            read -r m2 q1 q3 _ _ <<<"$(dp_stats "$s2")"
            m+=", $b $(fmt_num "$m2") ($(fmt_num "$q1")-$(fmt_num "$q3"))"
            if [[ $name == *CPU ]]; then pr=$(dp_paired "$s1" "$s2" 0); else pr=$(dp_paired "$s1" "$s2" 1); fi
            read -r m2 q1 q3 w n <<<"$pr"
            notes+=("$name $( [[ $name == *CPU ]] && echo 's/GiB' || echo 'MB/s'): $m; paired $a/$b median ${m2}x (quartiles $q1-$q3), $a $( [[ $name == *CPU ]] && echo cheaper || echo faster) in $w of $n rounds")
        done
    done
    BASELINE_NOTES+=("${notes[@]/#/data path }")
}
