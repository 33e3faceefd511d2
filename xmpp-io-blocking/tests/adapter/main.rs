//! The adapter over real sockets against an in-process TLS server (native-tls
//! server side, certificates made at test time): handshakes reach the core,
//! certificate failures are typed and leak no credential, the GS2 flag
//! follows the core's XEP-0440 policy with `tls-server-end-point`, the
//! core's deadlines fire on time, reader and writer work from different
//! threads, reconnection follows its policy.

use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use xmpp_io_blocking::{
    connect, Client, CommandError, ConnectError, Disconnect, Event, Reader, ReconnectPolicy,
    SessionEnded, TlsMode,
};
use xmpp_proto::sasl::ChannelBindingType;
use xmpp_proto::stanza::{Iq, Jid, Message};
use xmpp_proto::testing::{bind_reply, server_header, ScriptedServer, FEATURES_BIND};
use xmpp_proto::xml::Element;
use xmpp_proto::{IqFailure, Mechanism, SendError, Timeouts, WarningKind};
use xmpp_test_support::blocking_server::*;
use xmpp_test_support::scram_server::{Hash, ScramServer};

/// Both halves hand out events the same way.
trait Events {
    fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Event>, SessionEnded>;
}

impl Events for Client {
    fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Event>, SessionEnded> {
        Client::next_event(self, timeout)
    }
}

impl Events for Reader {
    fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Event>, SessionEnded> {
        Reader::next_event(self, timeout)
    }
}

/// The next event, or a panic after a few seconds.
fn next(events: &mut impl Events) -> Event {
    events
        .next_event(Some(Duration::from_secs(5)))
        .expect("the session still has events")
        .expect("an event within 5 s")
}

fn online_jid(events: &mut impl Events) -> String {
    match next(events) {
        Event::Core(xmpp_proto::Event::Online { jid, tls, .. }) => {
            assert!(tls, "the session must be encrypted");
            jid.to_string()
        }
        other => panic!("expected Online, got {other:?}"),
    }
}

fn expect_closed(events: &mut impl Events) {
    loop {
        match next(events) {
            Event::Disconnected {
                reason: Disconnect::Closed,
            } => break,
            Event::Disconnected { reason } => panic!("unclean end: {reason:?}"),
            _ => {}
        }
    }
    assert_eq!(events.next_event(None).unwrap_err(), SessionEnded);
}

fn romeo() -> Jid {
    "romeo@localhost".parse().unwrap()
}

fn timeouts(
    options: xmpp_io_blocking::ConnectOptions,
    t: Timeouts,
) -> xmpp_io_blocking::ConnectOptions {
    options.configure(move |b| b.mechanisms(&[Mechanism::Plain]).timeouts(t))
}

#[test]
fn direct_tls_login_goes_online_with_alpn_and_channel_binding() {
    let pki = Pki::new("Test CA");
    let script = with_close(direct_tls_login("direct"));
    let server = TestServer::start(pki.server(&[DOMAIN]), vec![Plan::DirectTls(script)]);
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls));
    let mut client = connect(options).expect("online");
    assert_eq!(online_jid(&mut client), "juliet@localhost/direct");

    let info = client.connection_info().unwrap();
    assert!(info.nodelay, "TCP_NODELAY read back from the socket");
    assert!(info.tls);
    assert_eq!(info.alpn.as_deref(), Some(&b"xmpp-client"[..]));
    assert_eq!(info.peer, Some(server.addr));
    assert_eq!(
        info.channel_binding,
        Some(ChannelBindingType::TlsServerEndPoint)
    );

    client
        .send(Message::chat(romeo(), "over direct TLS"))
        .unwrap();
    client.close();
    assert!(client.is_closed());
    expect_closed(&mut client);

    let seen = server.seen(0);
    assert_eq!(seen.alpn.as_deref(), Some(&b"xmpp-client"[..]));
    let text = seen.text();
    assert!(text.contains("over direct TLS"), "{text}");
    assert!(text.ends_with("</stream:stream>"), "{text}");
}

