//! Session configuration: a plain struct with a builder.

use std::time::Duration;

use crate::sasl::{Credentials, Mechanism, SaslPolicy};

pub use crate::disco::Identity;

use super::sm::{ResumptionState, SmConfig};
use super::ReconnectPolicy;
use crate::stanza::BareJid;
use crate::xml::ReaderLimits;

/// How the session treats TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// STARTTLS is required; a server that does not offer it is an error
    /// before any credential is sent. The default.
    #[default]
    Required,
    /// The driver runs TLS from the first byte (XEP-0368 direct TLS) and
    /// feeds [`Input::TlsEstablished`](crate::Input::TlsEstablished) first.
    DirectTls,
    /// Use STARTTLS when offered, continue in plaintext otherwise. Only for
    /// tests and trusted local links: credentials may cross the wire unencrypted.
    AllowPlaintext,
}

/// Timers of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// The whole login (stream open to bound resource) must finish within this.
    pub connect: Duration,
    /// Default timeout of an IQ request.
    pub iq: Duration,
    /// Send a whitespace keepalive after this long without sending anything.
    pub keepalive: Duration,
    /// After this long without receiving anything, ping the server (XEP-0199);
    /// a ping unanswered within `iq` ends the connection. The built-in
    /// [`Ping`](crate::ping::Ping) module, which `Client::new` registers,
    /// takes this value.
    pub idle: Duration,
    /// How long to wait for the server's `</stream:stream>` after ours.
    pub close: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(30),
            iq: Duration::from_secs(30),
            keepalive: Duration::from_secs(60),
            idle: Duration::from_secs(180),
            close: Duration::from_secs(5),
        }
    }
}

/// Everything the core needs to run one session.
#[derive(Clone, Debug)]
pub struct Config {
    /// The account (bare JID); its domain is the server we talk to.
    pub jid: BareJid,
    /// Password or pre-salted SCRAM keys (never logged).
    pub credentials: Credentials,
    /// The resource to request; `None` lets the server assign one.
    pub resource: Option<String>,
    /// TLS policy (required by default).
    pub tls: TlsPolicy,
    /// SASL mechanisms allowed and SCRAM bounds.
    pub sasl: SaslPolicy,
    /// Limits on received XML.
    pub limits: ReaderLimits,
    /// Timers.
    pub timeouts: Timeouts,
    /// Most outstanding IQ requests at once.
    pub max_pending_iqs: usize,
    /// 32 bytes of entropy from the driver's OS source; every id and nonce
    /// derives from it. Tests use a fixed seed.
    pub seed: [u8; 32],
    /// `xml:lang` of our stream.
    pub lang: String,
    /// Who we are in our XEP-0030 disco#info answer.
    pub identity: Identity,
    /// Reconnect after a lost connection, as this policy says (`None`, the
    /// default: a lost connection ends the session).
    pub reconnect: Option<ReconnectPolicy>,
    /// XEP-0198 stream management (on by default when the server offers it).
    pub stream_management: SmConfig,
    /// A session to resume on the first connection (XEP-0198 §5), as
    /// [`Client::resumption_state`](crate::Client::resumption_state)
    /// exported it, say before the process ended. Ignored (with a
    /// warning) when it is not of this account.
    pub resumption: Option<ResumptionState>,
}

impl Config {
    /// A builder for `jid` with `credentials` and the driver's `seed`.
    pub fn builder(jid: BareJid, credentials: Credentials, seed: [u8; 32]) -> ConfigBuilder {
        ConfigBuilder {
            config: Config {
                jid,
                credentials,
                resource: None,
                tls: TlsPolicy::Required,
                sasl: SaslPolicy::default(),
                limits: ReaderLimits::default(),
                timeouts: Timeouts::default(),
                max_pending_iqs: 1024,
                seed,
                lang: "en".into(),
                identity: Identity::default(),
                reconnect: None,
                stream_management: SmConfig::default(),
                resumption: None,
            },
        }
    }
}

/// Builder for [`Config`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Requests this resource.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.config.resource = Some(resource.into());
        self
    }

    /// Sets our XEP-0030 identity (category, type, name).
    pub fn identity(
        mut self,
        category: impl Into<String>,
        kind: impl Into<String>,
        name: Option<String>,
    ) -> Self {
        self.config.identity = Identity {
            name,
            ..Identity::new(category, kind)
        };
        self
    }

    /// Sets the TLS policy.
    pub fn tls(mut self, tls: TlsPolicy) -> Self {
        self.config.tls = tls;
        self
    }

    /// Restricts the SASL mechanisms (they are still tried strongest first).
    pub fn mechanisms(mut self, allowed: &[Mechanism]) -> Self {
        self.config.sasl.allowed = allowed.to_vec();
        self
    }

    /// Sets the whole SASL policy.
    pub fn sasl(mut self, policy: SaslPolicy) -> Self {
        self.config.sasl = policy;
        self
    }

    /// Sets the XML limits.
    pub fn limits(mut self, limits: ReaderLimits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Sets the timers.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.config.timeouts = timeouts;
        self
    }

    /// Sets the most IQ requests in flight at once.
    pub fn max_pending_iqs(mut self, n: usize) -> Self {
        self.config.max_pending_iqs = n;
        self
    }

    /// Sets the stream's `xml:lang`.
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.config.lang = lang.into();
        self
    }

    /// Reconnects after a lost connection (see [`ReconnectPolicy`]).
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.config.reconnect = Some(policy);
        self
    }

    /// Sets how stream management (XEP-0198) is used.
    pub fn stream_management(mut self, sm: SmConfig) -> Self {
        self.config.stream_management = sm;
        self
    }

    /// Resumes this session on the first connection (XEP-0198 §5).
    pub fn resume_from(mut self, state: ResumptionState) -> Self {
        self.config.resumption = Some(state);
        self
    }

    /// The finished configuration.
    pub fn build(self) -> Config {
        self.config
    }
}
