//! The application's side of a session: [`Client`] (both halves in one),
//! or, after [`Client::split`], a [`Reader`] that runs the loop and
//! receives events and any number of [`Sender`]s (`Clone + Send`) that
//! send commands from any thread.
//!
//! Commands return [`CommandError`] by value, as the Tokio adapter's do:
//! it is the same type (its `Iq` variant carries the server's stanza
//! error), and it is only built on the rare error path.
#![allow(clippy::result_large_err)]

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use xmpp_proto::stanza::{Iq, Stanza};
use xmpp_proto::xml::Element;

use crate::session::{IqWaiter, Iter, Reader, Shared};
use crate::{CommandError, ConnectionInfo, Event, SessionEnded};

/// A session that is (or was) online: send commands, wait for events.
///
/// Every command is carried out and written on the calling thread before
/// it returns. Events wait in a queue until [`next_event`](Self::next_event)
/// returns them; calling it is also what processes received bytes and fires
/// the core's timers, so keep calling it (or [`split`](Self::split) the
/// client and call it on a thread of its own).
///
/// Dropping the client ends the session (see [`Reader`]).
#[derive(Debug)]
pub struct Client {
    pub(crate) reader: Reader,
    pub(crate) sender: Sender,
}

impl Client {
    /// Waits for the next event, at most `timeout` (`None`: as long as it
    /// takes). `Ok(None)`: the timeout passed without an event.
    /// `Err(SessionEnded)`: [`Event::Disconnected`] was already returned.
    pub fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Event>, SessionEnded> {
        self.reader.next_event(timeout)
    }

    /// The events, blocking for each; ends after [`Event::Disconnected`].
    pub fn iter(&mut self) -> Iter<'_> {
        self.reader.iter()
    }

    /// Runs `f` on the core (see [`Sender::with`]).
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut xmpp_proto::Client, Instant) -> R,
    ) -> Result<R, CommandError> {
        self.sender.with(f)
    }

    /// Sends a stanza and returns its id (a fresh one when it had none).
    /// Fails with [`CommandError::Rejected`]`(SendError::NotOnline)` while
    /// reconnecting.
    pub fn send(&self, stanza: impl Into<Stanza>) -> Result<String, CommandError> {
        self.sender.send(stanza)
    }

    /// Sends an IQ get/set and waits for its answer, running the session
    /// meanwhile (other events are queued for [`next_event`](Self::next_event)).
    /// Fails with [`CommandError::Iq`] for an `error` answer, no answer
    /// within the core's IQ timeout (30 s by default), or a session that
    /// ended first. Only an answer from the address the request went to is
    /// accepted. An empty id is replaced by a fresh one.
    pub fn send_iq(&mut self, iq: Iq) -> Result<Iq, CommandError> {
        let answer = self.sender.start_iq(iq)?;
        loop {
            match answer.try_recv() {
                Ok(result) => return result,
                Err(mpsc::TryRecvError::Disconnected) => return Err(CommandError::Ended),
                Err(mpsc::TryRecvError::Empty) if self.reader.is_over() => {
                    return Err(CommandError::Ended)
                }
                Err(mpsc::TryRecvError::Empty) => {
                    self.reader.turn(None);
                }
            }
        }
    }

    /// Sends an IQ get/set without waiting; returns its id. The answer
    /// arrives as `Event::Core(xmpp_proto::Event::IqResponse { id, .. })`.
    pub fn send_iq_nowait(&self, iq: Iq) -> Result<String, CommandError> {
        self.sender.send_iq_nowait(iq)
    }

    /// Sends an element as is (for what is not modelled).
    pub fn send_raw(&self, element: Element) -> Result<(), CommandError> {
        self.sender.send_raw(element)
    }

    /// The current connection, read live from the socket; fails with
    /// [`CommandError::Rejected`]`(SendError::NotOnline)` between connections.
    pub fn connection_info(&self) -> Result<ConnectionInfo, CommandError> {
        self.sender.connection_info()
    }

    /// Closes the stream cleanly (our `</stream:stream>`, the server's, then
    /// the socket) and returns once the session has ended; the remaining
    /// events, [`Event::Disconnected`] last, stay queued for
    /// [`next_event`](Self::next_event). Stops any reconnection. Returns at
    /// once if the session had already ended.
    pub fn close(&mut self) {
        self.sender.close();
        while !self.reader.is_over() {
            self.reader.turn(None);
        }
    }

    /// True once the session has ended.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// A sender for other threads (this client keeps running the loop).
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// Splits the client into the half that runs the loop and receives
    /// events (give it a thread of its own) and a sender for commands.
    pub fn split(self) -> (Reader, Sender) {
        (self.reader, self.sender)
    }
}

