//! The task that pumps the core: bytes from the socket into
//! [`Client::handle_input`], [`Client::poll_output`] back out to the socket,
//! deadlines into `sleep_until`, commands from [`Handle`](crate::Handle)s
//! into the core's command methods, the core's events out to
//! [`Events`](crate::Events), and a new transport (resolution, TCP, TLS)
//! into the same core whenever it asks for one (`Output::Connect`). No
//! protocol decision is made here, and none about reconnecting: the core
//! decides whether, when and how often.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use xmpp_proto::adapter::driver::{
    end_error, login_event, new_client, reconnecting_event, tls_handshake_error,
};
use xmpp_proto::connect::{Candidate, Security};
use xmpp_proto::sasl::{ChannelBinding, ChannelBindingType};
use xmpp_proto::stanza::Iq;
use xmpp_proto::{Client, DisconnectReason, Input, Output};

use crate::handle::{Command, Queued, QueuedEvent};
use crate::tls::SessionTls;
use crate::transport::Transport;
use crate::ConnectOptions;
use crate::{CommandError, ConnectError, Disconnect, Event};

/// How long closing the socket (TLS close_notify, FIN) may take.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one transmit may wait for a server that does not read: the
/// core's timers cannot run while a write is stuck, so the connection is
/// then given up as lost.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// What the session's driver task keeps besides its core: the options and TLS setup.
pub(crate) struct Shared {
    pub(crate) opts: ConnectOptions,
    pub(crate) tls: SessionTls,
}

/// Where events go.
pub(crate) type Sink = mpsc::UnboundedSender<QueuedEvent>;

fn emit(sink: &Sink, event: Event) {
    // The application may have dropped `Events`; the session goes on.
    let _ = sink.send(Box::new(event));
}

/// What `Connection::drain` awaits for one of the core's outputs.
enum Step {
    Write(Vec<u8>),
    StartTls(String),
    Close,
}

/// The session's core client and its current transport (`Gone` between
/// transports).
pub(crate) struct Connection {
    transport: Transport,
    client: Client,
    candidate: Candidate,
    /// The channel binding handed to the core, if any.
    binding: Option<ChannelBindingType>,
    /// A transport failure (TLS, I/O) behind the core's `TransportClosed`.
    failure: Option<ConnectError>,
    /// The core asked for a new transport (`Output::Connect`).
    connect_requested: bool,
}

/// Resolves, connects, secures and logs in, within the configured timeout.
/// Events up to and including `Online` go to `sink`. The core made here
/// serves the whole session (every reconnection reuses it).
pub(crate) async fn establish(shared: &Shared, sink: &Sink) -> Result<Connection, ConnectError> {
    let timeout = shared.opts.login_timeout();
    tokio::time::timeout(timeout, login(shared, sink))
        .await
        .unwrap_or_else(|_| Err(login_timeout(timeout)))
}

fn login_timeout(timeout: Duration) -> ConnectError {
    ConnectError::Timeout(format!("not online within {} s", timeout.as_secs_f64()))
}

/// A transport as the options say: resolution, TCP, and for a direct-TLS
/// candidate the TLS handshake.
async fn open(
    shared: &Shared,
) -> Result<(Transport, Candidate, Option<ChannelBinding>), ConnectError> {
    let opts = &shared.opts;
    let domain = opts.jid().domain().as_str().to_string();
    let candidates = crate::dns::candidates(opts).await?;
    let (tcp, candidate) = crate::connect::tcp(&candidates).await?;
    let tcp = crate::transport::Tcp::new(tcp);
    match candidate.security {
        Security::StartTls => Ok((Transport::Plain(tcp), candidate, None)),
        Security::DirectTls => {
            let (tls, cb) = shared
                .tls
                .handshake(tcp, &domain, Security::DirectTls)
                .await?;
            Ok((Transport::Tls(Box::new(tls)), candidate, cb))
        }
    }
}

