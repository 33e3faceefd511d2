//! The session: what the [`Reader`] and every [`Sender`](crate::Sender)
//! share, and the reader's loop — connection attempts, the connection's
//! bytes and deadlines, loss, reconnection with backoff, the end.
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

use xmpp_proto::adapter::driver::{login_event, new_client};
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
    /// The current connection (logging in or online); `None` while dialing
    /// or waiting to reconnect.
    pub(crate) conn: Option<Connection>,
    /// Events not yet returned by `next_event`.
    pub(crate) events: VecDeque<Event>,
    /// `send_iq` calls waiting for their answer, by id.
    pub(crate) waiters: HashMap<String, IqWaiter>,
    /// The application asked to close (or dropped the reader).
    pub(crate) close_requested: bool,
    /// The session is over: commands fail with `Ended`.
    pub(crate) over: bool,
    /// The current connection is a reconnection: its `Online` becomes
    /// `Event::Reconnected`.
    reconnecting: bool,
}

impl State {
    /// Carries out the connection's output, routing its events.
    pub(crate) fn drain(&mut self) {
        let State {
            conn,
            events,
            waiters,
            reconnecting,
            ..
        } = self;
        if let Some(conn) = conn {
            conn.drain(&mut |event| route(event, events, waiters, *reconnecting));
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

fn route(
    event: CoreEvent,
    events: &mut VecDeque<Event>,
    waiters: &mut HashMap<String, IqWaiter>,
    reconnecting: bool,
) {
    match event {
        CoreEvent::IqResponse { id, result } => match waiters.remove(&id) {
            Some(waiter) => {
                let _ = waiter.send(result.map_err(CommandError::Iq));
            }
            None => events.push_back(Event::Core(CoreEvent::IqResponse { id, result })),
        },
        other => events.push_back(login_event(other, reconnecting).0),
    }
}

/// Where the reader's loop stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// A dialer thread resolves and connects (attempt `gen`).
    Dialing,
    /// A connection exists: logging in, or online.
    Session,
    /// Waiting before the next attempt.
    Backoff { at: Instant },
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
    /// Failed attempts in a row (0 once online).
    attempt: u32,
    /// When the current attempt must be online by.
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
            .field("attempt", &self.attempt)
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
            attempt: 0,
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

    /// Starts connection attempt number `self.attempt` (0: the first).
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
    /// handled cannot spin), the login deadline, the backoff, or `until`.
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
                    Some(conn) if conn.ended.is_some() => Some(now),
                    conn => min(conn.as_ref().and_then(|c| c.deadline), self.login_deadline),
                }
            }
            Phase::Backoff { at } => Some(at),
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
                match result.and_then(|(tcp, candidate)| self.open(tcp, candidate, now)) {
                    Ok(conn) => {
                        let mut state = self.shared.lock();
                        state.conn = Some(conn);
                        state.reconnecting = !self.initial;
                        state.drain();
                        self.phase = Phase::Session;
                    }
                    Err(e) => self.fail_attempt(e, now),
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

    /// A connection over a freshly dialed socket, its reader thread started.
    fn open(
        &self,
        tcp: std::net::TcpStream,
        candidate: Candidate,
        now: Instant,
    ) -> Result<Connection, ConnectError> {
        let opts = &self.shared.opts;
        tcp.set_write_timeout(Some(WRITE_TIMEOUT))
            .map_err(ConnectError::Io)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| ConnectError::Entropy(e.to_string()))?;
        let core = new_client(opts, candidate.security, seed, now);
        let socket = tcp.try_clone().map_err(ConnectError::Io)?;
        let reader = tcp.try_clone().map_err(ConnectError::Io)?;
        // Last: once the thread runs, only a shutdown of the socket ends it
        // (the connection's drop does that).
        transport::spawn_reader(reader, self.gen, self.shared.tx.clone())
            .map_err(ConnectError::Io)?;
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

    /// Fires what is due: the core's deadline, the login deadline, the
    /// end of a backoff.
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
                if login_over && still_logging_in {
                    state.conn = None;
                    drop(state);
                    self.fail_attempt(self.login_timeout(), now);
                }
            }
            Phase::Dialing if login_over => self.fail_attempt(self.login_timeout(), now),
            Phase::Backoff { at } if now >= at => self.start_attempt(now),
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
    /// end, the login's success.
    fn settle(&mut self, now: Instant) -> Turn {
        let mut state = self.shared.lock();
        if state.close_requested
            && match self.phase {
                Phase::Dialing | Phase::Backoff { .. } => true,
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
        if conn.online && self.login_deadline.is_some() {
            self.login_deadline = None;
            self.attempt = 0;
            if std::mem::replace(&mut self.initial, false) {
                // `connect` returns now; an end that came with the login
                // (the server closed right away) is settled next turn.
                return Turn::Online;
            }
            tracing::info!("reconnected");
        }
        if let Some(reason) = conn.ended.take() {
            let was_online = conn.online;
            let error = match reason {
                xmpp_proto::DisconnectReason::Closed => None,
                reason => Some(conn.end_error(reason)),
            };
            // Dropping the connection closes its socket and reader thread.
            state.conn = None;
            drop(state);
            return match error {
                None => {
                    self.finish(Disconnect::Closed);
                    Turn::Continue
                }
                Some(error) if was_online => {
                    self.lose(error, now);
                    Turn::Continue
                }
                Some(error) => {
                    self.fail_attempt(error, now);
                    Turn::Continue
                }
            };
        }
        Turn::Continue
    }

    /// An attempt failed before getting online.
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
        if error.is_final() {
            tracing::warn!(%error, "reconnection failed for good");
            return self.finish(Disconnect::Error(error));
        }
        tracing::debug!(%error, attempt = self.attempt, "reconnection attempt failed");
        self.attempt = self.attempt.saturating_add(1);
        self.backoff(error, now);
    }

    /// An online connection was lost.
    fn lose(&mut self, error: ConnectError, now: Instant) {
        tracing::info!(%error, "connection lost");
        let closing = self.shared.lock().close_requested;
        match self.shared.opts.reconnect_policy() {
            Some(_) if !closing && !error.is_final() => {
                self.attempt = 1;
                self.backoff(error, now);
            }
            _ => self.finish(Disconnect::Error(error)),
        }
    }

    /// Reports `Reconnecting` and waits before attempt `self.attempt`, or
    /// gives up.
    fn backoff(&mut self, error: ConnectError, now: Instant) {
        let random = getrandom::u64().ok();
        let delay = self
            .shared
            .opts
            .reconnect_policy()
            .and_then(|policy| policy.delay(self.attempt, random));
        let Some(delay) = delay else {
            tracing::info!(attempts = self.attempt - 1, "giving up reconnecting");
            return self.finish(Disconnect::Error(error));
        };
        tracing::info!(attempt = self.attempt, ?delay, %error, "reconnecting");
        self.shared.lock().events.push_back(Event::Reconnecting {
            attempt: self.attempt,
            delay,
            error,
        });
        self.phase = Phase::Backoff {
            at: now.checked_add(delay).unwrap_or(now + FAR),
        };
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

/// A wait long enough to mean "never" that an `Instant` can still hold.
const FAR: Duration = Duration::from_secs(365 * 24 * 3600);

fn min(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
