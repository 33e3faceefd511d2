//! TLS with native-tls (OpenSSL on Linux and the BSDs, Secure Transport on
//! Apple systems, SChannel on Windows), for STARTTLS (RFC 6120 §5) and
//! direct TLS (XEP-0368).
//!
//! * **Trust:** the system's roots (the platform library's own store),
//!   plus any CA given with
//!   [`ConnectOptions::ca_file`](crate::ConnectOptions::ca_file) or
//!   [`ConnectOptions::add_ca_certificate`](crate::ConnectOptions::add_ca_certificate).
//!   There is deliberately no way to accept any certificate or any name.
//! * **Shared:** the configurations are built once per set of trust
//!   settings, by the first session that needs each (OpenSSL then reads
//!   the system's roots: most of a first login's CPU), and shared by every
//!   session of the process with the same settings (a process-wide cache
//!   of the last four sets, keyed by the extra CA certificates themselves,
//!   not by file names), for every connection and reconnection.
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
use std::sync::{Arc, Mutex, OnceLock};

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
        if self.read_at == self.inbox.len() {
            // All taken: an idle session keeps no buffer here.
            self.inbox = Vec::new();
            self.read_at = 0;
        }
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

/// The two client configurations of a set of trust settings (same roots;
/// ALPN differs), each built when first needed, and shared by every
/// session with those settings (see [`Tls::shared`]): building one is what
/// a login costs most with OpenSSL, which reads and parses the whole system
/// root store for it (~50-100 ms of CPU, measured in docs/performance.md);
/// a handshake only uses it. A process usually needs one of the two.
pub(crate) struct Tls {
    /// The extra CAs, read and parsed when the first session with them started.
    extra: Vec<Certificate>,
    starttls: OnceLock<Result<TlsConnector, String>>,
    direct: OnceLock<Result<TlsConnector, String>>,
}

/// How many trust settings the process-wide cache keeps (the least recently
/// used is forgotten first: its sessions keep their own `Arc`).
const CACHED: usize = 4;

/// Configurations by trust settings, the most recently used last. The key
/// is every extra CA (from files and DER), DER, sorted and without
/// duplicates.
pub(crate) struct TlsCache {
    entries: Mutex<Vec<(TrustKey, Arc<Tls>)>>,
    capacity: usize,
}

/// Every extra CA certificate of a set of trust settings, DER, sorted and
/// without duplicates.
type TrustKey = Vec<Vec<u8>>;

/// The process's cache, used by [`Tls::shared`].
static CACHE: TlsCache = TlsCache::new(CACHED);

impl TlsCache {
    pub(crate) const fn new(capacity: usize) -> Self {
        TlsCache {
            entries: Mutex::new(Vec::new()),
            capacity,
        }
    }

    /// The configurations for `opts`' trust settings (see [`Tls::shared`]).
    pub(crate) fn get(&self, opts: &ConnectOptions) -> Result<Arc<Tls>, ConnectError> {
        let extra = extra_roots(opts)?;
        let mut key = Vec::with_capacity(extra.len());
        for cert in &extra {
            // A certificate that parsed has a DER form; should OpenSSL still
            // fail to give it, the settings are not shared.
            let Ok(der) = cert.to_der() else {
                return Ok(Arc::new(Tls::new(extra)));
            };
            key.push(der);
        }
        key.sort();
        key.dedup();
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(at) = entries.iter().position(|(k, _)| *k == key) {
            let entry = entries.remove(at);
            let tls = entry.1.clone();
            entries.push(entry);
            return Ok(tls);
        }
        let tls = Arc::new(Tls::new(extra));
        if entries.len() >= self.capacity {
            entries.remove(0);
        }
        entries.push((key, tls.clone()));
        Ok(tls)
    }
}

/// Every extra CA of `opts` (its DER certificates, then its files'): a
/// missing or empty file, or a certificate that does not parse, is an
/// error now, before any connection.
fn extra_roots(opts: &ConnectOptions) -> Result<Vec<Certificate>, ConnectError> {
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
    Ok(extra)
}

