//! A scripted in-memory server, for tests of the core and of applications
//! built on it: no sockets, no TLS, no clock.
//!
//! A script is a list of exchanges: "once the client has sent bytes
//! containing `expect`, answer `reply`". A reply may be computed from what
//! the client sent (for SCRAM, or to echo an id). [`pump`] runs a
//! [`Client`] against a server until both are quiet, pretending the TLS
//! handshake succeeds when asked.

use std::collections::VecDeque;
use std::time::Instant;

use crate::connect::Security;
use crate::{Client, Event, Input, Output};

/// The server's answer to one exchange.
pub enum Reply {
    /// Fixed bytes.
    Static(String),
    /// Bytes computed from what the client sent since the previous exchange.
    Computed(Box<dyn FnMut(&str) -> String + Send>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Static(s) => f.debug_tuple("Static").field(s).finish(),
            Reply::Computed(_) => f.write_str("Computed(..)"),
        }
    }
}

/// One step of a script.
#[derive(Debug)]
pub struct Exchange {
    /// A substring the client must have sent before the server answers.
    pub expect: String,
    /// The answer.
    pub reply: Reply,
}

/// An in-memory server that follows a script.
#[derive(Debug, Default)]
pub struct ScriptedServer {
    script: VecDeque<Exchange>,
    inbox: String,
    /// Every transmit the client made, in order.
    pub sent_by_client: Vec<String>,
    /// How many client flushes the server answered: a login's round trips.
    pub round_trips: usize,
}

/// A standard server stream header from `domain`.
pub fn server_header(domain: &str, id: &str) -> String {
    format!(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' from='{domain}' id='{id}' \
         version='1.0' xml:lang='en'>"
    )
}

/// `<stream:features>` offering STARTTLS (required).
pub const FEATURES_STARTTLS: &str = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>";
/// `<stream:features>` offering resource binding.
pub const FEATURES_BIND: &str =
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";

/// `<stream:features>` offering these SASL mechanisms.
pub fn features_sasl(mechanisms: &[&str]) -> String {
    let mut s =
        String::from("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>");
    for m in mechanisms {
        s.push_str(&format!("<mechanism>{m}</mechanism>"));
    }
    s.push_str("</mechanisms></stream:features>");
    s
}

/// A bind reply for the bind request in `sent` (echoing its id).
pub fn bind_reply(sent: &str, jid: &str) -> String {
    let id = attr_after(sent, "<iq", "id").unwrap_or_default();
    format!(
        "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{jid}</jid></bind></iq>"
    )
}

impl ScriptedServer {
    /// A server following `script`.
    pub fn new(script: Vec<Exchange>) -> Self {
        ScriptedServer {
            script: script.into(),
            ..Default::default()
        }
    }

    /// Appends a fixed exchange.
    pub fn then(mut self, expect: &str, reply: impl Into<String>) -> Self {
        self.script.push_back(Exchange {
            expect: expect.into(),
            reply: Reply::Static(reply.into()),
        });
        self
    }

    /// Appends an exchange whose reply is computed from the client's bytes.
    pub fn then_with(
        mut self,
        expect: &str,
        reply: impl FnMut(&str) -> String + Send + 'static,
    ) -> Self {
        self.script.push_back(Exchange {
            expect: expect.into(),
            reply: Reply::Computed(Box::new(reply)),
        });
        self
    }

    /// STARTTLS, PLAIN (any password), and binding `user@domain/resource`:
    /// the shortest secure login, 4 round trips plus TLS.
    pub fn login_plain(domain: &str, user: &str, resource: &str) -> Self {
        ScriptedServer::default()
            .then(
                "<stream:stream",
                server_header(domain, "s1") + FEATURES_STARTTLS,
            )
            .then(
                "<starttls",
                "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
            )
            .plain_then_bind(domain, user, resource)
    }

