//! `<stream:features/>` (RFC 6120 §4.3.2) and what a client reads from it:
//! STARTTLS (§5), SASL mechanisms (§6) with XEP-0440 channel-binding types,
//! resource binding (§7), the legacy session (RFC 3921 §3; negotiated only
//! when not marked `<optional/>`), and stream management (XEP-0198).

use crate::xml::Element;

/// STARTTLS namespace (RFC 6120 §5.4).
pub const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL namespace (RFC 6120 §6.4).
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// Resource binding namespace (RFC 6120 §7).
pub const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// Legacy session establishment namespace.
pub const NS_SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// XEP-0440 SASL channel-binding type capability.
pub const NS_SASL_CB: &str = "urn:xmpp:sasl-cb:0";
/// XEP-0198 stream management.
pub const NS_SM: &str = "urn:xmpp:sm:3";
/// Stream error condition namespace (RFC 6120 §4.9.3).
pub const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// What the server offered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamFeatures {
    /// STARTTLS offered (`Some(true)` when marked `<required/>`).
    pub starttls: Option<bool>,
    /// SASL mechanism names, in the server's order (at most 64 kept).
    pub mechanisms: Vec<String>,
    /// XEP-0440 channel-binding types, `None` when not advertised.
    pub cb_types: Option<Vec<String>>,
    /// Resource binding offered.
    pub bind: bool,
    /// Legacy session offered and not marked optional.
    pub session_required: bool,
    /// Stream management offered.
    pub sm: bool,
    /// Every other feature, as (namespace, element name), for the modules
    /// (roster versioning, pre-approval, ...; at most 32 kept).
    pub others: Vec<(String, String)>,
}

impl StreamFeatures {
    /// True when the server offered the feature `<name xmlns='ns'/>`
    /// (among those this type does not read itself, see [`Self::others`]).
    pub fn has(&self, ns: &str, name: &str) -> bool {
        self.others.iter().any(|(n, e)| n == ns && e == name)
    }

    /// Reads the features element.
    pub fn parse(features: &Element) -> Self {
        let mut f = StreamFeatures::default();
        for child in features.children() {
            match (child.ns(), child.local_name()) {
                (NS_TLS, "starttls") => {
                    f.starttls = Some(child.child(NS_TLS, "required").is_some());
                }
                (NS_SASL, "mechanisms") => {
                    f.mechanisms = child
                        .children()
                        .filter(|m| m.is(NS_SASL, "mechanism"))
                        .map(|m| m.text().trim().to_string())
                        .filter(|m| !m.is_empty())
                        .take(64)
                        .collect();
                }
                (NS_SASL_CB, "sasl-channel-binding") => {
                    f.cb_types = Some(
                        child
                            .children()
                            .filter(|c| c.is(NS_SASL_CB, "channel-binding"))
                            .filter_map(|c| c.attr("type").map(str::to_string))
                            .take(16)
                            .collect(),
                    );
                }
                (NS_BIND, "bind") => f.bind = true,
                (NS_SESSION, "session") => {
                    f.session_required = child.child(NS_SESSION, "optional").is_none();
                }
                (NS_SM, "sm") => f.sm = true,
                (ns, name) if f.others.len() < 32 => {
                    f.others.push((ns.to_string(), name.to_string()));
                }
                _ => {}
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{StreamEvent, StreamReader};

    fn parse(xml: &str) -> StreamFeatures {
        let mut r = StreamReader::new(Default::default());
        r.feed(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
        r.feed(xml.as_bytes());
        let mut found = None;
        while let Some(Ok(e)) = r.next_event() {
            if let StreamEvent::Element(e) = e {
                found = Some(StreamFeatures::parse(&e));
            }
        }
        found.expect("features")
    }

    #[test]
    fn reads_every_feature() {
        let f = parse(
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
             <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>\
             <mechanism> PLAIN </mechanism></mechanisms>\
             <sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding>\
             <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
             <session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>\
             <sm xmlns='urn:xmpp:sm:3'/></stream:features>",
        );
        assert_eq!(f.starttls, Some(true));
        assert_eq!(f.mechanisms, ["SCRAM-SHA-1", "PLAIN"]);
        assert_eq!(f.cb_types, Some(vec!["tls-exporter".to_string()]));
        assert!(f.bind && f.sm && !f.session_required);
        assert!(f.others.is_empty());
        let v = parse("<stream:features><ver xmlns='urn:xmpp:features:rosterver'/><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
        assert!(v.has("urn:xmpp:features:rosterver", "ver"));
        assert!(!v.has("urn:xmpp:features:pre-approval", "sub"));
        let g = parse("<stream:features><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>");
        assert!(g.session_required);
        assert_eq!(g.cb_types, None);
        assert_eq!(g.starttls, None);
    }
}