/// Sends commands to a session from any thread. Cheap to clone.
///
/// Each command is carried out by the core and written to the socket on
/// the calling thread, under the session's lock, before the call returns;
/// the [`Reader`] is then woken to look at the core's new deadline and
/// events. Nothing here waits for the reader, except
/// [`send_iq`](Self::send_iq), which waits for the answer that the
/// reader receives: do not call it on the reader's own thread (use
/// [`send_iq_nowait`](Self::send_iq_nowait) or [`Client::send_iq`] there).
#[derive(Clone)]
pub struct Sender {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("jid", self.shared.opts.jid())
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// Runs `command` on the online core, writes what it produced, wakes
    /// the reader.
    fn command<T>(
        &self,
        command: impl FnOnce(&mut xmpp_proto::Client) -> Result<T, CommandError>,
    ) -> Result<T, CommandError> {
        let mut state = self.shared.lock();
        let out = command(&mut state.online()?.core)?;
        state.drain();
        drop(state);
        self.shared.wake();
        Ok(out)
    }

    /// Runs `f` on the core, with the current time, and returns its result:
    /// the way to reach a module's commands and state. What `f` sends is
    /// written before this returns. Fails with
    /// [`CommandError::Rejected`]`(SendError::NotOnline)` while
    /// reconnecting. The closure has the same shape on a bare core and in
    /// the Tokio adapter's `Handle::with`:
    ///
    /// ```no_run
    /// # fn f(sender: xmpp_io_blocking::Sender) -> Result<(), Box<dyn std::error::Error>> {
    /// use xmpp_proto::roster::{Roster, RosterItem};
    /// let item = RosterItem::new("romeo@example.net".parse()?).with_name("Romeo");
    /// let id = sender
    ///     .with(move |client, now| client.with_module(now, |r: &mut Roster, cx| r.set(cx, item)))???;
    /// # let _ = id; Ok(()) }
    /// ```
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut xmpp_proto::Client, Instant) -> R,
    ) -> Result<R, CommandError> {
        self.command(|core| Ok(f(core, Instant::now())))
    }

    /// Sends a stanza and returns its id (a fresh one when it had none).
    /// Fails with [`CommandError::Rejected`]`(SendError::NotOnline)` while
    /// reconnecting.
    pub fn send(&self, stanza: impl Into<Stanza>) -> Result<String, CommandError> {
        let stanza = stanza.into();
        self.command(|core| Ok(core.send(Instant::now(), stanza)?))
    }

    /// Sends an IQ get/set and waits for its answer (see [`Client::send_iq`]).
    /// The answer is received by the [`Reader`], which must be running on
    /// another thread.
    pub fn send_iq(&self, iq: Iq) -> Result<Iq, CommandError> {
        let answer = self.start_iq(iq)?;
        answer.recv().unwrap_or(Err(CommandError::Ended))
    }

    /// Sends an IQ get/set without waiting; returns its id. The answer
    /// arrives as `Event::Core(xmpp_proto::Event::IqResponse { id, .. })`.
    pub fn send_iq_nowait(&self, iq: Iq) -> Result<String, CommandError> {
        self.command(|core| Ok(core.send_iq(Instant::now(), iq)?))
    }

    /// Sends the IQ with a waiter registered before anything can answer it.
    pub(crate) fn start_iq(
        &self,
        iq: Iq,
    ) -> Result<mpsc::Receiver<Result<Iq, CommandError>>, CommandError> {
        let (waiter, answer): (IqWaiter, _) = mpsc::sync_channel(1);
        let mut state = self.shared.lock();
        let id = state.online()?.core.send_iq(Instant::now(), iq)?;
        state.waiters.insert(id, waiter);
        state.drain();
        drop(state);
        self.shared.wake();
        Ok(answer)
    }

    /// Sends an element as is (for what is not modelled).
    pub fn send_raw(&self, element: Element) -> Result<(), CommandError> {
        self.command(|core| Ok(core.send_raw(Instant::now(), &element)?))
    }

    /// The current connection, read live from the socket; fails with
    /// [`CommandError::Rejected`]`(SendError::NotOnline)` between connections.
    pub fn connection_info(&self) -> Result<ConnectionInfo, CommandError> {
        Ok(self.shared.lock().online()?.info())
    }

    /// Asks the session to close the stream cleanly and returns at once;
    /// the [`Reader`] then returns the remaining events and
    /// [`Event::Disconnected`]. Stops any reconnection. Does nothing if
    /// the session had already ended.
    pub fn close(&self) {
        let mut state = self.shared.lock();
        if state.over {
            return;
        }
        state.close_requested = true;
        if let Ok(conn) = state.online() {
            conn.core.close(Instant::now());
        }
        state.drain();
        drop(state);
        self.shared.wake();
    }

    /// True once the session has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().over
    }
}
