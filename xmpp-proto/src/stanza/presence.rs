//! Presence stanzas: RFC 6120 §8.2.2 (broadcast semantics) and RFC 6121
//! §4 (availability) and §3 (subscriptions): types §4.7.1, `<show/>`
//! §4.7.2.1, `<status/>` §4.7.2.2, `<priority/>` §4.7.2.3.

use std::collections::BTreeMap;
use std::fmt;

use super::{
    expect_client, push_lang_texts, stanza_element, text_in, CommonAttrs, Jid, JidSource,
    LangTexts, StanzaError, StanzaParseError, NS_CLIENT,
};
use crate::xml::{Element, Node};

/// The `type` of a presence (RFC 6121 §4.7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PresenceType {
    /// Available for communication: no `type` attribute.
    #[default]
    Available,
    /// No longer available.
    Unavailable,
    /// A request to subscribe to the recipient's presence.
    Subscribe,
    /// The sender allowed the recipient's subscription.
    Subscribed,
    /// A request to unsubscribe from the recipient's presence.
    Unsubscribe,
    /// The sender cancelled (or denied) the recipient's subscription.
    Unsubscribed,
    /// A request for the recipient's current presence (servers only).
    Probe,
    /// An error about a presence this entity sent.
    Error,
}

impl PresenceType {
    /// The `type` attribute value; `None` for [`PresenceType::Available`].
    pub fn as_attr(self) -> Option<&'static str> {
        Some(match self {
            PresenceType::Available => return None,
            PresenceType::Unavailable => "unavailable",
            PresenceType::Subscribe => "subscribe",
            PresenceType::Subscribed => "subscribed",
            PresenceType::Unsubscribe => "unsubscribe",
            PresenceType::Unsubscribed => "unsubscribed",
            PresenceType::Probe => "probe",
            PresenceType::Error => "error",
        })
    }

    /// The type for a `type` attribute value, if it is a defined one
    /// (`available` is not: availability is the absence of the attribute).
    pub fn from_attr(value: &str) -> Option<Self> {
        Some(match value {
            "unavailable" => PresenceType::Unavailable,
            "subscribe" => PresenceType::Subscribe,
            "subscribed" => PresenceType::Subscribed,
            "unsubscribe" => PresenceType::Unsubscribe,
            "unsubscribed" => PresenceType::Unsubscribed,
            "probe" => PresenceType::Probe,
            "error" => PresenceType::Error,
            _ => return None,
        })
    }
}

impl fmt::Display for PresenceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_attr().unwrap_or("available"))
    }
}

/// A detail of availability (RFC 6121 §4.7.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Show {
    /// Temporarily away.
    Away,
    /// Actively interested in chatting.
    Chat,
    /// Busy: do not disturb.
    Dnd,
    /// Away for an extended period.
    Xa,
}

impl Show {
    /// The element's text value.
    pub fn as_str(self) -> &'static str {
        match self {
            Show::Away => "away",
            Show::Chat => "chat",
            Show::Dnd => "dnd",
            Show::Xa => "xa",
        }
    }

    /// The show value for a text, if it is a defined one.
    pub fn from_text(value: &str) -> Option<Self> {
        Some(match value {
            "away" => Show::Away,
            "chat" => Show::Chat,
            "dnd" => Show::Dnd,
            "xa" => Show::Xa,
            _ => return None,
        })
    }
}

impl fmt::Display for Show {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `<presence/>` stanza.
///
/// [`status`](Presence::status) and [`statuses`](Presence::statuses)
/// follow the language rules of [`Message::body`](super::Message).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presence {
    /// The sender (stamped by the server on received stanzas).
    pub from: Option<Jid>,
    /// The recipient (none for a broadcast).
    pub to: Option<Jid>,
    /// The stanza id.
    pub id: Option<String>,
    /// The presence type (`Available` when the attribute is absent).
    pub type_: PresenceType,
    /// The presence's own `xml:lang` attribute.
    pub lang: Option<String>,
    /// The availability detail.
    pub show: Option<Show>,
    /// The status text in the presence's language.
    pub status: Option<String>,
    /// Status texts in other languages, by `xml:lang`.
    pub statuses: BTreeMap<String, String>,
    /// The resource priority (RFC 6121 §4.7.2.3), 0 when absent. Values
    /// outside -128..=127 are clamped when parsed.
    pub priority: i8,
    /// The `<error/>` child (expected when `type_` is `Error`).
    pub error: Option<StanzaError>,
    /// Every other child element, as received (extensions).
    pub payloads: Vec<Element>,
}

