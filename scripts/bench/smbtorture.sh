# Sourced by scripts/bench.sh (its helpers and variables): Samba's own load tools as the bench.
# smbtorture's smb2.bench.* tests (Samba 4.17 has oplock1, path-contention-shared and echo) and
# its classic multi-client bench.nbench run against a share made by the gateway and against a
# stock smbd (Samba's defaults) serving the same directory on the same btrfs, alternating; the
# rows are the gateway's figure beside the stock one.
#
# bench.nbench replays an NBench load file: nbench_loadfile writes ours (a small office-like
# cycle per client: make a folder, write ten files, look them up, list the folder, read them
# back, rename, delete). bench.nbench speaks SMB1 only, which the gateway refuses (server min
# protocol = SMB2_10) and so do Samba's defaults (SMB2_02): for that one test both servers are
# restarted from their own smb.conf with 'server min protocol = NT1' added on smbd's command
# line, the only difference from what they serve otherwise.

# NBench load file format: one operation per line, its arguments, the NT status it must end with;
# "client1" in a path is replaced by each client's own name. Handles are the file's own numbers.
nbench_loadfile() {
    local d='\clients\client1\docs' f h size
    printf 'Mkdir "\\clients\\client1" NT_STATUS_OK\n'
    printf 'Mkdir "%s" NT_STATUS_OK\n' "$d"
    for ((f = 0; f < 10; f++)); do
        h=$((f + 1)) size=$((4096 << (f % 5))) # 4 KiB .. 64 KiB
        printf 'NTCreateX "%s\\f%d.doc" 0x40 0x5 %d NT_STATUS_OK\n' "$d" "$f" "$h"
        printf 'WriteX %d 0 %d %d NT_STATUS_OK\n' "$h" "$size" "$size"
        printf 'WriteX %d %d 4096 4096 NT_STATUS_OK\n' "$h" "$size"
        printf 'Close %d NT_STATUS_OK\n' "$h"
        printf 'QUERY_PATH_INFORMATION "%s\\f%d.doc" 1004 NT_STATUS_OK\n' "$d" "$f"
    done
    printf 'FIND_FIRST "%s\\*" 260 1366 12 NT_STATUS_OK\n' "$d"
    for ((f = 0; f < 10; f++)); do
        h=$((f + 11)) size=$((4096 << (f % 5)))
        printf 'NTCreateX "%s\\f%d.doc" 0x40 0x1 %d NT_STATUS_OK\n' "$d" "$f" "$h"
        printf 'QUERY_FILE_INFORMATION %d 1005 NT_STATUS_OK\n' "$h"
        printf 'ReadX %d 0 %d %d NT_STATUS_OK\n' "$h" "$size" "$size"
        printf 'Close %d NT_STATUS_OK\n' "$h"
    done
    for ((f = 0; f < 10; f += 2)); do
        printf 'Rename "%s\\f%d.doc" "%s\\f%d.bak" NT_STATUS_OK\n' "$d" "$f" "$d" "$f"
        printf 'Unlink "%s\\f%d.bak" 0x16 NT_STATUS_OK\n' "$d" "$f"
    done
    printf 'QUERY_FS_INFORMATION 1 NT_STATUS_OK\n'
    printf 'Deltree "%s" NT_STATUS_OK\n' "$d"
}

# smbtorture PORT TEST ARGS...: run one test against the torture share; its output in TORTURE_OUT.
torture_run() {
    local port=$1 test=$2
    shift 2
    TORTURE_OUT=$(smbtorture -s "$CLIENT_CONF" "//127.0.0.1/torture" -p "$port" -U "$USER_NAME%$PASSWORD" \
        --option=torture:progress=no "$@" "$test" 2>&1) || true
    printf '== %s on port %s\n%s\n' "$test" "$port" "$TORTURE_OUT" >>"$WORK/smbtorture.log"
    [[ $TORTURE_OUT == *"success: ${test##*.}"* ]] ||
        die "smbtorture $test on port $port failed: $(tail -5 <<<"$TORTURE_OUT")"
}

# The figure of a finished smb2.bench test: ops/s (oplock1), opens/s (path-contention-shared),
# echos/s (echo).
torture_figure() {
    local v
    case $1 in
    *oplock1) v=$(sed -n 's/^\([0-9.]*\) ops\/second.*/\1/p' <<<"$TORTURE_OUT" | tail -1) ;;
    *) v=$(grep -o '[a-z]*\[num/s=[0-9]*' <<<"$TORTURE_OUT" | tail -"$2" | head -1 | sed 's/.*=//') ;;
    esac
    [[ $v =~ ^[0-9.]+$ ]] || die "no figure in the output of $1: $(tail -3 <<<"$TORTURE_OUT")"
    echo "$v"
}

