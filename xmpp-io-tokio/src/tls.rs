//! TLS with rustls (through tokio-rustls), for STARTTLS (RFC 6120 §5) and
//! direct TLS (XEP-0368).
//!
//! * **Crypto provider: `ring`.** rustls' default, `aws-lc-rs`, builds a
//!   large C library with cmake (and often needs NASM/clang); on the 2-core
//!   machines this project is built and tested on that adds minutes to every
//!   clean build. `ring` compiles in a fraction of the time, is audited and
//!   widely deployed, and provides everything needed here (TLS 1.3 and 1.2
//!   suites, ECDSA/RSA/Ed25519 verification, the exporter).
//! * **Trust:** Mozilla's roots from `webpki-roots`, plus any CA given with
//!   [`ConnectOptions::ca_file`](crate::ConnectOptions::ca_file) or
//!   [`ConnectOptions::add_ca_certificate`](crate::ConnectOptions::add_ca_certificate)
//!   (a private server, a test). The system trust store is not read. There
//!   is deliberately no way to accept any certificate.
//! * **Shared:** the two configurations (and the root store with Mozilla's
//!   roots in them) are built once per set of trust settings, the first
//!   time a session needs them, and shared by every session of the process
//!   with the same settings (a process-wide cache of the last four sets,
//!   keyed by the extra CA certificates themselves, not by file names).
//!   Not shared: the TLS session store. Each session has its own (a copy
//!   of the configurations, a few hundred bytes), so its reconnections may
//!   resume its TLS session but no session offers another's ticket, which
//!   would let a server link two accounts of one process (the local
//!   Prosody 0.12 issues tickets and resumes none: the log's `handshake`
//!   says which).
//! * **Name:** the certificate must be valid for the JID's domain
//!   (RFC 6125, RFC 7590 §3.2.2, XEP-0368 §4), never for the SRV target or
//!   the explicit host: a DNS answer cannot redirect the client to a
//!   server that holds no certificate for the domain. SNI carries the domain too.
//! * **Versions:** TLS 1.3 and 1.2. ALPN `xmpp-client` for direct TLS
//!   (XEP-0368 §3); none for STARTTLS.
//! * **Channel binding:** `tls-exporter` (RFC 9266: label
//!   `EXPORTER-Channel-Binding`, no context, 32 bytes) on TLS 1.3; none on
//!   TLS 1.2 (rustls exposes no `tls-unique`), so SCRAM then runs without `-PLUS`.

use std::io;
use std::sync::{Arc, Mutex};

use crate::transport::Tcp;
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor};
use rustls::{CertificateError, ClientConfig, ProtocolVersion, RootCertStore};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use xmpp_proto::adapter::driver::{tls_failure, tls_handshake_error};
use xmpp_proto::connect::Security;
use xmpp_proto::sasl::{ChannelBinding, ChannelBindingType};

use crate::{ConnectError, ConnectOptions, TlsError};

/// The ALPN protocol name of XEP-0368 direct TLS.
pub const ALPN_XMPP_CLIENT: &[u8] = b"xmpp-client";

/// RFC 9266 §2: the tls-exporter label.
const EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// The two client configurations of a set of trust settings (same roots;
/// ALPN differs), shared by every session that has those settings (see
/// [`Tls::shared`]): the root store, the certificate verifier and the
/// crypto provider. Each session uses copies of them with a TLS session
/// store of its own ([`Tls::for_session`]).
pub(crate) struct Tls {
    starttls: Arc<ClientConfig>,
    direct: Arc<ClientConfig>,
}

/// A session's TLS: the shared configurations, with a TLS session store of
/// the session's own, so that its reconnections may resume its TLS session
/// but a server never sees one session's ticket offered by another (which
/// would link two accounts of a process that the network does not).
pub(crate) struct SessionTls {
    starttls: TlsConnector,
    direct: TlsConnector,
}

/// The TLS 1.3 tickets a session keeps for its reconnections (rustls'
/// most per server; one server per session).
const SESSION_TICKETS: usize = 8;

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

    /// The configurations for `opts`' trust settings, built on first use
    /// (see [`Tls::shared`]).
    pub(crate) fn get(&self, opts: &ConnectOptions) -> Result<Arc<Tls>, ConnectError> {
        let extra = extra_roots(opts)?;
        let mut key: TrustKey = extra.iter().map(|(der, _)| der.to_vec()).collect();
        key.sort();
        key.dedup();
        // Built under the lock: sessions started together share one build.
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
        let tls = Arc::new(Tls::build(extra.into_iter().map(|(_, anchor)| anchor))?);
        if entries.len() >= self.capacity {
            entries.remove(0);
        }
        entries.push((key, tls.clone()));
        Ok(tls)
    }
}

