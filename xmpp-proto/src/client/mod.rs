//! The client connection: one sans-IO state machine per session.
//!
//! Rules (as h11's `_state.py` states its own):
//! 1. Every state transition of the session lives in this module: `mod.rs`
//!    (inputs, outputs, teardown), `negotiate.rs` (stream, TLS, SASL, bind),
//!    `online.rs` (routing) and `sm/` (XEP-0198 stream management: enable,
//!    acks, resumption instead of binding). Modules never change the session state,
//!    except that one may declare the connection lost
//!    ([`ModuleContext::connection_lost`], the XEP-0199 liveness check).
//! 2. The client never blocks, never reads a clock, never draws randomness:
//!    time comes with every [`Input`], entropy from [`Config::seed`].
//! 3. Output is queued; [`Client::poll_output`] drains it in a fixed order:
//!    bytes to write, start TLS, events, close the transport, open a new
//!    transport (only with a reconnect policy), next deadline.
//!    So the final [`Event::Disconnected`] always comes before
//!    [`Output::CloseTransport`], after the last bytes (a closing
//!    `</stream:stream>`, a stream error) were handed out to be written.
//!    Everything queued between two polls leaves in one transmit (one write,
//!    so a login is not slowed by Nagle/delayed-ACK stalls).
//! 4. The first fatal condition wins: it is reported once as
//!    [`Event::Disconnected`], after which input is ignored. With a
//!    reconnect policy a connection's end may instead be followed by a new
//!    transport for the same session: `reconnect.rs` decides and resets.

mod config;
mod disco;
mod error;
mod event;
mod extensions;
mod features;
mod module;
mod negotiate;
mod online;
mod optimistic;
mod outbox;
mod reconnect;
mod sm;
mod timer;

use std::collections::VecDeque;
use std::time::Instant;

pub use crate::ping::NS_PING;
pub use config::{Config, ConfigBuilder, Identity, Timeouts, TlsPolicy};
pub use error::{DisconnectReason, StreamError, StreamErrorCondition};
pub use event::{Event, Input, IqFailure, Output, Transmit, Warning, WarningKind};
pub use features::{
    StreamFeatures, NS_BIND, NS_SASL, NS_SASL_CB, NS_SESSION, NS_SM, NS_STREAM_ERRORS, NS_TLS,
};
pub use module::{
    from_own_account, Carbon, ExtensionEvent, Handled, IqAnswer, Module, ModuleContext,
    ModuleError, Provenance, RegisterError,
};
pub use online::NS_DISCO_INFO;
pub use reconnect::{ReconnectPolicy, MIN_RECONNECT_DELAY};
pub use sm::{
    ClientState, ResumptionState, ResumptionStateError, SmConfig, SmError, SmEvent, NS_CSI,
};

use crate::entropy::Entropy;
use crate::iq_tracker::{IqTracker, TrackerError};
use crate::sasl::{self, ChannelBinding, Mechanism};
use crate::stanza::{FullJid, Iq, JidCache, Stanza};
use crate::xml::{Element, StreamReader};

use negotiate::State;
use outbox::{IqOwner, Outbox};
use reconnect::Reconnect;
use timer::{Timer, TimerTable};

/// A command that could not be carried out. Never caused by what the
/// server sent: only by calling the API in the wrong state or with a bad value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Stanzas can only be sent once the session is online.
    #[error("the session is not online: wait for Event::Online before sending stanzas")]
    NotOnline,
    /// `send_iq` takes a get or set request.
    #[error("send_iq takes an IQ of type get or set; send results with send()")]
    NotARequest,
    /// The IQ could not be tracked (duplicate id, too many in flight).
    #[error("cannot track the IQ: {0}")]
    Iq(TrackerError),
    /// Stream management holds [`SmConfig::max_unacked`] stanzas the server
    /// has not acknowledged yet: nothing is sent (nor lost); try again after
    /// the next [`SmEvent::Acked`].
    #[error("{0} stanzas wait for the server's acknowledgement: try again after the next ack")]
    QueueFull(usize),
    /// The server of this stream does not advertise this feature (its
    /// namespace), so the command was not sent.
    #[error("the server does not offer {0}")]
    NotOffered(&'static str),
}

