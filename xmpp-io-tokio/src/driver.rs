//! The task that pumps the core: bytes from the socket into
//! [`Client::handle_input`], [`Client::poll_output`] back out to the socket,
//! deadlines into `sleep_until`, commands from [`Handle`](crate::Handle)s
//! into the core's command methods, and the core's events out to
//! [`Events`](crate::Events). No protocol decision is made here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use xmpp_proto::adapter::driver::{end_error, login_event, new_client, tls_handshake_error};
use xmpp_proto::connect::{Candidate, Security};
use xmpp_proto::sasl::ChannelBindingType;
use xmpp_proto::stanza::Iq;
use xmpp_proto::{Client, DisconnectReason, Input, Output, SendError};

use crate::handle::Command;
use crate::tls::Tls;
use crate::transport::Transport;
use crate::ConnectOptions;
use crate::{CommandError, ConnectError, Disconnect, Event};

/// Size of the read buffer: one maximal TLS record.
const READ_BUFFER: usize = 16 * 1024;

/// How long closing the socket (TLS close_notify, FIN) may take.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one transmit may wait for a server that does not read: the
/// core's timers cannot run while a write is stuck, so the connection is
/// then given up as lost.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// What every connection of a session shares.
pub(crate) struct Shared {
    pub(crate) opts: ConnectOptions,
    pub(crate) tls: Tls,
}

/// Where events go.
pub(crate) type Sink = mpsc::UnboundedSender<Event>;

fn emit(sink: &Sink, event: Event) {
    // The application may have dropped `Events`; the session goes on.
    let _ = sink.send(event);
}

/// One connection: a transport and the core client that drives it.
pub(crate) struct Connection {
    transport: Transport,
    client: Client,
    candidate: Candidate,
    /// The channel binding handed to the core, if any.
    binding: Option<ChannelBindingType>,
    /// A transport failure (TLS, I/O) behind the core's `TransportClosed`.
    failure: Option<ConnectError>,
    read_buf: Vec<u8>,
}

/// Resolves, connects, secures and logs in, within the configured timeout.
/// Events up to and including `Online` go to `sink` (`Online` becomes
/// [`Event::Reconnected`] when `reconnect` is set).
pub(crate) async fn establish(
    shared: &Shared,
    sink: &Sink,
    reconnect: bool,
) -> Result<Connection, ConnectError> {
    let timeout = shared.opts.login_timeout();
    tokio::time::timeout(timeout, login(shared, sink, reconnect))
        .await
        .unwrap_or_else(|_| {
            Err(ConnectError::Timeout(format!(
                "not online within {} s",
                timeout.as_secs_f64()
            )))
        })
}

