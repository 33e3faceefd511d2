//! The session: what the [`Reader`] and every [`Sender`](crate::Sender)
//! share, and the reader's loop — dialing, the connection's bytes and
//! deadlines, a new transport whenever the core asks for one, the end.
//! The core decides every reconnection (whether, when, how often); this
//! loop only dials when told to (`Output::Connect`).
//!
//! Locking: one `Mutex<State>` holds the connection (socket, TLS session,
//! core). A sender takes it to carry out a command and write its bytes;
//! the reader takes it to feed received bytes and fire deadlines. Nobody
//! holds it while waiting for the network: the reader waits on its channel
//! (see `transport.rs`) with the lock released.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use xmpp_proto::adapter::driver::new_client;
use xmpp_proto::connect::Candidate;
use xmpp_proto::stanza::Iq;
use xmpp_proto::{Event as CoreEvent, Input};

use crate::conn::{Connection, WRITE_TIMEOUT};
use crate::tls::Tls;
use crate::transport::{self, Msg};
use crate::{CommandError, ConnectError, ConnectOptions, Disconnect, Event, SessionEnded};

/// Where a waiting `send_iq` gets its answer.
pub(crate) type IqWaiter = mpsc::SyncSender<Result<Iq, CommandError>>;

/// What the reader and the senders share.
pub(crate) struct Shared {
    pub(crate) opts: ConnectOptions,
    pub(crate) tls: Arc<Tls>,
    pub(crate) state: Mutex<State>,
    /// The reader's channel (senders wake it; threads feed it).
    pub(crate) tx: mpsc::Sender<Msg>,
    /// A `Msg::Wake` is in the channel and not yet handled: senders do not
    /// queue another (so a burst of commands queues one wake, not many).
    pub(crate) wake_pending: AtomicBool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock (in a module's callback) leaves the
        // state usable: every field is consistent between statements.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            let _ = self.tx.send(Msg::Wake);
        }
    }
}

/// The session's mutable state.
#[derive(Default)]
pub(crate) struct State {
    /// The session's core and its transport; `None` while the first
    /// connection is dialed and after the end.
    pub(crate) conn: Option<Connection>,
    /// Events not yet returned by `next_event`.
    pub(crate) events: VecDeque<Event>,
    /// `send_iq` calls waiting for their answer, by id.
    pub(crate) waiters: HashMap<String, IqWaiter>,
    /// The application asked to close (or dropped the reader).
    pub(crate) close_requested: bool,
    /// The session is over: commands fail with `Ended`.
    pub(crate) over: bool,
}

impl State {
    /// Carries out the connection's output, routing its events.
    pub(crate) fn drain(&mut self) {
        let State {
            conn,
            events,
            waiters,
            ..
        } = self;
        if let Some(conn) = conn {
            conn.drain(&mut |event| route(event, events, waiters));
        }
    }

    /// The connection, if it is online.
    #[allow(clippy::result_large_err)] // see `handle.rs`
    pub(crate) fn online(&mut self) -> Result<&mut Connection, CommandError> {
        if self.over {
            return Err(CommandError::Ended);
        }
        match &mut self.conn {
            Some(conn) if conn.online && conn.ended.is_none() => Ok(conn),
            _ => Err(CommandError::Rejected(xmpp_proto::SendError::NotOnline)),
        }
    }
}

fn route(event: Event, events: &mut VecDeque<Event>, waiters: &mut HashMap<String, IqWaiter>) {
    match event {
        Event::Core(CoreEvent::IqResponse { id, result }) => match waiters.remove(&id) {
            Some(waiter) => {
                let _ = waiter.send(result.map_err(CommandError::Iq));
            }
            None => events.push_back(Event::Core(CoreEvent::IqResponse { id, result })),
        },
        other => events.push_back(other),
    }
}

/// Where the reader's loop stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// A dialer thread resolves and connects (attempt `gen`): the first
    /// connection, or a new transport the core asked for.
    Dialing,
    /// The core runs: logging in, online, or waiting to reconnect.
    Session,
    /// Over: `Event::Disconnected` was queued.
    Over,
}

/// What one turn of the loop came to.
pub(crate) enum Turn {
    /// Handled something (or nothing was due yet).
    Continue,
    /// `until` passed.
    TimedOut,
    /// The first connection got online (for `connect`).
    Online,
    /// The first connection failed (for `connect`: never retried).
    Failed(ConnectError),
}

