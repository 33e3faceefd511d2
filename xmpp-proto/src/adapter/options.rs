//! What an adapter's `connect` needs: the account, where to connect, how to
//! secure it, and what to do when the connection is lost; and how those
//! options become the core's [`Config`] of a session.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::connect::{self, Candidate, NoService, Security, SrvRecord};
use crate::sasl::Credentials;
use crate::stanza::BareJid;
use crate::{Client, Config, ConfigBuilder, Timeouts, TlsPolicy};

use super::ReconnectPolicy;

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

impl TlsMode {
    /// Whether `_xmpps-client._tcp` (direct TLS) records are worth asking for.
    pub fn wants_direct_tls(self) -> bool {
        self != TlsMode::StartTls
    }

    /// Whether `_xmpp-client._tcp` (STARTTLS) records are worth asking for.
    pub fn wants_starttls(self) -> bool {
        self != TlsMode::DirectTls
    }
}

/// A hook run once per session on its core `Client` (`xmpp_proto::Client`)
/// before it starts (register modules here); see [`ConnectOptions::on_client`].
pub type ClientSetup = Arc<dyn Fn(&mut Client) + Send + Sync>;
/// A hook that adjusts the core's configuration of a session; see
/// [`ConnectOptions::configure`].
pub type ConfigHook = Arc<dyn Fn(ConfigBuilder) -> ConfigBuilder + Send + Sync>;

/// A wait long enough to mean "never" that an `Instant` can still hold.
const FAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// Options for an adapter's `connect`, built with chained setters. Both
/// adapters (`xmpp-io-tokio`, `xmpp-io-blocking`) take this same type.
///
/// ```
/// use std::time::Duration;
/// use xmpp_proto::adapter::{ConnectOptions, ReconnectPolicy, TlsMode};
///
/// let options = ConnectOptions::new("alice@localhost".parse().unwrap(), "alice-pass")
///     .server("127.0.0.1", 5223)
///     .tls_mode(TlsMode::DirectTls)
///     .ca_file("/tmp/prosody/ca.pem")
///     .timeout(Duration::from_secs(10))
///     .reconnect(ReconnectPolicy::new());
/// assert!(!format!("{options:?}").contains("alice-pass"));
/// assert_eq!(options.explicit_server(), Some(("127.0.0.1", 5223)));
/// ```
#[derive(Clone)]
pub struct ConnectOptions {
    jid: BareJid,
    credentials: Credentials,
    resource: Option<String>,
    server: Option<(String, u16)>,
    tls_mode: TlsMode,
    allow_plaintext: bool,
    ca_files: Vec<PathBuf>,
    ca_certs: Vec<Vec<u8>>,
    timeout: Duration,
    reconnect: Option<ReconnectPolicy>,
    config_hook: Option<ConfigHook>,
    client_setup: Option<ClientSetup>,
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
    /// private CA). The system's roots stay trusted. The adapter reads the
    /// file when it connects.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// Also trusts this CA certificate, DER-encoded.
    pub fn add_ca_certificate(mut self, der: impl AsRef<[u8]>) -> Self {
        self.ca_certs.push(der.as_ref().to_vec());
        self
    }

    /// Gives up if not online within this time (DNS, TCP, TLS and login;
    /// default 30 s). Also the core's login timer. On a reconnection the
    /// adapter's opening of the new transport and the core's login on it
    /// are each bounded by it; a reconnection attempt that runs out of time
    /// is a failed attempt (the core decides what follows).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reconnects automatically after a lost connection (default: never).
    /// The core applies the policy (`xmpp_proto::Config::reconnect`): it
    /// decides each attempt and its delay, at least 1 s.
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Adjusts the core's configuration (`xmpp_proto::Config`, through its
    /// `ConfigBuilder`) of the session: SASL mechanisms, timers, limits.
    /// The TLS policy of the first connection, resource, reconnect policy,
    /// seed and credentials are set first.
    pub fn configure(
        mut self,
        hook: impl Fn(ConfigBuilder) -> ConfigBuilder + Send + Sync + 'static,
    ) -> Self {
        self.config_hook = Some(Arc::new(hook));
        self
    }

