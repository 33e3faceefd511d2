//! A logged-in core session to produce real events from XML (chat messages
//! and archive pages), as the store gets them from a driver; shared by the
//! tests and the benchmark.
#![allow(dead_code)]

use std::time::Instant;

use xmpp_proto::mam::{Mam, Query, QueryStarted};
use xmpp_proto::messages::{Carbons, Messages};
use xmpp_proto::sasl::Credentials;
use xmpp_proto::stanza::BareJid;
use xmpp_proto::testing::{pump, ScriptedServer};
use xmpp_proto::{Client, Config, Event, Input, Mechanism, Output};

/// The account's bare JID.
pub const ACCOUNT: &str = "juliet@example.com";
/// A room with an archive.
pub const ROOM: &str = "coven@chat.shakespeare.lit";

/// The account, parsed.
pub fn account() -> BareJid {
    ACCOUNT.parse().expect("jid")
}

/// A core session online as juliet@example.com/balcony with the messages,
/// carbons and archive modules.
pub struct Session {
    pub client: Client,
    pub now: Instant,
}

impl Session {
    pub fn online() -> Session {
        let now = Instant::now();
        let config = Config::builder(
            ACCOUNT.parse().expect("jid"),
            Credentials::Password("pencil".into()),
            [3; 32],
        )
        .mechanisms(&[Mechanism::Plain])
        .build();
        let mut client = Client::new(config, now);
        client.register(Messages::new()).expect("register");
        client
            .register(Carbons::new().enable_on_login(false))
            .expect("register");
        client.register(Mam::new()).expect("register");
        let mut server = ScriptedServer::login_plain("example.com", "juliet", "balcony");
        let events = pump(&mut client, &mut server, now);
        assert!(events.iter().any(|e| matches!(e, Event::Online { .. })));
        Session { client, now }
    }

    /// Feeds `bytes` from the server; returns the events (bytes the client
    /// writes are dropped).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.client.handle_input(Input::Received(self.now, bytes));
        let mut events = Vec::new();
        loop {
            match self.client.poll_output() {
                Output::Event(e) => events.push(e),
                Output::Timeout(_) => break,
                _ => {}
            }
        }
        events
    }

    /// Sends an archive query (of the room's archive, or ours).
    pub fn query(&mut self, room: Option<&str>) -> QueryStarted {
        let q = match room {
            Some(r) => Query::room(r.parse().expect("jid")),
            None => Query::new(),
        };
        let started = self
            .client
            .with_module(self.now, |m: &mut Mam, cx| m.query(cx, q))
            .expect("registered")
            .expect("sent");
        // Drop the query's bytes.
        self.feed(b"");
        started
    }
}

/// A XEP-0082 stamp `n` seconds after 2024-01-01T00:00:00Z (n < 1 day).
pub fn stamp(n: u32) -> String {
    format!(
        "2024-01-01T{:02}:{:02}:{:02}Z",
        n / 3600,
        n / 60 % 60,
        n % 60
    )
}

/// A live chat message from `from` (a full JID) to us, with the stanza-id
/// our archive gave it and, if `at` is given, a delay.
pub fn live(from: &str, stanza_id: &str, body: &str, at: Option<u32>) -> String {
    let delay = at
        .map(|n| format!("<delay xmlns='urn:xmpp:delay' stamp='{}'/>", stamp(n)))
        .unwrap_or_default();
    format!(
        "<message from='{from}' to='{ACCOUNT}/balcony' type='chat' id='m-{stanza_id}'>\
         <body>{body}</body><stanza-id xmlns='urn:xmpp:sid:0' by='{ACCOUNT}' id='{stanza_id}'/>\
         {delay}</message>"
    )
}

/// One archive result of query `query_id`: the message `inner` archived
/// at `at` with the id `archive_id`; from the room when `room` is set.
pub fn result(
    query_id: &str,
    archive_id: &str,
    at: u32,
    inner: &str,
    room: Option<&str>,
) -> String {
    let from = room.map(|r| format!(" from='{r}'")).unwrap_or_default();
    format!(
        "<message{from} to='{ACCOUNT}/balcony' id='r-{archive_id}'>\
         <result xmlns='urn:xmpp:mam:2' queryid='{query_id}' id='{archive_id}'>\
         <forwarded xmlns='urn:xmpp:forward:0'>\
         <delay xmlns='urn:xmpp:delay' stamp='{}'/>{inner}</forwarded></result></message>",
        stamp(at)
    )
}

/// A one-to-one message between us and `contact` (a bare JID) as an
/// archive holds it: incoming, or outgoing when `outgoing`.
pub fn chat(contact: &str, body: &str, outgoing: bool) -> String {
    let (from, to) = if outgoing {
        (format!("{ACCOUNT}/balcony"), format!("{contact}/orchard"))
    } else {
        (format!("{contact}/orchard"), format!("{ACCOUNT}/balcony"))
    };
    format!(
        "<message xmlns='jabber:client' from='{from}' to='{to}' type='chat'>\
         <body>{body}</body></message>"
    )
}

/// A groupchat message of `room` from the occupant `nick`.
pub fn groupchat(room: &str, nick: &str, body: &str) -> String {
    format!(
        "<message xmlns='jabber:client' from='{room}/{nick}' type='groupchat'>\
         <body>{body}</body></message>"
    )
}

/// The end of query `id`: the archive's answer with its paging cursor.
pub fn fin(id: &str, first: &str, last: &str, complete: bool, room: Option<&str>) -> String {
    let from = room.map(|r| format!(" from='{r}'")).unwrap_or_default();
    format!(
        "<iq type='result'{from} id='{id}'><fin xmlns='urn:xmpp:mam:2' complete='{complete}'>\
         <set xmlns='http://jabber.org/protocol/rsm'><first>{first}</first><last>{last}</last>\
         </set></fin></iq>"
    )
}

/// The chat messages among `events`.
pub fn chat_messages(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::ChatMessage(_)))
        .count()
}
