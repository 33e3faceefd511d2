//! The driving vocabulary: what the driver feeds in ([`Input`]), what it
//! drains ([`Output`]), and the application's news ([`Event`]).

use std::time::{Duration, Instant};

use crate::connect::Security;

use crate::sasl::{ChannelBinding, Mechanism, ScramKeys};
use crate::stanza::{FullJid, Iq, Message, Presence, StanzaError};
use crate::xml::Element;

use super::error::DisconnectReason;

/// Input from the driver. Every variant carries the current time.
#[derive(Debug)]
#[non_exhaustive]
pub enum Input<'a> {
    /// Bytes read from the transport (decrypted, when TLS is on).
    Received(Instant, &'a [u8]),
    /// The TLS handshake the core asked for ([`Output::StartTls`]), or the
    /// direct-TLS handshake of [`TlsPolicy::DirectTls`](crate::TlsPolicy::DirectTls),
    /// completed. `ChannelBinding` is what the TLS layer can export
    /// (tls-exporter for TLS 1.3, tls-unique for 1.2, tls-server-end-point), if any.
    TlsEstablished(Instant, Option<ChannelBinding>),
    /// A deadline from [`Output::Timeout`] passed (or any time check).
    Timeout(Instant),
    /// The transport closed (EOF or error).
    TransportClosed(Instant),
    /// The transport asked for with [`Output::Connect`] is open (TCP, and
    /// for [`Security::DirectTls`] the TLS handshake already begun: feed
    /// [`Input::TlsEstablished`] when it completes). The core starts a new
    /// connection of the same session on it.
    Connected(Instant, Security),
    /// The transport could not be opened or secured (DNS, TCP, a direct-TLS
    /// or STARTTLS handshake). The flag says whether trying again would
    /// fail the same way (an adapter passes `ConnectError::is_final`); the
    /// core then reconnects later or ends the session.
    ConnectFailed(Instant, bool),
}

/// Bytes to write to the transport, all of them, in one write.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The bytes (everything queued since the last transmit).
    pub bytes: Vec<u8>,
}

/// What the driver must do next. Drain with
/// [`Client::poll_output`](crate::Client::poll_output) until `Timeout`.
///
/// Deliberately not `#[non_exhaustive]`: every variant asks the driver to
/// act, so a driver matches all of them, and a variant added later is a
/// compile error in each driver rather than output silently dropped.
#[derive(Debug)]
// Events are moved out once per poll; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Output {
    /// Write these bytes to the transport, in one write.
    Transmit(Transmit),
    /// Start TLS on the transport now, verifying the certificate for
    /// `server_name` (the JID's domain). Discard any bytes read but not yet
    /// fed; feed [`Input::TlsEstablished`] when the handshake completes.
    StartTls {
        /// The name the certificate must be valid for.
        server_name: String,
    },
    /// Close the transport: the connection is over. The
    /// [`Event::Disconnected`] (the session is over) or
    /// [`Event::Reconnecting`] (a new transport follows) that says why was
    /// handed out just before. Also abandons a connection attempt in
    /// progress.
    CloseTransport,
    /// Open a new transport for this session now, exactly as for the
    /// first connection (resolve, TCP, and for direct TLS the handshake),
    /// then feed [`Input::Connected`], or [`Input::ConnectFailed`] if it
    /// could not be made. Comes only with a reconnect policy
    /// (`Config::reconnect`), after [`Event::Reconnecting`] and its delay.
    Connect,
    /// News for the application.
    Event(Event),
    /// Nothing more to do now. Call back with [`Input::Timeout`] at this
    /// instant (`None`: no deadline), or earlier with new input.
    Timeout(Option<Instant>),
}

/// Why an IQ request produced no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IqFailure {
    /// The entity answered with an error.
    #[error("the entity answered with an error: {0}")]
    Error(StanzaError),
    /// No answer before the deadline.
    #[error("no answer before the deadline")]
    Timeout,
    /// The session ended before an answer came.
    #[error("the session ended before an answer came")]
    Disconnected,
}

/// A category of refused input: the session goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// An IQ response whose id matches a request but whose sender is not the
    /// entity the request went to (IQ response spoofing); it was ignored.
    SpoofedIqResponse,
    /// An IQ response with an id we never used (or already answered).
    UnknownIqResponse,
    /// A stanza with an invalid `from`/`to` or malformed structure; dropped.
    InvalidStanza,
    /// Channel binding was guessed and refused; logged in without -PLUS.
    ChannelBindingFallback,
    /// Input arrived when the session could not use it (e.g. bytes while
    /// TLS was being set up).
    UnexpectedInput,
    /// A module refused something (see the module's documentation).
    Module,
}

