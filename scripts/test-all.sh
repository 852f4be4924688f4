#!/bin/bash
# make test: every test tier in turn, each run even when an earlier one failed, then a count.
#
#   deps        scripts/install-deps.sh (everything any tier uses)
#   lint        cargo fmt --check, clippy -D warnings, the release build, systemd units (make lint)
#   cargo       unit tests of every crate and the integration tests against real smbd, btrfs,
#               CTDB, AD (cargo nextest, else cargo test)
#   perl-check  perl -c of every Perl module against the bridge and the PVE stand-ins
#   prove       the Perl tests (t/*.t)
#   ui          the web UI in headless chromium (t/ui/run.sh)
#   package     the .deb in a Debian 12 container booting systemd (t/package/run.sh)
#
# Each tier's own output is shown as it runs. At the end: one line per tier, then as the very
# last line the tests of all tiers, "tests: N passed, M failed". A tier that fails without
# counting a failed test (a build error, lint) counts as one failed test, and one that passes
# without a count (deps, lint) as one passed. Exit status 1 when any tier failed.
# TIERS="perl-check prove" runs only those (make test TIERS=...).
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO" || exit 2
MAKE=${MAKE:-make}
LOGS=$(mktemp -d /tmp/smbgw-test-all.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT

export PERL5LIB="$REPO/perl" PVE_RS_SMBGW_SO="$REPO/target/release/libpve_rs_smbgateway.so" \
    PVE_SMBGW_BIN="$REPO/target/release/pve-smbgateway"

# --- counting: each parser prints "PASSED FAILED" for a tier's log ("0 0": no count found)

# the last "N passed, M failed" a tier printed (perl-check, package)
count_summary_line() {
    local line
    line=$(grep -oE '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -n "$line" ]; then awk '{ print $1, $3 }' <<<"$line"; else echo "0 0"; fi
}

# cargo nextest: "Summary [ 80.1s] 412 tests run: 410 passed, 1 failed, 1 timed out, 3 skipped";
# cargo test: one "test result: ok. N passed; M failed; ..." per test binary
count_cargo() {
    local line
    line=$(grep -E '^ *Summary \[.*tests? run:' "$1" | tail -n 1)
    if [ -n "$line" ]; then
        awk '{
            for (i = 2; i <= NF; i++) {
                n = $(i - 1); w = $i; sub(/[,)]$/, "", w)
                if (w == "passed") p += n
                if (w == "failed" || (w == "timed" && $(i + 1) ~ /^out/)) f += n
            }
        } END { print p + 0, f + 0 }' <<<"$line"
    else
        grep -E '^test result: ' "$1" | awk '{
            for (i = 2; i <= NF; i++) {
                w = $i; sub(/;$/, "", w)
                if (w == "passed") p += $(i - 1)
                if (w == "failed") f += $(i - 1)
            }
        } END { print p + 0, f + 0 }'
    fi
}

# prove: "Files=12, Tests=340, ..." and, for each failed script, "(Wstat: .. Tests: N Failed: M)"
count_prove() {
    local total failed
    total=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' "$1" | tail -n 1)
    failed=$(grep -oE 'Failed: [0-9]+\)' "$1" | grep -oE '[0-9]+' | awk '{ f += $1 } END { print f + 0 }')
    echo "$(( ${total:-0} - failed )) $failed"
}

# node --test (t/ui/test.js): "# pass N" / "# fail N" in TAP, "ℹ pass N" at a terminal
count_node() {
    local p f
    p=$(sed -nE 's/^(# |ℹ )pass ([0-9]+)$/\2/p' "$1" | tail -n 1)
    f=$(sed -nE 's/^(# |ℹ )fail ([0-9]+)$/\2/p' "$1" | tail -n 1)
    echo "${p:-0} ${f:-0}"
}

count_none() { echo "0 0"; }

# --- the tiers

SUMMARY=()
TOTAL_PASSED=0
TOTAL_FAILED=0
TIERS_PASSED=0
TIERS_FAILED=0

# run_tier NAME PARSER COMMAND...
run_tier() {
    local name=$1 parser=$2 rc passed failed status
    shift 2
    case " ${TIERS:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    printf '\n===== make test: tier %s (%s)\n' "$name" "$*"
    "$@" 2>&1 | tee "$LOGS/$name.log"
    rc=${PIPESTATUS[0]}
    read -r passed failed < <("$parser" "$LOGS/$name.log")
    if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
    if [ "$rc" = 0 ] && [ "$passed" = 0 ] && [ "$failed" = 0 ]; then passed=1; fi
    if [ "$rc" = 0 ] && [ "$failed" = 0 ]; then
        status=ok
        TIERS_PASSED=$((TIERS_PASSED + 1))
    else
        status="FAILED (exit status $rc)"
        TIERS_FAILED=$((TIERS_FAILED + 1))
    fi
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    SUMMARY+=("$(printf '  %-11s %6d passed %4d failed   %s' "$name" "$passed" "$failed" "$status")")
}

cargo_tests() {
    if cargo nextest --version >/dev/null 2>&1; then
        cargo nextest run --release --locked --workspace --no-fail-fast
    else
        cargo test --release --locked --workspace --no-fail-fast
    fi
}

run_tier deps count_none ./scripts/install-deps.sh
run_tier lint count_none "$MAKE" --no-print-directory lint
run_tier cargo count_cargo cargo_tests
run_tier perl-check count_summary_line "$MAKE" --no-print-directory perl-check
run_tier prove count_prove prove -I t/lib -r t/
run_tier ui count_node ./t/ui/run.sh
run_tier package count_summary_line ./t/package/run.sh

printf '\n===== make test: %d tiers run, %d ok, %d failed:\n' \
    "$((TIERS_PASSED + TIERS_FAILED))" "$TIERS_PASSED" "$TIERS_FAILED"
printf '%s\n' "${SUMMARY[@]}"
echo "tests: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TIERS_FAILED" = 0 ]