#[test]
fn starttls_login_goes_online_and_iqs_resolve() {
    let pki = Pki::new("Test CA");
    let script = with_roster(starttls_login("chamber"));
    let server = TestServer::start(
        pki.server(&[DOMAIN]),
        vec![Plan::StartTls(with_close(script))],
    );
    let options = plain_only(server.options(pki.ca(), TlsMode::StartTls));
    let mut client = connect(options).expect("online");

    let info = client.connection_info().unwrap();
    assert!(info.nodelay && info.tls);
    assert_eq!(info.alpn, None, "no ALPN on STARTTLS");

    // The answer is returned; the queued Online stays queued meanwhile.
    let query = Element::new("jabber:iq:roster", "query");
    let result = client.send_iq(Iq::get(None, "", query)).unwrap();
    assert_eq!(result.payload_element().unwrap().attr("ver"), Some("v1"));
    assert_eq!(online_jid(&mut client), "juliet@localhost/chamber");

    client.close();
    expect_closed(&mut client);
    let text = server.seen(0).text();
    let tls_at = text.find("<starttls").unwrap();
    let auth_at = text.find("<auth").unwrap();
    assert!(tls_at < auth_at, "credentials only after STARTTLS");
}

#[test]
fn untrusted_ca_fails_typed_and_sends_no_credential() {
    let trusted = Pki::new("Trusted CA");
    let rogue = Pki::new("Rogue CA");
    for mode in [TlsMode::DirectTls, TlsMode::StartTls] {
        let plan = login_plan(mode, "x");
        let server = TestServer::start(rogue.server(&[DOMAIN]), vec![plan]);
        let err = connect(plain_only(server.options(trusted.ca(), mode)))
            .expect_err("an untrusted certificate must fail");
        std::thread::sleep(Duration::from_millis(50));
        check_untrusted(mode, &err, &server.seen(0));
    }
}

#[test]
fn name_mismatch_fails_typed_and_sends_no_credential() {
    let pki = Pki::new("Test CA");
    for mode in [TlsMode::DirectTls, TlsMode::StartTls] {
        let plan = login_plan(mode, "x");
        // A trusted certificate, but for another name than the JID's domain
        // (the client connects to 127.0.0.1: the address does not count).
        let server = TestServer::start(pki.server(&["other.example"]), vec![plan]);
        let err = connect(plain_only(server.options(pki.ca(), mode)))
            .expect_err("a certificate for another name must fail");
        std::thread::sleep(Duration::from_millis(50));
        check_name_mismatch(mode, &err, &server.seen(0));
    }
}

#[test]
fn the_wrong_kind_of_port_is_named_with_what_to_use() {
    let pki = Pki::new("Test CA");
    for mode in [TlsMode::StartTls, TlsMode::DirectTls] {
        let server = TestServer::start(pki.server(&[DOMAIN]), vec![wrong_port_plan(mode)]);
        let started = Instant::now();
        let err = connect(plain_only(server.options(pki.ca(), mode)))
            .expect_err("the wrong kind of port must fail");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "at once, not by a timeout"
        );
        std::thread::sleep(Duration::from_millis(50));
        check_wrong_port(mode, &err, &server.seen(0));
    }
}

#[test]
fn ca_file_is_read_and_a_missing_one_is_typed() {
    let pki = Pki::new("File CA");
    let path = std::env::temp_dir().join(format!("xmpp-io-blocking-ca-{}.pem", std::process::id()));
    std::fs::write(&path, pki.ca_pem()).unwrap();
    let server = TestServer::start(
        pki.server(&[DOMAIN]),
        vec![Plan::DirectTls(with_close(direct_tls_login("file")))],
    );
    let options =
        xmpp_io_blocking::ConnectOptions::new("juliet@localhost".parse().unwrap(), PASSWORD)
            .server("127.0.0.1", server.addr.port())
            .tls_mode(TlsMode::DirectTls)
            .ca_file(&path);
    let mut client = connect(plain_only(options)).unwrap();
    assert_eq!(online_jid(&mut client), "juliet@localhost/file");
    client.close();
    std::fs::remove_file(&path).unwrap();

    let missing = xmpp_io_blocking::ConnectOptions::new("juliet@localhost".parse().unwrap(), "pw")
        .ca_file("/nonexistent/ca.pem");
    assert!(matches!(connect(missing), Err(ConnectError::CaFile { .. })));
}

#[test]
fn auth_failure_is_typed() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(pki.server(&[DOMAIN]), vec![Plan::DirectTls(auth_failure())]);
    let err = connect(plain_only(server.options(pki.ca(), TlsMode::DirectTls))).unwrap_err();
    check_auth_failure(&err);
}

// ===== channel binding: the GS2 header the core chooses over native-tls =====