async fn login(shared: &Shared, sink: &Sink, reconnect: bool) -> Result<Connection, ConnectError> {
    let opts = &shared.opts;
    let domain = opts.jid().domain().as_str().to_string();
    let candidates = crate::dns::candidates(opts).await?;
    let (tcp, candidate) = crate::connect::tcp(&candidates).await?;
    let tcp = crate::transport::Tcp::new(tcp);
    let (transport, binding) = match candidate.security {
        Security::StartTls => (Transport::Plain(tcp), None),
        Security::DirectTls => {
            let (tls, cb) = shared
                .tls
                .handshake(tcp, &domain, Security::DirectTls)
                .await?;
            (Transport::Tls(Box::new(tls)), cb)
        }
    };
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
        read_buf: vec![0; READ_BUFFER],
    };
    loop {
        let (events, deadline) = conn.drain(shared).await;
        let mut online = false;
        for event in events {
            if let xmpp_proto::Event::Disconnected { reason } = event {
                return Err(conn.end_error(reason));
            }
            let (event, now_online) = login_event(event, reconnect);
            online |= now_online;
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
    /// returns its events and next deadline.
    async fn drain(&mut self, shared: &Shared) -> (Vec<xmpp_proto::Event>, Option<Instant>) {
        let mut events = Vec::new();
        loop {
            match self.client.poll_output() {
                Output::Transmit(t) => self.write(&t.bytes).await,
                Output::StartTls { server_name } => self.start_tls(shared, &server_name).await,
                Output::CloseTransport => self.close_transport().await,
                // Not yet: this adapter's core has no reconnect policy.
                Output::Connect => {}
                Output::Event(e) => events.push(e),
                Output::Timeout(deadline) => return (events, deadline),
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

    /// The transport failed: remember why and tell the core.
    fn lost(&mut self, error: ConnectError) {
        tracing::debug!(%error, "transport lost");
        self.failure.get_or_insert(error);
        self.transport = Transport::Gone;
        self.client
            .handle_input(Input::TransportClosed(Instant::now()));
    }

    /// The error for the core's final reason, with the transport failure
    /// that caused a `TransportClosed` (see `driver::end_error`).
    fn end_error(&mut self, reason: DisconnectReason) -> ConnectError {
        end_error(reason, self.failure.take())
    }

    /// Waits for bytes, the deadline or a command. Bytes and time go
    /// straight into the core; a command (or `None`: every handle dropped)
    /// is returned.
    async fn wait(
        &mut self,
        deadline: Option<Instant>,
        commands: Option<&mut mpsc::Receiver<Command>>,
    ) -> Option<Option<Command>> {
        let readable = !matches!(self.transport, Transport::Gone);
        tokio::select! {
            read = self.transport.read(&mut self.read_buf), if readable => {
                let now = Instant::now();
                match read {
                    Ok(0) => {
                        tracing::debug!("the server closed the connection");
                        self.transport = Transport::Gone;
                        self.client.handle_input(Input::TransportClosed(now));
                    }
                    Ok(n) => self.client.handle_input(Input::Received(now, &self.read_buf[..n])),
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

async fn recv(commands: Option<&mut mpsc::Receiver<Command>>) -> Option<Command> {
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
    /// Between connections: a close (or the last handle going away) ends
    /// the session (`false`); other commands are refused as not online.
    pub(crate) fn between_connections(&mut self, command: Option<Command>) -> bool {
        match command {
            None => {
                self.handles_gone = true;
                false
            }
            Some(Command::Close(tx)) => {
                self.closers.push(tx);
                false
            }
            Some(other) => {
                other.refuse(CommandError::Rejected(SendError::NotOnline));
                true
            }
        }
    }

    /// The commands, unless every handle is gone.
    pub(crate) fn commands<'a>(
        &self,
        rx: &'a mut mpsc::Receiver<Command>,
    ) -> Option<&'a mut mpsc::Receiver<Command>> {
        (!self.handles_gone).then_some(rx)
    }

    fn apply(&mut self, conn: &mut Connection, command: Option<Command>) {
        let client = &mut conn.client;
        let now = Instant::now();
        match command {
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
                let host = &conn.candidate.host;
                let info = conn
                    .transport
                    .info(host, conn.candidate.security, conn.binding);
                let _ = tx.send(info);
            }
            Some(Command::Close(tx)) => {
                self.closers.push(tx);
                client.close(now);
            }
        }
    }
}

/// The driver task: runs connections until the session is over, then
/// reports [`Event::Disconnected`] and answers pending `close` calls.
pub(crate) async fn run(
    shared: Arc<Shared>,
    mut conn: Connection,
    mut rx: mpsc::Receiver<Command>,
    sink: Sink,
) {
    let mut session = Session::default();
    let reason = loop {
        let error = match online(&mut conn, &shared, &mut rx, &sink, &mut session).await {
            None => break Disconnect::Closed,
            Some(error) => error,
        };
        tracing::info!(%error, "connection lost");
        let closing = session.handles_gone || !session.closers.is_empty();
        match shared.opts.reconnect_policy() {
            Some(policy) if !closing && !error.is_final() => {
                match crate::reconnect::run(policy, &shared, &mut rx, &sink, &mut session, error)
                    .await
                {
                    Ok(next) => conn = next,
                    Err(reason) => break reason,
                }
            }
            _ => break Disconnect::Error(error),
        }
    };
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

/// Runs one established connection until the core reports its end:
/// `None` for a clean close, the error otherwise.
async fn online(
    conn: &mut Connection,
    shared: &Shared,
    rx: &mut mpsc::Receiver<Command>,
    sink: &Sink,
    session: &mut Session,
) -> Option<ConnectError> {
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
                xmpp_proto::Event::Disconnected { reason } => {
                    return match reason {
                        DisconnectReason::Closed => None,
                        reason => Some(conn.end_error(reason)),
                    };
                }
                other => emit(sink, Event::Core(other)),
            }
        }
        let commands = session.commands(rx);
        if let Some(command) = conn.wait(deadline, commands).await {
            session.apply(conn, command);
        }
    }
}
