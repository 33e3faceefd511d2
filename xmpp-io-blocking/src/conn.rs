//! The session's core client and its current transport: a socket and its
//! TLS session. Bytes from the reader thread go in through
//! [`Connection::feed`]; [`Connection::drain`] carries out the core's output
//! (writes, STARTTLS, closing, asking for a new transport) and hands its
//! events on; [`Connection::attach`] puts a new socket under the same core
//! when the core asked for one. No protocol decision is made here.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use native_tls::{MidHandshakeTlsStream, TlsStream};
use xmpp_proto::adapter::driver::{
    end_error, login_event, reconnecting_event, tls_failure, tls_handshake_error,
};
use xmpp_proto::connect::{Candidate, Security};
use xmpp_proto::sasl::ChannelBindingType;
use xmpp_proto::{Client as Core, DisconnectReason, Event as CoreEvent, Input, Output};

use crate::tls::{self, Handshake, Tls, Wire};
use crate::transport::NetData;
use crate::{ConnectError, ConnectionInfo, Event};

/// How long one write may wait for a server that does not read: the
/// session's lock is held meanwhile, so the connection is then given up.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// The most one read of decrypted bytes takes (a TLS record is read in
/// several when larger).
const TLS_READ: usize = 4096;

/// The byte stream under the core.
enum Link {
    /// TCP, before STARTTLS (or for a plaintext session).
    Plain(TcpStream),
    /// A TLS handshake waiting for the server's bytes.
    Handshaking(MidHandshakeTlsStream<Wire>),
    /// TLS over TCP.
    Tls(Box<TlsStream<Wire>>),
    /// Closed, or lost.
    Gone,
}

/// The session's core and its current transport (none between transports).
pub(crate) struct Connection {
    pub(crate) core: Core,
    link: Link,
    /// A handle on the socket for shutdown and addresses (the link owns
    /// another, and the reader thread a third).
    socket: TcpStream,
    pub(crate) candidate: Candidate,
    tls: Arc<Tls>,
    /// The name the certificate is checked for: the JID's domain.
    domain: String,
    /// A transport failure (TLS, I/O) behind the core's `TransportClosed`.
    failure: Option<ConnectError>,
    /// The core's next deadline, from its last `Output::Timeout`.
    pub(crate) deadline: Option<Instant>,
    /// The core reported `Online` or `Reconnected`, and no loss since.
    pub(crate) online: bool,
    /// The core reported `Online` once (the first login succeeded, even if
    /// the connection was lost in the same read).
    pub(crate) logged_in: bool,
    /// The core asked for a new transport (`Output::Connect`).
    pub(crate) connect_requested: bool,
    /// The core reported `Disconnected`.
    pub(crate) ended: Option<DisconnectReason>,
    binding: Option<ChannelBindingType>,
}

impl Connection {
    /// A connection over `tcp`; with direct TLS the handshake starts now.
    pub(crate) fn new(
        core: Core,
        tcp: TcpStream,
        socket: TcpStream,
        candidate: Candidate,
        tls: Arc<Tls>,
        domain: String,
    ) -> Self {
        let mut conn = Connection {
            core,
            link: Link::Plain(tcp),
            socket,
            candidate,
            tls,
            domain,
            failure: None,
            deadline: None,
            online: false,
            logged_in: false,
            connect_requested: false,
            ended: None,
            binding: None,
        };
        if conn.candidate.security == Security::DirectTls {
            let domain = conn.domain.clone();
            conn.start_tls(&domain, Security::DirectTls, Instant::now());
        }
        conn
    }

    /// Carries out the core's output until it has nothing more to do.
    /// Events go to `sink` as the adapter's, except `Disconnected`, which is
    /// kept in [`ended`](Self::ended).
    pub(crate) fn drain(&mut self, sink: &mut dyn FnMut(Event)) {
        loop {
            match self.core.poll_output() {
                Output::Transmit(t) => self.write(&t.bytes),
                Output::StartTls { server_name } => {
                    self.start_tls(&server_name, Security::StartTls, Instant::now())
                }
                Output::CloseTransport => self.close_transport(),
                Output::Connect => self.connect_requested = true,
                Output::Event(CoreEvent::Disconnected { reason }) => {
                    self.ended.get_or_insert(reason);
                }
                Output::Event(CoreEvent::Reconnecting {
                    attempt,
                    delay,
                    reason,
                }) => {
                    self.online = false;
                    let event = reconnecting_event(attempt, delay, reason, self.failure.take());
                    if let Event::Reconnecting { error, .. } = &event {
                        tracing::info!(attempt, ?delay, %error, "reconnecting");
                    }
                    sink(event);
                }
                Output::Event(event) => {
                    let (event, online) = login_event(event);
                    self.online |= online;
                    self.logged_in |= online;
                    sink(event);
                }
                Output::Timeout(deadline) => {
                    self.deadline = deadline;
                    return;
                }
            }
        }
    }

