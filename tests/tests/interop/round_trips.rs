//! Login round trips against the real server (issue #15), through both
//! adapters: each login is timed straight to Prosody and through a proxy
//! that holds every byte 50 ms each way (100 ms per round trip); the
//! difference over the round trip time is the login's round trips (the
//! client's CPU and the server's cancel out; medians of 3). A first login
//! takes at most 6 round trips over STARTTLS and 5 over direct TLS; a
//! returning client (its stored SCRAM keys: the initial response leaves
//! with the stream header) at most 5 and 4. TCP's own handshake is not
//! counted (the proxy answers it at once). The figures are printed.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use xmpp_proto::adapter::{ConnectOptions, TlsMode};
use xmpp_proto::sasl::{Credentials, ScramKeys};
use xmpp_test_support::proxy::Proxy;

use super::cli::Server;

const ONE_WAY: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug)]
enum Adapter {
    Tokio,
    Blocking,
}

fn addr(s: &Server, port: &str) -> SocketAddr {
    (s.host.as_str(), port.parse::<u16>().expect("port"))
        .to_socket_addrs()
        .expect("address")
        .next()
        .expect("an address")
}

/// One login's time to online, and the keys it reported.
fn login(adapter: Adapter, options: ConnectOptions) -> (Duration, Option<ScramKeys>) {
    let start = Instant::now();
    match adapter {
        Adapter::Tokio => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let (handle, mut events) = xmpp_io_tokio::connect(options).await.expect("online");
                let took = start.elapsed();
                let mut keys = None;
                while let Some(e) = events.try_next() {
                    if let xmpp_io_tokio::Event::Core(xmpp_proto::Event::ScramKeys(k)) = e {
                        keys = Some(k);
                    }
                }
                handle.close().await;
                (took, keys)
            })
        }
        Adapter::Blocking => {
            let mut client = xmpp_io_blocking::connect(options).expect("online");
            let took = start.elapsed();
            let mut keys = None;
            while let Ok(Some(e)) = client.next_event(Some(Duration::ZERO)) {
                if let xmpp_io_blocking::Event::Core(xmpp_proto::Event::ScramKeys(k)) = e {
                    keys = Some(k);
                }
            }
            client.close();
            (took, keys)
        }
    }
}

fn options(s: &Server, port: u16, direct: bool, credentials: Credentials) -> ConnectOptions {
    ConnectOptions::with_credentials(
        format!("alice@{}", s.domain).parse().expect("jid"),
        credentials,
    )
    .server("127.0.0.1", port)
    .ca_file(s.ca.clone())
    .tls_mode(if direct {
        TlsMode::DirectTls
    } else {
        TlsMode::StartTls
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn logins_take_at_most_six_and_five_round_trips_returning_ones_five_and_four() {
    let s = Server::from_env();
    let mut report = Vec::new();
    for adapter in [Adapter::Tokio, Adapter::Blocking] {
        for direct in [false, true] {
            let port = if direct { &s.tls_port } else { &s.c2s_port };
            let target = addr(&s, port);
            let proxy = Proxy::start_delayed(target, ONE_WAY).expect("proxy");
            let password = || Credentials::Password("alice-pass".into());
            let (_, keys) = login(adapter, options(&s, target.port(), direct, password()));
            let keys = keys.expect("a SCRAM login reports its keys");
            let returning = || Credentials::PasswordAndKeys("alice-pass".into(), keys.clone());
            let rtt = 2.0 * ONE_WAY.as_secs_f64();
            let count = |credentials: &dyn Fn() -> Credentials| {
                let runs = (0..3)
                    .map(|_| {
                        let (straight, _) =
                            login(adapter, options(&s, target.port(), direct, credentials()));
                        let (slow, _) =
                            login(adapter, options(&s, proxy.port(), direct, credentials()));
                        (slow.as_secs_f64() - straight.as_secs_f64()) / rtt
                    })
                    .collect();
                median(runs)
            };
            let first = count(&password);
            let again = count(&returning);
            let (first_max, again_max) = if direct { (5.0, 4.0) } else { (6.0, 5.0) };
            let mode = if direct { "direct TLS" } else { "STARTTLS" };
            report.push(format!(
                "{adapter:?} {mode}: first login {first:.2} round trips, returning {again:.2}"
            ));
            assert!(
                first < first_max + 0.5,
                "{adapter:?} {mode}: first login {first:.2}"
            );
            assert!(
                again < again_max + 0.5,
                "{adapter:?} {mode}: returning {again:.2}"
            );
        }
    }
    for line in report {
        eprintln!("round trips: {line}");
    }
}