phase_smbtorture() {
    local root=$WORK/gwtorture st=$WORK/stocktorture dir=$MNT/torture
    local t s r np secs runs out gw_pid load=$WORK/nbench.load
    local -A FIG=()
    np=$((QUICK ? 4 : 8)) secs=$((QUICK ? 3 : 10)) runs=$((QUICK ? 2 : 3))
    GW_ROOTS+=("$root")
    log "smbtorture: smb2.bench.* and bench.nbench ($np clients, ${secs} s each, $runs runs per server, alternating) against a gateway share and a stock share of $dir"
    printf '%s\n' "$PASSWORD" | gw "$root" "$P_GW1" user add "$USER_NAME" --password-stdin >/dev/null
    gw "$root" "$P_GW1" create torture --path "$dir" --users "$USER_NAME" >/dev/null
    ACCOUNTS=$root/accounts # the stock server's Samba user is this sandbox's account
    stock_init "$st" "$P_ST1"
    printf '[torture]\n\tpath = %s\n\tread only = no\n' "$dir" >>"$st/smb.conf"
    stock_start "$st" "$P_ST1"
    wait_share "$P_GW1" torture
    wait_share "$P_ST1" torture
    tport() { if [[ $1 == gw ]]; then echo "$P_GW1"; else echo "$P_ST1"; fi; }

    for t in oplock1 path-contention-shared echo; do
        for s in gw stock; do FIG[$t.$s]=; done
        for ((r = 0; r < runs; r++)); do
            for s in $(order "$r"); do
                torture_run "$(tport "$s")" "smb2.bench.$t" "--option=torture:timelimit=$secs" "--option=torture:nprocs=$np"
                FIG[$t.$s]+="$(torture_figure "$t" 2) "
            done
        done
        log "  smb2.bench.$t: gateway ${FIG[$t.gw]}/ stock ${FIG[$t.stock]}"
    done
    add_row "smbtorture smb2.bench.oplock1 ($np conns)" ops/s ratio 1.0 "${FIG[oplock1.gw]}" "${FIG[oplock1.stock]}"
    add_row "smbtorture smb2.bench.path-contention-shared" open/s ratio 1.0 "${FIG[path-contention-shared.gw]}" "${FIG[path-contention-shared.stock]}"
    add_row "smbtorture smb2.bench.echo ($np conns)" echo/s ratio 1.0 "${FIG[echo.gw]}" "${FIG[echo.stock]}"

    # bench.nbench: both servers restarted from their own smb.conf, SMB1 allowed on both
    nbench_loadfile >"$load"
    gw "$root" "$P_GW1" stop >/dev/null
    kill_smbd_in "$st/pid"
    LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD=$root/accounts/passwd NSS_WRAPPER_GROUP=$root/accounts/group \
        smbd -D -s "$root/samba/smb.conf" '--option=server min protocol=NT1'
    nss smbd -D -s "$st/smb.conf" '--option=server min protocol=NT1'
    wait_port "$P_GW1"
    wait_port "$P_ST1"
    FIG[nbench.gw]= FIG[nbench.stock]=
    for ((r = 0; r < runs; r++)); do
        for s in $(order "$r"); do
            torture_run "$(tport "$s")" bench.nbench "--num-progs=$np" "--loadfile=$load" "-t" "$secs"
            # every operation of the load file must have ended with the status it names
            grep -E -m3 'Error|ERROR|Warning|Unknown|Badly|Reconnect' <<<"$TORTURE_OUT" >&2 &&
                die "bench.nbench on $s reported errors (above); the load file is $load"
            out=$(sed -n 's/^Throughput \([0-9.e+]*\) MB\/sec.*/\1/p' <<<"$TORTURE_OUT" | tail -1)
            [[ $out =~ ^[0-9.e+]+$ ]] || die "no throughput in the output of bench.nbench: $(tail -3 <<<"$TORTURE_OUT")"
            FIG[nbench.$s]+="$(calc "$out") "
        done
    done
    log "  bench.nbench: gateway ${FIG[nbench.gw]}/ stock ${FIG[nbench.stock]} MB/s"
    add_row "smbtorture bench.nbench ($np clients, our load)" MB/s ratio 1.0 "${FIG[nbench.gw]}" "${FIG[nbench.stock]}"
    BASELINE_NOTES+=("smbtorture: Samba $SAMBA_VERSION's smb2.bench.oplock1, path-contention-shared and echo ($np connections, $secs s, the test's own figure) and bench.nbench ($np clients, $secs s, the load file of scripts/bench/smbtorture.sh: $(wc -l <"$load") operations per cycle) against a stock smb.conf serving the same directory on the same filesystem ([torture] path + read only = no, Samba's defaults otherwise), runs alternating; bench.nbench is SMB1 only, so for it both servers run their own smb.conf with 'server min protocol = NT1' added")

    gw_pid=$(smbd_pid_in "$root/samba/pid")
    [[ -n $gw_pid ]] && kill_smbd_in "$root/samba/pid"
    kill_smbd_in "$st/pid"
    rm -rf "$dir"
}
