//! TLS with native-tls (OpenSSL on Linux and the BSDs, Secure Transport on
//! Apple systems, SChannel on Windows), for STARTTLS (RFC 6120 §5) and
//! direct TLS (XEP-0368).
//!
//! * **Trust:** the system's roots (the platform library's own store),
//!   plus any CA given with
//!   [`ConnectOptions::ca_file`](crate::ConnectOptions::ca_file) or
//!   [`ConnectOptions::add_ca_certificate`](crate::ConnectOptions::add_ca_certificate).
//!   There is deliberately no way to accept any certificate or any name.
//! * **Name:** the certificate must be valid for the JID's domain
//!   (RFC 6125, RFC 7590 §3.2.2, XEP-0368 §4), never for the SRV target or
//!   the explicit host: a DNS answer cannot redirect the client to a server
//!   that holds no certificate for the domain. SNI carries the domain too.
//! * **Versions:** TLS 1.2 and newer. ALPN `xmpp-client` for direct TLS
//!   (XEP-0368 §3); none for STARTTLS.
//! * **Channel binding:** `tls-server-end-point` (RFC 5929 §4, a hash of
//!   the server's certificate), the only binding native-tls exposes
//!   ([`native_tls::TlsStream::tls_server_end_point`]). The core decides
//!   whether to use it (XEP-0440): it binds when the server advertises that
//!   type, guesses it when the server advertises none, and falls back once.
//! * **Errors:** native-tls reports a verification failure as text only.
//!   [`classify`] reads it: OpenSSL's `(hostname mismatch)` / `(IP address
//!   mismatch)` and the other platforms' name errors become
//!   [`TlsError::NameMismatch`]; any other certificate verification failure
//!   [`TlsError::CertificateNotTrusted`]; the rest [`TlsError::Other`].
//!
//! ## Non-blocking handshakes over a byte pipe
//!
//! The TLS session does not own the socket for reading. Bytes read from the
//! socket (by the connection's reader thread, see `transport.rs`) are pushed
//! into a [`Wire`], whose `Read` hands them to the TLS library and says
//! `WouldBlock` when it has none; its `Write` writes straight to the socket.
//! A handshake therefore proceeds one received chunk at a time
//! ([`Handshake::Pending`]), the same way `tokio-native-tls` drives it, and
//! the session loop never blocks in a TLS read.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::OnceLock;

use native_tls::{
    Certificate, HandshakeError, MidHandshakeTlsStream, Protocol, TlsConnector, TlsStream,
};
use xmpp_proto::adapter::driver::{is_network_cut, tls_handshake_error};
use xmpp_proto::connect::Security;
use xmpp_proto::sasl::{ChannelBinding, ChannelBindingType};

use crate::ConnectOptions;
use crate::{ConnectError, TlsError};

/// The ALPN protocol name of XEP-0368 direct TLS.
pub const ALPN_XMPP_CLIENT: &str = "xmpp-client";

/// The byte pipe under a TLS session: received bytes are pushed in, writes
/// go to the socket at once (one `write_all` per TLS record the library
/// produces).
pub(crate) struct Wire {
    tcp: TcpStream,
    inbox: Vec<u8>,
    read_at: usize,
    eof: bool,
    /// The first bytes pushed (at most [`FIRST_BYTES`]), so that a
    /// handshake that fails at once can tell what the server speaks.
    first: Vec<u8>,
}

/// How many of the server's first bytes a [`Wire`] keeps.
const FIRST_BYTES: usize = 16;

impl Wire {
    pub(crate) fn new(tcp: TcpStream) -> Self {
        Wire {
            tcp,
            inbox: Vec::new(),
            read_at: 0,
            eof: false,
            first: Vec::new(),
        }
    }

    /// The first bytes the server sent (at most [`FIRST_BYTES`]).
    pub(crate) fn first_bytes(&self) -> &[u8] {
        &self.first
    }

    /// Bytes read from the socket.
    pub(crate) fn push(&mut self, data: &[u8]) {
        let room = FIRST_BYTES.saturating_sub(self.first.len());
        self.first.extend_from_slice(&data[..data.len().min(room)]);
        // Keep only what the TLS library has not read yet (at most a
        // partial record), so the buffer never grows with the session.
        self.inbox.drain(..self.read_at);
        self.read_at = 0;
        self.inbox.extend_from_slice(data);
    }

