//! XMPP Ping (XEP-0199): answering pings (§4.1 server-to-client, §4.3
//! client-to-client), pinging an entity and timing the round trip (§4.2,
//! §4.3), and the liveness check of the connection (§4.2: "client pings
//! server").
//!
//! `Client::new` registers this module first, configured from
//! [`Timeouts::idle`](crate::Timeouts::idle), so a session answers pings
//! and notices a dead server without the application doing anything.
//!
//! Liveness: after `idle` without anything from the server (a stanza, a
//! non-stanza element, or bytes such as whitespace keepalives) the module
//! pings the server; an answer of any kind shows it is there. A ping
//! unanswered within the IQ timeout ([`Timeouts::iq`](crate::Timeouts::iq))
//! ends the connection as [`DisconnectReason::Timeout`], through
//! [`ModuleContext::connection_lost`], so a reconnect policy applies as for
//! any lost connection. The liveness ping reports no event.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use xmpp_proto::ping::Ping;
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! // Registered already: ping our server; the answer comes back as
//! // Event::Ping(PingEvent { id, .. }) with this id and the round trip.
//! let sent = client.with_module(Instant::now(), |p: &mut Ping, cx| p.ping(cx, None));
//! assert!(sent.unwrap().is_err(), "not online yet");
//! // Check liveness every 5 minutes instead.
//! client.module_mut::<Ping>().unwrap().set_idle(Some(Duration::from_secs(300)));
//! ```
//!
//! [`DisconnectReason::Timeout`]: crate::DisconnectReason::Timeout

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::client::{Event, Handled, IqAnswer, IqFailure, Module, ModuleContext, SendError};
use crate::stanza::{BareJid, DefinedCondition, ErrorType, Iq, IqPayload, Jid, Stanza};
use crate::xml::Element;

/// The XEP-0199 namespace.
pub const NS_PING: &str = "urn:xmpp:ping";

/// Why the liveness check ends a connection.
const NO_ANSWER: &str = "the server stopped answering pings";
/// Why the liveness check could not run (the IQ tracker is full).
const CANNOT_PING: &str = "could not ping the server";

/// The answer to [`Ping::ping`] ([`Event::Ping`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingEvent {
    /// The request's id, as [`Ping::ping`] returned it.
    pub id: String,
    /// Who was pinged (our server's domain for `None`).
    pub jid: Jid,
    /// The round trip, or why there is no answer. An entity that does not
    /// support XEP-0199 answers with an error (§4.3: `service-unavailable`),
    /// which still shows it is reachable.
    pub result: Result<Duration, IqFailure>,
}

/// The ping module. See the [module documentation](self).
#[derive(Debug)]
pub struct Ping {
    /// Ping the server after this long without hearing from it.
    idle: Option<Duration>,
    /// When we last heard from the server (`None` while offline, or once
    /// the connection was declared lost).
    heard: Option<Instant>,
    /// The id of the liveness ping in flight.
    probe: Option<String>,
    /// Pings of the application in flight: id -> (to, sent at). Bounded by
    /// the IQ tracker: each gets exactly one outcome, which removes it.
    asked: HashMap<String, (Jid, Instant)>,
}

impl Default for Ping {
    /// With the default [`Timeouts::idle`](crate::Timeouts::idle).
    fn default() -> Self {
        Ping::new(crate::Timeouts::default().idle)
    }
}

impl Ping {
    /// Answers pings and checks liveness after `idle` without news from
    /// the server.
    pub fn new(idle: Duration) -> Self {
        Ping {
            idle: Some(idle),
            heard: None,
            probe: None,
            asked: HashMap::new(),
        }
    }

    /// Answers pings and pings on request only: no liveness check.
    pub fn without_liveness() -> Self {
        Ping {
            idle: None,
            ..Ping::new(Duration::ZERO)
        }
    }

    /// Changes the liveness interval (`None`: no liveness check). Takes
    /// effect from the next deadline.
    pub fn set_idle(&mut self, idle: Option<Duration>) {
        self.idle = idle;
    }

    /// The liveness interval, if the check is on.
    pub fn idle(&self) -> Option<Duration> {
        self.idle
    }

