//! Logging: the journal with structured fields (SMBGW_SHARE=..., SMBGW_CHECK=...) where
//! journald runs, else stderr.

use std::io::IsTerminal;
use std::path::Path;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

pub fn init(debug: bool) {
    let level = if debug { LevelFilter::DEBUG } else { LevelFilter::INFO };
    if Path::new(JOURNAL_SOCKET).exists() {
        match tracing_journald::layer() {
            Ok(journal) => {
                let journal = journal.with_field_prefix(Some("SMBGW".into())).with_filter(level);
                tracing_subscriber::registry().with(journal).init();
                return;
            }
            Err(e) => eprintln!("pve-smbgatewayd: journald not reachable ({e}), logging to stderr"),
        }
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(level)
        .with_target(false)
        .init();
}