    /// Runs `setup` once on the session's core `Client`
    /// (`xmpp_proto::Client`) before it starts: register modules
    /// (`xmpp_proto::Module`) here. The same core, with its modules and
    /// their state, serves every reconnection. Modules reach the wire through
    /// their `ModuleContext`; with the blocking adapter they run under the
    /// session's lock, so a module must never call that adapter's `Sender`
    /// (it would wait for the lock forever).
    pub fn on_client(mut self, setup: impl Fn(&mut Client) + Send + Sync + 'static) -> Self {
        self.client_setup = Some(Arc::new(setup));
        self
    }

    /// The account.
    pub fn jid(&self) -> &BareJid {
        &self.jid
    }

    /// The host and port given to [`server`](Self::server), if any.
    pub fn explicit_server(&self) -> Option<(&str, u16)> {
        self.server
            .as_ref()
            .map(|(host, port)| (host.as_str(), *port))
    }

    /// The transports to try.
    pub fn mode(&self) -> TlsMode {
        self.tls_mode
    }

    /// The PEM files of extra CAs.
    pub fn ca_files(&self) -> &[PathBuf] {
        &self.ca_files
    }

    /// The extra CA certificates given as DER.
    pub fn ca_certificates(&self) -> &[Vec<u8>] {
        &self.ca_certs
    }

    /// The time allowed to get online, at most a year (a longer one would
    /// overflow an `Instant`, in the core's timers too).
    pub fn login_timeout(&self) -> Duration {
        self.timeout.min(FAR)
    }

    /// The reconnection policy, if reconnecting is on.
    pub fn reconnect_policy(&self) -> Option<&ReconnectPolicy> {
        self.reconnect.as_ref()
    }

    /// See [`driver::explicit_candidate`](super::driver::explicit_candidate).
    pub(super) fn explicit_candidate(&self) -> Option<Candidate> {
        let (host, port) = self.server.as_ref()?;
        let security = match self.tls_mode {
            TlsMode::DirectTls => Security::DirectTls,
            TlsMode::Auto | TlsMode::StartTls => Security::StartTls,
        };
        Some(Candidate {
            host: host.clone(),
            port: *port,
            security,
        })
    }

    /// See [`driver::wants_srv`](super::driver::wants_srv).
    pub(super) fn wants_srv(&self) -> bool {
        self.server.is_none() && !connect::skips_srv(self.jid.domain().as_str())
    }

    /// See [`driver::candidates`](super::driver::candidates).
    pub(super) fn candidates(
        &self,
        direct_tls: &[SrvRecord],
        starttls: &[SrvRecord],
        random: Option<u64>,
    ) -> Result<Vec<Candidate>, NoService> {
        if let Some(candidate) = self.explicit_candidate() {
            return Ok(vec![candidate]);
        }
        let domain = self.jid.domain().as_str();
        let mut rng = connect::splitmix64(super::jitter_bits(random));
        let list = connect::candidates(domain, direct_tls, starttls, &mut rng)?;
        if self.tls_mode == TlsMode::DirectTls {
            return connect::direct_tls_only(domain, list);
        }
        Ok(list)
    }

    /// See [`driver::core_config`](super::driver::core_config).
    pub(super) fn core_config(&self, security: Security, seed: [u8; 32]) -> Config {
        let tls = match security {
            Security::DirectTls => TlsPolicy::DirectTls,
            Security::StartTls if self.allow_plaintext => TlsPolicy::AllowPlaintext,
            Security::StartTls => TlsPolicy::Required,
        };
        let timeouts = Timeouts {
            connect: self.login_timeout(),
            ..Timeouts::default()
        };
        let mut builder = Config::builder(self.jid.clone(), self.credentials.clone(), seed)
            .tls(tls)
            .timeouts(timeouts);
        if let Some(resource) = &self.resource {
            builder = builder.resource(resource.clone());
        }
        if let Some(policy) = self.reconnect {
            builder = builder.reconnect(policy);
        }
        if let Some(hook) = &self.config_hook {
            builder = hook(builder);
        }
        builder.build()
    }

