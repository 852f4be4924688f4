# Sourced by scripts/bench.sh (its helpers and variables): load held. 100 concurrent SMB clients
# (scripts/bench/soak-client.py: one real smbclient session each) do mixed create/write/read/
# rename/delete on a gateway share for SOAK_S seconds while the control plane works beside them:
# shares of the same sandbox are created, updated and deleted in a loop and the daemon runs its
# sampling cycle (pve-smbgatewayd --once) over the sandbox's quota shares. Counted: client errors,
# lost writes (an acknowledged file that does not read back with its checksum, right after the
# write and again at the end), control-plane failures, latency of small operations, the sum of
# smbd's resident memory. The same clients then run against a stock smbd (Samba's defaults) on
# the same filesystem for the latency and memory beside it, and against the gateway share again
# with the control plane idle (what the share costs by itself). Last, the same load while one share's
# quota fills up: its writers must see NT_STATUS_DISK_FULL, the others nothing.
#
# Every count is a report row; a non-zero error count is MISSED, never dropped.

SOAK_CLIENTS=100
SOAK_QUOTA_SHARES=10 # standing quota shares the daemon's cycle samples during the soak
SOAK_FILL_CLIENTS=20 # of the 100, writers into the share whose quota fills up

# Sum of VmRSS and of Pss (KiB) over an smbd and its children (the per-client processes).
smbd_mem_kib() {
    local main=$1 pid rss=0 pss=0 v
    for pid in "$main" $(pgrep -P "$main" || true); do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [[ -n $v ]] && rss=$((rss + v))
        v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) && [[ -n $v ]] && pss=$((pss + v))
    done
    echo "$rss $pss"
}

# Until STOP exists: the smbd memory of pid directory DIR every second; the peaks into OUT.
soak_mem_sampler() {
    local dir=$1 stop=$2 out=$3 main rss pss max_rss=0 max_pss=0 n=0
    while [[ ! -e $stop && -d $WORK ]]; do
        main=$(smbd_pid_in "$dir")
        if [[ -n $main ]]; then
            read -r rss pss <<<"$(smbd_mem_kib "$main")"
            ((rss > max_rss)) && max_rss=$rss
            ((pss > max_pss)) && max_pss=$pss
            n=$((n + 1))
        fi
        sleep 1
    done
    echo "$max_rss $max_pss $n" >"$out"
}

# Until STOP exists: create, update and delete a share of sandbox ROOT and run the daemon's
# sampling cycle, over and over; "operations failures" into OUT, the failures' output into LOG.
soak_churn() {
    local root=$1 stop=$2 out=$3 log=$4 i=0 ops=0 fail=0 name
    mkdir -p "$MNT/soakchurn"
    run() {
        ops=$((ops + 1))
        if ! "$@" >>"$log.out" 2>&1; then
            fail=$((fail + 1))
            printf '%s failed:\n%s\n' "$*" "$(tail -3 "$log.out")" >>"$log"
        fi
        : >"$log.out"
    }
    while [[ ! -e $stop && -d $WORK ]]; do
        i=$((i + 1))
        name=churn$i
        run gw "$root" "$P_GW1" create "$name" --path "$MNT/soakchurn/$name" --users "$USER_NAME"
        run gw "$root" "$P_GW1" update "$name" --comment "soak $i" --read-only
        run gw "$root" "$P_GW1" delete "$name" --purge-data
        run env PVE_SMBGW_ROOT="$root" PVE_SMBGW_SMB_PORT="$P_GW1" PVE_SMBGW_BIND=127.0.0.1 "$DAEMON" --once
    done
    echo "$ops $fail $i" >"$out"
}

# soak_round NAME PIDDIR CHURN_ROOT GROUP...: one run of the client with GROUPs (soak-client.py's
# --group), smbd memory of PIDDIR sampled, the control-plane churn in CHURN_ROOT beside it unless
# that is '-'. Fills SOAK_<GROUP>_<KEY> variables via soak_get.
soak_round() {
    local name=$1 piddir=$2 churn=$3 dir=$WORK/soak/$1 g
    shift 3
    mkdir -p "$dir"
    local args=()
    for g in "$@"; do args+=(--group "$g"); done
    soak_mem_sampler "$piddir" "$dir/stop" "$dir/mem" &
    local sampler=$!
    local churner=
    if [[ $churn != - ]]; then
        soak_churn "$churn" "$dir/stop" "$dir/churn" "$dir/churn.log" &
        churner=$!
    fi
    python3 "$HERE/bench/soak-client.py" --seconds "$SOAK_S" --workdir "$dir/client" --conf "$CLIENT_CONF" \
        --user "$USER_NAME" --password-file "$WORK/soak/password" "${args[@]}" >"$dir/result" 2>"$dir/client.log" ||
        die "the soak client failed: $(tail -5 "$dir/client.log")"
    : >"$dir/stop"
    wait "$sampler"
    [[ -z $churner ]] || wait "$churner"
    rm -rf "$dir/client"
}

