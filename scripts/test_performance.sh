#!/bin/sh
# The performance figures of `make bench`, as one command for an admin on a Proxmox VE node (root,
# in a source checkout with the Rust toolchain): builds the release binaries, then runs
# scripts/bench.sh, which prints every figure beside a baseline measured in the same run (see its
# header for the list and the targets; BENCH_QUICK=1 for a quick indicative run). Measured, not
# asserted: the exit code is non-zero only when the bench cannot run.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "$0: needs root (loop devices, smbd)" >&2; exit 1; }
cargo build --release --locked
exec ./scripts/bench.sh "$@"
