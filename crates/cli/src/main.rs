//! `pve-smbgateway`: the command line front end. It parses arguments, reads passwords, calls the
//! gateway core and prints the result; all logic lives in the core crates.

/// Every line of output goes through `output::print_line`: a reader that went away
/// (`pve-smbgateway list | head -1`) ends the program quietly instead of a panic.
macro_rules! println {
    () => {
        $crate::output::print_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::print_line(format_args!($($arg)*))
    };
}

mod args;
mod output;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::ArgMatches;
use smbgw_core::{Error, Result};
use smbgw_gateway::ad::JoinRequest;
use smbgw_gateway::ha::HaSetup;
use smbgw_gateway::{Credentials, Gateway};

use output::Format;

fn main() {
    let matches = match args::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1, // a usage error is bad input
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let format = Format::from_matches(&matches);
    if let Err(err) = run(&matches, format) {
        format.error(&err);
        std::process::exit(err.kind.exit_code());
    }
}

fn run(m: &ArgMatches, format: Format) -> Result<()> {
    let (sub, sm) = m.subcommand().expect("subcommand required");
    match sub {
        "completion" => {
            let shell = *sm.get_one::<clap_complete::Shell>("shell").unwrap();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut args::command(), "pve-smbgateway", &mut script);
            output::print_bytes(&script);
            return Ok(());
        }
        "man" => {
            let mut page = Vec::new();
            write_man_page(&mut page)?;
            output::print_bytes(&page);
            return Ok(());
        }
        _ => {}
    }
    let root = m.get_one::<String>("root").map(PathBuf::from);
    let gw = Gateway::from_env(root.as_deref())?;
    // an admin at a terminal sees each step as it starts
    let interactive = matches!(format, Format::Text) && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let gw = if interactive { gw.with_progress(true) } else { gw };
    let name = || sm.get_one::<String>("name").map(String::as_str).unwrap_or_default();
    let dry_run = || sm.get_flag("dry-run");
    let digest = || sm.get_one::<String>("digest").map(String::as_str);
    // a whole number with a default (its range is the gateway's check)
    let count = |n: &str| -> Result<u64> {
        let v = sm.get_one::<String>(n).map(String::as_str).unwrap_or_default();
        v.parse()
            .map_err(|_| Error::input(format!("{n} must be a whole number, not '{v}'")).field(n))
    };
    match sub {
        "create" => format.change(&gw.create(name(), &args::properties(sm, true), dry_run())?),
        "list" => format.shares(&gw.list()?),
        "storages" => format.storages(&gw.storages()?),
        "show" => format.share(&gw.show_with_homes(name())?),
        "update" => {
            let delete: Vec<String> = sm
                .get_one::<String>("delete")
                .map(|d| {
                    d.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let props = args::properties(sm, false);
            if props.is_empty() && delete.is_empty() {
                return Err(Error::input(
                    "nothing to update: give at least one property to change or --delete",
                ));
            }
            format.change(&gw.update(name(), &props, &delete, digest(), dry_run())?)
        }
        "delete" => format.change(&gw.delete(name(), sm.get_flag("purge-data"), digest(), dry_run())?),
        "status" => {
            let status = gw.status(sm.get_one::<String>("name").map(String::as_str))?;
            format.status(&status)?;
            status.failure().map_or(Ok(()), Err)
        }
        "apply" => {
            let change = gw.apply(dry_run(), sm.get_flag("force"))?;
            format.change(&change)?;
            change.failure().map_or(Ok(()), Err)
        }
        "config-history" => format.config_history(&gw.config_history()?),
        "config-restore" => {
            format.change(&gw.config_restore(sm.get_one::<String>("version").map(String::as_str), dry_run())?)
        }
        "quota-status" => format.quota_status(&gw.quota_status(name())?),
        "quota-history" => format.quota_history(&gw.quota_history(name(), count("days")?)?),
        "quota-sample" => format.samples(&gw.quota_sample()?),
        "io-history" => format.io_history(&gw.io_history(count("hours")?)?),
        "discovery" => {
            let d = gw.set_discovery(
                sm.get_one::<String>("discovery").map(String::as_str),
                sm.get_one::<String>("interfaces").map(String::as_str),
            )?;
            format.message(
                &format!(
                    "discovery {}, interfaces: {}",
                    if d.enabled { "on" } else { "off" },
                    if d.interfaces.is_empty() {
                        "all".to_string()
                    } else {
                        d.interfaces.join(",")
                    }
                ),
                &serde_json::to_value(&d).map_err(|e| Error::system(format!("cannot encode the setting: {e}")))?,
            )
        }
        "sessions" => match (sm.get_one::<String>("session"), sm.get_one::<String>("name")) {
            // a session id names one connection whatever shares it uses
            (Some(_), Some(_)) => Err(Error::input(
                "give a share name to list its sessions, or --disconnect SESSION-ID without one",
            )
            .field("name")),
            (Some(session), None) => format.change(&gw.disconnect_session(session, dry_run())?),
            (None, name) => format.sessions(&gw.sessions(name.map(String::as_str))?),
        },
        "dfree" => {
            // smbd's protocol: "total free blocksize", in 1 KiB blocks
            let (total, free) = gw.dfree(std::path::Path::new(sm.get_one::<String>("dir").unwrap()))?;
            println!("{} {} 1024", total / 1024, free / 1024);
            Ok(())
        }
        "stop" => {
            let stopped = gw.stop()?;
            format.message(
                if stopped {
                    "smbd stopped"
                } else {
                    "smbd was not running"
                },
                &serde_json::json!({ "stopped": stopped }),
            )
        }
        "user" => run_user(&gw, sm, format),
        "snapshot" => run_snapshot(&gw, sm, format),
        "backup" => run_backup(&gw, sm, format),
        "ad-join" | "ad-leave" | "ad-test" | "ad-status" => run_ad(&gw, sub, sm, format),
        "ha-setup" | "ha-status" | "ha-failover" | "ha-test" | "ha-node" | "ha-fence" => run_ha(&gw, sub, sm, format),
        _ => unreachable!("clap knows all subcommands"),
    }
}

fn run_user(gw: &Gateway, m: &ArgMatches, format: Format) -> Result<()> {
    let (sub, sm) = m.subcommand().expect("subcommand required");
    let user = || sm.get_one::<String>("user").map(String::as_str).unwrap_or_default();
    let dry_run = || sm.get_flag("dry-run");
    match sub {
        "add" => {
            smbgw_core::validate::account_name("user name", user())?;
            let groups: Vec<String> = match sm.get_one::<String>("groups") {
                Some(g) => smbgw_core::validate::list("groups", g)?
                    .into_iter()
                    .map(String::from)
                    .collect(),
                None => Vec::new(),
            };
            let password = read_secret(sm.get_flag("password-stdin"), "New Samba password: ", true)?;
            format.change(&gw.user_add(user(), &password, &groups, dry_run())?)
        }
        "passwd" => {
            smbgw_core::validate::account_name("user name", user())?;
            let password = read_secret(sm.get_flag("password-stdin"), "New Samba password: ", true)?;
            format.change(&gw.user_passwd(user(), &password, dry_run())?)
        }
        "delete" => format.change(&gw.user_delete(user(), dry_run())?),
        "list" => format.users(&gw.user_list()?),
        _ => unreachable!("clap knows all subcommands"),
    }
}

fn run_snapshot(gw: &Gateway, m: &ArgMatches, format: Format) -> Result<()> {
    let (sub, sm) = m.subcommand().expect("subcommand required");
    let arg = |k: &str| sm.get_one::<String>(k).map(String::as_str).unwrap_or_default();
    let dry_run = || sm.get_flag("dry-run");
    match sub {
        "list" => format.snapshots(&gw.snapshot_list(arg("name"))?),
        "create" => format.change(&gw.snapshot_create(arg("name"), dry_run())?),
        "delete" => format.change(&gw.snapshot_delete(arg("name"), arg("snapshot"), dry_run())?),
        "rollback" => {
            format.change(&gw.snapshot_rollback(arg("name"), arg("snapshot"), sm.get_flag("confirm"), dry_run())?)
        }
        _ => unreachable!("clap knows all subcommands"),
    }
}

fn run_backup(gw: &Gateway, m: &ArgMatches, format: Format) -> Result<()> {
    let (sub, sm) = m.subcommand().expect("subcommand required");
    let arg = |k: &str| sm.get_one::<String>(k).map(String::as_str).unwrap_or_default();
    let dry_run = || sm.get_flag("dry-run");
    match sub {
        "create" => format.backup_made(&gw.backup_create(arg("name"), arg("storage"), dry_run())?),
        "list" => format.backups(&gw.backup_list(arg("name"), sm.get_one::<String>("storage").map(String::as_str))?),
        "restore" => {
            let request = smbgw_gateway::RestoreRequest {
                storage: arg("storage").into(),
                snapshot: arg("snapshot").into(),
                target: arg("target").into(),
                file: sm.get_one::<String>("file").cloned(),
            };
            format.change(&gw.backup_restore(arg("name"), &request, dry_run())?)
        }
        _ => unreachable!("clap knows all subcommands"),
    }
}

fn run_ad(gw: &Gateway, sub: &str, m: &ArgMatches, format: Format) -> Result<()> {
    let arg = |k: &str| m.try_get_one::<String>(k).ok().flatten().cloned();
    let credentials = |user: String| -> Result<Credentials> {
        let prompt = format!("Password for {user}: ");
        let password = read_secret(m.get_flag("password-stdin"), &prompt, false)?;
        Ok(Credentials { user, password })
    };
    match sub {
        "ad-join" => {
            let request = JoinRequest {
                domain: arg("domain").unwrap_or_default(),
                ou: arg("ou"),
                netbios_name: arg("netbios"),
                dc: arg("dc"),
                credentials: credentials(arg("user").unwrap_or_default())?,
            };
            format.change(&gw.ad_join(request, m.get_flag("dry-run"))?)
        }
        "ad-leave" => {
            // without a password the computer account stays in the domain
            let creds = match m.get_flag("password-stdin") || std::io::stdin().is_terminal() {
                true => Some(credentials(arg("user").unwrap_or_default())?),
                false => None,
            };
            format.change(&gw.ad_leave(creds, m.get_flag("dry-run"))?)
        }
        "ad-test" => {
            let creds = match arg("user") {
                Some(user) => Some(credentials(user)?),
                None => None,
            };
            let test = gw.ad_test(&arg("domain").unwrap_or_default(), arg("dc").as_deref(), creds.as_ref())?;
            format.ad_test(&test)?;
            if test.ok {
                Ok(())
            } else {
                Err(Error::external(format!(
                    "{} of {} checks failed",
                    test.checks.iter().filter(|c| !c.ok).count(),
                    test.checks.len()
                )))
            }
        }
        "ad-status" => format.ad_status(&gw.ad_status(m.get_flag("check"))?),
        _ => unreachable!("clap knows all subcommands"),
    }
}

fn run_ha(gw: &Gateway, sub: &str, m: &ArgMatches, format: Format) -> Result<()> {
    let arg = |k: &str| m.get_one::<String>(k).cloned().unwrap_or_default();
    match sub {
        "ha-setup" => {
            let setup = HaSetup {
                nodes: m.get_one::<String>("nodes").cloned(),
                vips: arg("vip"),
                interface: arg("interface"),
                lock: arg("lock"),
                no_lock: m.get_flag("no-lock"),
                tunables: m.get_many::<String>("tunable").into_iter().flatten().cloned().collect(),
                digest: m.get_one::<String>("digest").cloned(),
            };
            format.change(&gw.ha_setup(&setup, m.get_flag("dry-run"))?)
        }
        "ha-status" => format.ha_status(&gw.ha_status()?),
        "ha-fence" => {
            let event = arg("event");
            let lines = gw.ha_fence(&event)?;
            // CTDB runs it every monitor interval: a quiet run leaves its log alone
            if lines.is_empty() {
                return Ok(());
            }
            format.message(&lines.join("\n"), &serde_json::json!({ "event": event, "done": lines }))
        }
        "ha-failover" => {
            let seconds = gw.ha_failover(&arg("vip"), &arg("node"))?;
            format.message(
                &format!("{} moved to {} in {seconds:.2} s", arg("vip"), arg("node")),
                &serde_json::json!({ "vip": arg("vip"), "to": arg("node"), "seconds": seconds }),
            )
        }
        "ha-test" => {
            let report = gw.ha_test(&arg("vip"))?;
            let text = format!(
                "{}: moved from node {} to node {} in {:.2} s, answering after {:.2} s",
                report.vip, report.from, report.to, report.seconds_to_move, report.seconds_to_answer
            );
            format.message(&text, &serde_json::to_value(&report).unwrap_or_default())
        }
        "ha-node" => {
            let enable = arg("action") == "enable";
            gw.ha_node(&arg("node"), enable)?;
            format.message(
                &format!("node {} {}", arg("node"), if enable { "enabled" } else { "disabled" }),
                &serde_json::json!({ "node": arg("node"), "enabled": enable }),
            )
        }
        _ => unreachable!("clap knows all subcommands"),
    }
}

/// One man page: the main command, then each subcommand with its synopsis and options.
fn write_man_page(out: &mut dyn std::io::Write) -> Result<()> {
    let fail = |e: std::io::Error| Error::system(format!("writing the man page failed: {e}"));
    let mut cmd = args::command();
    cmd.build();
    // section 8: an administration command (it lives in /usr/sbin)
    clap_mangen::Man::new(cmd.clone())
        .section("8")
        .render(out)
        .map_err(fail)?;
    let mut commands: Vec<(String, clap::Command)> = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.has_subcommands() {
            for inner in sub.get_subcommands() {
                commands.push((format!("{} {}", sub.get_name(), inner.get_name()), inner.clone()));
            }
        } else {
            commands.push((sub.get_name().to_string(), sub.clone()));
        }
    }
    for (name, sub) in commands {
        writeln!(out, ".SH \"COMMAND: {name}\"").map_err(fail)?;
        let man = clap_mangen::Man::new(sub.bin_name(format!("pve-smbgateway {name}"))).section("8");
        man.render_synopsis_section(out).map_err(fail)?;
        man.render_description_section(out).map_err(fail)?;
        man.render_options_section(out).map_err(fail)?;
    }
    Ok(())
}

/// A password from stdin (first line) or an interactive prompt (twice for a new password);
/// never from argv.
fn read_secret(from_stdin: bool, prompt: &str, confirm: bool) -> Result<String> {
    if from_stdin {
        let mut buf = String::new();
        std::io::stdin()
            .take(4096)
            .read_to_string(&mut buf)
            .map_err(|e| Error::input(format!("reading the password from stdin failed: {e}")))?;
        let line = buf.strip_suffix('\n').unwrap_or(&buf);
        let line = line.strip_suffix('\r').unwrap_or(line);
        return Ok(line.to_string());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::input(
            "no password given: pass --password-stdin and write it to standard input, or run interactively",
        ));
    }
    let first =
        rpassword::prompt_password(prompt).map_err(|e| Error::system(format!("reading the password failed: {e}")))?;
    if !confirm {
        return Ok(first);
    }
    let second = rpassword::prompt_password(format!("Retype {}", prompt.to_lowercase()))
        .map_err(|e| Error::system(format!("reading the password failed: {e}")))?;
    if first != second {
        return Err(Error::input("the passwords do not match"));
    }
    Ok(first)
}