impl WarningKind {
    /// Kebab-case name for logs and JSON (`"spoofed-iq-response"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            WarningKind::SpoofedIqResponse => "spoofed-iq-response",
            WarningKind::UnknownIqResponse => "unknown-iq-response",
            WarningKind::InvalidStanza => "invalid-stanza",
            WarningKind::ChannelBindingFallback => "channel-binding-fallback",
            WarningKind::UnexpectedInput => "unexpected-input",
            WarningKind::Module => "module",
        }
    }
}

/// Something the server or a contact sent was refused; the session goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The category.
    pub kind: WarningKind,
    /// What happened, for people (never contains secrets).
    pub message: String,
}

/// News for the application.
#[derive(Debug)]
#[non_exhaustive]
#[rustfmt::skip]
// A message is the common case: boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    // ===== session =====
    /// Logged in and bound: stanzas can flow.
    Online {
        /// The full JID the server bound.
        jid: FullJid,
        /// Whether the stream is encrypted.
        tls: bool,
        /// The SASL mechanism used.
        mechanism: Mechanism,
        /// Whether a previous session was resumed (XEP-0198).
        resumed: bool,
    },
    /// Online again on a new transport after [`Event::Reconnecting`]
    /// (instead of `Online`): the modules' `online` ran again; IQs of the
    /// lost connection were failed with [`IqFailure::Disconnected`].
    Reconnected {
        /// The full JID the server bound this time.
        jid: FullJid,
        /// Whether the stream is encrypted.
        tls: bool,
        /// The SASL mechanism used.
        mechanism: Mechanism,
        /// Whether the previous session was resumed (XEP-0198).
        resumed: bool,
    },
    /// The connection was lost and the session goes on: after `delay` the
    /// core asks for a new transport ([`Output::Connect`]). Comes instead
    /// of `Disconnected` when a reconnect policy allows another attempt.
    Reconnecting {
        /// 1 for the first attempt after a loss, counting failed attempts.
        attempt: u32,
        /// How long the session waits before this attempt (at least 1 s).
        delay: Duration,
        /// Why the connection (or the previous attempt) ended.
        reason: DisconnectReason,
    },
    /// After a SCRAM login: the salted keys, to store instead of the password.
    ScramKeys(ScramKeys),
    /// The session ended. Exactly once; the core does nothing afterwards.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
    /// Refused input; the session goes on.
    Warning(Warning),
    /// Stream management (XEP-0198): enabled, resumption refused, and which
    /// outgoing stanzas the server acknowledged (or this client gave up on).
    StreamManagement(super::sm::SmEvent),

    // ===== stanzas =====
    /// A message no module consumed.
    Message(Message),
    /// A presence no module consumed.
    Presence(Presence),
    /// The answer to an IQ sent with [`Client::send_iq`](crate::Client::send_iq).
    IqResponse {
        /// The request's id.
        id: String,
        /// The result IQ, or why there is none.
        result: Result<Iq, IqFailure>,
    },
    /// A top-level element that is not a stanza (the raw-element escape hatch).
    Nonza(Element),

    // ===== modules =====
    /// News from the roster module ([`crate::roster`]).
    Roster(crate::roster::RosterEvent),

    /// News from the presence module ([`crate::presence`]).
    PresenceUpdate(crate::presence::PresenceEvent),

    /// A message with its messaging extensions decoded and checked, from
    /// the [`Messages`](crate::messages::Messages) module (instead of
    /// [`Event::Message`]).
    ChatMessage(crate::messages::ChatMessage),

    /// News from the [`Carbons`](crate::messages::Carbons) module.
    Carbons(crate::messages::CarbonsEvent),

    /// The answer to a ping of the ping module ([`crate::ping`]).
    Ping(crate::ping::PingEvent),

    /// The answer to a software-version query ([`crate::version`]).
    Version(crate::version::VersionEvent),

    /// News from the blocking module ([`crate::blocking`]).
    Blocking(crate::blocking::BlockingEvent),

    /// News from the disco and caps modules ([`crate::disco`]).
    Disco(crate::disco::DiscoEvent),

    /// News from the vCard module ([`crate::vcard`]): cards and XEP-0153 avatars.
    VCard(crate::vcard::VCardEvent),

    /// News from the user avatar module ([`crate::avatar`], XEP-0084).
    Avatar(crate::avatar::AvatarEvent),

    /// News from the bookmarks module ([`crate::bookmarks`], XEP-0402).
    Bookmarks(crate::bookmarks::BookmarksEvent),

    /// News from the multi-user chat module ([`crate::muc`]).
    Muc(crate::muc::MucEvent),

    /// News from the message archive module ([`crate::mam`], XEP-0313).
    Mam(crate::mam::MamEvent),

    // ===== extensions =====
    /// An event of a third-party extension (its own type, boxed).
    Extension(super::module::ExtensionEvent),
}