const CB_END_POINT: &str = "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>\
    <channel-binding type='tls-server-end-point'/></sasl-channel-binding>";
const CB_EXPORTER: &str = "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>\
    <channel-binding type='tls-exporter'/></sasl-channel-binding>";

/// What the SCRAM server saw in each exchange: (GS2 header, c= input).
type Exchanges = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Direct TLS, SCRAM-SHA-256 by an independent server implementation
/// (xmpp-proto's test support) offering `mechanisms` and the XEP-0440
/// element `cb` (may be empty). With `refuse_first`, the first exchange is
/// refused after the client-final-message (a server that does not know the
/// guessed binding type), and a second one is served.
fn scram_login(mechanisms: &[&str], cb: &str, refuse_first: bool) -> (ScriptedServer, Exchanges) {
    let exchanges: Exchanges = Arc::default();
    let mut offered = String::new();
    for m in mechanisms {
        offered.push_str(&format!("<mechanism>{m}</mechanism>"));
    }
    let features = format!(
        "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{offered}\
         </mechanisms>{cb}</stream:features>"
    );
    let mut script =
        ScriptedServer::default().then("<stream:stream", server_header(DOMAIN, "c1") + &features);
    let rounds = if refuse_first { 2 } else { 1 };
    for round in 0..rounds {
        let scram = Arc::new(Mutex::new(ScramServer::new(Hash::Sha256, PASSWORD)));
        let (s1, s2, log) = (scram.clone(), scram, exchanges.clone());
        let refuse = refuse_first && round == 0;
        script = script
            .then_with("</auth>", move |sent| s1.lock().unwrap().challenge(sent))
            .then_with("</response>", move |sent| {
                let mut scram = s2.lock().unwrap();
                let outcome = scram.outcome(sent);
                log.lock()
                    .unwrap()
                    .push((scram.gs2_header.clone(), scram.cbind_input.clone()));
                if refuse {
                    "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"
                        .to_string()
                } else {
                    outcome
                }
            });
    }
    let script = script.then_with("</iq>", |sent| {
        server_header(DOMAIN, "c2") + FEATURES_BIND + &bind_reply(sent, "juliet@localhost/cb")
    });
    (with_close(script), exchanges)
}

/// Logs in against `script`; returns the events up to Online and the
/// server's tls-server-end-point.
fn scram_session(script: ScriptedServer) -> (Vec<xmpp_proto::Event>, Vec<u8>) {
    let pki = Pki::new("Test CA");
    let tls = pki.server(&[DOMAIN]);
    let leaf = tls.leaf_der.clone();
    let server = TestServer::start(tls, vec![Plan::DirectTls(script)]);
    let mut client = connect(server.options(pki.ca(), TlsMode::DirectTls)).expect("online");
    let mut events = Vec::new();
    loop {
        match next(&mut client) {
            Event::Core(e @ xmpp_proto::Event::Online { .. }) => {
                events.push(e);
                break;
            }
            Event::Core(e) => events.push(e),
            other => panic!("{other:?}"),
        }
    }
    client.close();
    let end_point = server
        .seen(0)
        .channel_binding
        .expect("the server's end point");
    // RFC 5929 §4.1: the certificate's hash, SHA-256 for an ECDSA-SHA256 one.
    use sha2::Digest as _;
    assert_eq!(end_point, sha2::Sha256::digest(&leaf).to_vec());
    (events, end_point)
}

fn mechanism(events: &[xmpp_proto::Event]) -> Mechanism {
    events
        .iter()
        .find_map(|e| match e {
            xmpp_proto::Event::Online { mechanism, .. } => Some(*mechanism),
            _ => None,
        })
        .expect("online")
}

#[test]
fn binds_with_tls_server_end_point_when_the_server_advertises_it() {
    let (script, exchanges) = scram_login(
        &["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"],
        CB_END_POINT,
        false,
    );
    let (events, end_point) = scram_session(script);
    assert_eq!(mechanism(&events), Mechanism::ScramSha256Plus);
    let exchanges = exchanges.lock().unwrap();
    assert_eq!(exchanges.len(), 1);
    let (gs2, cbind) = &exchanges[0];
    assert_eq!(gs2, "p=tls-server-end-point,,");
    // c= carries the GS2 header and the binding data the server computed
    // from its own certificate: both ends agree on the channel.
    let mut expected = b"p=tls-server-end-point,,".to_vec();
    expected.extend_from_slice(&end_point);
    assert_eq!(cbind, &expected);
}

