//! The command line, built from the core's schema: every share property and every operation's
//! parameters have exactly one definition (`smbgw_core::schema`), shared with the Perl API.

use clap::{Arg, ArgAction, ArgMatches, Command};
use smbgw_core::schema::{self, Cli, Kind, Property, SHARE_PROPERTIES};
use smbgw_core::share::Properties;

pub const ABOUT: &str = "Manage SMB shares served by this Proxmox VE node";

/// The argument for `p`, or `None` when the command line does not take it (a password).
fn schema_arg(p: &'static Property) -> Option<Arg> {
    let (long, value_name) = match p.cli {
        Cli::Hidden => return None,
        Cli::Auto => (Some(p.name), None),
        Cli::Long(value_name) => (Some(p.name), Some(value_name)),
        Cli::Renamed(long, value_name) => (Some(long), Some(value_name)),
        Cli::Positional(value_name) => (None, Some(value_name)),
    };
    let mut arg = Arg::new(p.name).help(p.description).required(p.required);
    if let Some(long) = long {
        arg = arg.long(long);
    }
    arg = match p.kind {
        Kind::Bool => arg.value_name("BOOL").num_args(0..=1).default_missing_value("1"),
        Kind::Flag => return Some(arg.action(ArgAction::SetTrue)),
        Kind::Enum(values) => arg
            .value_name("WORD")
            .value_parser(clap::builder::PossibleValuesParser::new(values.iter().copied())),
        Kind::Options => arg
            .action(ArgAction::Append)
            .help("Extra Samba parameter from the allow list (repeatable), e.g. --option 'create mask=0660'"),
        Kind::Settings => arg.action(ArgAction::Append),
        Kind::Size => arg.value_name("SIZE"),
        Kind::Path => arg.value_name("PATH").value_hint(clap::ValueHint::DirPath),
        Kind::Users | Kind::Groups | Kind::Hosts | Kind::Percents | Kind::UserQuotas => arg.value_name("LIST"),
        Kind::Dataset => arg.value_name("DATASET"),
        Kind::Text => arg.value_name("TEXT"),
        Kind::Integer { .. } => arg.value_name("N"),
        Kind::Word(_) | Kind::Str { .. } | Kind::Secret => arg.value_name("WORD"),
    };
    Some(match value_name {
        Some(name) => arg.value_name(name),
        None => arg,
    })
}

/// A share property: its default is shown, not applied (update tells given from not given).
fn property_arg(p: &'static Property) -> Arg {
    let arg = schema_arg(p).expect("every share property is an argument");
    match p.default {
        Some(d) => {
            let help = format!(
                "{} [default: {d}]",
                arg.get_help().map(ToString::to_string).unwrap_or_default()
            );
            arg.help(help)
        }
        None => arg,
    }
}

/// The parameters of an operation (all, or the `only` ones), with their defaults applied.
fn parameter_args(params: &'static [Property], only: Option<&[&str]>) -> Vec<Arg> {
    params
        .iter()
        .filter(|p| only.is_none_or(|names| names.contains(&p.name)))
        .filter_map(|p| {
            let arg = schema_arg(p)?;
            Some(match p.default {
                Some(d) if p.kind != Kind::Flag => arg.default_value(d),
                _ => arg,
            })
        })
        .collect()
}

fn dry_run() -> Arg {
    Arg::new("dry-run")
        .long("dry-run")
        .action(ArgAction::SetTrue)
        .help("Print the plan and change nothing")
}

fn name_arg() -> Arg {
    Arg::new("name").required(true).value_name("NAME").help("Share name")
}

fn password_stdin() -> Arg {
    Arg::new("password-stdin")
        .long("password-stdin")
        .action(ArgAction::SetTrue)
        .help("Read the password from standard input (first line) instead of prompting")
}

