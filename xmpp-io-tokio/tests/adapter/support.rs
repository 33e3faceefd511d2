//! A tiny in-process XMPP server over real sockets: certificates made at
//! test time with rcgen, TLS with tokio-rustls, and the byte scripts of
//! `xmpp_proto::testing::ScriptedServer`. It records every byte it
//! received (decrypted), so tests can check what the client did NOT send.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use xmpp_io_tokio::{ConnectOptions, TlsMode};
use xmpp_proto::testing::{bind_reply, features_sasl, server_header, ScriptedServer};
use xmpp_proto::Mechanism;

pub const DOMAIN: &str = "localhost";
pub const PASSWORD: &str = "s3cr3t-Pa55";

/// A private CA that can issue server certificates.
pub struct Pki {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Pki { issuer }
    }

    pub fn ca(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A TLS server configuration with a certificate for `names`, ALPN
    /// `xmpp-client` offered (direct TLS clients ask for it).
    pub fn server_config(&self, names: &[&str]) -> Arc<ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone(), self.ca()], key)
            .unwrap();
        config.alpn_protocols = vec![b"xmpp-client".to_vec()];
        Arc::new(config)
    }
}

/// How the server treats one accepted connection.
pub enum Plan {
    /// TLS from the first byte, then the script.
    DirectTls(ScriptedServer),
    /// The script in plaintext until a reply holding `<proceed`, then a TLS
    /// handshake on the same socket, then the rest of the script.
    StartTls(ScriptedServer),
    /// Follow the script, then drop the connection (a lost server).
    ThenDrop(Box<Plan>),
    /// Accept and close at once.
    Refuse,
}

/// What the server saw on one connection.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Every byte received (after decryption once TLS is up).
    pub bytes: Vec<u8>,
    /// The SNI the client sent.
    pub sni: Option<String>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// The TLS handshake error, if it failed.
    pub tls_error: Option<String>,
    /// The server's view of the RFC 9266 tls-exporter channel binding.
    pub exporter: Option<Vec<u8>>,
}

impl Seen {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    /// Serves one plan per accepted connection, in order.
    pub async fn start(config: Arc<ServerConfig>, plans: Vec<Plan>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let acceptor = TlsAcceptor::from(config);
        let seen2 = seen.clone();
        tokio::spawn(async move {
            for plan in plans {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let index = {
                    let mut all = seen2.lock().unwrap();
                    all.push(Seen::default());
                    all.len() - 1
                };
                let record = Recorder {
                    seen: seen2.clone(),
                    index,
                };
                tokio::spawn(serve(tcp, plan, acceptor.clone(), record));
            }
        });
        TestServer { addr, seen }
    }

    pub fn connections(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn seen(&self, connection: usize) -> Seen {
        self.seen.lock().unwrap()[connection].clone()
    }

    /// Options for `juliet@localhost` at this server, trusting `ca`.
    pub fn options(&self, ca: CertificateDer<'static>, mode: TlsMode) -> ConnectOptions {
        ConnectOptions::new("juliet@localhost".parse().unwrap(), PASSWORD)
            .server("127.0.0.1", self.addr.port())
            .tls_mode(mode)
            .add_ca_certificate(ca)
            .timeout(Duration::from_secs(10))
    }
}

#[derive(Clone)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    index: usize,
}

impl Recorder {
    fn with(&self, f: impl FnOnce(&mut Seen)) {
        f(&mut self.seen.lock().unwrap()[self.index]);
    }
}

async fn serve(mut tcp: TcpStream, plan: Plan, acceptor: TlsAcceptor, record: Recorder) {
    let (plan, drop_after) = match plan {
        Plan::ThenDrop(inner) => (*inner, true),
        other => (other, false),
    };
    match plan {
        Plan::Refuse => {}
        Plan::DirectTls(mut script) => {
            if let Some(mut tls) = accept(&acceptor, tcp, &record).await {
                pump(&mut tls, &mut script, &record, drop_after).await;
            }
        }
        Plan::StartTls(mut script) => {
            if pump(&mut tcp, &mut script, &record, false).await == Pumped::Proceed {
                if let Some(mut tls) = accept(&acceptor, tcp, &record).await {
                    pump(&mut tls, &mut script, &record, drop_after).await;
                }
            }
        }
        Plan::ThenDrop(_) => unreachable!("nested ThenDrop"),
    }
}

async fn accept(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    record: &Recorder,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match acceptor.accept(tcp).await {
        Ok(tls) => {
            let conn = tls.get_ref().1;
            let (sni, alpn) = (
                conn.server_name().map(str::to_string),
                conn.alpn_protocol().map(<[u8]>::to_vec),
            );
            let exporter = conn
                .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
                .ok()
                .map(|e| e.to_vec());
            record.with(|s| {
                s.sni = sni;
                s.alpn = alpn;
                s.exporter = exporter;
            });
            Some(tls)
        }
        Err(e) => {
            record.with(|s| s.tls_error = Some(e.to_string()));
            None
        }
    }
}

