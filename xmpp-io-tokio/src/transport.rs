//! The byte stream under the core: plain TCP until STARTTLS, TLS after (or
//! from the start with direct TLS).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::ConnectionInfo;
use xmpp_proto::connect::Security;

/// The connection as it is now.
pub(crate) enum Transport {
    /// TCP, before STARTTLS (or for a plaintext session).
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
    /// Closed, or handed to the TLS handshake that failed.
    Gone,
}

impl Transport {
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Transport::Plain(s) => Some(s),
            Transport::Tls(s) => Some(s.get_ref().0),
            Transport::Gone => None,
        }
    }

    /// What the socket and TLS session look like now (read live from the socket).
    pub(crate) fn info(&self, host: &str, security: Security) -> Option<ConnectionInfo> {
        let tcp = self.tcp()?;
        let tls = match self {
            Transport::Tls(s) => Some(s.get_ref().1),
            _ => None,
        };
        Some(ConnectionInfo {
            host: host.to_string(),
            security,
            peer: tcp.peer_addr().ok(),
            local: tcp.local_addr().ok(),
            nodelay: tcp.nodelay().unwrap_or(false),
            tls_version: tls
                .and_then(|c| c.protocol_version())
                .map(|v| format!("{v:?}")),
            alpn: tls.and_then(|c| c.alpn_protocol()).map(<[u8]>::to_vec),
        })
    }
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
