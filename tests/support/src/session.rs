//! A transcript harness: the test plays the server byte for byte.
//!
//! `s.server("<bytes/>")` feeds what the server sends; `s.sent()` returns
//! what the client wrote since the last call; `s.events` collects events;
//! `s.advance(d)` moves virtual time and fires deadlines.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use xmpp_proto::sasl::{ChannelBinding, Credentials};
use xmpp_proto::stanza::Stanza;
use xmpp_proto::testing::{
    bind_reply, features_sasl, server_header, FEATURES_BIND, FEATURES_STARTTLS,
};
use xmpp_proto::{
    Client, Config, ConfigBuilder, DisconnectReason, Event, Handled, Input, Module, ModuleContext,
    Output, Provenance,
};

use super::scram_server::{Hash, ScramServer};

pub const DOMAIN: &str = "example.com";
pub const JID: &str = "juliet@example.com";
pub const PASSWORD: &str = "pencil";

pub fn config() -> ConfigBuilder {
    Config::builder(
        JID.parse().expect("jid"),
        Credentials::Password(PASSWORD.into()),
        [7; 32],
    )
}

pub struct Session {
    pub client: Client,
    pub now: Instant,
    pub events: Vec<Event>,
    pub unread: String,
    pub start_tls: Vec<String>,
    pub close_transport: bool,
    /// How many times the client's output had to reach the server before
    /// the next server flight: counted by `round_trip()`.
    pub flushes: usize,
    pub deadline: Option<Instant>,
    /// How many times the client asked for a new transport (`Output::Connect`).
    pub connect_requests: usize,
    /// Everything the server side fed the client, in order: a client with
    /// the same config and seed writes the same bytes, so replaying this
    /// times the client alone (the login benchmark).
    pub record: Vec<Recorded>,
}

/// One input of a transcript ([`Session::record`]).
#[derive(Clone, Debug)]
pub enum Recorded {
    /// The server sent these bytes.
    Server(String),
    /// The TLS handshake completed (no channel binding).
    TlsUp,
}

impl Session {
    pub fn new(config: Config) -> Self {
        let now = Instant::now();
        let mut s = Session {
            client: Client::new(config, now),
            now,
            events: Vec::new(),
            unread: String::new(),
            start_tls: Vec::new(),
            close_transport: false,
            flushes: 0,
            deadline: None,
            connect_requests: 0,
            record: Vec::new(),
        };
        s.drain();
        s
    }

    /// Polls until `Timeout`, collecting everything.
    pub fn drain(&mut self) {
        loop {
            match self.client.poll_output() {
                Output::Transmit(t) => {
                    self.flushes += 1;
                    self.unread
                        .push_str(&String::from_utf8(t.bytes).expect("client writes UTF-8"));
                }
                Output::StartTls { server_name } => self.start_tls.push(server_name),
                Output::CloseTransport => self.close_transport = true,
                Output::Connect => self.connect_requests += 1,
                Output::Event(e) => self.events.push(e),
                Output::Timeout(t) => {
                    self.deadline = t;
                    return;
                }
            }
        }
    }

    /// What the client wrote since the last call.
    pub fn sent(&mut self) -> String {
        self.drain();
        std::mem::take(&mut self.unread)
    }

    /// The server sends `xml`.
    pub fn server(&mut self, xml: &str) {
        self.record.push(Recorded::Server(xml.to_string()));
        self.client
            .handle_input(Input::Received(self.now, xml.as_bytes()));
        self.drain();
    }

    /// The driver reports the TLS handshake done.
    pub fn tls_up(&mut self, cb: Option<ChannelBinding>) {
        self.record.push(Recorded::TlsUp);
        self.client
            .handle_input(Input::TlsEstablished(self.now, cb));
        self.drain();
    }

