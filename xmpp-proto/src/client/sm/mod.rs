//! XEP-0198 stream management (v1.6) and XEP-0352 client state indication.
//!
//! Stream management sits in the connection machine's path, not in a
//! module: it counts every stanza in and out, reads the stream features
//! and replaces resource binding when it resumes. One file per concern:
//! `counter.rs` (`h` modulo 2^32), `queue.rs` (the bounded queue of
//! unacknowledged stanzas, in the outbox), `session.rs` (enable §3, acks
//! §4, errors §6, the end of a connection), `resume.rs` (resumption §5, and
//! the fresh session when it fails), `state.rs` (the resumption state as
//! data), `csi.rs` (XEP-0352).
//!
//! Rules:
//! 1. After binding, when the server offers `<sm xmlns='urn:xmpp:sm:3'/>`
//!    and [`SmConfig::enable`] is on, the core sends `<enable/>` (with
//!    `resume='true'` per [`SmConfig::resume`]) before anything else, and
//!    counts every stanza it writes from there on (§4 note: the sender's
//!    counter starts when `<enable/>` is sent); the stanzas it receives
//!    are counted from `<enabled/>` on. Both counters wrap at 2^32.
//! 2. `<r/>` is answered at once with `<a h=…/>`. The core asks with `<r/>`
//!    after [`SmConfig::ack_every`] stanzas, and [`SmConfig::ack_after`]
//!    after a stanza no request covers yet (through the session's single
//!    deadline, `Timer::AckRequest`): every stanza is followed by a
//!    request within that many stanzas or that time.
//! 3. An `h` (in `<a/>`, `<resumed/>` or `<failed/>`) acknowledges the
//!    oldest stanzas of the queue: their ids are reported once, in
//!    [`SmEvent::Acked`]. An `h` beyond what was sent ends the connection
//!    with `<undefined-condition/>` and `<handled-count-too-high/>` (§6),
//!    [`SmError::HandledCountTooHigh`], and the session is not resumed;
//!    an `h` behind the last one is ignored with a warning.
//! 4. When a resumable connection is lost and the session goes on (a
//!    reconnect policy), IQs in flight are kept and the modules go
//!    `offline(resumable = true)`. On the next transport, after SASL, the
//!    core waits for the features and sends `<resume previd h/>` instead of
//!    binding. `<resumed h/>`: the stanzas not covered are sent again, as
//!    they were, before anything new; the modules go `online(resumed =
//!    true)`; the login event says `resumed: true`.
//! 5. `<failed/>` to the resume (with or without `h`), or no `<sm/>`
//!    offered: the `h` it carries acknowledges what it covers; IQs kept
//!    fail with `IqFailure::Disconnected`; the modules go
//!    `offline(false)`; the core binds on the same stream and enables
//!    stream management anew. After the modules' `online(resumed =
//!    false)` (presence, rooms, roster restored), the unacknowledged
//!    messages are sent again as they were (same id, same origin-id, so
//!    receivers can deduplicate); unacknowledged IQs and presences are not
//!    (the modules restore their state), nor is anything when the new
//!    stream offers no stream management: those are reported in
//!    [`SmEvent::Unacked`].
//! 6. A stanza is reported once: in `Acked`, or in `Unacked` when this
//!    client gives up on it (the session ends without resumption, a
//!    fresh session does not send it again, or the server refuses
//!    `<enable/>`). A clean close sends `<a/>` and, when stanzas wait for
//!    an ack, `<r/>` before `</stream:stream>`, and ends the SM session.
//! 7. The resumption state is data ([`ResumptionState`]): exported by
//!    [`Client::resumption_state`](crate::Client::resumption_state) at any
//!    time (after the session ended too, unless it was closed cleanly),
//!    imported with [`ConfigBuilder::resume_from`](crate::ConfigBuilder::resume_from).

mod counter;
mod csi;
mod queue;
mod resume;
mod session;
mod state;

use std::time::Duration;

use crate::stanza::FullJid;

pub use csi::{ClientState, NS_CSI};
pub use state::{ResumptionState, ResumptionStateError};

pub(crate) use queue::{Kind, SmQueue, Unacked, REQUEST};
pub(super) use resume::Resume;

/// How the session uses stream management (XEP-0198).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmConfig {
    /// Enable stream management when the server offers it (default: on).
    pub enable: bool,
    /// Ask the server to keep the session for a resumption (default: on).
    pub resume: bool,
    /// The resumption time to ask for (`<enable max=…/>`, in seconds);
    /// `None` (the default) leaves it to the server.
    pub max_resume: Option<u32>,
    /// Ask for an ack after this many stanzas (default 5; 0 counts as 1).
    pub ack_every: u32,
    /// Ask for an ack this long after a stanza no request covers yet
    /// (default 1 s).
    pub ack_after: Duration,
    /// The most unacknowledged stanzas: past it the application's and the
    /// modules' sends are refused with
    /// [`SendError::QueueFull`](crate::SendError::QueueFull) (default 1,000).
    pub max_unacked: usize,
    /// Report [`SmEvent::Handled`] each time the core tells the server how
    /// many stanzas it handled (default: off). An application that keeps
    /// the [`ResumptionState`] across a process restart turns it on and
    /// saves the state at each: a state older than the last `h` the server
    /// heard is refused at resumption (Prosody closes the connection).
    pub report_handled: bool,
}

