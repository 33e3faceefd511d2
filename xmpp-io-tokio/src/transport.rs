//! The byte stream under the core: plain TCP until STARTTLS, TLS after (or
//! from the start with direct TLS).

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::ConnectionInfo;
use xmpp_proto::connect::Security;
use xmpp_proto::sasl::ChannelBindingType;

/// The most one read of plain TCP takes: one maximal TLS record. It is on
/// the stack of the poll that reads, never kept.
const PLAIN_READ: usize = 16 * 1024;

/// How many of the server's first bytes a [`Tcp`] keeps.
const FIRST_BYTES: usize = 16;

/// The TCP stream, acknowledging every read at once (see [`quick_ack`]).
/// It sits under TLS too, so reads that only carry TLS records (session
/// tickets) are acknowledged as well. It keeps the first bytes it read, so
/// that a TLS handshake that fails at once can tell what the server
/// speaks (`xmpp_proto::adapter::driver::tls_failure`).
pub(crate) struct Tcp {
    pub(crate) stream: TcpStream,
    first: Vec<u8>,
}

impl Tcp {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Tcp {
            stream,
            first: Vec::new(),
        }
    }

    /// The first bytes read from the server (at most [`FIRST_BYTES`]).
    pub(crate) fn first_bytes(&self) -> &[u8] {
        &self.first
    }
}

impl AsyncRead for Tcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            quick_ack(&this.stream);
            let room = FIRST_BYTES.saturating_sub(this.first.len());
            let read = &buf.filled()[before..];
            this.first.extend_from_slice(&read[..read.len().min(room)]);
        }
        polled
    }
}

impl AsyncWrite for Tcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The connection as it is now.
pub(crate) enum Transport {
    /// TCP, before STARTTLS (or for a plaintext session).
    Plain(Tcp),
    /// TLS over TCP.
    Tls(Box<TlsStream<Tcp>>),
    /// Closed, or handed to the TLS handshake that failed.
    Gone,
}

impl Transport {
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Transport::Plain(s) => Some(&s.stream),
            Transport::Tls(s) => Some(&s.get_ref().0.stream),
            Transport::Gone => None,
        }
    }

    /// Waits for received bytes and lends them to `deliver`, holding no
    /// buffer of ours while it waits (an idle session keeps none): over
    /// TLS, rustls' own buffer of decrypted bytes is lent (its first chunk,
    /// one record) and consumed; over plain TCP, a buffer on the stack of
    /// this call is read into. `Ok(0)` is the end of the stream (also for
    /// a transport that is gone); `deliver` then is not called.
    pub(crate) fn poll_receive(
        &mut self,
        cx: &mut Context<'_>,
        deliver: impl FnOnce(&[u8]),
    ) -> Poll<io::Result<usize>> {
        match self {
            Transport::Plain(tcp) => {
                let mut storage = [MaybeUninit::<u8>::uninit(); PLAIN_READ];
                let mut buf = ReadBuf::uninit(&mut storage);
                ready!(Pin::new(tcp).poll_read(cx, &mut buf))?;
                let data = buf.filled();
                if !data.is_empty() {
                    deliver(data);
                }
                Poll::Ready(Ok(data.len()))
            }
            Transport::Tls(tls) => {
                let mut tls = Pin::new(tls.as_mut());
                let data = ready!(tls.as_mut().poll_fill_buf(cx))?;
                let n = data.len();
                if n > 0 {
                    deliver(data);
                }
                tls.consume(n);
                Poll::Ready(Ok(n))
            }
            Transport::Gone => Poll::Ready(Ok(0)),
        }
    }

    /// What the socket and TLS session look like now (read live from the socket).
    pub(crate) fn info(
        &self,
        host: &str,
        security: Security,
        binding: Option<ChannelBindingType>,
    ) -> Option<ConnectionInfo> {
        let tcp = self.tcp()?;
        let tls = match self {
            Transport::Tls(s) => Some(s.get_ref().1),
            _ => None,
        };
        let mut info = ConnectionInfo::new(host, security);
        info.peer = tcp.peer_addr().ok();
        info.local = tcp.local_addr().ok();
        info.nodelay = tcp.nodelay().unwrap_or(false);
        info.tls = tls.is_some();
        info.tls_version = tls
            .and_then(|c| c.protocol_version())
            .map(|v| format!("{v:?}"));
        info.alpn = tls.and_then(|c| c.alpn_protocol()).map(<[u8]>::to_vec);
        info.channel_binding = binding;
        Some(info)
    }
}

/// Acknowledges received data at once instead of after the delayed-ACK
/// timer (up to 40 ms on Linux). Servers that write a response in several
/// small segments without TCP_NODELAY (Prosody sends two TLS 1.3 session
/// tickets, then the stream features) otherwise wait, under Nagle, for the
/// ACK of the first segment: measured at ~42 ms of a 52 ms login against
/// the local Prosody. Linux only; elsewhere it does nothing.
fn quick_ack(tcp: &TcpStream) {
    // Best effort: a failure only means the usual delayed ACK.
    #[cfg(target_os = "linux")]
    let _ = socket2::SockRef::from(tcp).set_tcp_quickack(true);
    #[cfg(not(target_os = "linux"))]
    let _ = tcp;
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the transport is closed")
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::Gone => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Gone => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::Gone => Poll::Ready(Ok(())),
        }
    }
}