    /// The socket reached end of file (or failed): reads return 0 once the
    /// pushed bytes are consumed.
    pub(crate) fn close(&mut self) {
        self.eof = true;
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.eof
    }
}

impl fmt::Debug for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wire")
            .field("buffered", &(self.inbox.len() - self.read_at))
            .field("eof", &self.eof)
            .finish()
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pending = &self.inbox[self.read_at..];
        if pending.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = pending.len().min(buf.len());
        buf[..n].copy_from_slice(&pending[..n]);
        self.read_at += n;
        Ok(n)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Where a handshake stands.
pub(crate) enum Handshake {
    /// Established, with the channel binding the core may use.
    Done(Box<TlsStream<Wire>>, Option<ChannelBinding>),
    /// Waiting for more bytes from the server.
    Pending(MidHandshakeTlsStream<Wire>),
    /// Failed for good.
    Failed(TlsError),
}

/// The two client configurations of a session (same roots; ALPN differs),
/// each built when first needed: native-tls loads the system's root store
/// for every configuration it builds (~50 ms with OpenSSL), and a session
/// usually needs only one of them.
pub(crate) struct Tls {
    /// The extra CAs, read and parsed when the session starts.
    extra: Vec<Certificate>,
    starttls: OnceLock<Result<TlsConnector, String>>,
    direct: OnceLock<Result<TlsConnector, String>>,
}