#[test]
fn flag_n_when_the_server_advertises_only_another_type() {
    let (script, exchanges) =
        scram_login(&["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"], CB_EXPORTER, false);
    let (events, _) = scram_session(script);
    assert_eq!(mechanism(&events), Mechanism::ScramSha256);
    let exchanges = exchanges.lock().unwrap();
    assert_eq!(exchanges[0].0, "n,,");
    assert_eq!(exchanges[0].1, b"n,,");
}

#[test]
fn flag_y_when_we_could_bind_but_no_plus_is_offered() {
    let (script, exchanges) = scram_login(&["SCRAM-SHA-256"], "", false);
    let (events, _) = scram_session(script);
    assert_eq!(mechanism(&events), Mechanism::ScramSha256);
    assert_eq!(exchanges.lock().unwrap()[0].0, "y,,");
}

#[test]
fn guessed_binding_refused_falls_back_once_with_flag_n() {
    // -PLUS offered, no XEP-0440 types: the core guesses our type; the
    // server refuses it; the core retries once on the same stream with `n`.
    let (script, exchanges) = scram_login(&["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"], "", true);
    let (events, end_point) = scram_session(script);
    assert!(
        events.iter().any(|e| matches!(e,
            xmpp_proto::Event::Warning(w) if w.kind == WarningKind::ChannelBindingFallback)),
        "{events:?}"
    );
    assert_eq!(mechanism(&events), Mechanism::ScramSha256);
    let exchanges = exchanges.lock().unwrap();
    assert_eq!(exchanges.len(), 2);
    assert_eq!(exchanges[0].0, "p=tls-server-end-point,,");
    let mut guessed = b"p=tls-server-end-point,,".to_vec();
    guessed.extend_from_slice(&end_point);
    assert_eq!(exchanges[0].1, guessed);
    assert_eq!(exchanges[1].0, "n,,");
}

// ===== time: deadlines fire on time, idle waits end on time =====

/// The arrival times of reads that were exactly one whitespace keepalive.
fn keepalives(seen: &Seen) -> Vec<Instant> {
    seen.reads
        .iter()
        .filter(|(_, bytes)| bytes.as_slice() == b" ")
        .map(|(at, _)| *at)
        .collect()
}

#[test]
fn keepalive_whitespace_arrives_after_the_configured_interval() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server(&[DOMAIN]),
        vec![Plan::DirectTls(with_close(direct_tls_login("ka")))],
    );
    let interval = Duration::from_millis(300);
    let options = timeouts(
        server.options(pki.ca(), TlsMode::DirectTls),
        Timeouts {
            keepalive: interval,
            ..Timeouts::default()
        },
    );
    let client = connect(options).unwrap();
    let (mut reader, sender) = client.split();
    let runner = std::thread::spawn(move || {
        let mut events = Vec::new();
        for event in reader.iter() {
            events.push(event);
        }
        events
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while keepalives(&server.seen(0)).len() < 2 {
        assert!(Instant::now() < deadline, "two keepalives within 5 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen = server.seen(0);
    // The last thing the client wrote before the first keepalive: the bind.
    let bind_at = seen
        .reads
        .iter()
        .rev()
        .find(|(_, bytes)| String::from_utf8_lossy(bytes).contains("</iq>"))
        .map(|(at, _)| *at)
        .unwrap();
    let ka = keepalives(&seen);
    let first = ka[0] - bind_at;
    let second = ka[1] - ka[0];
    for gap in [first, second] {
        assert!(
            gap >= interval - Duration::from_millis(20)
                && gap < interval + Duration::from_millis(250),
            "a keepalive {gap:?} after the previous write; configured {interval:?}"
        );
    }
    sender.close();
    let events = runner.join().unwrap();
    assert!(matches!(
        events.last(),
        Some(Event::Disconnected {
            reason: Disconnect::Closed
        })
    ));
}

#[test]
fn an_iq_timeout_set_from_another_thread_wakes_the_blocked_reader() {
    // The reader sleeps until the next keepalive (60 s). A sender on another
    // thread sends an IQ nobody answers: its 300 ms deadline must wake the
    // reader, which fails the IQ on time.
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server(&[DOMAIN]),
        vec![Plan::DirectTls(with_close(direct_tls_login("iq")))],
    );
    let options = timeouts(
        server.options(pki.ca(), TlsMode::DirectTls),
        Timeouts {
            iq: Duration::from_millis(300),
            ..Timeouts::default()
        },
    );
    let (mut reader, sender) = connect(options).unwrap().split();
    let runner = std::thread::spawn(move || reader.iter().count());
    std::thread::sleep(Duration::from_millis(150));
    let started = Instant::now();
    let result = sender.send_iq(Iq::get(None, "", Element::new("urn:example:silence", "q")));
    let took = started.elapsed();
    assert_eq!(result, Err(CommandError::Iq(IqFailure::Timeout)));
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(800),
        "the IQ timed out after {took:?}"
    );
    sender.close();
    runner.join().unwrap();
}

#[test]
fn next_event_returns_none_when_its_timeout_passes() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server(&[DOMAIN]),
        vec![Plan::DirectTls(with_close(direct_tls_login("wait")))],
    );
    let mut client = connect(plain_only(server.options(pki.ca(), TlsMode::DirectTls))).unwrap();
    online_jid(&mut client);
    let started = Instant::now();
    assert!(matches!(
        client.next_event(Some(Duration::from_millis(150))),
        Ok(None)
    ));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_millis(400),
        "{took:?}"
    );
    assert!(matches!(client.next_event(Some(Duration::ZERO)), Ok(None)));
    client.close();
}