/// A client session. See the crate documentation for the driver loop.
///
/// Methods come in four groups (as quinn-proto's `Connection`):
/// - getters: [`state_name`](Self::state_name), [`bound_jid`](Self::bound_jid),
///   [`is_online`](Self::is_online), [`is_connecting`](Self::is_connecting),
///   [`next_deadline`](Self::next_deadline);
/// - input: [`handle_input`](Self::handle_input);
/// - commands: [`send`](Self::send), [`send_iq`](Self::send_iq), [`send_raw`](Self::send_raw),
///   [`close`](Self::close), [`register`](Self::register);
/// - output: [`poll_output`](Self::poll_output).
pub struct Client {
    config: Config,
    state: State,
    reader: StreamReader,
    outbox: Outbox,
    events: VecDeque<Event>,
    timers: TimerTable,
    ext: extensions::Extensions,
    start_tls: bool,
    close_transport: bool,
    tls: bool,
    channel_binding: Option<ChannelBinding>,
    mechanism: Option<Mechanism>,
    /// The SASL offer of the last login's features (kept across
    /// reconnections): what an optimistic authentication bets on.
    known_offer: Option<sasl::Offer>,
    bound: Option<FullJid>,
    /// Recent non-ASCII addresses, so that they are not normalized again.
    jids: JidCache,
    /// Set once `Event::Disconnected` was queued.
    ended: bool,
    /// Some byte was received on this connection.
    heard: bool,
    now: Instant,
    /// The session across transports (`reconnect.rs`).
    reconnect: Reconnect,
    /// XEP-0198 stream management and XEP-0352 client state (`sm/`).
    sm: sm::Sm,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("jid", &self.config.jid)
            .field("state", &self.state_name())
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A new session. With STARTTLS policies the stream header is queued at
    /// once; with [`TlsPolicy::DirectTls`] the client waits for
    /// [`Input::TlsEstablished`].
    ///
    /// The built-in [`Ping`](crate::ping::Ping) module is registered
    /// first, with [`Timeouts::idle`] as its liveness interval: it answers
    /// XEP-0199 pings and ends a connection whose server stopped answering
    /// (reach it with [`Client::with_module`] to ping or to change that).
    pub fn new(config: Config, now: Instant) -> Self {
        let mut entropy = Entropy::new(config.seed);
        // Ids and nonces draw from separate streams, so a nonce never
        // depends on how many ids were drawn before.
        let mut id_seed = [0u8; 32];
        entropy.fill(&mut id_seed);
        let tracker = IqTracker::with_max_pending(config.max_pending_iqs);
        let sm_config = config.stream_management;
        let queue = sm::SmQueue::new(sm_config.max_unacked, sm_config.ack_every);
        let outbox = Outbox::new(Entropy::new(id_seed), tracker, config.timeouts.iq, queue);
        let mut timers = TimerTable::default();
        timers.set(Timer::Connect, now + config.timeouts.connect);
        let direct = config.tls == TlsPolicy::DirectTls;
        let mut client = Client {
            reader: StreamReader::new(config.limits),
            state: State::initial(entropy, direct),
            outbox,
            events: VecDeque::new(),
            timers,
            ext: extensions::Extensions::default(),
            start_tls: false,
            close_transport: false,
            tls: false,
            channel_binding: None,
            mechanism: None,
            known_offer: None,
            bound: None,
            jids: JidCache::default(),
            ended: false,
            heard: false,
            now,
            reconnect: Reconnect::new(config.seed, config.tls),
            sm: sm::Sm::new(sm_config),
            config,
        };
        if let Some(state) = client.config.resumption.take() {
            client.sm_import(state);
        }
        // A fresh session has no module yet: this cannot conflict.
        let _ = client.register(crate::ping::Ping::new(client.config.timeouts.idle));
        if !direct {
            client.open_plain_stream();
        }
        client
    }

