//! Benchmark of a login's client CPU: a whole STARTTLS + SCRAM login
//! (stream, STARTTLS signalling, SASL, bind) replayed on fresh clients, with
//! the password (PBKDF2 runs: 4096 HMAC rounds for SCRAM-SHA-1 and for
//! SCRAM-SHA-256) and with stored keys (`Credentials::PasswordAndKeys`:
//! PBKDF2 skipped). The server's side is recorded once beforehand (a client
//! with the same config and seed writes the same bytes), so only the
//! client's work is timed, in thread CPU time. No TLS: the adapters' TLS
//! handshakes are the same either way.
//!
//! `cargo bench -p xmpp-proto --bench login [-- --quick | --rounds N]`

use std::hint::black_box;
use std::time::{Duration, Instant};

use xmpp_proto::sasl::{Credentials, ScramHash, ScramKeys};
use xmpp_proto::{Client, Config, Event, Input, Output};
use xmpp_test_support::scram_server::{Hash, ScramServer};
use xmpp_test_support::session::{config, Recorded, Session, PASSWORD};

/// Thread CPU time (Linux), else the wall clock.
fn cpu() -> Duration {
    #[cfg(target_os = "linux")]
    {
        #[repr(C)]
        struct Timespec {
            tv_sec: i64,
            tv_nsec: i64,
        }
        extern "C" {
            fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
        }
        let mut t = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `t` is a valid timespec (64-bit Linux layout) to write to.
        if unsafe { clock_gettime(3, &mut t) } == 0 {
            return Duration::new(t.tv_sec as u64, t.tv_nsec as u32);
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

fn with(credentials: Credentials) -> Config {
    Config {
        credentials,
        ..config().build()
    }
}

/// Records a login with `credentials` against a server offering one SCRAM
/// mechanism; returns the server's side and the keys the login produced.
fn record(credentials: Credentials, hash: Hash, mechanism: &str) -> (Vec<Recorded>, ScramKeys) {
    let mut s = Session::new(with(credentials));
    s.starttls_to_sasl(&[mechanism], "", None);
    let outcome = s.scram(&mut ScramServer::new(hash, PASSWORD));
    assert!(outcome.starts_with("<success"), "{outcome}");
    s.bind("bench");
    assert!(s.is_online(), "{:?}", s.events);
    let keys = s
        .events
        .iter()
        .find_map(|e| match e {
            Event::ScramKeys(k) => Some(k.clone()),
            _ => None,
        })
        .expect("keys");
    (s.record, keys)
}

/// One replayed login; true when it got online.
fn replay(config: &Config, script: &[Recorded]) -> bool {
    let now = Instant::now();
    let mut client = Client::new(config.clone(), now);
    let mut online = false;
    let mut drain = |client: &mut Client| loop {
        match client.poll_output() {
            Output::Timeout(_) => break,
            Output::Event(Event::Online { .. }) => online = true,
            other => {
                black_box(other);
            }
        }
    };
    drain(&mut client);
    for input in script {
        match input {
            Recorded::Server(xml) => client.handle_input(Input::Received(now, xml.as_bytes())),
            Recorded::TlsUp => client.handle_input(Input::TlsEstablished(now, None)),
        }
        drain(&mut client);
    }
    online
}

/// Median client CPU per login over `n` logins in each of `rounds` rounds.
fn measure(config: &Config, script: &[Recorded], n: usize, rounds: usize) -> Duration {
    let mut per_round = Vec::new();
    for _ in 0..rounds {
        let start = cpu();
        for _ in 0..n {
            assert!(replay(config, script), "the replay got online");
        }
        per_round.push((cpu() - start) / n as u32);
    }
    per_round.sort();
    per_round[per_round.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = match args.iter().position(|a| a == "--rounds") {
        Some(i) => args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .expect("--rounds N"),
        None if quick => 1,
        None => 5,
    };
    let n = if quick { 20 } else { 100 };
    println!("client CPU per login (median of {rounds} rounds of {n} logins, thread CPU time)");
    for (hash, mechanism, scram_hash) in [
        (Hash::Sha1, "SCRAM-SHA-1", ScramHash::Sha1),
        (Hash::Sha256, "SCRAM-SHA-256", ScramHash::Sha256),
    ] {
        let password = Credentials::Password(PASSWORD.into());
        let (script, keys) = record(password.clone(), hash, mechanism);
        assert_eq!(keys.mechanism_hash, scram_hash);
        let stored = Credentials::PasswordAndKeys(PASSWORD.into(), keys);
        let (stored_script, _) = record(stored.clone(), hash, mechanism);
        let with_password = measure(&with(password), &script, n, rounds);
        let with_keys = measure(&with(stored), &stored_script, n, rounds);
        println!(
            "  {mechanism:<14} password: {:>8.1} us   stored keys: {:>6.1} us   ({:.0}x less)",
            with_password.as_secs_f64() * 1e6,
            with_keys.as_secs_f64() * 1e6,
            with_password.as_secs_f64() / with_keys.as_secs_f64().max(1e-9)
        );
    }
}
