//! The adapter over real sockets against an in-process TLS server:
//! handshakes reach the core, certificate failures are typed and leak no
//! credential, TCP_NODELAY is set, reconnection follows its policy.

use std::time::Duration;

use xmpp_io_tokio::{connect, CommandError, ConnectError, Disconnect, Event, Events, TlsMode};
use xmpp_proto::stanza::{Iq, Jid, Message};
use xmpp_proto::xml::Element;
use xmpp_test_support::tokio_server::*;

/// The next event, or a panic after a few seconds.
async fn next(events: &mut Events) -> Event {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("an event within 5 s")
        .expect("the session still has events")
}

async fn online_jid(events: &mut Events) -> String {
    match next(events).await {
        Event::Core(xmpp_proto::Event::Online { jid, tls, .. }) => {
            assert!(tls, "the session must be encrypted");
            jid.to_string()
        }
        other => panic!("expected Online, got {other:?}"),
    }
}

async fn expect_closed(events: &mut Events) {
    loop {
        match next(events).await {
            Event::Disconnected {
                reason: Disconnect::Closed,
            } => return,
            Event::Disconnected { reason } => panic!("unclean end: {reason:?}"),
            _ => {}
        }
    }
}

fn romeo() -> Jid {
    "romeo@localhost".parse().unwrap()
}

#[tokio::test]
async fn direct_tls_login_goes_online_with_alpn_and_sni() {
    let pki = Pki::new("Test CA");
    let script = with_close(direct_tls_login("direct"));
    let server =
        TestServer::start(pki.server_config(&[DOMAIN]), vec![Plan::DirectTls(script)]).await;
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls));
    let (handle, mut events) = connect(options).await.expect("online");
    assert_eq!(online_jid(&mut events).await, "juliet@localhost/direct");

    let info = handle.connection_info().await.unwrap();
    assert!(info.nodelay);
    assert_eq!(info.alpn.as_deref(), Some(&b"xmpp-client"[..]));
    assert_eq!(info.tls_version.as_deref(), Some("TLSv1_3"));

    handle
        .send(Message::chat(romeo(), "over direct TLS"))
        .await
        .unwrap();
    handle.close().await;
    expect_closed(&mut events).await;

    let seen = server.seen(0);
    assert_eq!(seen.sni.as_deref(), Some(DOMAIN));
    assert_eq!(seen.alpn.as_deref(), Some(&b"xmpp-client"[..]));
    let text = seen.text();
    assert!(text.contains("over direct TLS"), "{text}");
    assert!(text.ends_with("</stream:stream>"), "{text}");
}

#[tokio::test]
async fn starttls_login_goes_online_and_iqs_resolve() {
    let pki = Pki::new("Test CA");
    let script = with_roster(starttls_login("chamber"));
    let server = TestServer::start(
        pki.server_config(&[DOMAIN]),
        vec![Plan::StartTls(with_close(script))],
    )
    .await;
    let options = plain_only(server.options(pki.ca(), TlsMode::StartTls));
    let (handle, mut events) = connect(options).await.expect("online");
    assert_eq!(online_jid(&mut events).await, "juliet@localhost/chamber");

    let info = handle.connection_info().await.unwrap();
    assert!(info.nodelay);
    assert_eq!(info.alpn, None, "no ALPN on STARTTLS");
    assert!(info.tls_version.is_some());

    let query = Element::new("jabber:iq:roster", "query");
    let result = handle.send_iq(Iq::get(None, "", query)).await.unwrap();
    assert_eq!(result.payload_element().unwrap().attr("ver"), Some("v1"));

    handle.close().await;
    expect_closed(&mut events).await;
    let seen = server.seen(0);
    assert_eq!(seen.sni.as_deref(), Some(DOMAIN));
    let text = seen.text();
    let tls_at = text.find("<starttls").unwrap();
    let auth_at = text.find("<auth").unwrap();
    assert!(tls_at < auth_at, "credentials only after STARTTLS");
}