/// The half of a session that runs its loop and receives its events.
///
/// Its [`next_event`](Self::next_event) (or [`iter`](Self::iter)) is the
/// session's loop: it feeds received bytes to the core, fires the core's
/// deadlines, and reconnects. **Keep calling it**, from any one thread:
/// while nobody does, nothing received is processed, no deadline fires (no
/// keepalive, no IQ timeout) and [`Sender::send_iq`](crate::Sender::send_iq)
/// waits. Commands from [`Sender`](crate::Sender)s are written at once
/// whatever the reader does.
///
/// Dropping the reader ends the session: it sends the closing
/// `</stream:stream>` (without waiting for the server's) and closes the
/// socket; senders then fail with [`CommandError::Ended`].
pub struct Reader {
    pub(crate) shared: Arc<Shared>,
    rx: mpsc::Receiver<Msg>,
    phase: Phase,
    /// The current attempt or connection.
    gen: u64,
    /// When the current dial (and the first login) must be done by.
    login_deadline: Option<Instant>,
    /// The attempt of `connect`: its failure is returned, not retried.
    initial: bool,
    /// `Event::Disconnected` was returned.
    done: bool,
    /// Why the attempt of `connect` failed (returned by the next turn).
    failed: Option<ConnectError>,
    span: tracing::Span,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("jid", self.shared.opts.jid())
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl Reader {
    pub(crate) fn new(shared: Arc<Shared>, rx: mpsc::Receiver<Msg>) -> Self {
        let span = tracing::info_span!("xmpp", jid = %shared.opts.jid());
        Reader {
            shared,
            rx,
            phase: Phase::Over,
            gen: 0,
            login_deadline: None,
            initial: true,
            done: false,
            failed: None,
            span,
        }
    }

    /// Waits for the next event, at most `timeout` (`None`: as long as it
    /// takes). `Ok(None)`: the timeout passed without an event.
    /// `Err(SessionEnded)`: [`Event::Disconnected`] was already returned.
    ///
    /// The timeout is kept to within a millisecond or so, also while
    /// reconnecting (attempts run in the background of this loop).
    pub fn next_event(&mut self, timeout: Option<Duration>) -> Result<Option<Event>, SessionEnded> {
        let until = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            if let Some(event) = self.pop() {
                return Ok(Some(event));
            }
            if self.done || self.phase == Phase::Over {
                return Err(SessionEnded);
            }
            if let Turn::TimedOut = self.turn(until) {
                return Ok(self.pop());
            }
        }
    }