impl Tls {
    /// The configurations for `opts`' trust settings: built on first use
    /// and shared by every later session of the process with the same
    /// settings (the same CA certificates, wherever they were read from).
    /// The CA files are read, and every extra CA checked, on each call, so
    /// a file's errors are reported for each session and a file that now
    /// holds another CA gets configurations of its own.
    pub(crate) fn shared(opts: &ConnectOptions) -> Result<Arc<Self>, ConnectError> {
        CACHE.get(opts)
    }

    /// Builds both configurations: Mozilla's roots and `extra`.
    fn build(extra: impl Iterator<Item = TrustAnchor<'static>>) -> Result<Self, ConnectError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        roots.extend(extra);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut base = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| ConnectError::Tls(tls_handshake_error("", io::Error::other(e), true)))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        // The shared copies keep no tickets: each session's copy has a store.
        base.resumption = Resumption::disabled();
        let mut direct = base.clone();
        direct.alpn_protocols = vec![ALPN_XMPP_CLIENT.to_vec()];
        Ok(Tls {
            starttls: Arc::new(base),
            direct: Arc::new(direct),
        })
    }

    /// The configurations for one session: copies of the shared ones
    /// (the root store and verifier are shared through `Arc`s: a copy is a
    /// few hundred bytes) with a TLS session store of the session's own.
    pub(crate) fn for_session(&self) -> SessionTls {
        let store = Arc::new(ClientSessionMemoryCache::new(SESSION_TICKETS));
        let copy = |shared: &ClientConfig| {
            let mut config = shared.clone();
            config.resumption = Resumption::store(store.clone());
            TlsConnector::from(Arc::new(config))
        };
        SessionTls {
            starttls: copy(&self.starttls),
            direct: copy(&self.direct),
        }
    }
}

impl SessionTls {
    /// Runs the handshake over `tcp`, verifying the certificate for
    /// `domain`, and exports the channel binding. A failure is typed by
    /// [`classify`], then by what the server sent first (a direct-TLS
    /// handshake answered with XML met a STARTTLS port).
    pub(crate) async fn handshake(
        &self,
        tcp: Tcp,
        domain: &str,
        security: Security,
    ) -> Result<(TlsStream<Tcp>, Option<ChannelBinding>), ConnectError> {
        // An IPv6 domain is written `[::1]` in a JID; the name is the address.
        let bare = domain.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_string()).map_err(|e| {
            let e = io::Error::new(io::ErrorKind::InvalidInput, e.to_string());
            ConnectError::Tls(tls_handshake_error(domain, e, true))
        })?;
        let connector = match security {
            Security::StartTls => &self.starttls,
            Security::DirectTls => &self.direct,
        };
        let stream = connector
            .connect(name, tcp)
            .into_fallible()
            .await
            .map_err(|(e, tcp)| tls_failure(security, classify(domain, e), tcp.first_bytes()))?;
        let conn = stream.get_ref().1;
        let cb = channel_binding(conn);
        tracing::info!(
            %domain,
            version = ?conn.protocol_version(),
            alpn = ?conn.alpn_protocol().map(String::from_utf8_lossy),
            channel_binding = cb.as_ref().map(|c| c.kind.name()),
            handshake = ?conn.handshake_kind(),
            "TLS established"
        );
        Ok((stream, cb))
    }
}