    /// A new transport for the core, which asked for it: feeds
    /// `Input::Connected` and with direct TLS starts the handshake.
    pub(crate) fn attach(
        &mut self,
        tcp: TcpStream,
        socket: TcpStream,
        candidate: Candidate,
        now: Instant,
    ) {
        self.link = Link::Plain(tcp);
        self.socket = socket;
        self.candidate = candidate;
        self.failure = None;
        self.binding = None;
        let security = self.candidate.security;
        self.core.handle_input(Input::Connected(now, security));
        if security == Security::DirectTls {
            let domain = self.domain.clone();
            self.start_tls(&domain, Security::DirectTls, now);
        }
    }

    /// The transport the core asked for could not be opened.
    pub(crate) fn connect_failed(&mut self, error: ConnectError, now: Instant) {
        let is_final = error.is_final();
        self.failure = Some(error);
        self.core.handle_input(Input::ConnectFailed(now, is_final));
    }

    /// Feeds what the reader thread read: to the core directly, or through
    /// the TLS session (which may finish its handshake with it).
    pub(crate) fn feed(&mut self, data: NetData, now: Instant) {
        if matches!(self.link, Link::Gone) {
            // The last words of a transport already closed or lost: its
            // reader thread is ending.
            return;
        }
        let bytes = match data {
            NetData::Bytes(bytes) => Some(bytes),
            NetData::Eof => None,
            NetData::Error(e) => return self.lost(ConnectError::Io(e), now),
        };
        match (&mut self.link, bytes) {
            (Link::Plain(_), Some(bytes)) => self.core.handle_input(Input::Received(now, &bytes)),
            (Link::Plain(_), None) => {
                tracing::debug!("the server closed the connection");
                self.closed(now);
            }
            (Link::Handshaking(mid), bytes) => {
                match bytes {
                    Some(bytes) => mid.get_mut().push(&bytes),
                    None => mid.get_mut().close(),
                }
                self.continue_handshake(now);
            }
            (Link::Tls(stream), bytes) => {
                match bytes {
                    Some(bytes) => stream.get_mut().push(&bytes),
                    None => stream.get_mut().close(),
                }
                self.read_tls(now);
            }
            (Link::Gone, _) => {}
        }
    }

    /// Starts a TLS handshake on the plain socket.
    fn start_tls(&mut self, server_name: &str, security: Security, now: Instant) {
        let Link::Plain(tcp) = std::mem::replace(&mut self.link, Link::Gone) else {
            let e = io::Error::other("TLS requested on a stream that is not plain TCP");
            let error = tls_handshake_error(server_name, e, true);
            return self.lost(ConnectError::Tls(error), now);
        };
        let handshake = self.tls.start(Wire::new(tcp), server_name, security);
        self.handshake_outcome(handshake, &[], now);
    }

    fn continue_handshake(&mut self, now: Instant) {
        let Link::Handshaking(mid) = std::mem::replace(&mut self.link, Link::Gone) else {
            return;
        };
        let first = mid.get_ref().first_bytes().to_vec();
        let handshake = tls::resume(&self.domain, mid);
        self.handshake_outcome(handshake, &first, now);
    }

    /// Goes on after a handshake step; `first` holds the first bytes the
    /// server sent, which tell a failure against a STARTTLS port apart.
    fn handshake_outcome(&mut self, handshake: Handshake, first: &[u8], now: Instant) {
        match handshake {
            Handshake::Pending(mid) => self.link = Link::Handshaking(mid),
            Handshake::Done(stream, binding) => {
                self.binding = binding.as_ref().map(|b| b.kind);
                self.link = Link::Tls(stream);
                self.core.handle_input(Input::TlsEstablished(now, binding));
                // Records that arrived with the end of the handshake.
                self.read_tls(now);
            }
            Handshake::Failed(e) => {
                tracing::warn!(error = %e, "TLS handshake failed");
                // The security of this handshake: STARTTLS upgrades a
                // STARTTLS candidate, direct TLS starts a direct one.
                let error = tls_failure(self.candidate.security, e, first);
                self.lost(error, now);
            }
        }
    }

