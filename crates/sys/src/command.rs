//! Running external programs. Arguments go as argv, never through a shell; secrets go on stdin,
//! never into argv or the environment; every run has a timeout, so a hung tool cannot hang us.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    env_removes: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    quiet: bool,
}

#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl Command {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            env_removes: Vec::new(),
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
            quiet: false,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn envs(mut self, envs: &[(OsString, OsString)]) -> Self {
        self.envs.extend_from_slice(envs);
        self
    }

    /// Leave `key` out of the program's environment (one of ours must not reach it).
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env_removes.push(key.as_ref().to_owned());
        self
    }

    /// Data for the program's standard input (passwords go here, never in argv).
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Discard the output. Needed for daemons that fork and would keep our pipes open.
    pub fn stdio_null(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// The command line for messages. Safe to show: secrets never live in argv.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Run to completion and return the output, whatever the exit code.
    pub fn output(self) -> Result<Output> {
        let mut cmd = std::process::Command::new(&self.program);
        for key in &self.env_removes {
            cmd.env_remove(key);
        }
        cmd.args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(if self.quiet { Stdio::null() } else { Stdio::piped() })
            .stderr(if self.quiet { Stdio::null() } else { Stdio::piped() });
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::system(format!("cannot run '{}': {e}", self.program.to_string_lossy())))?;

        let writer = self.stdin.map(|data| {
            let mut pipe = child.stdin.take().expect("stdin piped");
            std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            })
        });
        let out_reader = spawn_reader(child.stdout.take());
        let err_reader = spawn_reader(child.stderr.take());

        let status = wait_timeout(&mut child, self.timeout, &self.program.to_string_lossy());
        if let Some(w) = writer {
            let _ = w.join();
        }
        let stdout = out_reader.join().unwrap_or_default();
        let stderr = err_reader.join().unwrap_or_default();
        let status = status?;
        Ok(Output {
            code: status.code(),
            stdout,
            stderr,
        })
    }

    /// Run and require exit code 0; a failure is an external-service error carrying stderr.
    pub fn run(self) -> Result<Output> {
        let display = self.display();
        let out = self.output()?;
        if out.success() {
            Ok(out)
        } else {
            let detail = last_lines(
                if out.stderr.trim().is_empty() {
                    &out.stdout
                } else {
                    &out.stderr
                },
                5,
            );
            Err(Error::external(format!(
                "'{display}' failed (exit code {}): {detail}",
                out.code.map_or("signal".to_string(), |c| c.to_string())
            )))
        }
    }
}

fn spawn_reader<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Wait for `child` (the run of `program`), killing it once `timeout` has passed.
fn wait_timeout(child: &mut Child, timeout: Duration, program: &str) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::external(format!(
                    "'{program}' timed out after {} s and was killed",
                    timeout.as_secs()
                )));
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(Error::external(format!("'{program}' could not be waited for: {e}"))),
        }
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_reaches_program() {
        let out = Command::new("cat").stdin("secret\n").run().unwrap();
        assert_eq!(out.stdout, "secret\n");
    }

    #[test]
    fn failure_is_external_with_stderr() {
        let err = Command::new("sh")
            .args(["-c", "echo boom >&2; exit 3"])
            .run()
            .unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::External);
        assert!(err.message.contains("boom"), "{}", err.message);
        assert!(err.message.contains("exit code 3"), "{}", err.message);
    }

    #[test]
    fn missing_program_is_system_error() {
        let err = Command::new("/nonexistent/prog").run().unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::System);
    }

    #[test]
    fn timeout_kills() {
        let err = Command::new("sleep")
            .arg("5")
            .timeout(Duration::from_millis(100))
            .run()
            .unwrap_err();
        assert!(err.message.contains("timed out"), "{}", err.message);
    }
}
