//! A tiny in-process XMPP server over real sockets, on plain threads:
//! certificates made at test time with rcgen, TLS with native-tls's server
//! side, and the byte scripts of `xmpp_proto::testing::ScriptedServer`. It
//! records every byte it received (decrypted) with the time it arrived, so
//! tests can check what the client did NOT send, and when it sent it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use native_tls::{Certificate, Identity, TlsAcceptor, TlsStream};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use xmpp_io_blocking::{ConnectOptions, TlsMode};
use xmpp_proto::testing::{bind_reply, features_sasl, server_header, ScriptedServer};
use xmpp_proto::Mechanism;

pub const DOMAIN: &str = "localhost";
pub const PASSWORD: &str = "s3cr3t-Pa55";

/// A private CA that can issue server certificates.
pub struct Pki {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server's TLS side: the acceptor and its certificate.
pub struct ServerTls {
    pub acceptor: TlsAcceptor,
    /// The DER of the server's own (leaf) certificate.
    pub leaf_der: Vec<u8>,
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

    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA as native-tls takes it.
    pub fn ca(&self) -> Certificate {
        Certificate::from_pem(self.ca_pem().as_bytes()).unwrap()
    }

    /// A TLS server with a certificate for `names` issued by this CA (the
    /// chain sent: leaf, CA). The key goes to native-tls as PKCS#8 PEM;
    /// ALPN `xmpp-client` is accepted (direct TLS clients ask for it).
    pub fn server(&self, names: &[&str]) -> Arc<ServerTls> {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let chain = format!("{}{}", cert.pem(), self.ca_pem());
        let identity = Identity::from_pkcs8(chain.as_bytes(), key.serialize_pem().as_bytes())
            .expect("native-tls identity from PKCS#8");
        let acceptor = TlsAcceptor::builder(identity)
            .accept_alpn(&["xmpp-client"])
            .build()
            .unwrap();
        Arc::new(ServerTls {
            acceptor,
            leaf_der: cert.der().to_vec(),
        })
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
    /// Follow the script, then answer every `<message>` with an echo from
    /// romeo@localhost, and the stream close with the server's close.
    Echo(Box<Plan>),
    /// Accept and close at once.
    Refuse,
}

/// What the server saw on one connection.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Every byte received (after decryption once TLS is up).
    pub bytes: Vec<u8>,
    /// The same, one entry per read, with the time it arrived.
    pub reads: Vec<(Instant, Vec<u8>)>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// The TLS handshake error, if it failed.
    pub tls_error: Option<String>,
    /// The server's view of RFC 5929 tls-server-end-point.
    pub end_point: Option<Vec<u8>>,
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
    /// Serves one plan per accepted connection, in order, each on a thread.
    pub fn start(tls: Arc<ServerTls>, plans: Vec<Plan>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for plan in plans {
                let Ok((tcp, _)) = listener.accept() else {
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
                let tls = tls.clone();
                std::thread::spawn(move || serve(tcp, plan, &tls, &record));
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

    /// Waits until connection `connection` received bytes containing `what`.
    pub fn wait_for(&self, connection: usize, what: &str, within: Duration) -> Seen {
        let deadline = Instant::now() + within;
        loop {
            {
                let all = self.seen.lock().unwrap();
                if let Some(seen) = all.get(connection) {
                    if seen.text().contains(what) {
                        return seen.clone();
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "the server did not receive {what:?} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Options for `juliet@localhost` at this server, trusting `ca`.
    pub fn options(&self, ca: Certificate, mode: TlsMode) -> ConnectOptions {
        ConnectOptions::new("juliet@localhost".parse().unwrap(), PASSWORD)
            .server("127.0.0.1", self.addr.port())
            .tls_mode(mode)
            .add_ca_certificate(ca.to_der().expect("the test CA in DER"))
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

/// A stream the server can half-close (after a TLS close_notify).
trait Closable: Read + Write {
    fn close(&mut self);
}

impl Closable for TcpStream {
    fn close(&mut self) {
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl Closable for TlsStream<TcpStream> {
    fn close(&mut self) {
        let _ = self.shutdown();
        let _ = self.get_ref().shutdown(Shutdown::Write);
    }
}

#[derive(Clone, Copy, Default)]
struct After {
    drop: bool,
    echo: bool,
}

fn serve(mut tcp: TcpStream, plan: Plan, tls: &ServerTls, record: &Recorder) {
    let mut after = After::default();
    let mut plan = plan;
    loop {
        match plan {
            Plan::ThenDrop(inner) => {
                after.drop = true;
                plan = *inner;
            }
            Plan::Echo(inner) => {
                after.echo = true;
                plan = *inner;
            }
            other => {
                plan = other;
                break;
            }
        }
    }
    match plan {
        Plan::Refuse => {
            let _ = tcp.shutdown(Shutdown::Both);
        }
        Plan::DirectTls(mut script) => {
            if let Some(mut stream) = accept(tls, tcp, record) {
                pump(&mut stream, &mut script, record, after);
            }
        }
        Plan::StartTls(mut script) => {
            let plain = After::default();
            if pump(&mut tcp, &mut script, record, plain) == Pumped::Proceed {
                if let Some(mut stream) = accept(tls, tcp, record) {
                    pump(&mut stream, &mut script, record, after);
                }
            }
        }
        Plan::ThenDrop(_) | Plan::Echo(_) => unreachable!(),
    }
}

fn accept(tls: &ServerTls, tcp: TcpStream, record: &Recorder) -> Option<TlsStream<TcpStream>> {
    match tls.acceptor.accept(tcp) {
        Ok(stream) => {
            let alpn = stream.negotiated_alpn().ok().flatten();
            let end_point = stream.tls_server_end_point().ok().flatten();
            record.with(|s| {
                s.alpn = alpn;
                s.end_point = end_point;
            });
            Some(stream)
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
/// at EOF, after the stream close, or (with `after.drop`) once the script
/// is done.
fn pump<S: Closable>(
    s: &mut S,
    script: &mut ScriptedServer,
    record: &Recorder,
    after: After,
) -> Pumped {
    let mut buf = vec![0u8; 16 * 1024];
    let mut echo_inbox = String::new();
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return Pumped::Closed,
            Ok(n) => n,
        };
        let now = Instant::now();
        record.with(|seen| {
            seen.bytes.extend_from_slice(&buf[..n]);
            seen.reads.push((now, buf[..n].to_vec()));
        });
        let echoing = after.echo && script.is_done();
        let mut reply = script.receive(&buf[..n]);
        if echoing {
            echo_inbox.push_str(&String::from_utf8_lossy(&buf[..n]));
            reply.extend(echoes(&mut echo_inbox).into_bytes());
            if echo_inbox.contains("</stream:stream>") {
                reply.extend(b"</stream:stream>");
            }
        }
        if !reply.is_empty() && (s.write_all(&reply).is_err() || s.flush().is_err()) {
            return Pumped::Closed;
        }
        let reply = String::from_utf8_lossy(&reply);
        if reply.contains("<proceed") {
            return Pumped::Proceed;
        }
        if reply.contains("</stream:stream>") || (after.drop && script.is_done()) {
            s.close();
            return Pumped::Closed;
        }
    }
}

/// An echo from romeo for every complete `<message>…</message>` in `inbox`.
fn echoes(inbox: &mut String) -> String {
    let mut out = String::new();
    while let Some(end) = inbox.find("</message>") {
        let message: String = inbox.drain(..end + "</message>".len()).collect();
        let body = message
            .split_once("<body>")
            .and_then(|(_, rest)| rest.split_once("</body>"))
            .map(|(b, _)| b.to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "<message from='romeo@localhost/garden' type='chat'><body>echo: {body}</body></message>"
        ));
    }
    out
}

/// Direct TLS login with PLAIN (no STARTTLS offered), binding
/// `juliet@localhost/<resource>`.
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