impl Default for SmConfig {
    fn default() -> Self {
        SmConfig {
            enable: true,
            resume: true,
            max_resume: None,
            ack_every: 5,
            ack_after: Duration::from_secs(1),
            max_unacked: 1000,
            report_handled: false,
        }
    }
}

/// News about stream management ([`Event::StreamManagement`](crate::Event::StreamManagement)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmEvent {
    /// The server enabled stream management on this stream (`<enabled/>`):
    /// acks will come. With `resumable` the session can be resumed (its
    /// [`ResumptionState`] changed: keep it again if you keep it).
    Enabled {
        /// The server keeps the session for a resumption.
        resumable: bool,
        /// Where the server prefers to be reconnected to ("host:port").
        location: Option<String>,
    },
    /// The server refused `<enable/>` (its stanza error condition, if
    /// any): no acks on this stream.
    EnableFailed {
        /// The condition's element name (`"unexpected-request"`).
        condition: Option<String>,
    },
    /// The resumption was refused (`<failed/>`): a new session is being
    /// bound. `h`, when the server sent it, acknowledged what it covers.
    ResumeFailed {
        /// The condition's element name (`"item-not-found"`).
        condition: Option<String>,
        /// The server's count of stanzas it handled in the old session.
        h: Option<u32>,
    },
    /// The server took responsibility for these outgoing stanzas (by id,
    /// in the order they were sent; a raw stanza without id is not listed).
    Acked {
        /// Their ids.
        ids: Vec<String>,
    },
    /// This client will not confirm these outgoing stanzas: the session
    /// ended without resumption, a new session does not send them again
    /// (IQs and presences, or anything when the new stream has no stream
    /// management), or the server refused `<enable/>`. They may or may not
    /// have reached the server. (A [`ResumptionState`] exported after the
    /// end still holds them: a client started from it confirms or sends
    /// them again.)
    Unacked {
        /// Their ids.
        ids: Vec<String>,
    },
    /// We told the server we handled `h` stanzas (answering its `<r/>`):
    /// the [`ResumptionState`] changed in a way the server knows. Only with
    /// [`SmConfig::report_handled`].
    Handled {
        /// The count sent, mod 2^32.
        h: u32,
    },
}

/// A stream management failure of the server that ends the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmError {
    /// The server acknowledged more stanzas than we sent (XEP-0198 §6):
    /// we sent `<handled-count-too-high/>` and closed.
    #[error("the server acknowledged {h} stanzas, but only {sent} were sent (modulo 2^32)")]
    HandledCountTooHigh {
        /// The server's `h`.
        h: u32,
        /// Our count of stanzas sent.
        sent: u32,
    },
    /// The server acknowledged nothing while twice the queue's bound of
    /// stanzas waited.
    #[error("the server left more than {limit} stanzas unacknowledged")]
    TooManyUnacked {
        /// Twice [`SmConfig::max_unacked`].
        limit: usize,
    },
    /// `<resumed/>` named another session than the one asked for.
    #[error("the server resumed another session than the one asked for")]
    WrongSession,
}

/// Where stream management stands on this stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not in use on this stream.
    Off,
    /// `<enable/>` sent, waiting for the answer.
    Enabling,
    /// Enabled or resumed: incoming stanzas are counted.
    On,
}

/// The resumable session.
#[derive(Clone, Debug)]
pub(crate) struct Resumable {
    pub(crate) id: String,
    pub(crate) location: Option<String>,
    pub(crate) jid: FullJid,
}

/// The session's stream management, beside the queue in the outbox.
#[derive(Debug)]
pub(crate) struct Sm {
    pub(crate) config: SmConfig,
    pub(crate) phase: Phase,
    /// Our `h`: stanzas received since `<enabled/>`, mod 2^32.
    pub(crate) handled: u32,
    /// The session a resumption would resume.
    pub(crate) resumable: Option<Resumable>,
    /// A resumable connection was lost while the session goes on: IQs are
    /// kept and the modules went `offline(true)`.
    pub(crate) suspended: bool,
    /// The counters came from an imported state and no `h` came since: the
    /// process that saved it may have sent more than it saved, so an `h`
    /// beyond our count is believed once (not a hostile `h`).
    pub(crate) imported: bool,
    pub(crate) csi: csi::Csi,
}

impl Sm {
    pub(crate) fn new(config: SmConfig) -> Self {
        Sm {
            config,
            phase: Phase::Off,
            handled: 0,
            resumable: None,
            suspended: false,
            imported: false,
            csi: csi::Csi::default(),
        }
    }
}