#[tokio::test]
async fn tls_exporter_channel_binding_matches_the_server() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server_config(&[DOMAIN]),
        vec![Plan::DirectTls(scram_plus_probe(&["tls-exporter"]))],
    )
    .await;
    let err = connect(server.options(pki.ca(), TlsMode::DirectTls))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectError::Auth(_)), "{err:?}");
    let seen = server.seen(0);
    let exporter = seen.channel_binding.clone().expect("TLS 1.3 exporter");
    assert_eq!(exporter.len(), 32);
    // The client-final-message's c= is base64(GS2 header + binding data).
    let text = seen.text();
    let final_message = b64.decode(element_text(&text, "response")).unwrap();
    let final_message = String::from_utf8(final_message).unwrap();
    let mut expected = b"p=tls-exporter,,".to_vec();
    expected.extend_from_slice(&exporter);
    assert!(
        final_message.starts_with(&format!("c={},", b64.encode(&expected))),
        "{final_message}"
    );
}

#[tokio::test]
async fn tcp_nodelay_is_set() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server_config(&[DOMAIN]),
        vec![Plan::StartTls(with_close(starttls_login("nd")))],
    )
    .await;
    let options = plain_only(server.options(pki.ca(), TlsMode::Auto));
    let (handle, _events) = connect(options).await.unwrap();
    let info = handle.connection_info().await.unwrap();
    assert!(info.nodelay, "TCP_NODELAY read back from the socket");
    assert_eq!(info.peer, Some(server.addr));
}

#[tokio::test]
async fn untrusted_ca_fails_typed_and_sends_no_credential() {
    let trusted = Pki::new("Trusted CA");
    let rogue = Pki::new("Rogue CA");
    for mode in [TlsMode::DirectTls, TlsMode::StartTls] {
        let plan = login_plan(mode, "x");
        let server = TestServer::start(rogue.server_config(&[DOMAIN]), vec![plan]).await;
        let err = connect(plain_only(server.options(trusted.ca(), mode)))
            .await
            .expect_err("an untrusted certificate must fail");
        tokio::time::sleep(Duration::from_millis(50)).await;
        check_untrusted(mode, &err, &server.seen(0));
    }
}

#[tokio::test]
async fn name_mismatch_fails_typed() {
    let pki = Pki::new("Test CA");
    for mode in [TlsMode::DirectTls, TlsMode::StartTls] {
        let plan = login_plan(mode, "x");
        // A trusted certificate, but for another name than the JID's domain.
        let server = TestServer::start(pki.server_config(&["other.example"]), vec![plan]).await;
        let err = connect(plain_only(server.options(pki.ca(), mode)))
            .await
            .expect_err("a certificate for another name must fail");
        tokio::time::sleep(Duration::from_millis(50)).await;
        check_name_mismatch(mode, &err, &server.seen(0));
    }
}

#[tokio::test]
async fn the_wrong_kind_of_port_is_named_with_what_to_use() {
    let pki = Pki::new("Test CA");
    for mode in [TlsMode::StartTls, TlsMode::DirectTls] {
        let plan = wrong_port_plan(mode);
        let server = TestServer::start(pki.server_config(&[DOMAIN]), vec![plan]).await;
        let started = std::time::Instant::now();
        let err = connect(plain_only(server.options(pki.ca(), mode)))
            .await
            .expect_err("the wrong kind of port must fail");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "at once, not by a timeout"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        check_wrong_port(mode, &err, &server.seen(0));
    }
}

