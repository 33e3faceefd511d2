//! Software version (XEP-0092): answering `jabber:iq:version` queries
//! about this client (§2, with the optional `os` of §2 left out unless
//! configured, per §3's privacy advice) and asking another entity for its
//! own (§2), whose answer comes back as a typed [`VersionEvent`].
//!
//! Not registered by default: a session that does not register it does not
//! reveal its software (the query gets `service-unavailable`, and the
//! feature is not in our disco#info).
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::version::Version;
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! client.register(Version::new("my-client", "1.2.0")).unwrap();
//! // Later, online: ask someone; the answer comes back as
//! // Event::Version(VersionEvent { id, .. }) with this id.
//! let to = "romeo@example.net/orchard".parse().unwrap();
//! let sent = client.with_module(Instant::now(), |v: &mut Version, cx| v.query(cx, to));
//! assert!(sent.unwrap().is_err(), "not online yet");
//! ```

use std::collections::HashMap;

use crate::client::{Event, IqAnswer, IqFailure, Module, ModuleContext, SendError};
use crate::stanza::{DefinedCondition, ErrorType, Iq, IqPayload, Jid};
use crate::xml::Element;

/// The XEP-0092 namespace.
pub const NS_VERSION: &str = "jabber:iq:version";

/// What an entity says it runs (XEP-0092 §2). `name` and `version` are
/// required by the XEP, but a peer may leave them out: they are `None` then.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SoftwareInfo {
    /// The software's name.
    pub name: Option<String>,
    /// Its version.
    pub version: Option<String>,
    /// The operating system, when the entity tells it.
    pub os: Option<String>,
}

impl SoftwareInfo {
    /// Reads a `<query xmlns='jabber:iq:version'/>` answer.
    fn parse(query: &Element) -> Self {
        let text = |name| query.child_text(NS_VERSION, name).map(|t| t.to_string());
        SoftwareInfo {
            name: text("name"),
            version: text("version"),
            os: text("os"),
        }
    }
}

/// The answer to [`Version::query`] ([`Event::Version`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionEvent {
    /// The request's id, as [`Version::query`] returned it.
    pub id: String,
    /// Who was asked.
    pub jid: Jid,
    /// What it runs, or why there is no answer.
    pub result: Result<SoftwareInfo, IqFailure>,
}

/// The software-version module. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Version {
    name: String,
    version: String,
    os: Option<String>,
    /// Queries in flight: id -> who was asked. Bounded by the IQ tracker:
    /// each gets exactly one outcome, which removes it.
    asked: HashMap<String, Jid>,
}

impl Version {
    /// Answers queries with this software name and version (no `os`).
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Version {
            name: name.into(),
            version: version.into(),
            os: None,
            asked: HashMap::new(),
        }
    }

    /// Also tells the operating system (XEP-0092 §3: it may help an
    /// attacker, so it is off unless asked for).
    pub fn with_os(mut self, os: impl Into<String>) -> Self {
        self.os = Some(os.into());
        self
    }

    /// What this module answers about us.
    pub fn ours(&self) -> SoftwareInfo {
        SoftwareInfo {
            name: Some(self.name.clone()),
            version: Some(self.version.clone()),
            os: self.os.clone(),
        }
    }

    /// Asks `jid` what it runs (§2). The answer comes back as
    /// [`Event::Version`] with the returned id.
    pub fn query(&mut self, cx: &mut ModuleContext<'_>, jid: Jid) -> Result<String, SendError> {
        let query = Element::new(NS_VERSION, "query");
        let id = cx.send_iq(Iq::get(Some(jid.clone()), "", query))?;
        self.asked.insert(id.clone(), jid);
        Ok(id)
    }
}

impl Module for Version {
    fn name(&self) -> &'static str {
        "version"
    }

    fn features(&self) -> &[&'static str] {
        &[NS_VERSION]
    }

    fn iq_requests(&self) -> &[(&'static str, &'static str)] {
        &[(NS_VERSION, "query")]
    }

    fn offline(&mut self, _resumable: bool) {
        // The queries in flight were failed (and reported) before this.
        self.asked.clear();
    }

    /// §2: a `get` is answered with name, version and, if configured, os.
    /// The protocol has no `set`.
    fn handle_iq_request(&mut self, _cx: &mut ModuleContext<'_>, iq: &Iq) -> IqAnswer {
        if !matches!(iq.payload, IqPayload::Get(_)) {
            return IqAnswer::error(ErrorType::Cancel, DefinedCondition::NotAllowed);
        }
        let mut query = Element::new(NS_VERSION, "query")
            .with_child(Element::new(NS_VERSION, "name").with_text(self.name.clone()))
            .with_child(Element::new(NS_VERSION, "version").with_text(self.version.clone()));
        if let Some(os) = &self.os {
            query.push_child(Element::new(NS_VERSION, "os").with_text(os.clone()));
        }
        IqAnswer::Result(Some(query))
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let Some(jid) = self.asked.remove(id) else {
            return;
        };
        let result = result.map(|iq| {
            iq.payload_element()
                .filter(|q| q.is(NS_VERSION, "query"))
                .map(SoftwareInfo::parse)
                .unwrap_or_default()
        });
        cx.emit(Event::Version(VersionEvent {
            id: id.to_string(),
            jid,
            result,
        }));
    }
}