impl Tls {
    /// Reads the CA files (a missing or empty one is an error now, before
    /// any connection).
    pub(crate) fn new(opts: &ConnectOptions) -> Result<Self, ConnectError> {
        let mut extra = Vec::new();
        for (index, der) in opts.ca_certificates().iter().enumerate() {
            let cert = Certificate::from_der(der).map_err(|e| ConnectError::CaCertificate {
                index,
                reason: e.to_string(),
            })?;
            extra.push(cert);
        }
        for path in opts.ca_files() {
            let ca_error = |reason: String| ConnectError::CaFile {
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let certs = Certificate::stack_from_pem(&pem).map_err(|e| ca_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(ca_error("no PEM certificate in the file".into()));
            }
            extra.extend(certs);
        }
        Ok(Tls {
            extra,
            starttls: OnceLock::new(),
            direct: OnceLock::new(),
        })
    }

    fn connector(&self, security: Security) -> Result<&TlsConnector, &str> {
        let (cell, alpn) = match security {
            Security::StartTls => (&self.starttls, false),
            Security::DirectTls => (&self.direct, true),
        };
        let built = cell.get_or_init(|| {
            let mut builder = TlsConnector::builder();
            builder.min_protocol_version(Some(Protocol::Tlsv12));
            for cert in &self.extra {
                builder.add_root_certificate(cert.clone());
            }
            if alpn {
                builder.request_alpns(&[ALPN_XMPP_CLIENT]);
            }
            builder.build().map_err(|e| e.to_string())
        });
        built.as_ref().map_err(String::as_str)
    }

    /// Starts the handshake over `wire` (the ClientHello is written at
    /// once), verifying the certificate for `domain`.
    pub(crate) fn start(&self, wire: Wire, domain: &str, security: Security) -> Handshake {
        // An IPv6 domain is written `[::1]` in a JID; the name is the address.
        let bare = domain.trim_start_matches('[').trim_end_matches(']');
        match self.connector(security) {
            Ok(connector) => outcome(domain, false, connector.connect(bare, wire)),
            Err(e) => Handshake::Failed(tls_handshake_error(
                domain,
                io::Error::other(format!("cannot set up TLS: {e}")),
                true,
            )),
        }
    }
}

/// Goes on with a pending handshake after bytes (or the end of the
/// stream) were pushed into its wire.
pub(crate) fn resume(domain: &str, mid: MidHandshakeTlsStream<Wire>) -> Handshake {
    let cut = mid.get_ref().is_closed();
    outcome(domain, cut, mid.handshake())
}

fn outcome(
    domain: &str,
    cut: bool,
    result: Result<TlsStream<Wire>, HandshakeError<Wire>>,
) -> Handshake {
    match result {
        Ok(stream) => {
            let binding = channel_binding(&stream);
            tracing::info!(
                %domain,
                alpn = ?stream.negotiated_alpn().ok().flatten().map(|a| String::from_utf8_lossy(&a).into_owned()),
                channel_binding = binding.as_ref().map(|c| c.kind.name()),
                "TLS established"
            );
            Handshake::Done(Box::new(stream), binding)
        }
        Err(HandshakeError::WouldBlock(mid)) => Handshake::Pending(mid),
        Err(HandshakeError::Failure(e)) => Handshake::Failed(classify(domain, cut, e)),
    }
}

/// RFC 5929 `tls-server-end-point`, when the library can compute it.
fn channel_binding(stream: &TlsStream<Wire>) -> Option<ChannelBinding> {
    match stream.tls_server_end_point() {
        Ok(Some(data)) if !data.is_empty() => Some(ChannelBinding::new(
            ChannelBindingType::TlsServerEndPoint,
            data,
        )),
        _ => None,
    }
}

/// Sorts a handshake error into name-mismatch, not-trusted or other (see
/// the module documentation). `cut`: the server closed the connection
/// during the handshake. A failure caused by the network (that, or a socket
/// error in the error's source chain) keeps the network's error kind, so
/// that [`ConnectError::is_final`] lets reconnection go on.
pub(crate) fn classify(domain: &str, cut: bool, error: native_tls::Error) -> TlsError {
    let detail = error.to_string();
    let text = detail.to_ascii_lowercase();
    let domain = domain.to_string();
    const NAME: [&str; 5] = [
        "hostname mismatch",            // OpenSSL X509_V_ERR_HOSTNAME_MISMATCH
        "ip address mismatch",          // OpenSSL X509_V_ERR_IP_ADDRESS_MISMATCH
        "principal name is incorrect",  // SChannel CERT_E_CN_NO_MATCH
        "host name mismatch",           // Secure Transport
        "does not match the host name", // Security framework trust result
    ];
    const TRUST: [&str; 6] = [
        "certificate verify failed", // OpenSSL, with the reason in parentheses
        "certificate chain",         // SChannel CERT_E_CHAINING, Secure Transport
        "untrusted root",            // SChannel CERT_E_UNTRUSTEDROOT
        "not trusted",               // Secure Transport
        "certificate has expired",
        "self-signed certificate",
    ];
    if NAME.iter().any(|n| text.contains(n)) {
        TlsError::NameMismatch { domain, detail }
    } else if TRUST.iter().any(|n| text.contains(n)) {
        TlsError::CertificateNotTrusted { domain, detail }
    } else {
        let kind = match network_cause(&error) {
            Some(kind) => kind,
            None if cut => io::ErrorKind::UnexpectedEof,
            None => io::ErrorKind::Other,
        };
        tls_handshake_error(&domain, io::Error::new(kind, error), false)
    }
}

/// The kind of the socket error behind a handshake failure (a reset, a
/// broken pipe while writing the ClientHello), if the cause was the network.
fn network_cause(error: &native_tls::Error) -> Option<io::ErrorKind> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if is_network_cut(io.kind()) {
                return Some(io.kind());
            }
        }
        cause = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_reads_what_was_pushed_then_would_block_then_eof() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut wire = Wire::new(tcp);
        let mut buf = [0u8; 4];
        assert_eq!(
            wire.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        wire.push(b"abcdef");
        assert_eq!(wire.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        wire.push(b"gh");
        assert_eq!(wire.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"efgh");
        wire.close();
        assert_eq!(wire.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn a_missing_ca_file_is_typed() {
        let opts = ConnectOptions::new("a@example.com".parse().unwrap(), "pw")
            .ca_file("/nonexistent/ca.pem");
        assert!(matches!(Tls::new(&opts), Err(ConnectError::CaFile { .. })));
        let path =
            std::env::temp_dir().join(format!("xmpp-io-blocking-empty-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let opts = ConnectOptions::new("a@example.com".parse().unwrap(), "pw").ca_file(&path);
        let result = Tls::new(&opts);
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(result, Err(ConnectError::CaFile { .. })),
            "{:?}",
            result.err()
        );
    }
}