// ===== threads =====

#[test]
fn split_reads_on_one_thread_while_others_send() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server(&[DOMAIN]),
        vec![Plan::Echo(Box::new(Plan::DirectTls(direct_tls_login(
            "split",
        ))))],
    );
    let mut client = connect(plain_only(server.options(pki.ca(), TlsMode::DirectTls))).unwrap();
    online_jid(&mut client);
    let (mut reader, sender) = client.split();
    let (echo_tx, echo_rx) = mpsc::channel();
    let runner = std::thread::spawn(move || {
        for event in reader.iter() {
            match event {
                Event::Core(xmpp_proto::Event::Message(m)) => {
                    let _ = echo_tx.send((Instant::now(), m.body.unwrap_or_default()));
                }
                Event::Disconnected { reason } => return reason,
                _ => {}
            }
        }
        unreachable!("iter ends after Disconnected")
    });

    // The reader is blocked (next deadline: a keepalive 60 s away). A send
    // from this thread is written at once and its echo read at once.
    std::thread::sleep(Duration::from_millis(200));
    let sent_at = Instant::now();
    sender.send(Message::chat(romeo(), "ping-0")).unwrap();
    let (echoed_at, body) = echo_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(body, "echo: ping-0");
    assert!(
        echoed_at - sent_at < Duration::from_millis(200),
        "round trip {:?}",
        echoed_at - sent_at
    );

    // Two more threads, each with its own clone, 50 messages each.
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    sender
                        .send(Message::chat(romeo(), format!("w{w}-{i}")))
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let mut bodies: Vec<String> = (0..100)
        .map(|_| echo_rx.recv_timeout(Duration::from_secs(5)).unwrap().1)
        .collect();
    // Each writer's messages stay in its order.
    for w in 0..2 {
        let mine: Vec<&String> = bodies
            .iter()
            .filter(|b| b.starts_with(&format!("echo: w{w}-")))
            .collect();
        let expected: Vec<String> = (0..50).map(|i| format!("echo: w{w}-{i}")).collect();
        assert_eq!(mine, expected.iter().collect::<Vec<_>>());
    }
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 100);

    sender.close();
    assert!(matches!(runner.join().unwrap(), Disconnect::Closed));
    assert!(sender.is_closed());
    assert_eq!(
        sender.send(Message::chat(romeo(), "late")),
        Err(CommandError::Ended)
    );
}

#[test]
fn dropping_the_client_closes_the_stream() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server(&[DOMAIN]),
        vec![Plan::DirectTls(with_close(direct_tls_login("drop")))],
    );
    let client = connect(plain_only(server.options(pki.ca(), TlsMode::DirectTls))).unwrap();
    let sender = client.sender();
    drop(client);
    server.wait_for(0, "</stream:stream>", Duration::from_secs(5));
    assert_eq!(
        sender.send(Message::chat(romeo(), "x")),
        Err(CommandError::Ended)
    );
}

// ===== reconnection =====