    /// Feeds input. Never fails: problems become events.
    pub fn handle_input(&mut self, input: Input<'_>) {
        if self.ended {
            return;
        }
        match input {
            Input::Received(now, data) => {
                self.now = now;
                if self.transport_up() {
                    self.received(data);
                }
            }
            Input::TlsEstablished(now, cb) => {
                self.now = now;
                self.tls_established(cb);
            }
            Input::Timeout(now) => {
                self.now = now;
                self.timeout();
            }
            Input::TransportClosed(now) if !self.transport_up() => self.now = now,
            Input::TransportClosed(now) => {
                self.now = now;
                // Nothing can be written any more.
                self.outbox.clear();
                let reason = if self.state.is_closing() {
                    DisconnectReason::Closed
                } else if self.awaits_first_plain_byte() {
                    // Closed (or reset) before the server said a word.
                    DisconnectReason::NoStreamHeader { tls: false }
                } else {
                    DisconnectReason::TransportClosed
                };
                self.end(reason);
            }
            Input::Connected(now, security) => {
                self.now = now;
                self.transport_connected(security);
            }
            Input::ConnectFailed(now, is_final) => {
                self.now = now;
                self.transport_failed(is_final);
            }
        }
        self.apply_module_requests();
        self.arm_session_timers();
    }

    /// The next thing the driver must do. Call until it returns
    /// [`Output::Timeout`].
    ///
    /// The order is fixed: bytes to write ([`Output::Transmit`]), then
    /// [`Output::StartTls`], then events, then [`Output::CloseTransport`],
    /// then [`Output::Connect`], then the deadline. At the end of a session
    /// that is: the last bytes, every remaining event ending with
    /// [`Event::Disconnected`], then `CloseTransport`, then `Timeout(None)`;
    /// at the end of a connection that the session survives:
    /// [`Event::Reconnecting`], `CloseTransport`, the deadline of the
    /// delay, and when it passed `Connect`.
    pub fn poll_output(&mut self) -> Output {
        if let Some(bytes) = self.outbox.take() {
            return Output::Transmit(Transmit { bytes });
        }
        if self.start_tls {
            self.start_tls = false;
            return Output::StartTls {
                server_name: self.config.jid.domain().to_string(),
            };
        }
        // Events before the close: a driver that stops at `CloseTransport`
        // has then seen the final `Event::Disconnected`.
        if let Some(e) = self.events.pop_front() {
            return Output::Event(e);
        }
        if self.close_transport {
            self.close_transport = false;
            return Output::CloseTransport;
        }
        if std::mem::take(&mut self.reconnect.connect) {
            return Output::Connect;
        }
        Output::Timeout(self.next_deadline())
    }

