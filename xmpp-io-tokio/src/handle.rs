//! The application's side of a session: [`Handle`] to send commands,
//! [`Events`] to receive news.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use xmpp_proto::connect::Security;
use xmpp_proto::stanza::{FullJid, Iq, Stanza};
use xmpp_proto::xml::Element;
use xmpp_proto::SendError;

use crate::{CommandError, ConnectError};

/// A command for the driver task; each carries where to send its outcome.
pub(crate) enum Command {
    Send(Stanza, oneshot::Sender<Result<(), CommandError>>),
    SendIq(Iq, oneshot::Sender<Result<Iq, CommandError>>),
    SendRaw(Element, oneshot::Sender<Result<(), CommandError>>),
    Info(oneshot::Sender<Option<ConnectionInfo>>),
    Close(oneshot::Sender<()>),
}

impl Command {
    /// Answers the command with `error` without carrying it out (between
    /// connections: not online; after the end: ended).
    pub(crate) fn refuse(self, error: CommandError) {
        match self {
            Command::Send(_, tx) | Command::SendRaw(_, tx) => drop(tx.send(Err(error))),
            Command::SendIq(_, tx) => drop(tx.send(Err(error))),
            Command::Info(tx) => drop(tx.send(None)),
            Command::Close(tx) => drop(tx.send(())),
        }
    }
}

/// Sends commands to a session. Cheap to clone; every clone drives the same
/// session. When the last handle is dropped, the session closes its stream
/// cleanly and the driver task ends.
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) tx: mpsc::Sender<Command>,
}

impl Handle {
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, CommandError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| CommandError::Ended)?;
        rx.await.map_err(|_| CommandError::Ended)
    }

    /// Sends a stanza (an id is added when it has none). Resolves once the
    /// core accepted it; fails with [`SendError::NotOnline`] while
    /// reconnecting.
    pub async fn send(&self, stanza: impl Into<Stanza>) -> Result<(), CommandError> {
        let stanza = stanza.into();
        self.call(|tx| Command::Send(stanza, tx)).await?
    }

    /// Sends an IQ get/set and waits for its answer: the `result` IQ, or
    /// [`CommandError::Iq`] for an `error` answer, no answer within the
    /// core's IQ timeout (30 s by default), or a session that ended first.
    /// Only an answer from the address the request went to is accepted.
    /// An empty id is replaced by a fresh one.
    pub async fn send_iq(&self, iq: Iq) -> Result<Iq, CommandError> {
        self.call(|tx| Command::SendIq(iq, tx)).await?
    }

    /// Sends an element as is (for what is not modelled).
    pub async fn send_raw(&self, element: Element) -> Result<(), CommandError> {
        self.call(|tx| Command::SendRaw(element, tx)).await?
    }

    /// The current connection, read live from the socket; fails with
    /// [`SendError::NotOnline`] between connections.
    pub async fn connection_info(&self) -> Result<ConnectionInfo, CommandError> {
        self.call(Command::Info)
            .await?
            .ok_or(CommandError::Rejected(SendError::NotOnline))
    }

    /// Closes the stream cleanly (our `</stream:stream>`, the server's, then
    /// the socket) and returns once the session has ended. Stops any
    /// reconnection. Returns at once if it had already ended.
    pub async fn close(&self) {
        let _ = self.call(Command::Close).await;
    }

    /// True once the session task has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The connection a session currently uses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// The host connected to (SRV target, explicit host, or the domain).
    pub host: String,
    /// Direct TLS or STARTTLS.
    pub security: Security,
    /// The server's address.
    pub peer: Option<SocketAddr>,
    /// Our address.
    pub local: Option<SocketAddr>,
    /// Whether TCP_NODELAY is set on the socket (it always should be).
    pub nodelay: bool,
    /// The negotiated TLS version (`"TLSv1_3"`), `None` without TLS.
    pub tls_version: Option<String>,
    /// The negotiated ALPN protocol (`xmpp-client` for direct TLS).
    pub alpn: Option<Vec<u8>>,
}

/// News from a session.
#[derive(Debug)]
#[non_exhaustive]
// Mostly `Core` events, moved once each; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// An event of the core, in order. The login's events (warnings,
    /// `ScramKeys`, then `Online`) are all queued when
    /// [`connect`](crate::connect) returns. The core's
    /// `Disconnected` is never passed on (see [`Event::Disconnected`] and
    /// [`Event::Reconnecting`]), nor are the answers to IQs sent with
    /// [`Handle::send_iq`] (they resolve that call).
    Core(xmpp_proto::Event),
    /// The connection was lost; the next attempt starts after `delay`.
    Reconnecting {
        /// 1 for the first attempt after a loss, counting failed attempts.
        attempt: u32,
        /// How long the driver waits before this attempt.
        delay: Duration,
        /// Why the connection was lost, or why the previous attempt failed.
        error: ConnectError,
    },
    /// Online again after [`Event::Reconnecting`] (instead of the core's `Online`).
    Reconnected {
        /// The full JID bound this time.
        jid: FullJid,
        /// Whether the previous session was resumed (XEP-0198), so nothing
        /// needs re-sending by hand.
        resumed: bool,
    },
    /// The session is over; the last event.
    Disconnected {
        /// Why.
        reason: Disconnect,
    },
}

/// Why a session ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Disconnect {
    /// Closed cleanly: [`Handle::close`], or every handle was dropped.
    Closed,
    /// Lost, and not (or no longer) reconnecting.
    Error(ConnectError),
}

/// Receives a session's [`Event`]s in order. Events are buffered without
/// bound, so the session never waits for the application; keep reading.
#[derive(Debug)]
pub struct Events {
    pub(crate) rx: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    /// The next event; `None` after [`Event::Disconnected`] was received.
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}