pub fn command() -> Command {
    let create_props = SHARE_PROPERTIES.iter().map(property_arg);
    let update_props = SHARE_PROPERTIES.iter().filter(|p| !p.fixed).map(property_arg);
    Command::new("pve-smbgateway")
        .about(ABOUT)
        .long_about(format!(
            "{ABOUT}.\n\nOn a Proxmox VE node the share config is kept in /etc/pve/smbgateway and Samba is the system's. \
             With PVE_SMBGW_ROOT=DIR (or --root DIR) everything lives under DIR and the gateway runs its own smbd on \
             PVE_SMBGW_BIND (default 127.0.0.1) port PVE_SMBGW_SMB_PORT (default 445).\n\n\
             Exit codes: 0 ok, 1 bad input, 2 system error, 3 external service error."
        ))
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .arg(
            Arg::new("output-format")
                .long("output-format")
                .global(true)
                .value_name("FORMAT")
                .value_parser(["text", "json", "json-pretty"])
                .default_value("text")
                .help("Output format"),
        )
        .arg(
            Arg::new("root")
                .long("root")
                .global(true)
                .value_name("DIR")
                .env("PVE_SMBGW_ROOT")
                .value_hint(clap::ValueHint::DirPath)
                .help("Sandbox directory holding every file of the gateway"),
        )
        .subcommand(Command::new("create").about("Create a share").arg(name_arg()).args(create_props).arg(dry_run()))
        .subcommand(Command::new("list").about("List shares"))
        .subcommand(Command::new("storages").about("List this node's PVE storages a share can be put on (create --storage): type, path, room, and whether each is mounted"))
        .subcommand(Command::new("show").about("Show one share's configuration").arg(name_arg()))
        .subcommand(
            Command::new("update")
                .about("Change a share")
                .arg(name_arg())
                .args(update_props)
                .arg(
                    Arg::new("delete")
                        .long("delete")
                        .value_name("PROPERTIES")
                        .help("Reset these properties (comma separated) to their defaults"),
                )
                .arg(digest_arg())
                .arg(dry_run()),
        )
        .subcommand(
            Command::new("delete")
                .about("Delete a share (its data stays unless --purge-data)")
                .arg(name_arg())
                .arg(Arg::new("purge-data").long("purge-data").action(ArgAction::SetTrue).help("Also delete the shared directory and everything in it"))
                .arg(digest_arg())
                .arg(dry_run()),
        )
        .subcommand(Command::new("status").about("Show whether smbd serves the shares").arg(Arg::new("name").value_name("NAME").help("Only this share")))
        .subcommand(
            Command::new("apply")
                .about("Re-converge this node from the share config (idempotent); shares whose storage is missing are left out and named (exit 2)")
                .arg(Arg::new("force").long("force").action(ArgAction::SetTrue).help("Confirm an empty share config while this node still serves shares: unpublish them"))
                .arg(dry_run()),
        )
        .subcommand(Command::new("config-history").about("List the saved versions of the share config (newest last)"))
        .subcommand(
            Command::new("config-restore")
                .about("Make a saved version the share config again; 'apply' then serves it")
                .arg(Arg::new("version").value_name("VERSION").help("Version id from config-history [default: the newest that holds any share]"))
                .arg(dry_run()),
        )
        .subcommand(Command::new("quota-status").about("Show a share's quota: limit, used, free, percent, backend").arg(name_arg()))
        .subcommand(
            Command::new("quota-history")
                .about("Show a share's usage history and the days until its quota is full")
                .arg(name_arg())
                .args(parameter_args(schema::QUOTA_HISTORY, None)),
        )
        .subcommand(
            Command::new("discovery")
                .about("Show or change how this node is discovered (wsdd for Windows, Avahi for macOS)")
                .args(parameter_args(schema::DISCOVERY, None)),
        )
        .subcommand(
            Command::new("sessions")
                .about("Show who is connected to smbd and what they hold (tree connects, open files, byte-range locks) on the shares; --disconnect ends one session")
                .args(parameter_args(schema::SESSIONS, None))
                .arg(dry_run()),
        )
        .subcommand(
            Command::new("snapshot")
                .about("Manage a share's snapshots: the versions Windows shows as Previous Versions")
                .subcommand_required(true)
                .subcommand(
                    Command::new("list")
                        .about("List a share's snapshots: time, whether the gateway made them")
                        .args(parameter_args(schema::SNAPSHOT, Some(&["name"]))),
                )
                .subcommand(
                    Command::new("create")
                        .about("Take a snapshot now (kept until deleted by hand; retention never removes it)")
                        .args(parameter_args(schema::SNAPSHOT, Some(&["name"])))
                        .arg(dry_run()),
                )
                .subcommand(
                    Command::new("delete")
                        .about("Delete a snapshot the gateway made (others are refused)")
                        .args(parameter_args(schema::SNAPSHOT, Some(&["name", "snapshot"])))
                        .arg(dry_run()),
                )
                .subcommand(
                    Command::new("rollback")
                        .about("Replace the share's content by a snapshot's, after a safety snapshot (needs --confirm)")
                        .args(parameter_args(schema::SNAPSHOT, None))
                        .arg(dry_run()),
                ),
        )
        .subcommand(
            Command::new("backup")
                .about("Back a share up to a Proxmox Backup Server storage (from a snapshot of the share), list and restore its backups")
                .subcommand_required(true)
                .subcommand(
                    Command::new("create")
                        .about("Back the share up now: a snapshot, proxmox-backup-client on it (group host/<node>-smbgw-<share>), the snapshot deleted")
                        .args(parameter_args(schema::BACKUP, Some(&["name", "storage"])))
                        .mut_arg("storage", |a| a.required(true))
                        .arg(dry_run()),
                )
                .subcommand(
                    Command::new("list")
                        .about("List a share's backups on one PBS storage, or on every usable one")
                        .args(parameter_args(schema::BACKUP, Some(&["name", "storage"]))),
                )
                .subcommand(
                    Command::new("restore")
                        .about("Restore a backup into a new directory (or one file or directory of it with --file)")
                        .args(parameter_args(schema::BACKUP, None))
                        .mut_arg("storage", |a| a.required(true))
                        .mut_arg("snapshot", |a| a.required(true))
                        .mut_arg("target", |a| a.required(true))
                        .arg(dry_run()),
                ),
        )
        .subcommand(
            Command::new("io-history")
                .about("Show this node's SMB throughput (read, write, requests per second) from the daemon's samples of smbd's profiling counters (daemon.conf: smb-profiling: count)")
                .args(parameter_args(schema::IO_HISTORY, None)),
        )
        .subcommand(Command::new("quota-sample").about("Record the usage of every quota share and raise threshold alerts (for a timer)"))
        .subcommand(
            Command::new("dfree")
                .about("Print the disk size and free space of a directory for smbd's 'dfree command'")
                .hide(true)
                .arg(Arg::new("dir").value_name("DIR").default_value(".")),
        )
        .subcommand(Command::new("stop").about("Stop the smbd the gateway started (sandbox mode)"))
        .subcommand(
            Command::new("user")
                .about("Manage Samba users")
                .subcommand_required(true)
                .subcommand(
                    Command::new("add")
                        .about("Add a Samba user (creates a unix account without login shell if needed)")
                        .args(parameter_args(schema::USER, None))
                        .arg(password_stdin())
                        .arg(dry_run()),
                )
                .subcommand(
                    Command::new("passwd")
                        .about("Change a Samba user's password")
                        .args(parameter_args(schema::USER, Some(&["user"])))
                        .arg(password_stdin())
                        .arg(dry_run()),
                )
                .subcommand(
                    Command::new("delete")
                        .about("Delete a Samba user")
                        .args(parameter_args(schema::USER, Some(&["user"])))
                        .arg(dry_run()),
                )
                .subcommand(Command::new("list").about("List Samba users")),
        )
        .subcommand(
            Command::new("ad-join")
                .about("Join this node to an Active Directory domain (password from stdin or a prompt)")
                .args(parameter_args(schema::AD_JOIN, None))
                .arg(password_stdin())
                .arg(dry_run()),
        )
        .subcommand(
            Command::new("ad-leave")
                .about("Leave the domain and return to local users (with --password-stdin the computer account is deleted too)")
                .args(parameter_args(schema::AD_LEAVE, None))
                .arg(password_stdin())
                .arg(dry_run()),
        )
        .subcommand(
            Command::new("ad-test")
                .about("Check everything a join needs (DNS, DC ports, clock, credentials) without changing anything")
                .args(parameter_args(schema::AD_TEST, None))
                .arg(password_stdin()),
        )
        .subcommand(
            Command::new("ad-status")
                .about("Show the domain membership: DC, winbind, keytab, clock skew, last check")
                .arg(Arg::new("check").long("check").action(ArgAction::SetTrue).help("Ask the domain now and record the result (what the daemon does on a schedule)")),
        )
        .subcommand(
            Command::new("ha-setup")
                .about("Set up the CTDB cluster with floating addresses (VIPs); every node converges with 'apply'")
                .args(parameter_args(schema::HA_SETUP, None))
                .arg(dry_run()),
        )
        .subcommand(Command::new("ha-status").about("Cluster health: nodes, leader, cluster lock, which node holds each VIP"))
        .subcommand(
            Command::new("ha-failover")
                .about("Move a VIP to another node (planned)")
                .args(parameter_args(schema::HA_FAILOVER, None)),
        )
        .subcommand(
            Command::new("ha-test")
                .about("Failover drill: disable the VIP's holder, measure until the VIP answers from another node, enable it again")
                .args(parameter_args(schema::HA_FAILOVER, Some(&["vip"]))),
        )
        .subcommand(
            Command::new("ha-node")
                .about("Node maintenance: a disabled node hosts no VIP")
                .args(parameter_args(schema::HA_NODE, None)),
        )
        .subcommand(
            Command::new("ha-fence")
                .about("Fence the CephFS clients of nodes CTDB declared dead (run by CTDB's event script)")
                .hide(true)
                .arg(Arg::new("event").long("event").value_name("EVENT").default_value("manual").help("The CTDB event that ran it (for the log)")),
        )
        .subcommand(
            Command::new("completion")
                .about("Print a shell completion script")
                .hide(true)
                .arg(Arg::new("shell").required(true).value_parser(clap::value_parser!(clap_complete::Shell))),
        )
        .subcommand(Command::new("man").about("Print the man page (roff)").hide(true))
}

