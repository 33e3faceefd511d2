//! The application's side of a session: [`Handle`] to send commands,
//! [`Events`] to receive news.

use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use xmpp_proto::stanza::{Iq, Stanza};
use xmpp_proto::xml::Element;
use xmpp_proto::{Client, SendError};

use crate::{CommandError, ConnectionInfo, Event};

/// A command for the driver task; each carries where to send its outcome.
pub(crate) enum Command {
    Send(Stanza, oneshot::Sender<Result<String, CommandError>>),
    SendIq(Iq, oneshot::Sender<Result<Iq, CommandError>>),
    SendRaw(Element, oneshot::Sender<Result<(), CommandError>>),
    Info(oneshot::Sender<Option<ConnectionInfo>>),
    Close(oneshot::Sender<()>),
    /// Runs where the core lives (or learns why it cannot).
    With(Job),
}

/// A command as the channel carries it. Boxed: a Tokio channel allocates
/// its slots 32 at a time (the first block when it is made) and keeps at
/// least one block for as long as it lives, so a channel of 440-byte
/// commands would hold ~14 KiB per idle session; of boxes, 256 bytes.
pub(crate) type Queued = Box<Command>;

/// An event as the channel carries it: boxed for the same reason (an
/// [`Event`] is ~700 bytes: ~22 KiB per idle session unboxed).
pub(crate) type QueuedEvent = Box<Event>;

/// A closure run on the core by [`Handle::with`].
pub(crate) type Job = Box<dyn FnOnce(Result<(&mut Client, Instant), CommandError>) + Send>;

impl Command {
    /// Answers the command with `error` without carrying it out (between
    /// connections: not online; after the end: ended).
    pub(crate) fn refuse(self, error: CommandError) {
        match self {
            Command::Send(_, tx) => drop(tx.send(Err(error))),
            Command::SendRaw(_, tx) => drop(tx.send(Err(error))),
            Command::SendIq(_, tx) => drop(tx.send(Err(error))),
            Command::Info(tx) => drop(tx.send(None)),
            Command::Close(tx) => drop(tx.send(())),
            Command::With(job) => job(Err(error)),
        }
    }
}

/// Sends commands to a session. Cheap to clone; every clone drives the same
/// session. When the last handle is dropped, the session closes its stream
/// cleanly and the driver task ends.
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) tx: mpsc::Sender<Queued>,
}

impl Handle {
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, CommandError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Box::new(make(tx)))
            .await
            .map_err(|_| CommandError::Ended)?;
        rx.await.map_err(|_| CommandError::Ended)
    }

    /// Sends a stanza and resolves to its id (a fresh one when it had
    /// none) once the core accepted it; fails with
    /// [`CommandError::Rejected`]`(SendError::NotOnline)` while reconnecting.
    pub async fn send(&self, stanza: impl Into<Stanza>) -> Result<String, CommandError> {
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
    /// [`CommandError::Rejected`]`(SendError::NotOnline)` between connections.
    pub async fn connection_info(&self) -> Result<ConnectionInfo, CommandError> {
        self.call(Command::Info)
            .await?
            .ok_or(CommandError::Rejected(SendError::NotOnline))
    }

    /// Runs `f` where the core lives, with the driver's current time, and
    /// returns its result: the way to reach a module's commands and state.
    /// What `f` sends is written right after it returns. Fails with
    /// [`CommandError::Rejected`]`(SendError::NotOnline)` between
    /// connections, and [`CommandError::Ended`] after the session.
    ///
    /// The closure has the same shape on a bare core and in the blocking
    /// adapter's `Sender::with`:
    ///
    /// ```no_run
    /// # async fn f(handle: xmpp_io_tokio::Handle) -> Result<(), Box<dyn std::error::Error>> {
    /// use xmpp_proto::roster::{Roster, RosterItem};
    /// let item = RosterItem::new("romeo@example.net".parse()?).with_name("Romeo");
    /// // The id of the request; its outcome arrives as RosterEvent::Done.
    /// let id = handle
    ///     .with(move |client, now| client.with_module(now, |r: &mut Roster, cx| r.set(cx, item)))
    ///     .await???;
    /// # let _ = id; Ok(()) }
    /// ```
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client, Instant) -> R + Send + 'static,
    ) -> Result<R, CommandError> {
        self.call(|tx| {
            Command::With(Box::new(move |core| {
                let _ = tx.send(core.map(|(client, now)| f(client, now)));
            }))
        })
        .await?
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

/// Receives a session's [`Event`]s in order. Events are buffered without
/// bound, so the session never waits for the application; keep reading.
///
/// Read with [`Events::next`], or as a [`Stream`](futures_core::Stream)
/// (with `StreamExt` from `futures-util` or `tokio-stream`), which ends
/// after [`Event::Disconnected`].
#[derive(Debug)]
pub struct Events {
    pub(crate) rx: mpsc::UnboundedReceiver<QueuedEvent>,
}

impl Events {
    /// The next event; `None` after [`Event::Disconnected`] was received.
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await.map(|event| *event)
    }

    /// The next event if one is waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        self.rx.try_recv().ok().map(|event| *event)
    }
}

impl futures_core::Stream for Events {
    type Item = Event;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Event>> {
        self.rx.poll_recv(cx).map(|event| event.map(|event| *event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Disconnect;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn events_are_a_stream_that_ends_after_the_session() {
        let (tx, rx) = mpsc::unbounded_channel();
        let events = Events { rx };
        tx.send(Box::new(Event::Disconnected {
            reason: Disconnect::Closed,
        }))
        .expect("open");
        drop(tx); // the driver task is gone
        let all: Vec<Event> = events.collect().await;
        assert!(matches!(
            all.as_slice(),
            [Event::Disconnected {
                reason: Disconnect::Closed
            }]
        ));
    }
}
