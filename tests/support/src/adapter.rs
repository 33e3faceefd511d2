//! What the test servers of both adapters share: the private CA (rcgen),
//! the plans and byte scripts they follow (`xmpp_proto::testing::ScriptedServer`),
//! what they record of each connection, how they answer each read, and the
//! checks on what the client sent. Each adapter's test server
//! (`tokio_server`, `blocking_server`) adds only the sockets and the TLS
//! library; both use this module, so the two cannot drift apart.
#![allow(dead_code)] // each adapter's tests use what they need

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use xmpp_proto::adapter::ConnectOptions;
use xmpp_proto::adapter::{ConnectError, Disconnect, Event, ReconnectPolicy, TlsError, TlsMode};
use xmpp_proto::connect::{Greeting, Security};
use xmpp_proto::testing::{features_sasl, server_header, ScriptedServer};
use xmpp_proto::DisconnectReason;
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

    /// The CA certificate, DER (what `ConnectOptions::add_ca_certificate` takes).
    pub fn ca(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names` issued by this CA, and its key.
    pub fn issue(&self, names: &[&str]) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert, key)
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

/// What a plan asks for once its script is done.
#[derive(Clone, Copy, Debug, Default)]
pub struct After {
    pub drop: bool,
    pub echo: bool,
}

impl Plan {
    /// The plan under its `ThenDrop` and `Echo` wrappers, and what they ask for.
    pub fn unwrap_after(self) -> (Plan, After) {
        let mut after = After::default();
        let mut plan = self;
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
                other => return (other, after),
            }
        }
    }
}

/// What the server saw on one connection.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Every byte received (after decryption once TLS is up).
    pub bytes: Vec<u8>,
    /// The same, one entry per read, with the time it arrived.
    pub reads: Vec<(Instant, Vec<u8>)>,
    /// The SNI the client sent (when the TLS library tells it).
    pub sni: Option<String>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// The TLS handshake error, if it failed.
    pub tls_error: Option<String>,
    /// The server's view of the channel binding its TLS library computes
    /// (tls-exporter with rustls, tls-server-end-point with native-tls).
    pub channel_binding: Option<Vec<u8>>,
    /// Whether the client resumed an earlier TLS session (when the TLS
    /// library tells: rustls does, native-tls does not).
    pub resumed: Option<bool>,
}

impl Seen {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A running test server: where it listens, and what it saw on each
/// connection. Each adapter's test server module adds `start`.
pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl TestServer {
    pub fn connections(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn seen(&self, connection: usize) -> Seen {
        self.seen.lock().unwrap()[connection].clone()
    }

    /// A recorder for the next accepted connection.
    pub fn record_next(seen: &Arc<Mutex<Vec<Seen>>>) -> Recorder {
        let mut all = seen.lock().unwrap();
        all.push(Seen::default());
        Recorder {
            seen: seen.clone(),
            index: all.len() - 1,
        }
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

    /// Options for `juliet@localhost` at this server, trusting `ca` (DER).
    pub fn options(&self, ca: Vec<u8>, mode: TlsMode) -> ConnectOptions {
        ConnectOptions::new("juliet@localhost".parse().unwrap(), PASSWORD)
            .server("127.0.0.1", self.addr.port())
            .tls_mode(mode)
            .add_ca_certificate(ca)
            .timeout(Duration::from_secs(10))
    }
}

/// Where one connection's observations go.
#[derive(Clone)]
pub struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    index: usize,
}

impl Recorder {
    pub fn with(&self, f: impl FnOnce(&mut Seen)) {
        f(&mut self.seen.lock().unwrap()[self.index]);
    }

    /// The TLS handshake's outcome: what was negotiated, or why it failed.
    pub fn handshake(&self, outcome: Result<Seen, String>) {
        self.with(|s| match outcome {
            Ok(tls) => {
                s.sni = tls.sni;
                s.alpn = tls.alpn;
                s.channel_binding = tls.channel_binding;
                s.resumed = tls.resumed;
            }
            Err(e) => s.tls_error = Some(e),
        });
    }
}

/// What the server does after writing a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Read on.
    Read,
    /// Start TLS (the reply held `<proceed/>`).
    Proceed,
    /// Close the connection (stream closed, or a `ThenDrop` script done).
    Close,
}

/// The server's side of one connection's conversation, whatever the sockets.
pub struct Conversation<'a> {
    script: &'a mut ScriptedServer,
    record: &'a Recorder,
    after: After,
    echo_inbox: String,
}

impl<'a> Conversation<'a> {
    pub fn new(script: &'a mut ScriptedServer, record: &'a Recorder, after: After) -> Self {
        Conversation {
            script,
            record,
            after,
            echo_inbox: String::new(),
        }
    }

    /// Records one read of the client's; returns the reply to write and
    /// what to do after writing it.
    pub fn answer(&mut self, bytes: &[u8]) -> (Vec<u8>, Next) {
        let now = Instant::now();
        self.record.with(|seen| {
            seen.bytes.extend_from_slice(bytes);
            seen.reads.push((now, bytes.to_vec()));
        });
        let echoing = self.after.echo && self.script.is_done();
        let mut reply = self.script.receive(bytes);
        if echoing {
            self.echo_inbox.push_str(&String::from_utf8_lossy(bytes));
            reply.extend(echoes(&mut self.echo_inbox).into_bytes());
            if self.echo_inbox.contains("</stream:stream>") {
                reply.extend(b"</stream:stream>");
            }
        }
        let text = String::from_utf8_lossy(&reply);
        let next = if text.contains("<proceed") {
            Next::Proceed
        } else if text.contains("</stream:stream>") || (self.after.drop && self.script.is_done()) {
            Next::Close
        } else {
            Next::Read
        };
        (reply, next)
    }
}

/// An echo from romeo for every complete `<message>…</message>` in `inbox`.
pub fn echoes(inbox: &mut String) -> String {
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
    ScriptedServer::login_plain_direct_tls(DOMAIN, "juliet", resource)
}

/// STARTTLS then PLAIN, binding `juliet@localhost/<resource>`.
pub fn starttls_login(resource: &str) -> ScriptedServer {
    ScriptedServer::login_plain(DOMAIN, "juliet", resource)
}

/// Appends the answer to a roster get: one item, romeo@localhost, version `v1`.
pub fn with_roster(script: ScriptedServer) -> ScriptedServer {
    script.then_with("jabber:iq:roster", |sent| {
        let id = xmpp_proto::testing::attr_after(sent, "<iq", "id").unwrap();
        format!(
            "<iq type='result' id='{id}'><query xmlns='jabber:iq:roster' ver='v1'>\
             <item jid='romeo@localhost' subscription='both'/></query></iq>"
        )
    })
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

/// Offers SCRAM-SHA-256-PLUS with the XEP-0440 channel-binding types
/// `advertised` (none: no `<sasl-channel-binding/>` at all), answers the
/// client-first-message with a server-first-message, and refuses the
/// client-final-message: enough to see the GS2 header the client sent.
pub fn scram_plus_probe(advertised: &[&str]) -> ScriptedServer {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let types: String = advertised
        .iter()
        .map(|t| format!("<channel-binding type='{t}'/>"))
        .collect();
    let cb = if advertised.is_empty() {
        String::new()
    } else {
        format!("<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>{types}</sasl-channel-binding>")
    };
    let features = format!(
        "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
         <mechanism>SCRAM-SHA-256-PLUS</mechanism></mechanisms>{cb}</stream:features>"
    );
    ScriptedServer::default()
        .then("<stream:stream", server_header(DOMAIN, "c1") + &features)
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

// ===== reconnection scenarios, the same for both adapters =====

/// Online as `one`, then the server goes away; the first attempt is cut
/// off during the handshake (not final); the second gets online as `three`.
pub fn reconnect_plans() -> Vec<Plan> {
    vec![
        Plan::ThenDrop(Box::new(Plan::DirectTls(direct_tls_login("one")))),
        Plan::Refuse,
        Plan::DirectTls(with_close(direct_tls_login("three"))),
    ]
}

/// Online as `one`, the server goes away, the next attempt's credentials
/// are refused (final), a third connection must never be made.
pub fn auth_failure_after_loss_plans() -> Vec<Plan> {
    vec![
        Plan::ThenDrop(Box::new(Plan::DirectTls(direct_tls_login("one")))),
        Plan::DirectTls(auth_failure()),
        Plan::DirectTls(direct_tls_login("never")),
    ]
}

/// A backoff of `initial_ms` doubling up to `max_ms`.
pub fn quick_reconnect(initial_ms: u64, max_ms: u64) -> ReconnectPolicy {
    ReconnectPolicy::new().backoff(
        Duration::from_millis(initial_ms),
        Duration::from_millis(max_ms),
        2,
    )
}

/// Checks that `event` announces reconnection attempt `attempt` after at
/// most `max_delay`, and never less than the core's 1 s floor (which wins
/// over a shorter policy); returns why the connection (or the last
/// attempt) failed.
pub fn expect_reconnecting(event: Event, attempt: u32, max_delay: Duration) -> ConnectError {
    let floor = xmpp_proto::MIN_RECONNECT_DELAY;
    match event {
        Event::Reconnecting {
            attempt: n,
            delay,
            error,
        } if n == attempt => {
            assert!(delay >= floor, "{delay:?} < {floor:?}");
            assert!(delay <= max_delay.max(floor), "{delay:?} > {max_delay:?}");
            assert!(
                !error.is_final(),
                "a final error must not be retried: {error:?}"
            );
            error
        }
        other => panic!("expected Reconnecting {attempt}, got {other:?}"),
    }
}

/// The events of `reconnect_plans` after the first `Online`, in order.
pub fn check_reconnect_events(first: Event, second: Event, third: Event) {
    let error = expect_reconnecting(first, 1, Duration::from_millis(20));
    assert!(
        matches!(
            error,
            ConnectError::Stream(DisconnectReason::TransportClosed)
        ),
        "{error:?}"
    );
    let error = expect_reconnecting(second, 2, Duration::from_millis(30));
    eprintln!("attempt 1 failed with: {error}");
    match third {
        Event::Reconnected { jid, resumed } => {
            assert_eq!(jid.to_string(), "juliet@localhost/three");
            assert!(!resumed);
        }
        other => panic!("expected Reconnected, got {other:?}"),
    }
}

/// Online as `one`, the server goes away, online again as `two`.
pub fn one_reconnection_plans() -> Vec<Plan> {
    vec![
        Plan::ThenDrop(Box::new(Plan::DirectTls(direct_tls_login("one")))),
        Plan::DirectTls(with_close(direct_tls_login("two"))),
    ]
}

/// A module that keeps state across connections: each `online` logs how
/// often this very instance went online (a fresh module per connection
/// would log 1 every time).
pub struct OnlineTally {
    onlines: usize,
    log: Arc<Mutex<Vec<usize>>>,
}

impl xmpp_proto::Module for OnlineTally {
    fn name(&self) -> &'static str {
        "online-tally"
    }

    fn online(&mut self, _ctx: &mut xmpp_proto::ModuleContext<'_>, _resumed: bool) {
        self.onlines += 1;
        self.log.lock().unwrap().push(self.onlines);
    }
}

/// What a session's modules went through: the `online` log of its
/// [`OnlineTally`] and how often `on_client` ran.
pub struct Tally {
    pub log: Arc<Mutex<Vec<usize>>>,
    pub setups: Arc<std::sync::atomic::AtomicUsize>,
}

/// `options` with an [`OnlineTally`] registered by `on_client`.
pub fn with_tally(options: ConnectOptions) -> (ConnectOptions, Tally) {
    let tally = Tally {
        log: Arc::default(),
        setups: Arc::default(),
    };
    let (log, setups) = (tally.log.clone(), tally.setups.clone());
    let options = options.on_client(move |client| {
        setups.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        client
            .register(OnlineTally {
                onlines: 0,
                log: log.clone(),
            })
            .expect("register");
    });
    (options, tally)
}

/// One core for the whole session: `on_client` ran once, and the module
/// it registered went online twice, keeping its count.
pub fn check_tally(tally: &Tally) {
    let setups = tally.setups.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(setups, 1, "on_client runs once per session");
    assert_eq!(
        *tally.log.lock().unwrap(),
        [1, 2],
        "the same module, online again"
    );
}

/// The events of `auth_failure_after_loss_plans` after the first `Online`.
pub fn check_final_auth_failure(first: Event, second: Event) {
    expect_reconnecting(first, 1, Duration::from_millis(5));
    match second {
        Event::Disconnected {
            reason: Disconnect::Error(ConnectError::Auth(DisconnectReason::AuthFailed(_))),
        } => {}
        other => panic!("expected the final auth failure, got {other:?}"),
    }
}

// ===== TLS and authentication failures, the same for both adapters =====

/// A login script secured as `mode` asks (direct TLS, or STARTTLS).
pub fn login_plan(mode: TlsMode, resource: &str) -> Plan {
    match mode {
        TlsMode::DirectTls => Plan::DirectTls(direct_tls_login(resource)),
        _ => Plan::StartTls(starttls_login(resource)),
    }
}

/// A certificate from an untrusted CA: a final, typed error that names the
/// domain, and no credential on the wire (`seen`: the server's view).
pub fn check_untrusted(mode: TlsMode, err: &ConnectError, seen: &Seen) {
    match err {
        ConnectError::Tls(TlsError::CertificateNotTrusted { domain, .. }) => {
            assert_eq!(domain, DOMAIN)
        }
        other => panic!("{mode:?}: expected CertificateNotTrusted, got {other:?}"),
    }
    assert!(err.is_final());
    assert!(!err.to_string().contains(PASSWORD));
    assert!(
        seen.tls_error.is_some(),
        "the handshake failed server-side too"
    );
    assert!(!leaks_password(&seen.bytes), "{mode:?}: {:?}", seen.text());
}

/// A trusted certificate for another name than the JID's domain.
pub fn check_name_mismatch(mode: TlsMode, err: &ConnectError, seen: &Seen) {
    assert!(
        matches!(err, ConnectError::Tls(TlsError::NameMismatch { domain, .. }) if domain == DOMAIN),
        "{mode:?}: {err:?}"
    );
    assert!(err.is_final());
    assert!(!leaks_password(&seen.bytes));
}

/// Credentials refused: final, typed, the password nowhere in the message.
pub fn check_auth_failure(err: &ConnectError) {
    assert!(
        matches!(err, ConnectError::Auth(DisconnectReason::AuthFailed(_))),
        "{err:?}"
    );
    assert!(err.is_final());
    assert!(!format!("{err} {err:?}").contains(PASSWORD));
}

// ===== the wrong kind of port, the same for both adapters =====

/// A port of the other kind than a client connecting as `mode` expects.
/// For STARTTLS: a direct-TLS port, the TLS library's server meeting the
/// client's XML stream header (rustls answers with an alert, OpenSSL
/// closes without a word). For direct TLS: a plain XMPP port, which
/// answers what it cannot parse (the ClientHello) as Prosody does: its
/// stream header, a `not-well-formed` stream error, and the close.
pub fn wrong_port_plan(mode: TlsMode) -> Plan {
    match mode {
        TlsMode::DirectTls => Plan::StartTls(ScriptedServer::default().then(
            "",
            server_header(DOMAIN, "w1")
                + "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
                   </stream:error></stream:stream>",
        )),
        _ => Plan::DirectTls(direct_tls_login("never")),
    }
}

/// A client that connected as `mode` to `wrong_port_plan(mode)`: a typed
/// error that says what was expected and what to use instead, and no
/// credential on the wire.
pub fn check_wrong_port(mode: TlsMode, err: &ConnectError, seen: &Seen) {
    let text = err.to_string();
    eprintln!("{mode:?} against the other kind of port: {text}");
    match mode {
        TlsMode::DirectTls => {
            assert!(
                matches!(
                    err,
                    ConnectError::WrongPort {
                        tried: Security::DirectTls,
                        answer: Some(Greeting::Xml),
                        source: Some(_),
                    }
                ),
                "{err:?}"
            );
            assert!(err.is_final());
            assert!(text.contains("answered in plain XML"), "{text}");
            assert!(text.contains("expects STARTTLS"), "{text}");
            assert!(text.contains("TlsMode::StartTls"), "{text}");
            assert!(
                !seen.text().contains("<stream:stream"),
                "the client spoke TLS only: {:?}",
                seen.text()
            );
        }
        _ => {
            assert!(
                matches!(
                    err,
                    ConnectError::WrongPort {
                        tried: Security::StartTls,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(
                text.contains("expected an XMPP stream (STARTTLS)"),
                "{text}"
            );
            assert!(text.contains("direct TLS"), "{text}");
            assert!(text.contains("TlsMode::DirectTls"), "{text}");
            assert!(text.contains("--direct-tls"), "{text}");
            assert!(
                seen.tls_error.is_some(),
                "the server's TLS met no ClientHello: {seen:?}"
            );
        }
    }
    assert!(!text.contains(PASSWORD));
    assert!(!leaks_password(&seen.bytes), "{:?}", seen.text());
}
