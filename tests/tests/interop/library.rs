//! Interop that drives the library itself (the Tokio adapter and the core's
//! modules) against the real server, for what the CLI cannot show: a
//! roster copy handed in at start (state in as data) that the server
//! confirms as current through versioning (RFC 6121 §2.6).

use std::sync::Arc;
use std::time::Duration;

use xmpp_io_tokio::{connect, ConnectOptions, Event, Events, Handle};
use xmpp_proto::roster::{Roster, RosterChange, RosterEvent, RosterItem};

use super::cli::Server;

fn options(s: &Server, roster: impl Fn() -> Roster + Send + Sync + 'static) -> ConnectOptions {
    let jid = format!("alice@{}", s.domain).parse().expect("jid");
    let port = s.c2s_port.parse().expect("port");
    let roster = Arc::new(roster);
    ConnectOptions::new(jid, "alice-pass")
        .server(s.host.clone(), port)
        .ca_file(s.ca.clone())
        .resource("library")
        .on_client(move |client| client.register(roster()).expect("register"))
}

/// The next roster event, within 10 s.
async fn roster_event(events: &mut Events) -> RosterEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("a roster event within 10 s")
            .expect("the session goes on");
        if let Event::Core(xmpp_proto::Event::Roster(e)) = event {
            return e;
        }
    }
}

async fn state(handle: &Handle) -> (Option<String>, Vec<RosterItem>) {
    handle
        .with(|client, _| {
            let r = client.module::<Roster>().expect("registered");
            (
                r.version().map(str::to_string),
                r.items().cloned().collect(),
            )
        })
        .await
        .expect("online")
}

/// Sets or removes an item through the roster module and waits for the
/// server's push of that change.
async fn change(handle: &Handle, events: &mut Events, change: RosterChange) {
    let jid = match &change {
        RosterChange::Set(item) => item.jid.clone(),
        RosterChange::Removed(jid) => jid.clone(),
    };
    let request = change.clone();
    handle
        .with(move |c, now| {
            c.with_module(now, |r: &mut Roster, cx| match request {
                RosterChange::Set(item) => r.set(cx, item),
                RosterChange::Removed(jid) => r.remove(cx, &jid),
            })
        })
        .await
        .expect("online")
        .expect("registered")
        .expect("sent");
    loop {
        if let RosterEvent::Changed { change: pushed, .. } = roster_event(events).await {
            let same = match (&pushed, &change) {
                (RosterChange::Set(i), RosterChange::Set(_)) => i.jid == jid,
                (RosterChange::Removed(j), RosterChange::Removed(_)) => *j == jid,
                _ => false,
            };
            if same {
                return;
            }
        }
    }
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_stored_roster_that_is_current_is_confirmed_unchanged() {
    let s = Server::from_env();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dave: xmpp_proto::stanza::BareJid = format!("dave@{}", s.domain).parse().expect("jid");
        // First login: a fresh copy, then one item added (and pushed back).
        let (handle, mut events) = connect(options(&s, Roster::new)).await.expect("online");
        assert!(matches!(
            roster_event(&mut events).await,
            RosterEvent::Loaded { .. }
        ));
        let item = RosterItem::new(dave.clone()).with_name("Dave");
        change(&handle, &mut events, RosterChange::Set(item)).await;
        let (ver, items) = state(&handle).await;
        let ver = ver.expect("Prosody versions the roster");
        assert!(items.iter().any(|i| i.jid == dave));
        handle.close().await;

        // Second login with that copy: the server says it is current.
        let stored = (ver.clone(), items.clone());
        let (handle, mut events) = connect(options(&s, move || {
            Roster::with_stored(Some(stored.0.clone()), stored.1.clone())
        }))
        .await
        .expect("online");
        assert_eq!(
            roster_event(&mut events).await,
            RosterEvent::Unchanged {
                ver: Some(ver.clone())
            }
        );
        assert_eq!(state(&handle).await, (Some(ver), items));

        // Leave the roster as it was.
        change(&handle, &mut events, RosterChange::Removed(dave.clone())).await;
        handle.close().await;
    });
}

/// A TCP relay between the client and Prosody whose connections the test
/// can cut, as a server (or a NAT) that drops the TCP connection would.
struct Relay {
    port: u16,
    live: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn start(to: String) -> Relay {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let live: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let sockets = live.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = std::net::TcpStream::connect(&to) else {
                    return;
                };
                for s in [&client, &server] {
                    let _ = s.set_nodelay(true);
                    if let Ok(s) = s.try_clone() {
                        sockets.lock().expect("lock").push(s);
                    }
                }
                for (mut from, mut into) in [
                    (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    ),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut into);
                        let _ = into.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay { port, live }
    }

    /// Cuts every connection relayed so far.
    fn cut(&self) {
        for s in self.live.lock().expect("lock").drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Counts how often it came online: the same instance across connections
/// means the session (and every module's state) survived.
#[derive(Default)]
struct Survivor {
    onlines: u32,
}

impl xmpp_proto::Module for Survivor {
    fn name(&self) -> &'static str {
        "survivor"
    }
    fn online(&mut self, _cx: &mut xmpp_proto::ModuleContext<'_>, _resumed: bool) {
        self.onlines += 1;
    }
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_reconnect_after_the_connection_is_cut_keeps_the_modules_and_their_state() {
    let s = Server::from_env();
    let relay = Relay::start(format!("{}:{}", s.host, s.c2s_port));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let jid = format!("alice@{}", s.domain).parse().expect("jid");
        let options = ConnectOptions::new(jid, "alice-pass")
            .server("127.0.0.1", relay.port)
            .ca_file(s.ca.clone())
            .resource("cut")
            .reconnect(xmpp_io_tokio::ReconnectPolicy::new())
            .on_client(|client| {
                client.register(Roster::new()).expect("register");
                client.register(Survivor::default()).expect("register");
            });
        let (handle, mut events) = connect(options).await.expect("online");
        assert!(matches!(
            roster_event(&mut events).await,
            RosterEvent::Loaded { .. }
        ));
        let before = state(&handle).await;

        relay.cut();
        let mut reconnecting = false;
        loop {
            let event = tokio::time::timeout(Duration::from_secs(20), events.next())
                .await
                .expect("reconnected within 20 s")
                .expect("the session goes on");
            match event {
                Event::Reconnecting { .. } => reconnecting = true,
                Event::Reconnected { resumed, .. } => {
                    // Prosody runs mod_smacks: the core resumes (XEP-0198).
                    assert!(resumed, "the session was resumed");
                    break;
                }
                Event::Disconnected { reason } => panic!("gave up: {reason}"),
                _ => {}
            }
        }
        assert!(
            reconnecting,
            "the loss was reported before the reconnection"
        );
        let onlines = handle
            .with(|c, _| c.module::<Survivor>().map(|m| m.onlines))
            .await
            .expect("online");
        assert_eq!(
            onlines,
            Some(2),
            "the same module instance came online twice"
        );
        assert_eq!(state(&handle).await, before, "the roster copy was kept");
        handle.close().await;
    });
}