#[tokio::test]
async fn ca_file_is_read_and_a_missing_one_is_typed() {
    let pki = Pki::new("File CA");
    let path = std::env::temp_dir().join(format!("xmpp-io-tokio-ca-{}.pem", std::process::id()));
    std::fs::write(&path, pki.ca_pem()).unwrap();
    let server = TestServer::start(
        pki.server_config(&[DOMAIN]),
        vec![Plan::DirectTls(with_close(direct_tls_login("file")))],
    )
    .await;
    let options = xmpp_io_tokio::ConnectOptions::new("juliet@localhost".parse().unwrap(), PASSWORD)
        .server("127.0.0.1", server.addr.port())
        .tls_mode(TlsMode::DirectTls)
        .ca_file(&path);
    let (handle, mut events) = connect(plain_only(options)).await.unwrap();
    assert_eq!(online_jid(&mut events).await, "juliet@localhost/file");
    handle.close().await;
    std::fs::remove_file(&path).unwrap();

    let missing = xmpp_io_tokio::ConnectOptions::new("juliet@localhost".parse().unwrap(), "pw")
        .ca_file("/nonexistent/ca.pem");
    assert!(matches!(
        connect(missing).await,
        Err(ConnectError::CaFile { .. })
    ));
}

#[tokio::test]
async fn auth_failure_is_typed() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server_config(&[DOMAIN]),
        vec![Plan::DirectTls(auth_failure())],
    )
    .await;
    let err = connect(plain_only(server.options(pki.ca(), TlsMode::DirectTls)))
        .await
        .unwrap_err();
    check_auth_failure(&err);
}

#[tokio::test]
async fn dropping_every_handle_closes_the_stream_cleanly() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(
        pki.server_config(&[DOMAIN]),
        vec![Plan::DirectTls(with_close(direct_tls_login("drop")))],
    )
    .await;
    let (handle, mut events) = connect(plain_only(server.options(pki.ca(), TlsMode::DirectTls)))
        .await
        .unwrap();
    let second = handle.clone();
    drop(handle);
    drop(second);
    expect_closed(&mut events).await;
    assert!(server.seen(0).text().ends_with("</stream:stream>"));
}

#[tokio::test]
async fn reconnects_with_backoff_events() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(pki.server_config(&[DOMAIN]), reconnect_plans()).await;
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls));
    let (handle, mut events) = connect(options.reconnect(quick_reconnect(20, 30)))
        .await
        .unwrap();
    assert_eq!(online_jid(&mut events).await, "juliet@localhost/one");
    let (first, second) = (next(&mut events).await, next(&mut events).await);
    check_reconnect_events(first, second, next(&mut events).await);
    handle.send(Message::chat(romeo(), "back")).await.unwrap();
    handle.close().await;
    expect_closed(&mut events).await;
    assert_eq!(server.connections(), 3);
    assert!(server.seen(2).text().contains("back"));
}

#[tokio::test]
async fn modules_and_their_state_survive_a_reconnection() {
    let pki = Pki::new("Test CA");
    let server = TestServer::start(pki.server_config(&[DOMAIN]), one_reconnection_plans()).await;
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls));
    let (options, tally) = with_tally(options.reconnect(quick_reconnect(20, 30)));
    let (handle, mut events) = connect(options).await.unwrap();
    assert_eq!(online_jid(&mut events).await, "juliet@localhost/one");
    expect_reconnecting(next(&mut events).await, 1, Duration::from_millis(20));
    assert!(matches!(next(&mut events).await, Event::Reconnected { .. }));
    check_tally(&tally);
    handle.close().await;
    expect_closed(&mut events).await;
    assert_eq!(server.connections(), 2);
}

/// The TLS configurations are shared between sessions, the TLS session
/// store is not: a reconnection resumes its session's TLS session, another
/// session with the same trust settings does not (a server could otherwise
/// link the two).
#[tokio::test]
async fn a_reconnection_resumes_its_tls_session_another_session_does_not() {
    let pki = Pki::new("Test CA");
    let mut plans = one_reconnection_plans();
    plans.push(Plan::DirectTls(with_close(direct_tls_login("other"))));
    let server = TestServer::start(pki.server_config(&[DOMAIN]), plans).await;
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls));
    let (handle, mut events) = connect(options.clone().reconnect(quick_reconnect(20, 30)))
        .await
        .unwrap();
    assert_eq!(online_jid(&mut events).await, "juliet@localhost/one");
    expect_reconnecting(next(&mut events).await, 1, Duration::from_millis(20));
    assert!(matches!(next(&mut events).await, Event::Reconnected { .. }));
    let (other, mut other_events) = connect(options).await.unwrap();
    assert_eq!(
        online_jid(&mut other_events).await,
        "juliet@localhost/other"
    );
    handle.close().await;
    other.close().await;
    let resumed: Vec<_> = (0..3).map(|i| server.seen(i).resumed).collect();
    assert_eq!(resumed, [Some(false), Some(true), Some(false)]);
}

