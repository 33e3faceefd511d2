//! An idle session uses no CPU: no busy loop in the reader's wait, the
//! socket's reader thread, or a sender. Alone in its test binary, so the
//! process's CPU time is the session's (and the idle test server's).

use std::time::{Duration, Instant};

use xmpp_io_blocking::{connect, Event, TlsMode};
use xmpp_test_support::blocking_server::*;

/// User + system CPU time of this process, all threads, from
/// `/proc/self/stat` (fields 14 and 15, in clock ticks of 1/100 s on Linux).
#[cfg(target_os = "linux")]
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3, so field n is at index n - 3.
    let utime: u64 = fields[14 - 3].parse().unwrap();
    let stime: u64 = fields[15 - 3].parse().unwrap();
    Duration::from_millis((utime + stime) * 10)
}

#[cfg(target_os = "linux")]
#[test]
fn an_idle_session_uses_no_cpu() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server(&[DOMAIN]),
        vec![Plan::DirectTls(with_close(direct_tls_login("idle")))],
    );
    let client = connect(plain_only(server.options(pki.ca(), TlsMode::DirectTls))).unwrap();
    let (mut reader, sender) = client.split();
    // The reader waits on its own thread: its next deadline is a keepalive
    // 60 s away, and nothing arrives.
    let runner = std::thread::spawn(move || {
        let mut last = None;
        for event in reader.iter() {
            last = Some(event);
        }
        last
    });
    std::thread::sleep(Duration::from_millis(200)); // let the login's work settle
    let (cpu_before, wall_before) = (cpu_time(), Instant::now());
    std::thread::sleep(Duration::from_millis(1200));
    let (cpu, wall) = (cpu_time() - cpu_before, wall_before.elapsed());
    eprintln!("idle for {wall:?}: {cpu:?} of CPU");
    // A busy loop would burn ~1.2 s; even a 1 ms poll would show. 30 ms is
    // the tick resolution plus noise.
    assert!(
        cpu <= Duration::from_millis(30),
        "{cpu:?} of CPU while idle"
    );

    // And the idle session still works at once.
    sender
        .send(xmpp_proto::stanza::Message::chat(
            "romeo@localhost"
                .parse::<xmpp_proto::stanza::Jid>()
                .unwrap(),
            "still here",
        ))
        .unwrap();
    server.wait_for(0, "still here", Duration::from_secs(2));
    sender.close();
    assert!(matches!(
        runner.join().unwrap(),
        Some(Event::Disconnected { .. })
    ));
}