async fn login(shared: &Shared, sink: &Sink) -> Result<Connection, ConnectError> {
    let opts = &shared.opts;
    let (transport, candidate, binding) = open(shared).await?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| ConnectError::Entropy(e.to_string()))?;
    let now = Instant::now();
    let mut client = new_client(opts, candidate.security, seed, now);
    let binding_type = binding.as_ref().map(|b| b.kind);
    if candidate.security == Security::DirectTls {
        client.handle_input(Input::TlsEstablished(now, binding));
    }
    let mut conn = Connection {
        transport,
        client,
        candidate,
        binding: binding_type,
        failure: None,
        connect_requested: false,
    };
    loop {
        let (events, deadline) = conn.drain(shared).await;
        let mut online = false;
        for event in events {
            let event = match event {
                xmpp_proto::Event::Disconnected { reason } => return Err(conn.end_error(reason)),
                // Lost in the same read as the login: the session goes on
                // (the driver task dials when the core asks).
                xmpp_proto::Event::Reconnecting {
                    attempt,
                    delay,
                    reason,
                } => reconnecting_event(attempt, delay, reason, conn.failure.take()),
                other => {
                    let (event, now_online) = login_event(other);
                    online |= now_online;
                    event
                }
            };
            emit(sink, event);
        }
        if online {
            return Ok(conn);
        }
        conn.wait(deadline, None).await;
    }
}

impl Connection {
    /// Carries out the core's output until it has nothing more to do;
    /// returns its events and next deadline. A request for a new transport
    /// is kept in `connect_requested`.
    async fn drain(&mut self, shared: &Shared) -> (Vec<xmpp_proto::Event>, Option<Instant>) {
        let mut events = Vec::new();
        loop {
            // The core's output (~700 bytes) is turned into a small step
            // before anything is awaited, so that the task does not keep
            // room for it while the session is idle.
            let step = match self.client.poll_output() {
                Output::Transmit(t) => Step::Write(t.bytes),
                Output::StartTls { server_name } => Step::StartTls(server_name),
                Output::CloseTransport => Step::Close,
                Output::Connect => {
                    self.connect_requested = true;
                    continue;
                }
                Output::Event(e) => {
                    events.push(e);
                    continue;
                }
                Output::Timeout(deadline) => return (events, deadline),
            };
            match step {
                Step::Write(bytes) => self.write(&bytes).await,
                // Boxed, as `reconnect`: the handshake's state (~1.5 KiB)
                // would otherwise stay in every idle session's task.
                Step::StartTls(name) => Box::pin(self.start_tls(shared, &name)).await,
                Step::Close => self.close_transport().await,
            }
        }
    }

    /// The core asked for a new transport: opens one exactly as the first
    /// (bounded by the login timeout) while commands are served, and tells
    /// the core how it went. A close meanwhile abandons it.
    async fn reconnect(
        &mut self,
        shared: &Shared,
        rx: &mut mpsc::Receiver<Queued>,
        session: &mut Session,
    ) {
        let timeout = shared.opts.login_timeout();
        let opening = tokio::time::timeout(timeout, open(shared));
        tokio::pin!(opening);
        let result = loop {
            tokio::select! {
                result = &mut opening => break result.unwrap_or_else(|_| Err(login_timeout(timeout))),
                command = recv(session.commands(rx)) => {
                    session.apply(self, command);
                    if !self.client.is_connecting() {
                        tracing::debug!("connection attempt abandoned");
                        return;
                    }
                }
            }
        };
        let now = Instant::now();
        match result {
            Ok((transport, candidate, binding)) => {
                tracing::debug!(host = %candidate.host, "new transport");
                self.transport = transport;
                self.binding = binding.as_ref().map(|b| b.kind);
                let security = candidate.security;
                self.candidate = candidate;
                self.failure = None;
                self.client.handle_input(Input::Connected(now, security));
                if security == Security::DirectTls {
                    self.client
                        .handle_input(Input::TlsEstablished(now, binding));
                }
            }
            Err(error) => {
                tracing::debug!(%error, "connection attempt failed");
                let is_final = error.is_final();
                self.failure = Some(error);
                self.client
                    .handle_input(Input::ConnectFailed(now, is_final));
            }
        }
    }