#[derive(PartialEq, Eq)]
enum Pumped {
    Proceed,
    Closed,
}

/// Reads client bytes, answers per script. Returns after a `<proceed/>`,
/// at EOF, after the stream close, or (with `drop_after`) once the script
/// is done.
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    script: &mut ScriptedServer,
    record: &Recorder,
    drop_after: bool,
) -> Pumped {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return Pumped::Closed,
            Ok(n) => n,
        };
        record.with(|seen| seen.bytes.extend_from_slice(&buf[..n]));
        let reply = script.receive(&buf[..n]);
        if !reply.is_empty() && s.write_all(&reply).await.is_err() {
            return Pumped::Closed;
        }
        let reply = String::from_utf8_lossy(&reply);
        if reply.contains("<proceed") {
            return Pumped::Proceed;
        }
        if reply.contains("</stream:stream>") || (drop_after && script.is_done()) {
            let _ = s.shutdown().await;
            return Pumped::Closed;
        }
    }
}

/// Direct TLS login with PLAIN (no STARTTLS offered), then the stream close.
pub fn direct_tls_login(resource: &str) -> ScriptedServer {
    let bound = format!("juliet@{DOMAIN}/{resource}");
    ScriptedServer::default()
        .then(
            "<stream:stream",
            server_header(DOMAIN, "d1") + &features_sasl(&["PLAIN"]),
        )
        .then(
            "mechanism='PLAIN'",
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
        )
        .then_with("</iq>", move |sent| {
            server_header(DOMAIN, "d2")
                + xmpp_proto::testing::FEATURES_BIND
                + &bind_reply(sent, &bound)
        })
}

/// STARTTLS then PLAIN, binding `juliet@localhost/<resource>`.
pub fn starttls_login(resource: &str) -> ScriptedServer {
    ScriptedServer::login_plain(DOMAIN, "juliet", resource)
}

/// Appends the answer to a clean close.
pub fn with_close(script: ScriptedServer) -> ScriptedServer {
    script.then("</stream:stream>", "</stream:stream>")
}

/// PLAIN refused: the credentials are wrong.
pub fn auth_failure() -> ScriptedServer {
    ScriptedServer::default()
        .then(
            "<stream:stream",
            server_header(DOMAIN, "f1") + &features_sasl(&["PLAIN"]),
        )
        .then(
            "mechanism='PLAIN'",
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>",
        )
}

/// Offers SCRAM-SHA-256-PLUS with XEP-0440 `tls-exporter`, answers the
/// client-first-message with a server-first-message, and refuses the
/// client-final-message: enough to see the channel binding the client sent.
pub fn scram_plus_probe() -> ScriptedServer {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let features = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
                    <mechanism>SCRAM-SHA-256-PLUS</mechanism></mechanisms>\
                    <sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>\
                    <channel-binding type='tls-exporter'/></sasl-channel-binding></stream:features>";
    ScriptedServer::default()
        .then("<stream:stream", server_header(DOMAIN, "c1") + features)
        .then_with("</auth>", move |sent| {
            let first = b64.decode(element_text(sent, "auth")).unwrap();
            let first = String::from_utf8(first).unwrap();
            let nonce = first.split("r=").nth(1).unwrap();
            let server_first = format!("r={nonce}SERVER,s={},i=4096", b64.encode("salt"));
            format!(
                "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>",
                b64.encode(server_first)
            )
        })
        .then(
            "</response>",
            "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>",
        )
}

/// The text of the first `<name ...>text</name>` in `xml`.
pub fn element_text<'a>(xml: &'a str, name: &str) -> &'a str {
    let start = xml.find(&format!("<{name}")).unwrap();
    let open_end = start + xml[start..].find('>').unwrap() + 1;
    let close = open_end + xml[open_end..].find(&format!("</{name}>")).unwrap();
    &xml[open_end..close]
}

/// Restricts the client to PLAIN (what the scripts speak).
pub fn plain_only(options: ConnectOptions) -> ConnectOptions {
    options.configure(|b| b.mechanisms(&[Mechanism::Plain]))
}

/// Every way the password could appear on the wire: as is, and inside the
/// base64 of a PLAIN message.
pub fn leaks_password(bytes: &[u8]) -> bool {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(bytes);
    let b64 = base64::engine::general_purpose::STANDARD;
    let plain = b64.encode(format!("\0juliet\0{PASSWORD}"));
    text.contains(PASSWORD) || text.contains(&plain) || text.contains("<auth")
}