impl Presence {
    /// An empty presence of the given type.
    pub fn new(type_: PresenceType) -> Self {
        Presence {
            type_,
            ..Presence::default()
        }
    }

    /// Initial or updated availability, broadcast by the server.
    pub fn available() -> Self {
        Presence::new(PresenceType::Available)
    }

    /// Going offline.
    pub fn unavailable() -> Self {
        Presence::new(PresenceType::Unavailable)
    }

    /// A subscription request to `to` (RFC 6121 §3.1).
    pub fn subscribe(to: impl Into<Jid>) -> Self {
        Presence::new(PresenceType::Subscribe).with_to(to)
    }

    /// Approves `to`'s subscription request (RFC 6121 §3.1.4).
    pub fn subscribed(to: impl Into<Jid>) -> Self {
        Presence::new(PresenceType::Subscribed).with_to(to)
    }

    /// Unsubscribes from `to`'s presence (RFC 6121 §3.3).
    pub fn unsubscribe(to: impl Into<Jid>) -> Self {
        Presence::new(PresenceType::Unsubscribe).with_to(to)
    }

    /// Denies or cancels `to`'s subscription (RFC 6121 §3.2).
    pub fn unsubscribed(to: impl Into<Jid>) -> Self {
        Presence::new(PresenceType::Unsubscribed).with_to(to)
    }

    /// Builder: sets the recipient (directed presence).
    pub fn with_to(mut self, to: impl Into<Jid>) -> Self {
        self.to = Some(to.into());
        self
    }

    /// Builder: sets the stanza id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Builder: sets the availability detail.
    pub fn with_show(mut self, show: Show) -> Self {
        self.show = Some(show);
        self
    }

    /// Builder: sets the status text.
    pub fn with_status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Builder: sets the priority.
    pub fn with_priority(mut self, priority: i8) -> Self {
        self.priority = priority;
        self
    }

    /// Builder: appends an extension element.
    pub fn with_payload(mut self, payload: Element) -> Self {
        self.payloads.push(payload);
        self
    }

    /// The status text in language `lang`, if there is one.
    pub fn status_in(&self, lang: &str) -> Option<&str> {
        text_in(
            lang,
            self.lang.as_deref(),
            self.status.as_deref(),
            &self.statuses,
        )
    }

    /// The first payload named `local` in namespace `ns`.
    pub fn payload(&self, ns: &str, local: &str) -> Option<&Element> {
        self.payloads.iter().find(|p| p.is(ns, local))
    }

    /// The presence as an element in `jabber:client`.
    pub fn to_element(&self) -> Element {
        self.clone().into()
    }
}

/// Parses a priority, clamping integers outside the `i8` range.
fn parse_priority(text: &str) -> Option<i8> {
    let t = text.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let negative = t.starts_with('-');
    Some(match t.parse::<i64>() {
        Ok(v) => v.clamp(i8::MIN.into(), i8::MAX.into()) as i8,
        // Only overflow is left: all digits, but longer than an i64.
        Err(_) if negative => i8::MIN,
        Err(_) => i8::MAX,
    })
}

fn duplicate(child: &'static str) -> StanzaParseError {
    StanzaParseError::DuplicateChild {
        element: "presence",
        child,
        lang: None,
    }
}

impl TryFrom<Element> for Presence {
    type Error = StanzaParseError;

    fn try_from(element: Element) -> Result<Self, StanzaParseError> {
        Presence::parse_with(element, &mut JidSource::default())
    }
}