    /// As [`ScriptedServer::login_plain`], the post-authentication
    /// features also offering XEP-0198 stream management, and the
    /// client's `<enable/>` answered with a resumable `<enabled/>`
    /// (SM-ID `sm-1`).
    pub fn login_plain_with_sm(domain: &str, user: &str, resource: &str) -> Self {
        let domain_ = domain.to_string();
        let bound = format!("{user}@{domain}/{resource}");
        ScriptedServer::default()
            .then(
                "<stream:stream",
                server_header(domain, "s1") + FEATURES_STARTTLS,
            )
            .then(
                "<starttls",
                "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
            )
            .then(
                "<stream:stream",
                server_header(domain, "p1") + &features_sasl(&["PLAIN"]),
            )
            .then(
                "mechanism='PLAIN'",
                "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
            )
            .then_with("</iq>", move |sent| {
                server_header(&domain_, "p2")
                    + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
                       <sm xmlns='urn:xmpp:sm:3'/></stream:features>"
                    + &bind_reply(sent, &bound)
            })
            .then(
                "<enable",
                "<enabled xmlns='urn:xmpp:sm:3' id='sm-1' resume='true'/>",
            )
    }

    /// Direct TLS (XEP-0368: the stream starts inside TLS, no STARTTLS
    /// offered), PLAIN (any password), and binding `user@domain/resource`.
    pub fn login_plain_direct_tls(domain: &str, user: &str, resource: &str) -> Self {
        ScriptedServer::default().plain_then_bind(domain, user, resource)
    }

    /// A stream offering only PLAIN, its success, the restarted stream
    /// offering bind, and the bind result.
    fn plain_then_bind(self, domain: &str, user: &str, resource: &str) -> Self {
        let domain_ = domain.to_string();
        let bound = format!("{user}@{domain}/{resource}");
        self.then(
            "<stream:stream",
            server_header(domain, "p1") + &features_sasl(&["PLAIN"]),
        )
        .then(
            "mechanism='PLAIN'",
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
        )
        .then_with("</iq>", move |sent| {
            server_header(&domain_, "p2") + FEATURES_BIND + &bind_reply(sent, &bound)
        })
    }

    /// True when every exchange of the script happened.
    pub fn is_done(&self) -> bool {
        self.script.is_empty()
    }

    /// Takes bytes the client wrote; returns what the server answers now.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(bytes).into_owned();
        self.sent_by_client.push(text.clone());
        self.inbox.push_str(&text);
        let mut out = String::new();
        let mut answered = false;
        while let Some(step) = self.script.front_mut() {
            let Some(at) = self.inbox.find(&step.expect) else {
                break;
            };
            let end = at + step.expect.len();
            let seen: String = self.inbox.drain(..end).collect();
            let reply = match &mut step.reply {
                Reply::Static(s) => s.clone(),
                Reply::Computed(f) => f(&seen),
            };
            out.push_str(&reply);
            answered = true;
            self.script.pop_front();
        }
        if answered {
            self.round_trips += 1;
        }
        out.into_bytes()
    }
}

/// Runs `client` against `server` until neither has anything to say;
/// returns the client's events. `StartTls` is answered with a pretend
/// handshake (no channel binding).
pub fn pump(client: &mut Client, server: &mut ScriptedServer, now: Instant) -> Vec<Event> {
    let mut events = Vec::new();
    // Bounded: a script is finite, so a client that loops is a bug to report.
    for _ in 0..10_000 {
        match client.poll_output() {
            Output::Transmit(t) => {
                let reply = server.receive(&t.bytes);
                if !reply.is_empty() {
                    client.handle_input(Input::Received(now, &reply));
                }
            }
            Output::StartTls { .. } => client.handle_input(Input::TlsEstablished(now, None)),
            Output::Event(e) => events.push(e),
            // The script ends where the client closes; nothing to tear down.
            Output::CloseTransport => {}
            // A new transport to the same scripted server (its script goes
            // on where it stopped).
            Output::Connect => client.handle_input(Input::Connected(now, Security::StartTls)),
            Output::Timeout(_) => break,
        }
    }
    events
}

/// The value of attribute `name` in the first `open` tag of `xml` (a crude
/// helper for computed replies).
pub fn attr_after(xml: &str, open: &str, name: &str) -> Option<String> {
    let tag_start = xml.find(open)?;
    let tag = &xml[tag_start..];
    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
    for quote in ['\'', '"'] {
        let key = format!(" {name}={quote}");
        if let Some(i) = tag.find(&key) {
            let v = &tag[i + key.len()..];
            return v.find(quote).map(|j| v[..j].to_string());
        }
    }
    None
}
