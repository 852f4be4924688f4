//! CTDB cluster lock helper that follows the quorate corosync partition.
//!
//! In ctdb.conf: `cluster lock = !/usr/libexec/pve-smbgateway/smbgw-ctdb-quorum-lock [--group NAME]
//! [--margin-ms N] [--contend-ms N]`. See `smbgw_ha::lock` for the protocol and the guarantees.

use std::io::Write;
use std::process::ExitCode;

use smbgw_ha::lock::{self, Outcome};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let answer = |c: u8| {
        // one unbuffered byte: ctdbd reads exactly one status character from the pipe
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&[c]);
        let _ = out.flush();
    };
    let opts = match lock::parse_args(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("smbgw-ctdb-quorum-lock: {e}");
            answer(b'3');
            return ExitCode::from(3);
        }
    };
    match lock::run(&opts, answer) {
        Outcome::Released => ExitCode::SUCCESS,
        Outcome::Contention => ExitCode::from(1),
        Outcome::Error => ExitCode::from(3),
    }
}