impl Presence {
    /// Parses a received presence, its addresses through `jids`.
    pub(super) fn parse_with(
        mut element: Element,
        jids: &mut JidSource<'_>,
    ) -> Result<Self, StanzaParseError> {
        expect_client(&element, "presence")?;
        let common = CommonAttrs::parse(&element, jids)?;
        let type_ = match element.attr("type") {
            None => PresenceType::Available,
            Some(t) => PresenceType::from_attr(t).ok_or_else(|| StanzaParseError::UnknownType {
                element: "presence",
                value: t.to_string(),
            })?,
        };
        let nodes = std::mem::take(element.nodes_mut());
        // The language in effect, including one inherited from the stream.
        let effective_lang = element.lang();
        let mut p = Presence {
            from: common.from,
            to: common.to,
            id: common.id,
            type_,
            lang: common.lang,
            ..Presence::default()
        };
        let mut seen_priority = false;
        for node in nodes {
            let Node::Element(child) = node else { continue };
            if child.ns() != NS_CLIENT {
                p.payloads.push(child);
                continue;
            }
            match child.local_name() {
                "show" => {
                    if p.show.is_some() {
                        return Err(duplicate("<show/>"));
                    }
                    let text = child.text();
                    p.show = Some(Show::from_text(text.trim()).ok_or_else(|| {
                        StanzaParseError::InvalidShow {
                            value: text.to_string(),
                        }
                    })?);
                }
                "status" => LangTexts {
                    primary: &mut p.status,
                    alternatives: &mut p.statuses,
                }
                .add(child, effective_lang, "presence", "<status/>")?,
                "priority" => {
                    if seen_priority {
                        return Err(duplicate("<priority/>"));
                    }
                    seen_priority = true;
                    let text = child.text();
                    p.priority =
                        parse_priority(&text).ok_or_else(|| StanzaParseError::InvalidPriority {
                            value: text.to_string(),
                        })?;
                }
                "error" => {
                    if p.error.is_some() {
                        return Err(duplicate("<error/>"));
                    }
                    p.error = Some(StanzaError::try_from(child)?);
                }
                _ => p.payloads.push(child),
            }
        }
        Ok(p)
    }
}

