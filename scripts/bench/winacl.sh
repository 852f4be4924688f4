# Sourced by scripts/bench.sh (its helpers and variables, and dp_stats / dp_paired of
# scripts/bench/datapath.sh): what Windows ACLs cost on the SMB data path. Creating a file on a
# share with --acl-mode windows makes smbd read the parent's NT ACL, compute the new file's and
# write it twice (security.NTACL through vfs_acl_xattr, and its POSIX mapping), where a posix share
# only creates the file. Small files show that cost best, so: N x 1 KiB files with smbclient's
# mput (one session) into two shares of the same smbd, alike but for --acl-mode, on a tmpfs so the
# disk is not the ceiling; rounds alternate the order; files/s with spreads and the paired ratio.
#
# The Windows ACL share starts owned by root (a standalone node has no administrators group, see
# crates/gateway/src/acl.rs); the bench hands its root to the user as an admin would, which the
# gateway then leaves alone. Local users only, no domain.
#
# BENCH_WINACL_ROUNDS=N sets the rounds (default 9 of 2,000 files; BENCH_QUICK=1: 3 of 500).

WA_T=$WORK/winacl-tmpfs

winacl_cleanup() {
    # also called from the bench's exit trap: every step is tried, none stops the others
    [[ -d $WORK/winacl-gw ]] && gw "$WORK/winacl-gw" 1 stop >/dev/null 2>&1
    if mountpoint -q "$WA_T"; then umount "$WA_T" 2>/dev/null || umount -l "$WA_T"; fi
    return 0
}

phase_winacl() {
    local rounds n gwd=$WORK/winacl-gw port p v r order line files m q1 q3 w total
    local -A RATE dir
    if ((QUICK)); then rounds=${BENCH_WINACL_ROUNDS:-3} n=500; else rounds=${BENCH_WINACL_ROUNDS:-9} n=2000; fi
    p=$((${PORTS[5]} + 1)) port=
    while [[ -z $port ]]; do
        ((p < 65535)) || die "no free TCP port for the Windows ACL phase"
        port_in_use "$p" || port=$p
        p=$((p + 1))
    done
    mkdir -p "$WA_T"
    mount -t tmpfs -o "size=256m,mode=0755" smbgw-bench-winacl "$WA_T"
    log "windows ACLs: $n x 1 KiB files (mput) into a share with --acl-mode windows and one with posix, tmpfs, $rounds alternating rounds, port $port"

    GW_ROOTS+=("$gwd")
    printf '%s\n' "$PASSWORD" | gw "$gwd" "$port" user add "$USER_NAME" --password-stdin >/dev/null
    [[ $(awk -F: -v u="$USER_NAME" '$1 == u {print $3}' "$gwd/accounts/passwd") == "$USER_UID" ]] ||
        die "user $USER_NAME got another uid in the Windows ACL sandbox"
    dir[windows]=$WA_T/windows dir[posix]=$WA_T/posix
    gw "$gwd" "$port" create wawin --path "${dir[windows]}" --users "$USER_NAME" --acl-mode windows >/dev/null
    gw "$gwd" "$port" create waposix --path "${dir[posix]}" --users "$USER_NAME" >/dev/null
    # the admin hands the Windows ACL share to its user (Samba derives the NT ACL from it)
    chown "$USER_UID" "${dir[windows]}"
    declare -A share=([windows]=wawin [posix]=waposix)
    for v in windows posix; do wait_share "$port" "${share[$v]}"; done

    mkdir -p "$WA_T/src"
    head -c $((n * 1024)) /dev/urandom | split -b 1024 -a 4 -d - "$WA_T/src/f"
    [[ $(find "$WA_T/src" -type f | wc -l) == "$n" ]] || die "could not make $n small files"
    # warm-up and correctness: both take every file; only the windows share stores NT ACLs
    for v in windows posix; do
        smb "$port" "${share[$v]}" "prompt off; mkdir warm; cd warm; lcd $WA_T/src; mput *" ||
            die "windows ACL warm-up on $v failed: $(grep -m3 NT_STATUS_ <<<"$SMB_OUT")"
        [[ $(find "${dir[$v]}/warm" -type f | wc -l) == "$n" ]] || die "windows ACL warm-up on $v: files missing"
    done
    getfattr -n security.NTACL "${dir[windows]}/warm/f0000" >/dev/null 2>&1 ||
        die "the --acl-mode windows share stored no security.NTACL on a new file"
    ! getfattr -n security.NTACL "${dir[posix]}/warm/f0000" >/dev/null 2>&1 ||
        die "the posix share stored a security.NTACL"
    rm -rf "${dir[windows]}/warm" "${dir[posix]}/warm"

    RATE[windows]= RATE[posix]=
    for ((r = 0; r < rounds; r++)); do
        order=(windows posix) line=
        ((r % 2)) && order=(posix windows)
        for v in "${order[@]}"; do
            rm -rf "${dir[$v]}/small"
            tick
            smb "$port" "${share[$v]}" "prompt off; mkdir small; cd small; lcd $WA_T/src; mput *" ||
                die "mput to the $v share failed: $(grep -m3 NT_STATUS_ <<<"$SMB_OUT")"
            tock
            files=$(find "${dir[$v]}/small" -type f | wc -l)
            [[ $files == "$n" ]] || die "mput to the $v share: $files files arrived, expected $n"
            RATE[$v]+="$(calc "$n * 1000000 / $ELAPSED_US") "
            line+=" $v $(fmt_num "$(calc "$n * 1000000 / $ELAPSED_US")")"
        done
        log "  windows ACL round $((r + 1))/$rounds (files/s):$line"
    done
    winacl_cleanup

    add_row "SMB creates $n x 1 KiB, --acl-mode windows (acl_xattr) vs posix" files/s info - "${RATE[windows]}" "${RATE[posix]}"
    read -r m q1 q3 _ _ <<<"$(dp_stats "${RATE[windows]}")"
    total="windows $(fmt_num "$m") files/s (quartiles $(fmt_num "$q1")-$(fmt_num "$q3"))"
    read -r m q1 q3 _ _ <<<"$(dp_stats "${RATE[posix]}")"
    total+=", posix $(fmt_num "$m") ($(fmt_num "$q1")-$(fmt_num "$q3"))"
    read -r m q1 q3 w r <<<"$(dp_paired "${RATE[windows]}" "${RATE[posix]}" 1)"
    BASELINE_NOTES+=("windows ACLs (scripts/bench/winacl.sh): two shares of one gateway smbd on a tmpfs, made by 'create --users' with and without '--acl-mode windows' (vfs objects 'streams_xattr acl_xattr' against 'streams_xattr'); the windows share's root handed to the user; smbclient mput of $n x 1 KiB files into a new directory, wall clock around the whole call; $rounds rounds, the order reversed every other round: $total; paired windows/posix median ${m}x (quartiles $q1-$q3), windows faster in $w of $r rounds")
}
