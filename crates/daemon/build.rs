//! The integration tests drive the CLI (`pve-smbgateway`, another package of this workspace)
//! through the CLI's test harness, which names it `env!("CARGO_BIN_EXE_pve-smbgateway")`.
//! Cargo sets that only for a package's own binaries: point it at the CLI built into the same
//! target directory (`cargo build --release` builds both).

use std::path::PathBuf;

fn main() {
    // OUT_DIR is <target>/<profile>/build/pve-smbgatewayd-<hash>/out
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let profile_dir = out.ancestors().nth(3).expect("OUT_DIR is inside the target directory");
    println!(
        "cargo:rustc-env=CARGO_BIN_EXE_pve-smbgateway={}",
        profile_dir.join("pve-smbgateway").display()
    );
    println!("cargo:rerun-if-changed=build.rs");
}