    /// Pings `jid`, or our own server with `None` (§4.2, §4.3). The answer
    /// comes back as [`Event::Ping`] with the returned id and the round
    /// trip.
    pub fn ping(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: Option<Jid>,
    ) -> Result<String, SendError> {
        let to = match jid {
            Some(jid) => jid,
            None => domain_of(cx),
        };
        let id = cx.send_iq(Iq::get(Some(to.clone()), "", ping()))?;
        self.asked.insert(id.clone(), (to, cx.now()));
        Ok(id)
    }

    /// Something arrived from the server.
    fn heard(&mut self, now: Instant) {
        if self.heard.is_some() {
            self.heard = Some(now);
        }
    }

    /// The liveness ping's outcome: any answer is a sign of life.
    fn probe_answered(&mut self, cx: &mut ModuleContext<'_>, result: &Result<Iq, IqFailure>) {
        self.probe = None;
        match result {
            Err(IqFailure::Timeout) => {
                self.heard = None;
                cx.connection_lost(NO_ANSWER);
            }
            Err(IqFailure::Disconnected) => self.heard = None,
            _ => self.heard(cx.now()),
        }
    }
}

/// `<ping xmlns='urn:xmpp:ping'/>`.
fn ping() -> Element {
    Element::new(NS_PING, "ping")
}

/// Our server: the account's domain, which is a JID by itself.
fn domain_of(cx: &ModuleContext<'_>) -> Jid {
    Jid::from(BareJid::from_parts(None, cx.account().domain()))
}

impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }

    fn features(&self) -> &[&'static str] {
        &[NS_PING]
    }

    fn iq_requests(&self) -> &[(&'static str, &'static str)] {
        &[(NS_PING, "ping")]
    }

    fn online(&mut self, cx: &mut ModuleContext<'_>, _resumed: bool) {
        self.heard = Some(cx.now());
        self.probe = None;
    }

    fn offline(&mut self, _resumable: bool) {
        // The IQs in flight were failed (and reported) before this.
        self.heard = None;
        self.probe = None;
        self.asked.clear();
    }

    fn observe_stanza(&mut self, cx: &mut ModuleContext<'_>, _stanza: &Stanza) {
        self.heard(cx.now());
    }

    fn handle_nonza(&mut self, cx: &mut ModuleContext<'_>, _element: &Element) -> Handled {
        self.heard(cx.now());
        Handled::No
    }

    /// §4.1, §4.3: a `get` is answered with an empty result, whoever asks
    /// (the answer tells nothing but that we are here).
    fn handle_iq_request(&mut self, _cx: &mut ModuleContext<'_>, iq: &Iq) -> IqAnswer {
        match iq.payload {
            IqPayload::Get(_) => IqAnswer::Result(None),
            _ => IqAnswer::error(ErrorType::Cancel, DefinedCondition::BadRequest),
        }
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        if self.probe.as_deref() == Some(id) {
            return self.probe_answered(cx, &result);
        }
        let Some((jid, sent)) = self.asked.remove(id) else {
            return;
        };
        let result = match result {
            Ok(_) => Ok(cx.now().saturating_duration_since(sent)),
            Err(e) => Err(e),
        };
        cx.emit(Event::Ping(PingEvent {
            id: id.to_string(),
            jid,
            result,
        }));
    }

    fn next_deadline(&self) -> Option<Instant> {
        if self.probe.is_some() {
            // The IQ timeout decides now.
            return None;
        }
        Some(self.heard? + self.idle?)
    }

    fn handle_timeout(&mut self, cx: &mut ModuleContext<'_>, now: Instant) {
        let (Some(heard), Some(idle)) = (self.heard, self.idle) else {
            return;
        };
        if self.probe.is_some() {
            return;
        }
        // Bytes no hook sees (whitespace) count as well.
        let heard = cx.last_received().map_or(heard, |r| r.max(heard));
        self.heard = Some(heard);
        if heard + idle > now {
            return;
        }
        match cx.send_iq(Iq::get(None, "", ping())) {
            Ok(id) => self.probe = Some(id),
            Err(_) => {
                self.heard = None;
                cx.connection_lost(CANNOT_PING);
            }
        }
    }
}