    /// Reads everything the TLS session can decrypt now into the core,
    /// through a buffer on the stack of this call (none is kept with the
    /// connection: an idle session holds no read buffer of ours).
    fn read_tls(&mut self, now: Instant) {
        let mut buf = [0u8; TLS_READ];
        loop {
            let Connection { link, core, .. } = self;
            let Link::Tls(stream) = link else { return };
            match stream.read(&mut buf) {
                Ok(0) => {
                    tracing::debug!("the server closed the TLS session");
                    return self.closed(now);
                }
                Ok(n) => core.handle_input(Input::Received(now, &buf[..n])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.lost(ConnectError::Io(e), now),
            }
        }
    }

    /// One `write_all` per transmit (then a flush, which over TLS is a
    /// no-op: every record is written to the socket as it is made).
    /// Lengths only are logged.
    fn write(&mut self, bytes: &[u8]) {
        tracing::trace!(len = bytes.len(), "write");
        let result = match &mut self.link {
            Link::Plain(tcp) => tcp.write_all(bytes),
            Link::Tls(stream) => stream.write_all(bytes).and_then(|()| stream.flush()),
            Link::Handshaking(_) => {
                // The core writes nothing while it waits for TLS.
                tracing::warn!(
                    len = bytes.len(),
                    "bytes to send during the TLS handshake; dropped"
                );
                Ok(())
            }
            Link::Gone => return,
        };
        if let Err(e) = result {
            // A blocking socket's send timeout surfaces as WouldBlock.
            let e = if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the server has not read what we sent for {} s",
                        WRITE_TIMEOUT.as_secs()
                    ),
                )
            } else {
                e
            };
            self.lost(ConnectError::Io(e), Instant::now());
        }
    }

    /// The core asked to close: TLS close_notify, then the socket.
    pub(crate) fn close_transport(&mut self) {
        if let Link::Tls(stream) = &mut self.link {
            let _ = stream.shutdown();
        }
        self.link = Link::Gone;
        let _ = self.socket.shutdown(Shutdown::Both);
        tracing::debug!("transport closed");
    }

    /// The server closed the connection.
    fn closed(&mut self, now: Instant) {
        self.link = Link::Gone;
        let _ = self.socket.shutdown(Shutdown::Both);
        self.core.handle_input(Input::TransportClosed(now));
    }

    /// The transport failed: remember why and tell the core (a failed TLS
    /// handshake with the verdict on trying again).
    fn lost(&mut self, error: ConnectError, now: Instant) {
        tracing::debug!(%error, "transport lost");
        let input = match &error {
            ConnectError::Io(_) => Input::TransportClosed(now),
            other => Input::ConnectFailed(now, other.is_final()),
        };
        self.failure.get_or_insert(error);
        self.link = Link::Gone;
        let _ = self.socket.shutdown(Shutdown::Both);
        self.core.handle_input(input);
    }

    /// The error for the core's final reason, with the transport failure
    /// that caused a `TransportClosed` (see `driver::end_error`).
    pub(crate) fn end_error(&mut self, reason: DisconnectReason) -> ConnectError {
        end_error(reason, self.failure.take())
    }

    /// What the socket and TLS session look like now.
    pub(crate) fn info(&self) -> ConnectionInfo {
        let (tls, alpn) = match &self.link {
            Link::Tls(stream) => (true, stream.negotiated_alpn().ok().flatten()),
            _ => (false, None),
        };
        let mut info = ConnectionInfo::new(self.candidate.host.clone(), self.candidate.security);
        info.peer = self.socket.peer_addr().ok();
        info.local = self.socket.local_addr().ok();
        info.nodelay = self.socket.nodelay().unwrap_or(false);
        info.tls = tls;
        info.alpn = alpn;
        info.channel_binding = self.binding;
        info
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Ends the reader thread (its read returns) if it still runs.
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}