    /// See [`driver::new_client`](super::driver::new_client).
    pub(super) fn new_client(
        &self,
        security: Security,
        seed: [u8; 32],
        now: std::time::Instant,
    ) -> Client {
        let mut client = Client::new(self.core_config(security, seed), now);
        if let Some(setup) = &self.client_setup {
            setup(&mut client);
        }
        client
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ConnectOptions {
        ConnectOptions::new("alice@example.com".parse().unwrap(), "secret")
    }

    #[test]
    fn an_explicit_server_is_one_candidate_secured_as_the_mode_says() {
        assert_eq!(options().explicit_candidate(), None);
        let c = options()
            .server("10.0.0.1", 5223)
            .explicit_candidate()
            .unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.security),
            ("10.0.0.1", 5223, Security::StartTls)
        );
        let c = options()
            .server("h", 1)
            .tls_mode(TlsMode::DirectTls)
            .explicit_candidate()
            .unwrap();
        assert_eq!(c.security, Security::DirectTls);
    }

    #[test]
    fn srv_is_skipped_for_an_explicit_server_and_for_localhost() {
        assert!(options().wants_srv());
        assert!(!options().server("h", 1).wants_srv());
        let local = ConnectOptions::new("a@localhost".parse().unwrap(), "p");
        assert!(!local.wants_srv());
    }

    #[test]
    fn candidates_fall_back_to_the_domain_and_direct_tls_mode_keeps_only_direct_tls() {
        let list = options().candidates(&[], &[], Some(1)).unwrap();
        assert_eq!((list[0].host.as_str(), list[0].port), ("example.com", 5222));
        let err = options()
            .tls_mode(TlsMode::DirectTls)
            .candidates(&[], &[], Some(1));
        assert!(
            err.is_err(),
            "no _xmpps-client records: no service for direct TLS"
        );
        let direct = [SrvRecord::new(0, 0, 5223, "xmpp.example.com.")];
        let list = options()
            .tls_mode(TlsMode::DirectTls)
            .candidates(&direct, &[], Some(1))
            .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].security, Security::DirectTls);
        let explicit = options()
            .server("h", 7)
            .candidates(&direct, &[], Some(1))
            .unwrap();
        assert_eq!(explicit.len(), 1);
        assert_eq!(explicit[0].host, "h");
    }

    #[test]
    fn the_login_timeout_is_capped_so_instants_cannot_overflow() {
        let o = options().timeout(Duration::MAX);
        assert_eq!(o.login_timeout(), FAR);
        assert_eq!(
            options().timeout(Duration::from_secs(3)).login_timeout(),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn tls_policy_follows_security_and_plaintext_permission() {
        let o = options();
        assert_eq!(
            o.core_config(Security::DirectTls, [0; 32]).tls,
            TlsPolicy::DirectTls
        );
        assert_eq!(
            o.core_config(Security::StartTls, [0; 32]).tls,
            TlsPolicy::Required
        );
        let o = o.allow_plaintext(true).resource("desk");
        let config = o.core_config(Security::StartTls, [0; 32]);
        assert_eq!(config.tls, TlsPolicy::AllowPlaintext);
        assert_eq!(config.resource.as_deref(), Some("desk"));
    }

    #[test]
    fn the_configure_hook_runs_last_and_the_setup_hook_on_every_client() {
        // (An adapter makes one client per session.)
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runs = Arc::new(AtomicUsize::new(0));
        let seen = runs.clone();
        let o = options()
            .configure(|b| b.tls(TlsPolicy::AllowPlaintext))
            .on_client(move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            });
        assert_eq!(
            o.core_config(Security::StartTls, [0; 32]).tls,
            TlsPolicy::AllowPlaintext
        );
        let now = std::time::Instant::now();
        let _a = o.new_client(Security::StartTls, [1; 32], now);
        let _b = o.new_client(Security::StartTls, [2; 32], now);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn der_certificates_are_kept_and_the_password_never_printed() {
        let o = options().add_ca_certificate([0x30, 0x03, 1, 2, 3]);
        assert_eq!(o.ca_certificates(), &[vec![0x30, 0x03, 1, 2, 3]]);
        assert!(!format!("{o:?}").contains("secret"));
    }
}