# soak_get ROUND GROUP KEY: a figure of a group in a round's result.
soak_get() {
    local line kv
    line=$(grep "^GROUP $2 " "$WORK/soak/$1/result") || die "no result of group $2 in soak round $1: $(cat "$WORK/soak/$1/result")"
    for kv in ${line#GROUP "$2" }; do
        [[ ${kv%%=*} == "$3" ]] && echo "${kv#*=}" && return
    done
    die "no $3 in the soak result of $2: $line"
}

phase_soak() {
    local root=$WORK/gwsoak st=$WORK/stocksoak i n r v fill_mib=$((QUICK ? 32 : 64))
    local ops fail cycles rss pss
    SOAK_S=$((QUICK ? 15 : 60))
    if [[ -z $LOOPDEV ]]; then
        log "warning: no btrfs volume; the soak is skipped (its quota shares need one)"
        SOAK_NOTES+=("soak SKIPPED: no loop-backed btrfs volume (see the filesystem line above)")
        return 0
    fi
    GW_ROOTS+=("$root")
    log "soak: $SOAK_CLIENTS smbclient sessions, mixed create/write/read/rename/delete for $SOAK_S s against a gateway share, create/update/delete of other shares and the daemon's cycle over $SOAK_QUOTA_SHARES quota shares beside them"
    mkdir -p "$WORK/soak"
    (umask 077 && printf '%s' "$PASSWORD" >"$WORK/soak/password")
    printf '%s\n' "$PASSWORD" | gw "$root" "$P_GW1" user add "$USER_NAME" --password-stdin >/dev/null
    ACCOUNTS=$root/accounts # the stock server's Samba user is this sandbox's account
    gw "$root" "$P_GW1" create soak --path "$MNT/soak" --users "$USER_NAME" >/dev/null
    for ((i = 1; i <= SOAK_QUOTA_SHARES; i++)); do
        gw "$root" "$P_GW1" create "soakq$i" --path "$MNT/soakq$i" --users "$USER_NAME" --quota 64M >/dev/null
    done
    stock_init "$st" "$P_ST1"
    mkdir -m 0770 "$MNT/soak-stock"
    setfacl -m "u:$USER_UID:rwx,d:u:$USER_UID:rwx" "$MNT/soak-stock"
    printf '[soak]\n\tpath = %s\n\tread only = no\n' "$MNT/soak-stock" >>"$st/smb.conf"
    stock_start "$st" "$P_ST1"
    wait_share "$P_GW1" soak
    wait_share "$P_ST1" soak

    # round 1: the gateway, the control plane busy beside the clients
    soak_round gw "$root/samba/pid" "$root" "gw:$P_GW1:soak:$SOAK_CLIENTS:mixed"
    # round 2: the same clients against the stock server; round 3: the gateway alone again, so
    # the share's own cost is told apart from the control plane's beside it
    soak_round stock "$st/pid" - "stock:$P_ST1:soak:$SOAK_CLIENTS:mixed"
    soak_round quiet "$root/samba/pid" - "quiet:$P_GW1:soak:$SOAK_CLIENTS:mixed"
    kill_smbd_in "$st/pid"

    local label="soak"
    add_row "$label: client errors" count max 0 "$(soak_get gw gw errors)" "$(soak_get stock stock errors)"
    add_row "$label: lost writes" count max 0 "$(soak_get gw gw lost)" "$(soak_get stock stock lost)"
    read -r ops fail cycles <"$WORK/soak/gw/churn"
    add_row "$label: control-plane failures" count max 0 "$fail" 0
    add_row "$label: operations/s, $SOAK_CLIENTS clients" ops/s info - "$(soak_get gw gw ops_per_s)" "$(soak_get stock stock ops_per_s)"
    add_row "$label: small ops p50" ms info - "$(soak_get gw gw small_p50_ms)" "$(soak_get stock stock small_p50_ms)"
    add_row "$label: small ops p99" ms info - "$(soak_get gw gw small_p99_ms)" "$(soak_get stock stock small_p99_ms)"
    add_row "$label, control plane idle: small ops p50" ms info - "$(soak_get quiet quiet small_p50_ms)" "$(soak_get stock stock small_p50_ms)"
    add_row "$label, control plane idle: small ops p99" ms info - "$(soak_get quiet quiet small_p99_ms)" "$(soak_get stock stock small_p99_ms)"
    add_row "$label, control plane idle: client errors" count max 0 "$(soak_get quiet quiet errors)" "$(soak_get stock stock errors)"
    add_row "$label, control plane idle: lost writes" count max 0 "$(soak_get quiet quiet lost)" "$(soak_get stock stock lost)"
    read -r rss pss n <"$WORK/soak/gw/mem"
    read -r v r _ <"$WORK/soak/stock/mem"
    add_row "$label: smbd RSS summed (peak)" MiB info - "$(calc "$rss / 1024")" "$(calc "$v / 1024")"
    SOAK_NOTES+=("$SOAK_CLIENTS clients for $SOAK_S s per round; round against the gateway: $(soak_get gw gw connected) of $SOAK_CLIENTS clients connected, $(soak_get gw gw ops) operations, $(soak_get gw gw acked) writes acknowledged, each read back right after it and the $(soak_get gw gw verified) surviving files again at the end; errors: $(soak_get gw gw error_kinds); stock: $(soak_get stock stock ops) operations, errors: $(soak_get stock stock error_kinds); the gateway with the control plane idle: $(soak_get quiet quiet ops) operations ($(soak_get quiet quiet ops_per_s)/s), errors: $(soak_get quiet quiet error_kinds)")
    SOAK_NOTES+=("latency p50/p99 (ms), gateway vs stock: put $(soak_get gw gw put_p50_ms)/$(soak_get gw gw put_p99_ms) vs $(soak_get stock stock put_p50_ms)/$(soak_get stock stock put_p99_ms), get $(soak_get gw gw get_p50_ms)/$(soak_get gw gw get_p99_ms) vs $(soak_get stock stock get_p50_ms)/$(soak_get stock stock get_p99_ms), rename $(soak_get gw gw rename_p50_ms)/$(soak_get gw gw rename_p99_ms) vs $(soak_get stock stock rename_p50_ms)/$(soak_get stock stock rename_p99_ms), allinfo $(soak_get gw gw allinfo_p50_ms)/$(soak_get gw gw allinfo_p99_ms) vs $(soak_get stock stock allinfo_p50_ms)/$(soak_get stock stock allinfo_p99_ms), del $(soak_get gw gw del_p50_ms)/$(soak_get gw gw del_p99_ms) vs $(soak_get stock stock del_p50_ms)/$(soak_get stock stock del_p99_ms)")
    SOAK_NOTES+=("control plane beside the gateway round: $cycles x (create, update --comment --read-only, delete --purge-data, pve-smbgatewayd --once over $SOAK_QUOTA_SHARES quota shares) = $ops operations, $fail failed$(if ((fail)); then echo ": $(head -c 600 "$WORK/soak/gw/churn.log" | tr '\n' ' ')"; fi)")
    SOAK_NOTES+=("smbd memory, peak of 1 s samples: gateway RSS sum $((rss / 1024)) MiB, PSS sum $((pss / 1024)) MiB ($n samples); stock RSS sum $((v / 1024)) MiB, PSS sum $((r / 1024)) MiB (RSS counts the pages the $SOAK_CLIENTS per-client processes share once per process; PSS divides them)")

    # round 3: the gateway again while one share's quota fills up
    log "soak with a filling quota: $SOAK_FILL_CLIENTS of the clients write 256 KiB files into a share with a $fill_mib MiB quota, the others go on as before"
    gw "$root" "$P_GW1" create soakfill --path "$MNT/soakfill" --users "$USER_NAME" --quota "${fill_mib}M" >/dev/null
    wait_share "$P_GW1" soakfill
    soak_round fill "$root/samba/pid" "$root" "fill:$P_GW1:soakfill:$SOAK_FILL_CLIENTS:fill" \
        "others:$P_GW1:soak:$((SOAK_CLIENTS - SOAK_FILL_CLIENTS)):mixed"
    v=$(soak_get fill fill error_kinds)
    n=0
    [[ $v =~ NT_STATUS_DISK_FULLx([0-9]+) ]] && n=${BASH_REMATCH[1]}
    label="soak, a quota filling"
    add_row "$label: its writers' DISK_FULL" count min 1 "$n" 0
    add_row "$label: its writers' other errors" count max 0 "$(($(soak_get fill fill errors) - n))" 0
    add_row "$label: other clients' errors" count max 0 "$(soak_get fill others errors)" 0
    add_row "$label: lost writes" count max 0 "$(($(soak_get fill fill lost) + $(soak_get fill others lost)))" 0
    read -r ops fail cycles <"$WORK/soak/fill/churn"
    add_row "$label: control-plane failures" count max 0 "$fail" 0
    SOAK_NOTES+=("filling round: the $SOAK_FILL_CLIENTS writers of soakfill got $(soak_get fill fill acked) writes acknowledged (all read back: $(soak_get fill fill lost) lost), errors: $v; the other $((SOAK_CLIENTS - SOAK_FILL_CLIENTS)) clients: $(soak_get fill others ops) operations, errors: $(soak_get fill others error_kinds); control plane: $ops operations, $fail failed$(if ((fail)); then echo ": $(head -c 600 "$WORK/soak/fill/churn.log" | tr '\n' ' ')"; fi)")
    BASELINE_NOTES+=("soak: the same $SOAK_CLIENTS clients for the same $SOAK_S s (after the gateway round, before the gateway's idle round) against a stock smb.conf ([soak] path + read only = no, Samba's defaults otherwise) with a directory on the same btrfs, nothing else running beside them; small ops = rename, allinfo and del (one smbclient command each, prompt to prompt); the error and loss rows of the stock side are its own counts")

    gw "$root" "$P_GW1" stop >/dev/null
}
