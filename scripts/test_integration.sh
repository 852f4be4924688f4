#!/bin/sh
# The integration tier of `make test`, as one command for an admin on a Proxmox VE node (root, in a
# source checkout with the Rust toolchain; `make deps` installs the rest):
#   1. the integration tests of every crate (crates/*/tests): real smbd and smbclient, btrfs quotas
#      on loop devices, the Samba AD DC and member in namespaces, the daemon - with cargo-nextest
#      when it is installed, else cargo test;
#   2. the Perl tier: `prove -r t/` - the bridge, the API module and the storage plugin, loaded from
#      the built library against the PVE stand-ins of t/lib.
# Extra arguments go to cargo nextest / cargo test (e.g. a test name filter). Unit tests, lint and
# the hostile-input suite on their own: `make test`, scripts/test_security.sh. The package test
# (the .deb in a Debian 12 container with systemd) is t/package/run.sh.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "$0: needs root (smbd, loop devices, namespaces)" >&2; exit 1; }
cargo build --release --locked
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --release --locked --workspace --no-fail-fast -E 'kind(test)' "$@"
else
    cargo test --release --locked --workspace --no-fail-fast --test '*' "$@"
fi
PERL5LIB=$PWD/perl PVE_RS_SMBGW_SO=$PWD/target/release/libpve_rs_smbgateway.so \
    PVE_SMBGW_BIN=$PWD/target/release/pve-smbgateway prove -I t/lib -r t/