impl From<Presence> for Element {
    fn from(p: Presence) -> Element {
        let mut e = stanza_element(
            "presence",
            p.from.as_ref(),
            p.to.as_ref(),
            p.id.as_deref(),
            p.type_.as_attr(),
            p.lang.as_deref(),
        );
        if let Some(show) = p.show {
            e.push_child(Element::new(NS_CLIENT, "show").with_text(show.as_str()));
        }
        push_lang_texts(&mut e, "status", p.status.as_deref(), &p.statuses);
        if p.priority != 0 {
            e.push_child(Element::new(NS_CLIENT, "priority").with_text(p.priority.to_string()));
        }
        if let Some(error) = p.error {
            e.push_child(error.into());
        }
        for x in p.payloads {
            e.push_child(x);
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stanza::tests::{parse_xml, roundtrip};
    use crate::stanza::Stanza;

    fn presence(xml: &str) -> Result<Presence, StanzaParseError> {
        Presence::try_from(parse_xml(xml))
    }

    #[test]
    fn rfc6121_initial_presence_with_details() {
        // RFC 6121 §4.7.2 (Example: presence with show, status and priority).
        let p = presence(
            "<presence from='juliet@example.com/balcony' xml:lang='en'>\
             <show>dnd</show>\
             <status>Wooing Romeo</status>\
             <status xml:lang='cs'>Dvo&#x0159;&#x00ED;m se Romeovi</status>\
             <priority>1</priority>\
             <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/>\
             </presence>",
        )
        .unwrap();
        assert_eq!(p.type_, PresenceType::Available);
        assert_eq!(p.show, Some(Show::Dnd));
        assert_eq!(p.status.as_deref(), Some("Wooing Romeo"));
        assert_eq!(p.status_in("cs"), Some("Dvořím se Romeovi"));
        assert_eq!(p.priority, 1);
        assert!(p.payload("http://jabber.org/protocol/caps", "c").is_some());
        roundtrip(Stanza::Presence(p));
    }

    #[test]
    fn rfc6121_subscription_types() {
        // RFC 6121 §3.1.1, §3.1.5, §3.2.1, §3.3.1, §4.3 (probe), §4.5 (unavailable).
        for (t, expected) in [
            ("subscribe", PresenceType::Subscribe),
            ("subscribed", PresenceType::Subscribed),
            ("unsubscribe", PresenceType::Unsubscribe),
            ("unsubscribed", PresenceType::Unsubscribed),
            ("probe", PresenceType::Probe),
            ("unavailable", PresenceType::Unavailable),
        ] {
            let p = presence(&format!(
                "<presence id='xk3h1v69' to='juliet@example.com' type='{t}'/>"
            ))
            .unwrap();
            assert_eq!(p.type_, expected);
            assert_eq!(p.to_element().attr("type"), Some(t));
            roundtrip(Stanza::Presence(p));
        }
    }

    #[test]
    fn presence_error() {
        // RFC 6121 §3.1.3 (subscription request to a nonexistent contact).
        let p = presence(
            "<presence from='juliet@example.com' id='xk3h1v69' \
             to='romeo@example.net' type='error'><error type='cancel'>\
             <remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             </error></presence>",
        )
        .unwrap();
        assert_eq!(p.type_, PresenceType::Error);
        assert!(p.error.is_some());
        roundtrip(Stanza::Presence(p));
    }

    #[test]
    fn garbage_types_and_values_are_refused() {
        assert_eq!(
            presence("<presence type='available'/>"),
            Err(StanzaParseError::UnknownType {
                element: "presence",
                value: "available".into()
            })
        );
        assert_eq!(
            presence("<presence><show>sleeping</show></presence>"),
            Err(StanzaParseError::InvalidShow {
                value: "sleeping".into()
            })
        );
        for garbage in ["high", "", "1.5", "--1", "+", "0x10", "١"] {
            assert_eq!(
                presence(&format!(
                    "<presence><priority>{garbage}</priority></presence>"
                )),
                Err(StanzaParseError::InvalidPriority {
                    value: garbage.into()
                }),
                "{garbage:?}"
            );
        }
        assert!(matches!(
            presence("<presence><show>dnd</show><show>xa</show></presence>"),
            Err(StanzaParseError::DuplicateChild {
                child: "<show/>",
                ..
            })
        ));
        assert!(matches!(
            presence("<presence><priority>1</priority><priority>2</priority></presence>"),
            Err(StanzaParseError::DuplicateChild {
                child: "<priority/>",
                ..
            })
        ));
        assert!(matches!(
            presence("<presence from='@example.com'/>"),
            Err(StanzaParseError::InvalidJid { attr: "from", .. })
        ));
    }

    #[test]
    fn priority_is_clamped_and_trimmed() {
        for (text, expected) in [
            ("0", 0),
            (" 5 ", 5),
            ("+7", 7),
            ("-128", -128),
            ("127", 127),
            ("128", 127),
            ("-129", -128),
            ("99999999999999999999999999", 127),
            ("-99999999999999999999999999", -128),
        ] {
            let p = presence(&format!("<presence><priority>{text}</priority></presence>")).unwrap();
            assert_eq!(p.priority, expected, "{text:?}");
        }
        assert_eq!(presence("<presence/>").unwrap().priority, 0);
    }

    #[test]
    fn builders() {
        let p = Presence::available()
            .with_show(Show::Away)
            .with_status("lunch")
            .with_priority(-1);
        assert_eq!(
            p.to_element().to_xml(),
            "<presence xmlns='jabber:client'><show>away</show><status>lunch</status>\
             <priority>-1</priority></presence>"
        );
        assert_eq!(
            Presence::unavailable().to_element().to_xml(),
            "<presence xmlns='jabber:client' type='unavailable'/>"
        );
        let to: Jid = "juliet@example.com".parse().unwrap();
        let s = Presence::subscribe(to.clone());
        assert_eq!(
            (s.type_, s.to.as_ref()),
            (PresenceType::Subscribe, Some(&to))
        );
        assert_eq!(
            Presence::subscribed(to.clone()).type_,
            PresenceType::Subscribed
        );
        assert_eq!(
            Presence::unsubscribe(to.clone()).type_,
            PresenceType::Unsubscribe
        );
        assert_eq!(Presence::unsubscribed(to).type_, PresenceType::Unsubscribed);
    }
}