    /// Virtual time passes; deadlines fire.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.client.handle_input(Input::Timeout(self.now));
        self.drain();
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        self.drain();
        std::mem::take(&mut self.events)
    }

    pub fn disconnect_reason(&self) -> Option<&DisconnectReason> {
        self.events.iter().find_map(|e| match e {
            Event::Disconnected { reason } => Some(reason),
            _ => None,
        })
    }

    /// The messages of the warnings modules emitted so far
    /// (`WarningKind::Module`).
    pub fn module_warnings(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Warning(w) if w.kind == xmpp_proto::WarningKind::Module => {
                    Some(w.message.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// The messages the messages module delivered so far.
    pub fn chat_messages(&self) -> Vec<xmpp_proto::messages::ChatMessage> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::ChatMessage(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn is_online(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Online { .. }))
    }

    /// STARTTLS up to the SASL features (offering `mechanisms`, plus the
    /// extra feature XML), with the given channel binding from "TLS".
    pub fn starttls_to_sasl(
        &mut self,
        mechanisms: &[&str],
        extra: &str,
        cb: Option<ChannelBinding>,
    ) {
        // The header and `<starttls/>` leave together (TLS is required).
        let first = self.sent();
        assert!(first.contains("<stream:stream"), "{first}");
        assert!(
            first.ends_with("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
            "{first}"
        );
        self.server(&(server_header(DOMAIN, "s1") + FEATURES_STARTTLS));
        assert_eq!(self.sent(), "", "nothing more before <proceed/>");
        self.server("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        assert_eq!(self.start_tls, [DOMAIN]);
        self.tls_up(cb);
        let header = self.sent();
        assert!(header.contains(" from='juliet@example.com'"), "{header}");
        // A returning client's optimistic `<auth/>` left with the header:
        // keep it for `scram()`, which reads it after the features.
        if let Some(at) = header.find("<auth") {
            self.unread = header[at..].to_string();
        }
        let features = features_sasl(mechanisms)
            .replace("</stream:features>", &format!("{extra}</stream:features>"));
        self.server(&(server_header(DOMAIN, "s2") + &features));
    }

    /// The SCRAM exchange with `scram`, through to `<success/>`.
    pub fn scram(&mut self, scram: &mut ScramServer) -> String {
        let auth = self.sent();
        self.server(&scram.challenge(&auth));
        let response = self.sent();
        if response.is_empty() {
            return String::new();
        }
        let outcome = scram.outcome(&response);
        self.server(&outcome);
        outcome
    }

    /// The restarted stream and bind, after `<success/>`.
    pub fn bind(&mut self, resource: &str) {
        self.bind_with_features(resource, "");
    }

    /// As [`Session::bind`], the post-authentication features also
    /// offering `extra` (e.g. `<ver xmlns='urn:xmpp:features:rosterver'/>`).
    pub fn bind_with_features(&mut self, resource: &str, extra: &str) {
        let restart = self.sent();
        assert!(restart.contains("<stream:stream"), "{restart}");
        assert!(
            restart.contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'"),
            "pipelined bind: {restart}"
        );
        let jid = format!("{JID}/{resource}");
        let features =
            FEATURES_BIND.replace("</stream:features>", &format!("{extra}</stream:features>"));
        self.server(&(server_header(DOMAIN, "s3") + &features + &bind_reply(&restart, &jid)));
    }

    /// A complete STARTTLS + SCRAM-SHA-1 login.
    pub fn login(config: Config) -> Self {
        Session::login_with(config, "", |_| {})
    }

    /// A complete login with `setup` run on the fresh client first (to
    /// register modules) and `extra` post-authentication features.
    pub fn login_with(config: Config, extra: &str, setup: impl FnOnce(&mut Client)) -> Self {
        let mut s = Session::new(config);
        setup(&mut s.client);
        s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
        let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
        s.scram(&mut scram);
        s.bind_with_features("balcony", extra);
        assert!(s.is_online(), "not online: {:?}", s.events);
        s.events.clear();
        s
    }
}

/// The namespace of the wrapper [`Unwrapper`] unwraps.
pub const NS_WRAP: &str = "urn:example:wrap";

/// A module that unwraps the stanza inside `<wrapped xmlns='urn:example:wrap'/>`
/// of any message and routes it again (`ModuleContext::dispatch`), as a
/// third-party forwarding protocol would: what an attacker uses to make a
/// stanza of their choosing, with a `from` of their choosing, reach the
/// modules. Register it first.
pub struct Unwrapper;

impl Module for Unwrapper {
    fn name(&self) -> &'static str {
        "unwrapper"
    }

    fn handle_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        let Stanza::Message(m) = stanza else {
            return Handled::No;
        };
        let Some(inner) = m
            .payload(NS_WRAP, "wrapped")
            .and_then(|w| w.children().next())
        else {
            return Handled::No;
        };
        if let Ok(inner) = Stanza::parse(inner.clone()) {
            cx.dispatch(inner, Provenance::Forwarded("unwrapper"));
        }
        Handled::Yes
    }
}
