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
use std::sync::Arc;

use crate::transport::Tcp;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
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

/// The two client configurations of a session (same roots; ALPN differs).
pub(crate) struct Tls {
    starttls: TlsConnector,
    direct: TlsConnector,
}

impl Tls {
    /// Builds the root store (reading CA files) and both configurations.
    pub(crate) fn new(opts: &ConnectOptions) -> Result<Self, ConnectError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
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
                roots.add(cert).map_err(|e| ca_error(e.to_string()))?;
            }
        }
        for (index, der) in opts.ca_certificates().iter().enumerate() {
            roots.add(CertificateDer::from(der.clone())).map_err(|e| {
                ConnectError::CaCertificate {
                    index,
                    reason: e.to_string(),
                }
            })?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let base = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| ConnectError::Tls(tls_handshake_error("", io::Error::other(e), true)))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut direct = base.clone();
        direct.alpn_protocols = vec![ALPN_XMPP_CLIENT.to_vec()];
        Ok(Tls {
            starttls: TlsConnector::from(Arc::new(base)),
            direct: TlsConnector::from(Arc::new(direct)),
        })
    }

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
            "TLS established"
        );
        Ok((stream, cb))
    }
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