    /// One `write_all` per transmit, then a flush (which, over TLS, is what
    /// puts the records on the socket). Lengths only are logged.
    async fn write(&mut self, bytes: &[u8]) {
        if matches!(self.transport, Transport::Gone) {
            return;
        }
        tracing::trace!(len = bytes.len(), "write");
        let write = async {
            self.transport.write_all(bytes).await?;
            self.transport.flush().await
        };
        let result = tokio::time::timeout(WRITE_TIMEOUT, write)
            .await
            .unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the server has not read what we sent for 60 s",
                ))
            });
        if let Err(e) = result {
            self.lost(ConnectError::Io(e));
        }
    }

    /// STARTTLS: the TLS handshake over the same TCP stream. Nothing read
    /// is held back here (every read was fed to the core, which drops bytes
    /// that followed `<proceed/>`); whatever the server sent after it is
    /// read by rustls as TLS and fails the handshake.
    async fn start_tls(&mut self, shared: &Shared, server_name: &str) {
        let Transport::Plain(tcp) = std::mem::replace(&mut self.transport, Transport::Gone) else {
            let e = std::io::Error::other("STARTTLS requested on a stream that is not plain TCP");
            return self.lost(ConnectError::Tls(tls_handshake_error(server_name, e, true)));
        };
        match shared
            .tls
            .handshake(tcp, server_name, Security::StartTls)
            .await
        {
            Ok((tls, binding)) => {
                self.transport = Transport::Tls(Box::new(tls));
                self.binding = binding.as_ref().map(|b| b.kind);
                self.client
                    .handle_input(Input::TlsEstablished(Instant::now(), binding));
            }
            Err(e) => {
                tracing::warn!(error = %e, "STARTTLS handshake failed");
                self.lost(e);
            }
        }
    }

    async fn close_transport(&mut self) {
        let mut transport = std::mem::replace(&mut self.transport, Transport::Gone);
        let _ = tokio::time::timeout(SHUTDOWN_TIMEOUT, transport.shutdown()).await;
        tracing::debug!("transport closed");
    }

    /// The transport failed: remember why and tell the core (a failed TLS
    /// handshake with the verdict on trying again).
    fn lost(&mut self, error: ConnectError) {
        tracing::debug!(%error, "transport lost");
        let input = match &error {
            ConnectError::Io(_) => Input::TransportClosed(Instant::now()),
            other => Input::ConnectFailed(Instant::now(), other.is_final()),
        };
        self.failure.get_or_insert(error);
        self.transport = Transport::Gone;
        self.client.handle_input(input);
    }

    /// The error for the core's final reason, with the transport failure
    /// that caused a `TransportClosed` (see `driver::end_error`).
    fn end_error(&mut self, reason: DisconnectReason) -> ConnectError {
        end_error(reason, self.failure.take())
    }

    /// Waits for bytes, the deadline or a command. Bytes and time go
    /// straight into the core; a command (or `None`: every handle dropped)
    /// is returned. No read buffer is held while waiting (see
    /// [`Transport::poll_receive`]).
    async fn wait(
        &mut self,
        deadline: Option<Instant>,
        commands: Option<&mut mpsc::Receiver<Queued>>,
    ) -> Option<Option<Queued>> {
        let readable = !matches!(self.transport, Transport::Gone);
        let Connection {
            transport, client, ..
        } = self;
        let receive = std::future::poll_fn(|cx| {
            transport.poll_receive(cx, |data| {
                client.handle_input(Input::Received(Instant::now(), data));
            })
        });
        tokio::select! {
            read = receive, if readable => {
                match read {
                    Ok(0) => {
                        tracing::debug!("the server closed the connection");
                        self.transport = Transport::Gone;
                        self.client.handle_input(Input::TransportClosed(Instant::now()));
                    }
                    Ok(_) => {}
                    Err(e) => self.lost(ConnectError::Io(e)),
                }
                None
            }
            () = sleep_until(deadline) => {
                self.client.handle_input(Input::Timeout(Instant::now()));
                None
            }
            command = recv(commands) => Some(command),
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

async fn recv(commands: Option<&mut mpsc::Receiver<Queued>>) -> Option<Queued> {
    match commands {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// State of the driver task across connections.
#[derive(Default)]
pub(crate) struct Session {
    /// IQs sent with `Handle::send_iq`, by id.
    pending: HashMap<String, oneshot::Sender<Result<Iq, CommandError>>>,
    /// `Handle::close` calls waiting for the end.
    closers: Vec<oneshot::Sender<()>>,
    /// Every handle was dropped.
    pub(crate) handles_gone: bool,
}

impl Session {
    /// The commands, unless every handle is gone.
    pub(crate) fn commands<'a>(
        &self,
        rx: &'a mut mpsc::Receiver<Queued>,
    ) -> Option<&'a mut mpsc::Receiver<Queued>> {
        (!self.handles_gone).then_some(rx)
    }

    fn apply(&mut self, conn: &mut Connection, command: Option<Queued>) {
        let client = &mut conn.client;
        let now = Instant::now();
        match command.map(|command| *command) {
            None => {
                tracing::debug!("every handle was dropped; closing the stream");
                self.handles_gone = true;
                client.close(now);
            }
            Some(Command::Send(stanza, tx)) => {
                let _ = tx.send(client.send(now, stanza).map_err(Into::into));
            }
            Some(Command::SendRaw(element, tx)) => {
                let _ = tx.send(client.send_raw(now, &element).map_err(Into::into));
            }
            Some(Command::SendIq(iq, tx)) => match client.send_iq(now, iq) {
                Ok(id) => {
                    self.pending.insert(id, tx);
                }
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                }
            },
            Some(Command::Info(tx)) => {
                // Between connections (and while a new one logs in): none.
                let host = &conn.candidate.host;
                let info = conn
                    .transport
                    .info(host, conn.candidate.security, conn.binding)
                    .filter(|_| conn.client.is_online());
                let _ = tx.send(info);
            }
            Some(Command::Close(tx)) => {
                self.closers.push(tx);
                client.close(now);
            }
            Some(Command::With(job)) => job(Ok((client, now))),
        }
    }
}

/// The driver task: runs the session's connections (the core decides
/// when one is replaced) until it is over, then reports
/// [`Event::Disconnected`] and answers pending `close` calls.
///
/// Not an `async fn`: the parameters of one are copied into the body's
/// locals, and the task would keep room for the `Connection` (~2.4 KiB)
/// twice for as long as the session lives; the block uses them in place.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would keep the Connection twice (see above)"
)]
pub(crate) fn run(
    shared: Arc<Shared>,
    mut conn: Connection,
    mut rx: mpsc::Receiver<Queued>,
    sink: Sink,
) -> impl std::future::Future<Output = ()> {
    async move {
        let mut session = Session::default();
        let reason = session_loop(&mut conn, &shared, &mut rx, &sink, &mut session).await;
        tracing::info!(?reason, "session over");
        for (_, tx) in session.pending.drain() {
            let _ = tx.send(Err(CommandError::Ended));
        }
        emit(&sink, Event::Disconnected { reason });
        for tx in session.closers.drain(..) {
            let _ = tx.send(());
        }
        rx.close();
        while let Ok(command) = rx.try_recv() {
            command.refuse(CommandError::Ended);
        }
    }
}