impl Tls {
    /// The configurations for `opts`' trust settings: shared by every
    /// session of the process with the same settings (the same CA
    /// certificates, wherever they were read from), each configuration
    /// built by the first session that needs it. The CA files are read on
    /// each call, so a file's errors are reported for each session and a
    /// file that now holds another CA gets configurations of its own.
    pub(crate) fn shared(opts: &ConnectOptions) -> Result<Arc<Self>, ConnectError> {
        CACHE.get(opts)
    }

    fn new(extra: Vec<Certificate>) -> Self {
        Tls {
            extra,
            starttls: OnceLock::new(),
            direct: OnceLock::new(),
        }
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
    use xmpp_test_support::adapter::Pki;

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
        assert!(matches!(
            Tls::shared(&opts),
            Err(ConnectError::CaFile { .. })
        ));
        let path =
            std::env::temp_dir().join(format!("xmpp-io-blocking-empty-{}.pem", std::process::id()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let opts = ConnectOptions::new("a@example.com".parse().unwrap(), "pw").ca_file(&path);
        let result = Tls::shared(&opts);
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(result, Err(ConnectError::CaFile { .. })),
            "{:?}",
            result.err()
        );
    }

    fn options() -> ConnectOptions {
        ConnectOptions::new("a@example.com".parse().unwrap(), "pw")
    }

    /// A PEM file holding `pem`, removed when dropped.
    struct PemFile(std::path::PathBuf);

    impl PemFile {
        fn new(name: &str, pem: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "xmpp-io-blocking-{}-{name}.pem",
                std::process::id()
            ));
            std::fs::write(&path, pem).unwrap();
            PemFile(path)
        }
    }

    impl Drop for PemFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn sessions_with_the_same_trust_settings_share_one_configuration() {
        let cache = TlsCache::new(CACHED);
        let (one, two) = (Pki::new("one"), Pki::new("two"));
        let file = PemFile::new("one", &one.ca_pem());
        let with_file = || options().ca_file(&file.0);
        let first = cache.get(&with_file()).unwrap();
        assert!(Arc::ptr_eq(&first, &cache.get(&with_file()).unwrap()));
        // The same CA given as DER, or twice, is the same trust setting.
        let as_der = options().add_ca_certificate(one.ca());
        assert!(Arc::ptr_eq(&first, &cache.get(&as_der).unwrap()));
        let twice = with_file().add_ca_certificate(one.ca());
        assert!(Arc::ptr_eq(&first, &cache.get(&twice).unwrap()));
        // Another CA, or none, is another one.
        let other = cache.get(&options().add_ca_certificate(two.ca())).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        let system = cache.get(&options()).unwrap();
        assert!(!Arc::ptr_eq(&first, &system) && !Arc::ptr_eq(&other, &system));
        assert!(Arc::ptr_eq(&system, &cache.get(&options()).unwrap()));
        // The same file holding another CA now: read again, not reused.
        std::fs::write(&file.0, two.ca_pem()).unwrap();
        assert!(Arc::ptr_eq(&other, &cache.get(&with_file()).unwrap()));
    }

    #[test]
    fn a_connector_is_built_once_for_every_session_that_shares_it() {
        let cache = TlsCache::new(CACHED);
        let pki = Pki::new("ca");
        let opts = options().add_ca_certificate(pki.ca());
        let (a, b) = (cache.get(&opts).unwrap(), cache.get(&opts).unwrap());
        let built = a.connector(Security::StartTls).unwrap() as *const TlsConnector;
        let again = b.connector(Security::StartTls).unwrap() as *const TlsConnector;
        assert_eq!(built, again);
        assert!(b.direct.get().is_none(), "direct TLS not needed yet");
    }

    #[test]
    fn the_least_recently_used_settings_are_forgotten_first() {
        let cache = TlsCache::new(2);
        let pkis: Vec<Pki> = (0..3).map(|i| Pki::new(&format!("ca{i}"))).collect();
        let opts = |i: usize| options().add_ca_certificate(pkis[i].ca());
        let zero = cache.get(&opts(0)).unwrap();
        let one = cache.get(&opts(1)).unwrap();
        assert!(Arc::ptr_eq(&zero, &cache.get(&opts(0)).unwrap()));
        cache.get(&opts(2)).unwrap(); // forgets 1, used least recently
        assert!(Arc::ptr_eq(&zero, &cache.get(&opts(0)).unwrap()));
        assert!(!Arc::ptr_eq(&one, &cache.get(&opts(1)).unwrap()));
    }
}
