#!/bin/sh
# The security checks of `make test`, as one command for an admin on a Proxmox VE node (root, in a
# source checkout with the Rust toolchain):
#   - crates/cli/tests/hostile.rs: the hostile-input suite (injection into smb.conf, paths, names,
#     options...): every case must exit 1 and leave every file byte for byte unchanged;
#   - crates/cli/tests/ad.rs: the Active Directory test against a real Samba AD DC, which watches
#     every process's argv and environment (/proc) during ad-join and ad-leave: the password must
#     never show up there (it reaches Samba on a pipe).
# Extra arguments go to cargo nextest / cargo test.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "$0: needs root (smbd, namespaces)" >&2; exit 1; }
cargo build --release --locked
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --release --locked -p pve-smbgateway --no-fail-fast --test hostile --test ad "$@"
else
    cargo test --release --locked -p pve-smbgateway --no-fail-fast --test hostile --test ad "$@"
fi