#[test]
fn reconnects_with_backoff_events() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(pki.server(&[DOMAIN]), reconnect_plans());
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls));
    let mut client = connect(options.reconnect(quick_reconnect(20, 30))).unwrap();
    assert_eq!(online_jid(&mut client), "juliet@localhost/one");
    let (first, second) = (next(&mut client), next(&mut client));
    check_reconnect_events(first, second, next(&mut client));
    client.send(Message::chat(romeo(), "back")).unwrap();
    client.close();
    expect_closed(&mut client);
    assert_eq!(server.connections(), 3);
    assert!(server.seen(2).text().contains("back"));
}

#[test]
fn modules_and_their_state_survive_a_reconnection() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(pki.server(&[DOMAIN]), one_reconnection_plans());
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls));
    let (options, tally) = with_tally(options.reconnect(quick_reconnect(20, 30)));
    let mut client = connect(options).unwrap();
    assert_eq!(online_jid(&mut client), "juliet@localhost/one");
    expect_reconnecting(next(&mut client), 1, Duration::from_millis(20));
    assert!(matches!(next(&mut client), Event::Reconnected { .. }));
    check_tally(&tally);
    client.close();
    expect_closed(&mut client);
    assert_eq!(server.connections(), 2);
}

#[test]
fn no_reconnect_after_auth_failure() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(pki.server(&[DOMAIN]), auth_failure_after_loss_plans());
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls));
    let mut client = connect(options.reconnect(quick_reconnect(5, 5))).unwrap();
    assert_eq!(online_jid(&mut client), "juliet@localhost/one");
    check_final_auth_failure(next(&mut client), next(&mut client));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.connections(), 2, "no attempt after the auth failure");
    assert_eq!(
        client.send(Message::chat(romeo(), "x")),
        Err(CommandError::Ended)
    );
}

#[test]
fn close_while_waiting_to_reconnect_ends_at_once() {
    let pki = Pki::new("Test CA");
    let plans = vec![Plan::ThenDrop(Box::new(Plan::DirectTls(direct_tls_login(
        "one",
    ))))];
    let server = TestServer::start(pki.server(&[DOMAIN]), plans);
    // A long backoff: the full-jitter delay is almost surely far from 0.
    let policy =
        ReconnectPolicy::new().backoff(Duration::from_secs(60), Duration::from_secs(60), 1);
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls)).reconnect(policy);
    let (mut reader, sender) = connect(options).unwrap().split();
    assert_eq!(online_jid(&mut reader), "juliet@localhost/one");
    assert!(matches!(
        next(&mut reader),
        Event::Reconnecting { attempt: 1, .. }
    ));
    assert_eq!(
        sender.send(Message::chat(romeo(), "x")),
        Err(CommandError::Rejected(SendError::NotOnline)),
        "commands are refused between connections"
    );
    let closer = {
        let sender = sender.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            sender.close();
        })
    };
    let started = Instant::now();
    assert!(matches!(
        next(&mut reader),
        Event::Disconnected {
            reason: Disconnect::Closed
        }
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
    closer.join().unwrap();
    assert_eq!(server.connections(), 1);
}

#[test]
fn module_commands_and_state_through_the_sender() {
    use xmpp_proto::roster::{Roster, RosterEvent};
    let pki = Pki::new("Test CA");
    let script = with_close(with_roster(starttls_login("chamber")));
    let server = TestServer::start(pki.server(&[DOMAIN]), vec![Plan::StartTls(script)]);
    let options = plain_only(server.options(pki.ca(), TlsMode::StartTls)).on_client(|client| {
        client.register(Roster::new()).expect("register");
    });
    let mut client = connect(options).expect("online");
    assert_eq!(online_jid(&mut client), "juliet@localhost/chamber");
    loop {
        let event = client
            .next_event(Some(Duration::from_secs(5)))
            .expect("session")
            .expect("an event within 5 s");
        if let Event::Core(xmpp_proto::Event::Roster(RosterEvent::Loaded { items, .. })) = event {
            assert_eq!(items.len(), 1);
            break;
        }
    }
    let count = client
        .with(|core, _now| core.module::<Roster>().map(Roster::len))
        .expect("online");
    assert_eq!(count, Some(1));
    let id = client
        .with(|core, now| core.with_module(now, |r: &mut Roster, cx| r.fetch(cx)))
        .expect("online")
        .expect("registered")
        .expect("sent");
    client.close();
    expect_closed(&mut client);
    assert!(server.seen(0).text().contains(&format!("id='{id}'")));
}
