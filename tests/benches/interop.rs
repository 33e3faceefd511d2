//! Login latency and message throughput against the private Prosody,
//! through each adapter's `xmpp-cli` (the same driver list as the interop
//! tests), with the client processes' CPU time and peak RSS beside the
//! server's CPU time.
//!
//! `scripts/bench-interop` builds the clients, starts Prosody and runs this.

use std::time::{Duration, Instant};

use serde_json::json;
use xmpp_test_support::cli::{drivers, Cli, Driver, Server};

/// (user + system) CPU seconds of a process, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name: utime is field 14, stime 15.
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident set size in KiB, from /proc/PID/status.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Login latencies (median, min, max) and the client process's median CPU
/// time until it was online (process start included; 10 ms ticks).
fn logins(d: &Driver, s: &Server, n: usize) -> (Duration, Duration, Duration, f64) {
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let mut c = Cli::start(d, s, "alice", "alice-pass", &["--ca-file", &s.ca]);
        c.online();
        times.push(t.elapsed());
        cpu.push(cpu_seconds(c.pid()));
        c.send(json!({"cmd": "quit"}));
        c.wait(Duration::from_secs(20));
    }
    let min = *times.iter().min().expect("logins");
    let max = *times.iter().max().expect("logins");
    cpu.sort_by(f64::total_cmp);
    (median(times), min, max, cpu[cpu.len() / 2])
}

fn throughput(d: &Driver, s: &Server, n: usize, server_pid: u32) {
    let mut bob = Cli::start(
        d,
        s,
        "bob",
        "bob-pass",
        &["--ca-file", &s.ca, "--resource", "bench"],
    );
    bob.online();
    bob.send(json!({"cmd": "presence", "tag": "p"}));
    bob.expect("presence", Duration::from_secs(10), |v| v["tag"] == "p");
    let mut alice = Cli::start(d, s, "alice", "alice-pass", &["--ca-file", &s.ca]);
    alice.online();
    let (cpu_a0, cpu_b0, cpu_s0) = (
        cpu_seconds(alice.pid()),
        cpu_seconds(bob.pid()),
        cpu_seconds(server_pid),
    );
    let t = Instant::now();
    let writer = {
        let mut lines = String::with_capacity(n * 64);
        for i in 0..n {
            lines.push_str(
                &json!({"cmd": "send", "to": "bob@localhost", "body": format!("m{i}")}).to_string(),
            );
            lines.push('\n');
        }
        lines
    };
    alice.send_raw(&writer);
    for i in 0..n {
        let want = format!("m{i}");
        let m = bob.expect("message", Duration::from_secs(60), |v| {
            v["event"] == "message"
        });
        assert_eq!(m["body"], want.as_str(), "lost or reordered");
    }
    let elapsed = t.elapsed();
    let cpu_alice = cpu_seconds(alice.pid()) - cpu_a0;
    let cpu_bob = cpu_seconds(bob.pid()) - cpu_b0;
    let cpu_server = cpu_seconds(server_pid) - cpu_s0;
    let rss = (peak_rss_kib(alice.pid()), peak_rss_kib(bob.pid()));
    println!(
        "  {n} messages alice -> bob: {:.2} s, {:.0} messages/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  CPU: sender {cpu_alice:.2} s ({:.1} µs/msg), receiver {cpu_bob:.2} s ({:.1} µs/msg), server {cpu_server:.2} s ({:.1} µs/msg)",
        cpu_alice * 1e6 / n as f64,
        cpu_bob * 1e6 / n as f64,
        cpu_server * 1e6 / n as f64
    );
    println!("  peak RSS: sender {} KiB, receiver {} KiB", rss.0, rss.1);
    alice.send(json!({"cmd": "quit"}));
    alice.wait(Duration::from_secs(20));
    bob.send(json!({"cmd": "quit"}));
    bob.wait(Duration::from_secs(20));
}

fn main() {
    let server = Server::from_env();
    let server_pid: u32 = std::env::var("PROSODY_PID")
        .ok()
        .and_then(|p| p.parse().ok())
        .expect("PROSODY_PID");
    let quick = std::env::args().any(|a| a == "--quick");
    let (n_logins, n_messages) = if quick { (3, 1_000) } else { (20, 20_000) };
    for d in drivers() {
        println!("driver {} ({}):", d.name, d.path);
        let (med, min, max, cpu) = logins(&d, &server, n_logins);
        println!(
            "  login (process start + TCP + STARTTLS + SCRAM + bind) over {n_logins} logins: median {:.1} ms (min {:.1}, max {:.1}); client CPU until online: median {:.0} ms",
            med.as_secs_f64() * 1e3,
            min.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            cpu * 1e3
        );
        throughput(&d, &server, n_messages, server_pid);
    }
}