/// Every extra CA of `opts` (its files' certificates, then its DER ones),
/// each with the trust anchor made of it: a file that cannot be read, holds
/// no certificate or one that is no usable CA, and a DER certificate that
/// is none, are errors naming the file or the certificate.
fn extra_roots(
    opts: &ConnectOptions,
) -> Result<Vec<(CertificateDer<'static>, TrustAnchor<'static>)>, ConnectError> {
    let mut extra = Vec::new();
    for path in opts.ca_files() {
        let ca_error = |reason: String| ConnectError::CaFile {
            path: path.clone(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| ca_error(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ca_error(e.to_string()))?;
        if certs.is_empty() {
            return Err(ca_error("no PEM certificate in the file".into()));
        }
        for cert in certs {
            let anchor = anchor(&cert).map_err(|e| ca_error(e.to_string()))?;
            extra.push((cert, anchor));
        }
    }
    for (index, der) in opts.ca_certificates().iter().enumerate() {
        let cert = CertificateDer::from(der.clone());
        let anchor = anchor(&cert).map_err(|e| ConnectError::CaCertificate {
            index,
            reason: e.to_string(),
        })?;
        extra.push((cert, anchor));
    }
    Ok(extra)
}

/// The trust anchor of a CA certificate, as `RootCertStore::add` makes it.
fn anchor(cert: &CertificateDer<'_>) -> Result<TrustAnchor<'static>, rustls::Error> {
    let mut one = RootCertStore::empty();
    one.add(cert.clone())?;
    one.roots
        .pop()
        .ok_or_else(|| rustls::Error::General("no trust anchor".into()))
}

/// RFC 9266 tls-exporter for TLS 1.3; `None` otherwise.
fn channel_binding(conn: &rustls::ClientConnection) -> Option<ChannelBinding> {
    if conn.protocol_version() != Some(ProtocolVersion::TLSv1_3) {
        return None;
    }
    conn.export_keying_material([0u8; 32], EXPORTER_LABEL, None)
        .ok()
        .map(|data| ChannelBinding::new(ChannelBindingType::TlsExporter, data.to_vec()))
}

/// Sorts a handshake error into not-trusted, name-mismatch, refused by
/// rustls (final) or cut short by the network (worth retrying).
pub(crate) fn classify(domain: &str, error: io::Error) -> TlsError {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let Some(rustls::Error::InvalidCertificate(cert)) = rustls_error else {
        let from_rustls = rustls_error.is_some();
        return tls_handshake_error(domain, error, from_rustls);
    };
    let detail = cert.to_string();
    let domain = domain.to_string();
    match cert {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            TlsError::NameMismatch { domain, detail }
        }
        _ => TlsError::CertificateNotTrusted { domain, detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_test_support::adapter::Pki;

    fn options() -> ConnectOptions {
        ConnectOptions::new("a@example.com".parse().expect("jid"), "pw")
    }

    /// A PEM file holding `pem`, removed when dropped.
    struct PemFile(std::path::PathBuf);

    impl PemFile {
        fn new(name: &str, pem: &str) -> Self {
            let path = std::env::temp_dir()
                .join(format!("xmpp-io-tokio-{}-{name}.pem", std::process::id()));
            std::fs::write(&path, pem).expect("write");
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
        let first = cache.get(&with_file()).expect("built");
        assert!(Arc::ptr_eq(
            &first,
            &cache.get(&with_file()).expect("cached")
        ));
        // The same CA given as DER, or twice, is the same trust setting.
        let as_der = options().add_ca_certificate(one.ca());
        assert!(Arc::ptr_eq(&first, &cache.get(&as_der).expect("cached")));
        let twice = with_file().add_ca_certificate(one.ca());
        assert!(Arc::ptr_eq(&first, &cache.get(&twice).expect("cached")));
        // Another CA, or none, is another one.
        let other = cache
            .get(&options().add_ca_certificate(two.ca()))
            .expect("built");
        assert!(!Arc::ptr_eq(&first, &other));
        let public = cache.get(&options()).expect("built");
        assert!(!Arc::ptr_eq(&first, &public) && !Arc::ptr_eq(&other, &public));
        assert!(Arc::ptr_eq(
            &public,
            &cache.get(&options()).expect("cached")
        ));
        // The same file holding another CA now: read again, not reused.
        std::fs::write(&file.0, two.ca_pem()).expect("rewrite");
        assert!(Arc::ptr_eq(
            &other,
            &cache.get(&with_file()).expect("cached")
        ));
    }

    #[test]
    fn the_least_recently_used_settings_are_forgotten_first() {
        let cache = TlsCache::new(2);
        let pkis: Vec<Pki> = (0..3).map(|i| Pki::new(&format!("ca{i}"))).collect();
        let opts = |i: usize| options().add_ca_certificate(pkis[i].ca());
        let zero = cache.get(&opts(0)).expect("built");
        let one = cache.get(&opts(1)).expect("built");
        assert!(Arc::ptr_eq(&zero, &cache.get(&opts(0)).expect("cached")));
        cache.get(&opts(2)).expect("built"); // forgets 1, used least recently
        assert!(Arc::ptr_eq(&zero, &cache.get(&opts(0)).expect("cached")));
        assert!(!Arc::ptr_eq(&one, &cache.get(&opts(1)).expect("rebuilt")));
    }

    #[test]
    fn ca_errors_are_reported_for_every_session() {
        let cache = TlsCache::new(CACHED);
        let pki = Pki::new("ca");
        let good = PemFile::new("good", &pki.ca_pem());
        cache.get(&options().ca_file(&good.0)).expect("built");
        let missing = options().ca_file(&good.0).ca_file("/nonexistent/ca.pem");
        assert!(matches!(
            cache.get(&missing),
            Err(ConnectError::CaFile { .. })
        ));
        let empty = PemFile::new("empty", "not a certificate\n");
        let result = cache.get(&options().ca_file(&empty.0));
        assert!(matches!(result, Err(ConnectError::CaFile { .. })));
        let not_a_certificate = options().add_ca_certificate([0x30, 0x03, 1, 2, 3]);
        assert!(matches!(
            cache.get(&not_a_certificate),
            Err(ConnectError::CaCertificate { index: 0, .. })
        ));
    }
}