/// `--digest`: the digest `show` printed; the change is refused if the config changed since.
fn digest_arg() -> Arg {
    Arg::new("digest")
        .long("digest")
        .value_name("DIGEST")
        .help("Refuse the change if the share config changed since 'show' printed this digest")
}

/// The share properties given on the command line, in their text form.
pub fn properties(m: &ArgMatches, fixed_too: bool) -> Properties {
    let mut props = Properties::new();
    for p in SHARE_PROPERTIES.iter().filter(|p| fixed_too || !p.fixed) {
        let value = match p.kind {
            Kind::Options => m
                .get_many::<String>(p.name)
                .map(|v| v.cloned().collect::<Vec<_>>().join(",")),
            _ => m.get_one::<String>(p.name).cloned(),
        };
        if let Some(v) = value {
            props.insert(p.name.to_string(), v);
        }
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_arguments_come_from_the_schema() {
        let cmd = command();
        let sub = |name: &str| cmd.find_subcommand(name).expect(name).clone();
        let join = sub("ad-join");
        let user = join.get_arguments().find(|a| a.get_id() == "user").unwrap();
        assert_eq!(user.get_default_values(), [schema::DEFAULT_ADMIN]);
        assert!(
            join.get_arguments().all(|a| a.get_id() != "password"),
            "no password in argv"
        );
        let failover = sub("ha-failover");
        let node = failover.get_arguments().find(|a| a.get_id() == "node").unwrap();
        assert_eq!(node.get_long(), Some("to"));
        let setup = sub("ha-setup");
        let lock = setup.get_arguments().find(|a| a.get_id() == "lock").unwrap();
        assert_eq!(lock.get_default_values(), [smbgw_gateway::ha::DEFAULT_LOCK]);
        let m = command()
            .try_get_matches_from(["pve-smbgateway", "ha-node", "disable", "pve2"])
            .unwrap();
        let (_, node) = m.subcommand().unwrap();
        assert_eq!(node.get_one::<String>("action").unwrap(), "disable");
        assert_eq!(node.get_one::<String>("node").unwrap(), "pve2");
    }
}