    /// The events, blocking for each; ends after [`Event::Disconnected`].
    pub fn iter(&mut self) -> Iter<'_> {
        Iter { reader: self }
    }

    /// True once the session is over (its last event may still be waiting).
    pub fn is_over(&self) -> bool {
        self.phase == Phase::Over
    }

    fn pop(&mut self) -> Option<Event> {
        let event = self.shared.lock().events.pop_front()?;
        if matches!(event, Event::Disconnected { .. }) {
            self.done = true;
        }
        Some(event)
    }

    /// Starts dialing: the first connection, or a transport the core
    /// asked for.
    pub(crate) fn start_attempt(&mut self, now: Instant) {
        self.gen += 1;
        let opts = &self.shared.opts;
        let deadline = now + opts.login_timeout();
        self.login_deadline = Some(deadline);
        self.phase = Phase::Dialing;
        let (opts, tx, gen) = (opts.clone(), self.shared.tx.clone(), self.gen);
        let spawned = std::thread::Builder::new()
            .name("xmpp-io-blocking-dial".into())
            .spawn(move || {
                let result = crate::dns::candidates(&opts, deadline)
                    .and_then(|candidates| crate::tcp::connect(&candidates, deadline));
                let _ = tx.send(Msg::Dialed { gen, result });
            });
        if let Err(e) = spawned {
            let _ = self.shared.tx.send(Msg::Dialed {
                gen: self.gen,
                result: Err(ConnectError::Io(e)),
            });
        }
    }

    /// One turn of the loop: wait for a message or a deadline (at most
    /// until `until`), handle it, settle what follows.
    pub(crate) fn turn(&mut self, until: Option<Instant>) -> Turn {
        let span = self.span.clone();
        let _entered = span.enter();
        let msg = match self.wake_at(until) {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                self.rx.recv_timeout(wait).ok()
            }
            // Nothing is due: sleep until something arrives. (The shared
            // state holds a sender, so the channel never disconnects.)
            None => self.rx.recv().ok(),
        };
        let now = Instant::now();
        if let Some(msg) = msg {
            self.handle(msg, now);
        }
        self.on_time(now);
        let turn = self.settle(now);
        if let Some(error) = self.failed.take() {
            return Turn::Failed(error);
        }
        match turn {
            Turn::Continue if until.is_some_and(|u| now >= u) => Turn::TimedOut,
            other => other,
        }
    }

    /// When the loop must look again without a message: the core's
    /// deadline (at least 1 ms ahead, so a deadline that is due but not yet
    /// handled cannot spin; the end of a reconnection delay is one), the
    /// deadline of a dial or of the first login, or `until`.
    fn wake_at(&self, until: Option<Instant>) -> Option<Instant> {
        let now = Instant::now();
        let floor = |t: Instant| t.max(now + Duration::from_millis(1));
        let due = match self.phase {
            Phase::Dialing => self.login_deadline,
            Phase::Session => {
                let state = self.shared.lock();
                match &state.conn {
                    // An end to settle (a sender's write failed, or it came
                    // with the login): look again at once.
                    Some(conn) if conn.ended.is_some() || conn.connect_requested => Some(now),
                    conn => min(conn.as_ref().and_then(|c| c.deadline), self.login_deadline),
                }
            }
            Phase::Over => None,
        };
        min(due.map(floor), until)
    }

    fn handle(&mut self, msg: Msg, now: Instant) {
        match msg {
            Msg::Net { gen, data } if gen == self.gen && self.phase == Phase::Session => {
                let mut state = self.shared.lock();
                if let Some(conn) = &mut state.conn {
                    conn.feed(data, now);
                }
                state.drain();
            }
            Msg::Dialed { gen, result } if gen == self.gen && self.phase == Phase::Dialing => {
                let result = result.and_then(|(tcp, candidate)| {
                    let (link, socket) = self.wire(tcp)?;
                    Ok((link, socket, candidate))
                });
                let mut state = self.shared.lock();
                let opened = match (result, &mut state.conn) {
                    // A new transport under the session's core.
                    (Ok((link, socket, candidate)), Some(conn)) => {
                        conn.attach(link, socket, candidate, now);
                        Ok(())
                    }
                    (Ok((link, socket, candidate)), None) => self
                        .first_connection(link, socket, candidate, now)
                        .map(|conn| state.conn = Some(conn)),
                    (Err(e), _) => Err(e),
                };
                match opened {
                    Ok(()) => {
                        state.drain();
                        self.login_deadline = self.login_deadline.filter(|_| self.initial);
                        self.phase = Phase::Session;
                    }
                    Err(e) => {
                        drop(state);
                        self.fail_attempt(e, now);
                    }
                }
            }
            // Cleared before the state is looked at (below), so a command
            // made after this point queues a wake of its own.
            Msg::Wake => self.shared.wake_pending.store(false, Ordering::Release),
            // Stale messages of an abandoned attempt or connection (a
            // dialed socket is closed as it is dropped).
            _ => {}
        }
    }

    /// A freshly dialed socket, ready for a connection: the stream to
    /// read and write, and a handle for shutdown; its reader thread started.
    fn wire(
        &self,
        tcp: std::net::TcpStream,
    ) -> Result<(std::net::TcpStream, std::net::TcpStream), ConnectError> {
        tcp.set_write_timeout(Some(WRITE_TIMEOUT))
            .map_err(ConnectError::Io)?;
        let socket = tcp.try_clone().map_err(ConnectError::Io)?;
        let reader = tcp.try_clone().map_err(ConnectError::Io)?;
        // Last: once the thread runs, only a shutdown of the socket ends it
        // (the connection's drop, or its close, does that).
        transport::spawn_reader(reader, self.gen, self.shared.tx.clone())
            .map_err(ConnectError::Io)?;
        Ok((tcp, socket))
    }

    /// The session's core, made once, over its first socket.
    fn first_connection(
        &self,
        tcp: std::net::TcpStream,
        socket: std::net::TcpStream,
        candidate: Candidate,
        now: Instant,
    ) -> Result<Connection, ConnectError> {
        let opts = &self.shared.opts;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| ConnectError::Entropy(e.to_string()))?;
        let core = new_client(opts, candidate.security, seed, now);
        let domain = opts.jid().domain().as_str().to_string();
        Ok(Connection::new(
            core,
            tcp,
            socket,
            candidate,
            self.shared.tls.clone(),
            domain,
        ))
    }

    /// Fires what is due: the core's deadline (the end of a reconnection
    /// delay among them), the deadline of a dial or of the first login.
    fn on_time(&mut self, now: Instant) {
        let login_over = self.login_deadline.is_some_and(|d| now >= d);
        match self.phase {
            Phase::Session => {
                let mut state = self.shared.lock();
                let Some(conn) = &mut state.conn else { return };
                if conn.deadline.is_some_and(|d| now >= d) {
                    conn.core.handle_input(Input::Timeout(now));
                    state.drain();
                }
                let still_logging_in = state.conn.as_ref().is_some_and(|c| !c.online);
                if self.initial && login_over && still_logging_in {
                    state.conn = None;
                    drop(state);
                    self.fail_attempt(self.login_timeout(), now);
                }
            }
            Phase::Dialing if login_over => self.fail_attempt(self.login_timeout(), now),
            _ => {}
        }
    }

    fn login_timeout(&self) -> ConnectError {
        ConnectError::Timeout(format!(
            "not online within {} s",
            self.shared.opts.login_timeout().as_secs_f64()
        ))
    }

    /// Looks at what handling changed: a close request, the connection's
    /// end, the first login's success, the core asking for a transport.
    fn settle(&mut self, now: Instant) -> Turn {
        let mut state = self.shared.lock();
        if state.close_requested
            && match self.phase {
                Phase::Dialing => true,
                Phase::Session => state.conn.as_ref().is_some_and(|c| !c.online),
                Phase::Over => false,
            }
        {
            // Nothing was said on an established session yet: just stop.
            state.conn = None;
            drop(state);
            self.finish(Disconnect::Closed);
            return Turn::Continue;
        }
        if self.phase != Phase::Session {
            return Turn::Continue;
        }
        let Some(conn) = &mut state.conn else {
            return Turn::Continue;
        };
        if conn.logged_in && self.initial {
            self.login_deadline = None;
            self.initial = false;
            // `connect` returns now; an end that came with the login
            // (the server closed right away) is settled next turn.
            return Turn::Online;
        }
        if let Some(reason) = conn.ended.take() {
            let error = match reason {
                xmpp_proto::DisconnectReason::Closed => None,
                reason => Some(conn.end_error(reason)),
            };
            // Dropping the connection closes its socket and reader thread.
            state.conn = None;
            drop(state);
            match error {
                None => self.finish(Disconnect::Closed),
                Some(error) if self.initial => self.fail_attempt(error, now),
                // The core decided not to (or no longer) reconnect.
                Some(error) => self.finish(Disconnect::Error(error)),
            }
            return Turn::Continue;
        }
        if std::mem::take(&mut conn.connect_requested) {
            drop(state);
            self.start_attempt(now);
        }
        Turn::Continue
    }

    /// A dial (or the first login) failed: `connect` returns the first
    /// connection's failure; a later one goes to the core, which decides.
    fn fail_attempt(&mut self, error: ConnectError, now: Instant) {
        self.login_deadline = None;
        self.gen += 1; // whatever the attempt still sends is stale
        if self.initial {
            // `connect` returns the error; there is no session to end.
            self.phase = Phase::Over;
            self.shared.lock().over = true;
            self.failed = Some(error);
            return;
        }
        tracing::debug!(%error, "connection attempt failed");
        self.phase = Phase::Session;
        let mut state = self.shared.lock();
        if let Some(conn) = &mut state.conn {
            conn.connect_failed(error, now);
            state.drain();
        }
    }

    /// The session is over: answers every waiting `send_iq`, queues the
    /// last event.
    fn finish(&mut self, reason: Disconnect) {
        tracing::info!(?reason, "session over");
        self.phase = Phase::Over;
        self.login_deadline = None;
        let mut state = self.shared.lock();
        state.over = true;
        state.conn = None;
        for (_, waiter) in state.waiters.drain() {
            let _ = waiter.send(Err(CommandError::Ended));
        }
        state.events.push_back(Event::Disconnected { reason });
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.over {
            return;
        }
        tracing::debug!("reader dropped; closing the stream");
        state.over = true;
        state.close_requested = true;
        if let Some(conn) = &mut state.conn {
            if conn.online {
                conn.core.close(Instant::now());
            }
        }
        state.drain();
        if let Some(conn) = &mut state.conn {
            conn.close_transport();
        }
        state.conn = None;
        for (_, waiter) in state.waiters.drain() {
            let _ = waiter.send(Err(CommandError::Ended));
        }
    }
}

/// Blocking iterator over a [`Reader`]'s events (see [`Reader::iter`]).
#[derive(Debug)]
pub struct Iter<'a> {
    reader: &'a mut Reader,
}

impl Iterator for Iter<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            match self.reader.next_event(None) {
                Ok(Some(event)) => return Some(event),
                Ok(None) => continue,
                Err(SessionEnded) => return None,
            }
        }
    }
}

fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
