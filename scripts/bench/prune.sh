# Sourced by scripts/bench.sh (its helpers and variables): the decisions behind scheduled
# snapshots, pure computation with no filesystem. crates/core/examples/prune-bench.rs times
#   - the retention (smbgw_core::prune::keep_marks) over 10,000 snapshots, every 15 minutes for
#     104 days in shuffled order, with keep-last=4,keep-hourly=24,keep-daily=7,keep-weekly=4,
#     keep-monthly=12,keep-yearly=5, beside a plain sort of the same 10,000 times;
#   - the next run (CalendarEvent::next_after) of 1,000 schedules in PVE's calendar-event syntax
#     (a mix of *:M/15, mon..fri 08..18:M, sat,sun 12:M, H:M, hourly, daily, ... in the node's
#     zone), beside 1,000 local-time round trips through libc (localtime_r + mktime), the
#     conversion each step of the search makes.
# Runs interleaved with their baselines in one process; the rows are medians.

phase_prune() {
    local out key vals runs=$((QUICK ? 7 : 21))
    local -A PR
    log "prune: building the timing binary (cargo build --release --example prune-bench)"
    (cd "$HERE/.." && cargo build --release --locked -q -p smbgw-core --example prune-bench) >"$WORK/prune-build.log" 2>&1 ||
        die "building prune-bench failed: $(tail -20 "$WORK/prune-build.log")"
    log "prune: keep_marks over 10,000 snapshots and next_after of 1,000 schedules, $runs runs each beside their baselines"
    out=$("$HERE/../target/release/examples/prune-bench" "$runs")
    while read -r key vals; do PR[$key]=$vals; done <<<"$out"
    [[ ${PR[snapshots]:-} == 10000 && ${PR[schedules]:-} == 1000 ]] || die "prune-bench printed: $out"
    add_row "prune decision, 10,000 snapshots (keep_marks)" us info - "${PR[keep_marks_us]}" "${PR[sort_us]}"
    BASELINE_NOTES+=("prune decision: sorting the same 10,000 times newest first (Vec::sort_unstable) in the same process; keep_marks sorts too, then reads each time's local hour, day, ISO week, month and year (localtime_r) and applies the six options in PVE's order; it kept ${PR[kept]} of the 10,000")
    add_row "next run of 1,000 schedules (next_after)" us info - "${PR[next_after_us]}" "${PR[localtime_us]}"
    BASELINE_NOTES+=("next run: 1,000 local-time round trips through libc (localtime_r then mktime) in the same process; next_after makes one such round trip per step of its search, so the ratio is about the steps per schedule")
}