/// Moves bytes, time, commands and transports between the core and the
/// world until the core reports the session's end.
async fn session_loop(
    conn: &mut Connection,
    shared: &Shared,
    rx: &mut mpsc::Receiver<Queued>,
    sink: &Sink,
    session: &mut Session,
) -> Disconnect {
    loop {
        let (events, deadline) = conn.drain(shared).await;
        for event in events {
            match event {
                xmpp_proto::Event::IqResponse { id, result } => match session.pending.remove(&id) {
                    Some(tx) => {
                        let _ = tx.send(result.map_err(CommandError::Iq));
                    }
                    None => emit(
                        sink,
                        Event::Core(xmpp_proto::Event::IqResponse { id, result }),
                    ),
                },
                xmpp_proto::Event::Reconnecting {
                    attempt,
                    delay,
                    reason,
                } => {
                    let event = reconnecting_event(attempt, delay, reason, conn.failure.take());
                    if let Event::Reconnecting { error, .. } = &event {
                        tracing::info!(attempt, ?delay, %error, "reconnecting");
                    }
                    emit(sink, event);
                }
                xmpp_proto::Event::Disconnected { reason } => {
                    return match reason {
                        DisconnectReason::Closed => Disconnect::Closed,
                        reason => Disconnect::Error(conn.end_error(reason)),
                    };
                }
                other => {
                    let (event, online) = login_event(other);
                    if online {
                        tracing::info!("online");
                    }
                    emit(sink, event);
                }
            }
        }
        if std::mem::take(&mut conn.connect_requested) {
            // Boxed: a new transport's state (resolution, TCP, TLS: ~2 KiB)
            // is needed only now; unboxed, every idle session's task would
            // keep room for it.
            Box::pin(conn.reconnect(shared, rx, session)).await;
            continue;
        }
        let commands = session.commands(rx);
        if let Some(command) = conn.wait(deadline, commands).await {
            session.apply(conn, command);
        }
    }
}
