//! Compiles src/glue.c, the only C of the bridge (Perl's XS API is macros), against the running
//! perl's CORE headers and compiler flags (Debian's perl is threaded: MULTIPLICITY).

use std::process::Command;

fn perl_config(key: &str) -> String {
    let out = Command::new("perl")
        .args(["-MConfig", "-e", &format!("print $Config{{{key}}}")])
        .output()
        .expect("perl is needed to build the Perl bridge");
    String::from_utf8(out.stdout).expect("perl -MConfig prints UTF-8")
}

fn main() {
    let core = format!("{}/CORE", perl_config("archlibexp"));
    let mut build = cc::Build::new();
    build.file("src/glue.c").include(&core).pic(true).warnings(false);
    for flag in perl_config("ccflags").split_ascii_whitespace() {
        build.flag(flag);
    }
    build.compile("smbgw_perl_glue");
    println!("cargo:rerun-if-changed=src/glue.c");
    println!("cargo:rerun-if-changed=build.rs");
}