#[tokio::test]
async fn no_reconnect_after_auth_failure() {
    let pki = Pki::new("Test CA");
    let plans = auth_failure_after_loss_plans();
    let server = TestServer::start(pki.server_config(&[DOMAIN]), plans).await;
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls));
    let (handle, mut events) = connect(options.reconnect(quick_reconnect(5, 5)))
        .await
        .unwrap();
    assert_eq!(online_jid(&mut events).await, "juliet@localhost/one");
    check_final_auth_failure(next(&mut events).await, next(&mut events).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.connections(), 2, "no attempt after the auth failure");
    assert_eq!(
        handle.send(Message::chat(romeo(), "x")).await,
        Err(CommandError::Ended)
    );
}

#[tokio::test]
async fn module_commands_and_state_through_the_handle() {
    use xmpp_proto::roster::{Roster, RosterEvent};
    let pki = Pki::new("Test CA");
    // The roster module fetches on login; the server answers with one item.
    let script = with_close(with_roster(starttls_login("chamber")));
    let server =
        TestServer::start(pki.server_config(&[DOMAIN]), vec![Plan::StartTls(script)]).await;
    let options = plain_only(server.options(pki.ca(), TlsMode::StartTls)).on_client(|client| {
        client.register(Roster::new()).expect("register");
    });
    let (handle, mut events) = connect(options).await.expect("online");
    assert_eq!(online_jid(&mut events).await, "juliet@localhost/chamber");
    loop {
        if let Event::Core(xmpp_proto::Event::Roster(RosterEvent::Loaded { items, .. })) =
            next(&mut events).await
        {
            assert_eq!(items.len(), 1);
            break;
        }
    }
    // The module's state, read where the core lives.
    let count = handle
        .with(|client, _now| client.module::<Roster>().map(Roster::len))
        .await
        .expect("online");
    assert_eq!(count, Some(1));
    // A command: its id comes back; what it sent left with it.
    let id = handle
        .with(|client, now| client.with_module(now, |r: &mut Roster, cx| r.fetch(cx)))
        .await
        .expect("online")
        .expect("registered")
        .expect("sent");
    handle.close().await;
    expect_closed(&mut events).await;
    assert!(server.seen(0).text().contains(&format!("id='{id}'")));
}

#[tokio::test]
async fn close_while_waiting_to_reconnect_ends_at_once() {
    let pki = Pki::new("Test CA");
    let plans = vec![Plan::ThenDrop(Box::new(Plan::DirectTls(direct_tls_login(
        "one",
    ))))];
    let server = TestServer::start(pki.server_config(&[DOMAIN]), plans).await;
    let policy = xmpp_io_tokio::ReconnectPolicy::new().backoff(
        Duration::from_secs(60),
        Duration::from_secs(60),
        1,
    );
    let options = plain_only(server.options(pki.ca(), TlsMode::DirectTls)).reconnect(policy);
    let (handle, mut events) = connect(options).await.unwrap();
    assert_eq!(online_jid(&mut events).await, "juliet@localhost/one");
    assert!(matches!(
        next(&mut events).await,
        Event::Reconnecting { attempt: 1, .. }
    ));
    assert_eq!(
        handle.send(Message::chat(romeo(), "x")).await,
        Err(CommandError::Rejected(xmpp_proto::SendError::NotOnline)),
        "commands are refused between connections"
    );
    assert!(matches!(
        handle.connection_info().await,
        Err(CommandError::Rejected(_))
    ));
    let started = std::time::Instant::now();
    handle.close().await;
    expect_closed(&mut events).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.connections(), 1);
}
