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
        handle
            .with(move |c, now| c.with_module(now, |r: &mut Roster, cx| r.set(cx, item)))
            .await
            .expect("online")
            .expect("registered")
            .expect("sent");
        let mut pushed = false;
        while !pushed {
            pushed = matches!(
                roster_event(&mut events).await,
                RosterEvent::Changed { change: RosterChange::Set(ref i), .. } if i.jid == dave
            );
        }
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
        let jid = dave.clone();
        handle
            .with(move |c, now| c.with_module(now, |r: &mut Roster, cx| r.remove(cx, &jid)))
            .await
            .expect("online")
            .expect("registered")
            .expect("sent");
        let mut removed = false;
        while !removed {
            removed = matches!(
                roster_event(&mut events).await,
                RosterEvent::Changed { change: RosterChange::Removed(ref j), .. } if *j == dave
            );
        }
        handle.close().await;
    });
}
