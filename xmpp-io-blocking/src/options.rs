//! What [`connect`](crate::connect) needs: the account, where to connect,
//! how to secure it, and what to do when the connection is lost. The same
//! options, with the same names, as the Tokio adapter's.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use native_tls::Certificate;
use xmpp_proto::sasl::Credentials;
use xmpp_proto::stanza::BareJid;
use xmpp_proto::{Client as Core, ConfigBuilder};

use crate::ReconnectPolicy;

/// Which transports to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsMode {
    /// With SRV resolution: the XEP-0368 merged list (`_xmpps-client` direct
    /// TLS and `_xmpp-client` STARTTLS targets, direct TLS first at equal
    /// priority). With an explicit host: STARTTLS. The default.
    #[default]
    Auto,
    /// STARTTLS only (RFC 6120 §5).
    StartTls,
    /// Direct TLS only (XEP-0368): TLS from the first byte, ALPN `xmpp-client`.
    DirectTls,
}

/// A hook run on every new core [`xmpp_proto::Client`] before it starts
/// (register modules here).
pub type ClientSetup = Arc<dyn Fn(&mut Core) + Send + Sync>;
/// A hook that adjusts the core's configuration of every connection.
pub type ConfigHook = Arc<dyn Fn(ConfigBuilder) -> ConfigBuilder + Send + Sync>;

/// Options for [`connect`](crate::connect), built with chained setters.
///
/// ```
/// use std::time::Duration;
/// use xmpp_io_blocking::{ConnectOptions, ReconnectPolicy, TlsMode};
///
/// let options = ConnectOptions::new("alice@localhost".parse().unwrap(), "alice-pass")
///     .server("127.0.0.1", 5223)
///     .tls_mode(TlsMode::DirectTls)
///     .ca_file("/tmp/prosody/ca.pem")
///     .timeout(Duration::from_secs(10))
///     .reconnect(ReconnectPolicy::new());
/// assert!(!format!("{options:?}").contains("alice-pass"));
/// ```
#[derive(Clone)]
pub struct ConnectOptions {
    pub(crate) jid: BareJid,
    pub(crate) credentials: Credentials,
    pub(crate) resource: Option<String>,
    pub(crate) server: Option<(String, u16)>,
    pub(crate) tls_mode: TlsMode,
    pub(crate) allow_plaintext: bool,
    pub(crate) ca_files: Vec<PathBuf>,
    pub(crate) ca_certs: Vec<Certificate>,
    pub(crate) timeout: Duration,
    pub(crate) reconnect: Option<ReconnectPolicy>,
    pub(crate) config_hook: Option<ConfigHook>,
    pub(crate) client_setup: Option<ClientSetup>,
}

impl ConnectOptions {
    /// Options for `jid` logging in with `password`.
    pub fn new(jid: BareJid, password: impl Into<String>) -> Self {
        Self::with_credentials(jid, Credentials::Password(password.into()))
    }

    /// Options for `jid` with a password or stored SCRAM keys.
    pub fn with_credentials(jid: BareJid, credentials: Credentials) -> Self {
        ConnectOptions {
            jid,
            credentials,
            resource: None,
            server: None,
            tls_mode: TlsMode::Auto,
            allow_plaintext: false,
            ca_files: Vec::new(),
            ca_certs: Vec::new(),
            timeout: Duration::from_secs(30),
            reconnect: None,
            config_hook: None,
            client_setup: None,
        }
    }

    /// Asks for this resource (default: the server assigns one).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Connects to `host:port` instead of resolving the domain's SRV
    /// records. The certificate is still checked against the JID's domain.
    pub fn server(mut self, host: impl Into<String>, port: u16) -> Self {
        self.server = Some((host.into(), port));
        self
    }

    /// Chooses direct TLS, STARTTLS, or both (see [`TlsMode`]).
    pub fn tls_mode(mut self, mode: TlsMode) -> Self {
        self.tls_mode = mode;
        self
    }

    /// Permits a session without TLS when the server offers no STARTTLS
    /// (for trusted local links and tests only). SASL PLAIN stays refused
    /// without TLS, so the password itself never crosses the wire in clear.
    pub fn allow_plaintext(mut self, allow: bool) -> Self {
        self.allow_plaintext = allow;
        self
    }

    /// Also trusts the CA certificates in this PEM file (a server with a
    /// private CA). The system's roots stay trusted. Read by
    /// [`connect`](crate::connect).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// Also trusts this CA certificate
    /// ([`Certificate::from_pem`] or [`Certificate::from_der`]).
    pub fn add_ca_certificate(mut self, certificate: Certificate) -> Self {
        self.ca_certs.push(certificate);
        self
    }

    /// Gives up if not online within this time (DNS, TCP, TLS and login;
    /// default 30 s). Also the core's login timer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reconnects automatically after a lost connection (default: never).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Adjusts the core's [`Config`](xmpp_proto::Config) of every
    /// connection (SASL mechanisms, timers, limits). The TLS policy,
    /// resource, seed and credentials are set by the adapter first.
    pub fn configure(
        mut self,
        hook: impl Fn(ConfigBuilder) -> ConfigBuilder + Send + Sync + 'static,
    ) -> Self {
        self.config_hook = Some(Arc::new(hook));
        self
    }

    /// Runs `setup` on every new core client (the first connection and each
    /// reconnection) before it starts: register modules here. Modules run
    /// while the session's lock is held: they reach the wire through their
    /// `ModuleContext`, never through a [`Sender`](crate::Sender) (which
    /// would wait for that lock forever).
    pub fn on_client(mut self, setup: impl Fn(&mut Core) + Send + Sync + 'static) -> Self {
        self.client_setup = Some(Arc::new(setup));
        self
    }

    /// The account.
    pub fn jid(&self) -> &BareJid {
        &self.jid
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("jid", &self.jid)
            .field("credentials", &self.credentials) // redacts the password
            .field("resource", &self.resource)
            .field("server", &self.server)
            .field("tls_mode", &self.tls_mode)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("ca_files", &self.ca_files)
            .field("ca_certs", &self.ca_certs.len())
            .field("timeout", &self.timeout)
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
}
