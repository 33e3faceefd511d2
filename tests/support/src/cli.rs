//! Drives a command-line client (`xmpp-cli` of either adapter) as a black
//! box through the contract in `docs/cli.md`: JSON-lines
//! commands on stdin, JSON-lines events on stdout, exit statuses.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The private Prosody started by `scripts/prosody start` (its `PROSODY_*`
/// variables).
#[derive(Clone, Debug)]
pub struct Server {
    pub host: String,
    pub c2s_port: String,
    pub tls_port: String,
    pub ca: String,
    pub domain: String,
}

impl Server {
    /// From the environment; panics with a clear message when it is missing
    /// (these tests run from `scripts/test`, which starts the server).
    pub fn from_env() -> Self {
        let var = |k: &str| {
            std::env::var(k).unwrap_or_else(|_| {
                panic!("{k} is not set: run the interop tests through scripts/test (it starts Prosody)")
            })
        };
        Server {
            host: var("PROSODY_HOST"),
            c2s_port: var("PROSODY_C2S_PORT"),
            tls_port: var("PROSODY_TLS_PORT"),
            ca: var("PROSODY_CA"),
            domain: var("PROSODY_DOMAIN"),
        }
    }
}

/// A built `xmpp-cli`: the adapter's name and the binary's path.
#[derive(Clone, Debug)]
pub struct Driver {
    pub name: &'static str,
    pub path: String,
}

/// Every driver whose binary `scripts/test` built (`XMPP_CLI_TOKIO`,
/// `XMPP_CLI_BLOCKING`); the Tokio one is required.
pub fn drivers() -> Vec<Driver> {
    let mut out = Vec::new();
    for (name, var) in [
        ("tokio", "XMPP_CLI_TOKIO"),
        ("blocking", "XMPP_CLI_BLOCKING"),
    ] {
        if let Ok(path) = std::env::var(var) {
            out.push(Driver { name, path });
        }
    }
    assert!(
        out.iter().any(|d| d.name == "tokio"),
        "XMPP_CLI_TOKIO is not set: run the interop tests through scripts/test"
    );
    out
}

/// The command line of `driver` for `jid` with `password` and extra flags
/// (`--host` and, unless given, `--port` of the STARTTLS port added).
fn command(driver: &Driver, server: &Server, jid: &str, password: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(&driver.path);
    cmd.args(["--jid", jid, "--host", &server.host])
        .args(extra)
        .env("XMPP_PASSWORD", password);
    if !extra.contains(&"--port") {
        cmd.args(["--port", &server.c2s_port]);
    }
    cmd
}

/// Runs `driver` for `jid` with nothing on stdin, to its end, and returns
/// its exit status, stdout and stderr (for runs that fail before any
/// session).
#[allow(dead_code)]
pub fn run_to_end(
    driver: &Driver,
    server: &Server,
    jid: &str,
    password: &str,
    extra: &[&str],
) -> Output {
    command(driver, server, jid, password, extra)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", driver.path))
}

/// The fields the contract in the repository (`docs/cli.md`) lists for an
/// output event: the backquoted names at the start of its row's field
/// descriptions (`jid` (full JID bound), `tls` (bool), ... gives jid, tls).
#[allow(dead_code)]
pub fn contract_fields(event: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md");
    let contract = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let output = contract
        .split("## Output")
        .nth(1)
        .expect("docs/cli.md has an Output section");
    let row = output
        .lines()
        .find(|l| l.starts_with(&format!("| `{event}` |")))
        .unwrap_or_else(|| panic!("docs/cli.md lists no `{event}` event"));
    let fields = row.split('|').nth(2).expect("a fields column");
    // Each field is a backquoted name at the start of the column or after a
    // comma; backquoted values inside parentheses are not fields, nor are
    // names in prose ("`item` as in `roster` items").
    let mut names = Vec::new();
    let mut depth = 0;
    let mut before = "";
    for (i, part) in fields.split('`').enumerate() {
        if i % 2 == 1 {
            let listed = before.trim().is_empty() || before.trim_end().ends_with(',');
            if depth == 0 && listed && part.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                names.push(part.to_string());
            }
        } else {
            before = part;
            for c in part.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
            }
        }
    }
    assert!(!names.is_empty(), "no fields found for `{event}` in: {row}");
    names
}

/// Asserts that `value`, an event, carries every field the contract
/// (`docs/cli.md`) lists for it.
#[allow(dead_code)]
pub fn assert_contract_fields(value: &serde_json::Value) {
    let event = value["event"].as_str().expect("an event name");
    for field in contract_fields(event) {
        assert!(
            value.get(&field).is_some(),
            "`{event}` lacks `{field}` (docs/cli.md): {value}"
        );
    }
}

/// A running client.
pub struct Cli {
    pub driver: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every event line read so far.
    pub seen: Vec<serde_json::Value>,
}

impl Cli {
    /// Starts `driver` for `user@domain` with `password` and extra flags.
    pub fn start(
        driver: &Driver,
        server: &Server,
        user: &str,
        password: &str,
        extra: &[&str],
    ) -> Cli {
        let jid = format!("{user}@{}", server.domain);
        Cli::start_jid(driver, server, &jid, password, extra)
    }

    /// Starts `driver` for `jid` (bare or full) with `password` and extra
    /// flags.
    pub fn start_jid(
        driver: &Driver,
        server: &Server,
        jid: &str,
        password: &str,
        extra: &[&str],
    ) -> Cli {
        let mut cmd = command(driver, server, jid, password, extra);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", driver.path));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Cli {
            driver: driver.name,
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// The process id (for CPU and memory figures).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Writes raw text (many command lines at once) to stdin.
    #[allow(dead_code)]
    pub fn send_raw(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(text.as_bytes()).expect("write commands");
        stdin.flush().expect("flush");
    }

    /// Sends one command line.
    pub fn send(&mut self, command: serde_json::Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{command}").expect("write command");
        stdin.flush().expect("flush");
    }

    /// Waits for the first event (after those already seen) matching `pred`.
    pub fn expect(
        &mut self,
        what: &str,
        within: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                        panic!("[{}] stdout line is not JSON ({e}): {line}", self.driver)
                    });
                    assert!(
                        v.get("event").is_some(),
                        "[{}] event without \"event\": {line}",
                        self.driver
                    );
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "[{}] no {what} within {within:?}; seen: {:?}",
                        self.driver, self.seen
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "[{}] stdout closed before {what}; seen: {:?}",
                        self.driver, self.seen
                    )
                }
            }
        }
    }

    /// The next event, if one comes within `within` (recorded in `seen`).
    #[allow(dead_code)]
    pub fn try_next(&mut self, within: Duration) -> Option<serde_json::Value> {
        let line = self.lines.recv_timeout(within).ok()?;
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("[{}] stdout line is not JSON ({e}): {line}", self.driver));
        self.seen.push(v.clone());
        Some(v)
    }

    /// Waits for the `online` event.
    pub fn online(&mut self) -> serde_json::Value {
        self.expect("online", Duration::from_secs(20), |v| {
            v["event"] == "online"
        })
    }

    /// Closes stdin (= quit) and returns the exit status.
    #[allow(dead_code)]
    pub fn finish(mut self) -> (i32, Vec<serde_json::Value>) {
        drop(self.stdin.take());
        let status = self.wait(Duration::from_secs(20));
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            if let Ok(v) = serde_json::from_str(&line) {
                self.seen.push(v);
            }
        }
        (status, std::mem::take(&mut self.seen))
    }

    /// Waits for the process to exit on its own.
    pub fn wait(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "[{}] did not exit within {within:?}; seen: {:?}",
                    self.driver, self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