    /// The earliest deadline (also the value of the final [`Output::Timeout`]).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.ended {
            return None;
        }
        let iq = if self.outbox.open {
            self.outbox.tracker.poll_timeout()
        } else {
            None
        };
        [self.timers.next(), iq, self.modules_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Sends a stanza and returns its id (a fresh one is given to a stanza
    /// that has none, before the modules' outgoing hooks see it: with it
    /// the application correlates receipts, markers and corrections).
    /// `now` re-arms the keepalive from the time of this write, as every
    /// input does.
    ///
    /// With stream management, [`SmEvent::Acked`] later reports the id
    /// when the server acknowledged the stanza (or [`SmEvent::Unacked`]
    /// when this client gave up on it); past [`SmConfig::max_unacked`]
    /// waiting stanzas the send is refused with [`SendError::QueueFull`].
    pub fn send(&mut self, now: Instant, stanza: impl Into<Stanza>) -> Result<String, SendError> {
        self.may_send()?;
        self.now = now;
        let id = self.transmit(stanza.into());
        self.arm_session_timers();
        Ok(id)
    }

    /// Sends an IQ get/set and tracks it: its answer arrives as
    /// [`Event::IqResponse`] with the returned id, and only if it comes from
    /// the address the request went to. An empty id is replaced by a fresh one.
    pub fn send_iq(&mut self, now: Instant, iq: Iq) -> Result<String, SendError> {
        self.may_send()?;
        self.now = now;
        let mut iq = iq;
        let id = self.outbox.track_iq(now, &mut iq, IqOwner::App)?;
        self.transmit(Stanza::Iq(iq));
        self.arm_session_timers();
        Ok(id)
    }

    /// Sends an element as is (the escape hatch for what is not modelled).
    /// A `<message/>`, `<presence/>` or `<iq/>` in `jabber:client` is a
    /// stanza to stream management: counted, kept until acknowledged, and
    /// refused with [`SendError::QueueFull`] like any.
    pub fn send_raw(&mut self, now: Instant, element: &Element) -> Result<(), SendError> {
        if !self.is_online() {
            return Err(SendError::NotOnline);
        }
        self.now = now;
        let kind = (element.ns() == crate::stanza::NS_CLIENT)
            .then(|| sm::Kind::of(element.local_name()))
            .flatten();
        match kind {
            Some(kind) => {
                self.may_send()?;
                self.outbox.write_stanza(element, kind);
            }
            None => self.outbox.write_element(element),
        }
        self.arm_session_timers();
        Ok(())
    }

    /// Whether a stanza of the application may be sent now.
    fn may_send(&self) -> Result<(), SendError> {
        if !self.is_online() {
            return Err(SendError::NotOnline);
        }
        if self.outbox.sm.is_full(0) {
            return Err(SendError::QueueFull(self.outbox.sm.len()));
        }
        Ok(())
    }

    /// Closes the stream cleanly: sends `</stream:stream>`, waits (bounded by
    /// [`Timeouts::close`], counted from `now`) for the server's, then asks
    /// to close the transport.
    pub fn close(&mut self, now: Instant) {
        if self.ended || self.state.is_closing() {
            return;
        }
        self.now = now;
        self.reconnect.closed_by_app = true;
        if !self.state.reads_stream() {
            // Nothing was said on a stream yet (e.g. waiting for TLS).
            return self.end(DisconnectReason::Closed);
        }
        self.sm_close();
        self.outbox.open = false;
        self.outbox.write_raw(crate::xml::STREAM_CLOSE);
        self.state = State::Closing;
        self.timers = TimerTable::default();
        self.timers
            .set(Timer::Close, self.now + self.config.timeouts.close);
    }

    /// Our bound full JID, once online.
    pub fn bound_jid(&self) -> Option<&FullJid> {
        self.bound.as_ref()
    }

    /// True while stanzas can be sent.
    pub fn is_online(&self) -> bool {
        self.outbox.open && !self.ended
    }

    /// The state's name, for logs (`"awaiting-features"`).
    pub fn state_name(&self) -> &'static str {
        if self.ended {
            "closed"
        } else if !self.transport_up() {
            "reconnecting"
        } else {
            self.state.name()
        }
    }

    /// Nothing received yet on a connection that is not (yet) TLS and does
    /// not wait for a direct-TLS handshake: the server's first bytes are
    /// to be its stream header.
    fn awaits_first_plain_byte(&self) -> bool {
        !self.heard && !self.tls && self.config.tls != TlsPolicy::DirectTls
    }

    fn received(&mut self, data: &[u8]) {
        if !data.is_empty() && self.awaits_first_plain_byte() {
            self.heard = true;
            if crate::connect::greeting(data) == Some(crate::connect::Greeting::Tls) {
                // A direct-TLS port answering our stream header; nothing
                // we could write would make sense to it.
                return self.end(DisconnectReason::NoStreamHeader { tls: true });
            }
        }
        self.heard |= !data.is_empty();
        if !self.state.reads_stream() {
            if !data.is_empty() {
                self.warn(
                    WarningKind::UnexpectedInput,
                    format!(
                        "{} bytes received while {}; discarded",
                        data.len(),
                        self.state.name()
                    ),
                );
            }
            return;
        }
        self.reader.feed(data);
        if !data.is_empty() {
            self.ext.last_received = Some(self.now);
        }
        while let Some(item) = self.reader.next_event() {
            match item {
                Ok(event) => {
                    if !self.stream_event(event) {
                        // The reader was replaced (TLS or SASL restart) or
                        // the session ended: the rest of this read is discarded.
                        break;
                    }
                }
                Err(e) => {
                    self.fail_xml(e);
                    break;
                }
            }
            // A module declared the connection dead: the rest is not read.
            if self.ended || self.ext.lost.is_some() {
                break;
            }
        }
    }

    fn timeout(&mut self) {
        for t in self.timers.expired(self.now) {
            match t {
                Timer::Connect => {
                    if !self.outbox.open {
                        self.fail(DisconnectReason::Timeout(
                            "the login did not complete in time",
                        ));
                    }
                }
                Timer::Close => self.end(DisconnectReason::Closed),
                Timer::Keepalive => {
                    if self.outbox.open {
                        // RFC 6120 §4.6.1: whitespace keeps NATs and the server's idle timer happy.
                        self.outbox.write_raw(b" ");
                    }
                }
                Timer::Reconnect => self.reconnect_due(),
                Timer::AckRequest => self.sm_ack_timer(),
            }
            if self.ended {
                return;
            }
        }
        if self.outbox.open {
            self.expire_iqs();
        }
        if self.outbox.open && !self.ended {
            self.modules_timeout();
        }
    }

    /// (Re)arms keepalive and the ack request after output; called after
    /// each input and command.
    fn arm_session_timers(&mut self) {
        if self.ended || !self.outbox.open {
            return;
        }
        self.sm_after_io();
        if self.ended || !self.outbox.open {
            return;
        }
        if std::mem::take(&mut self.outbox.wrote) || self.timers.get(Timer::Keepalive).is_none() {
            self.timers
                .set(Timer::Keepalive, self.now + self.config.timeouts.keepalive);
        }
    }

    /// Queues the first header of a plaintext connection. When TLS is
    /// required, `<starttls/>` goes out with it, one round trip before the
    /// features would ask for it; features without STARTTLS still end the
    /// session before any credential is sent (`negotiate.rs`).
    fn open_plain_stream(&mut self) {
        self.open_stream();
        if self.config.tls == TlsPolicy::Required {
            self.outbox
                .write_element(&crate::xml::Element::new(features::NS_TLS, "starttls"));
            if let negotiate::State::AwaitingHeader(neg) = &mut self.state {
                neg.starttls_sent = true;
            }
        }
    }

    /// Queues our stream header (RFC 6120 §4.7) and starts a fresh reader.
    fn open_stream(&mut self) {
        let domain = self.config.jid.domain().to_string();
        let from = self.config.jid.to_string();
        let mut attrs = vec![("to", domain.as_str()), ("version", "1.0")];
        // §4.7.1: include `from` only once the stream is encrypted.
        if self.tls {
            attrs.push(("from", from.as_str()));
        }
        attrs.push(("xml:lang", self.config.lang.as_str()));
        let mut out = Vec::new();
        crate::xml::write_stream_open(&mut out, crate::stanza::NS_CLIENT, &attrs);
        self.outbox.write_raw(&out);
        self.reader = StreamReader::new(self.config.limits);
    }

    fn warn(&mut self, kind: WarningKind, message: String) {
        self.events
            .push_back(Event::Warning(Warning { kind, message }));
    }

    /// Ends the session because of `reason`, sending `</stream:stream>`
    /// first when the stream is still up.
    fn fail(&mut self, reason: DisconnectReason) {
        if self.ended {
            return;
        }
        if self.state.reads_stream() && !self.state.is_closing() {
            self.outbox.write_raw(crate::xml::STREAM_CLOSE);
        }
        self.end(reason);
    }

    /// Sends a stream error for invalid XML from the server, then ends.
    fn fail_xml(&mut self, e: crate::xml::XmlError) {
        let condition = if e.kind.is_limit() {
            "policy-violation"
        } else if e.kind.is_restricted_xml() {
            "restricted-xml"
        } else {
            "not-well-formed"
        };
        let mut out = b"<stream:error>".to_vec();
        Element::new(features::NS_STREAM_ERRORS, condition).write_xml(&mut out);
        out.extend_from_slice(b"</stream:error>");
        self.outbox.write_raw(&out);
        self.fail(DisconnectReason::InvalidXml(e));
    }

    /// The connection is over: close the transport, answer everything
    /// pending, modules that were online go offline; then either the
    /// session goes on with a new transport (`reconnect.rs` decides, and
    /// queues `Reconnecting`) or it ends with one `Disconnected` event.
    /// A stream management session that the server keeps for a resumption
    /// keeps its IQs in flight and tells the modules so (`sm/`).
    fn end(&mut self, reason: DisconnectReason) {
        if self.ended {
            return;
        }
        self.outbox.open = false;
        self.state = State::Closed;
        self.timers = TimerTable::default();
        self.close_transport = true;
        let plan = self.reconnect_plan(&reason);
        let resumable = self.sm_connection_ended(&reason, plan.is_some());
        if !resumable {
            self.sm_release();
            for id in self.outbox.tracker.cancel_all() {
                self.iq_done(id, Err(IqFailure::Disconnected));
            }
        }
        if self.bound.is_some() {
            self.modules_offline(resumable);
        }
        self.sm.suspended = resumable;
        if let Some((attempt, delay)) = plan {
            return self.reconnect_wait(attempt, delay, reason);
        }
        self.sm_session_ended();
        self.ended = true;
        self.events.push_back(Event::Disconnected { reason });
    }
}
