//! Typed stanzas: the three kinds of top-level element an XMPP stream
//! carries (RFC 6120 §8: `<message/>`, `<presence/>` and `<iq/>`, with the
//! common attributes of §8.1 and the stanza errors of §8.3) and their
//! instant-messaging semantics (RFC 6121 §4 presence, §5 messages).
//!
//! Parsing takes an [`Element`] from the XML layer and never panics: every
//! malformed input gives a [`StanzaParseError`] that names what was wrong.
//! Addresses are parsed and normalized by the [`jid`] crate (nodeprep,
//! nameprep/IDNA, resourceprep; 1023-byte limits per part), so two
//! spellings of one address compare equal.
//!
//! Everything a type does not model is kept: unknown child elements stay in
//! `payloads` (the escape hatch for extensions), so a stanza converted back
//! with [`Stanza::to_element`] loses no extension data. Serialization is
//! canonical rather than byte-preserving: attributes come out in the order
//! `from`, `to`, `id`, `type`, `xml:lang`; modelled children (body, subject,
//! thread, show, status, priority, error) come before `payloads`; defaults
//! (`type='normal'`, priority 0) are omitted; and unknown attributes on the
//! stanza element itself are not kept.
//!
//! ```
//! use xmpp_proto::stanza::{Jid, Message, Stanza};
//!
//! let to: Jid = "Juliet@Example.com".parse().unwrap();
//! let msg = Message::chat(to, "Art thou not Romeo?").with_id("m1");
//! let element = msg.to_element();
//! assert_eq!(element.attr("to"), Some("juliet@example.com"));
//! let Stanza::Message(back) = Stanza::parse(element).unwrap() else { panic!() };
//! assert_eq!(back.body.as_deref(), Some("Art thou not Romeo?"));
//! ```

mod error;
mod iq;
mod jids;
mod message;
mod presence;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use error::{DefinedCondition, ErrorType, StanzaError, NS_STANZAS};
pub use iq::{Iq, IqPayload, IqType};
pub use jid::{BareJid, FullJid, Jid};
pub use message::{Message, MessageType, Thread};
pub use presence::{Presence, PresenceType, Show};

pub(crate) use jids::{JidCache, JidSource};

use crate::xml::{Element, Node, NS_XML};

/// The content namespace of client-to-server streams (RFC 6120 §4.8.2).
pub const NS_CLIENT: &str = "jabber:client";

/// Why a string is not a valid JID: the `jid` crate's error, made cloneable.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct JidError(pub jid::Error);

impl Clone for JidError {
    fn clone(&self) -> Self {
        use jid::Error as E;
        JidError(match self.0 {
            E::NodeEmpty => E::NodeEmpty,
            E::ResourceEmpty => E::ResourceEmpty,
            E::NodeTooLong => E::NodeTooLong,
            E::ResourceTooLong => E::ResourceTooLong,
            E::NodePrep => E::NodePrep,
            E::NamePrep => E::NamePrep,
            E::ResourcePrep => E::ResourcePrep,
            E::ResourceMissingInFullJid => E::ResourceMissingInFullJid,
            E::ResourceInBareJid => E::ResourceInBareJid,
            E::TooManyAts => E::TooManyAts,
            E::Idna => E::Idna,
        })
    }
}

/// Why an element is not a valid stanza (or stanza error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StanzaParseError {
    /// The element is not the kind of stanza that was asked for.
    #[error(
        "expected {expected} in namespace 'jabber:client', found <{local}/> in namespace {ns:?}"
    )]
    UnexpectedElement {
        /// What was expected (`"message"`, `"message, presence or iq"`, ...).
        expected: &'static str,
        /// The namespace found.
        ns: String,
        /// The local name found.
        local: String,
    },
    /// A `from`, `to` (stanza) or `by` (error) attribute is not a valid JID.
    #[error("invalid JID in the '{attr}' attribute {value:?}: {reason}")]
    InvalidJid {
        /// The attribute name.
        attr: &'static str,
        /// The attribute's value as received.
        value: String,
        /// What the JID parser refused.
        reason: JidError,
    },
    /// A required attribute is missing (the `id` or `type` of an IQ, the
    /// `type` of an error).
    #[error("<{element}/> lacks the required '{attr}' attribute")]
    MissingAttribute {
        /// The element (`"iq"`, `"error"`).
        element: &'static str,
        /// The missing attribute.
        attr: &'static str,
    },
    /// The `type` attribute has a value not defined for this element.
    #[error("<{element}/> has an unknown type {value:?}")]
    UnknownType {
        /// The element (`"message"`, `"presence"`, `"iq"`, `"error"`).
        element: &'static str,
        /// The value received.
        value: String,
    },
    /// An IQ has the wrong number of payload child elements (RFC 6120
    /// §8.2.3: get/set exactly one, result at most one, error at most one
    /// besides `<error/>`).
    #[error("<iq type='{type_}'/> must have {} payload element, found {found}", type_.payload_rule())]
    IqChildCount {
        /// The IQ's type.
        type_: IqType,
        /// How many payload child elements it had.
        found: usize,
    },
    /// A required child element is missing.
    #[error("<{element}/> lacks the required {child} child element")]
    MissingChild {
        /// The parent element.
        element: &'static str,
        /// The missing child (`"<error/>"`, `"defined condition"`).
        child: &'static str,
    },
    /// A child that may appear once (per language, where it has one)
    /// appears twice.
    #[error("<{element}/> has more than one {child} child{}", lang.as_deref().map(|l| format!(" with xml:lang {l:?}")).unwrap_or_default())]
    DuplicateChild {
        /// The parent element.
        element: &'static str,
        /// The repeated child.
        child: &'static str,
        /// The language shared by the duplicates, where the child has one.
        lang: Option<String>,
    },
    /// `<show/>` holds something other than away, chat, dnd or xa.
    #[error("presence <show/> has an unknown value {value:?} (expected away, chat, dnd or xa)")]
    InvalidShow {
        /// The value received.
        value: String,
    },
    /// `<priority/>` is not an integer.
    #[error("presence <priority/> {value:?} is not an integer")]
    InvalidPriority {
        /// The value received.
        value: String,
    },
}

/// Any stanza: a message, a presence or an IQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stanza {
    /// A `<message/>` (RFC 6121 §5).
    Message(Message),
    /// A `<presence/>` (RFC 6121 §4).
    Presence(Presence),
    /// An `<iq/>` (RFC 6120 §8.2.3).
    Iq(Iq),
}

impl Stanza {
    /// Parses a top-level element of a `jabber:client` stream.
    pub fn parse(element: Element) -> Result<Stanza, StanzaParseError> {
        if element.ns() == NS_CLIENT {
            match element.local_name() {
                "message" => return Message::try_from(element).map(Stanza::Message),
                "presence" => return Presence::try_from(element).map(Stanza::Presence),
                "iq" => return Iq::try_from(element).map(Stanza::Iq),
                _ => {}
            }
        }
        Err(unexpected(&element, "message, presence or iq"))
    }

    /// Parses a received stanza as [`Stanza::parse`] does, except that a
    /// message keeps the first of two bodies (or subjects) in one language
    /// ([`Message::parse_lenient`]); what was dropped is returned.
    pub fn parse_lenient(
        element: Element,
    ) -> Result<(Stanza, Vec<StanzaParseError>), StanzaParseError> {
        let mut dropped = Vec::new();
        let stanza = Stanza::parse_received(element, &mut JidSource::default(), &mut dropped)?;
        Ok((stanza, dropped))
    }

    /// [`Stanza::parse_lenient`], with the addresses parsed through `jids`
    /// (a connection's cache: the same result, less work) and what was
    /// dropped added to `dropped`.
    pub(crate) fn parse_received(
        element: Element,
        jids: &mut JidSource<'_>,
        dropped: &mut Vec<StanzaParseError>,
    ) -> Result<Stanza, StanzaParseError> {
        if element.ns() == NS_CLIENT {
            match element.local_name() {
                "message" => {
                    return message::parse(element, Some(dropped), jids).map(Stanza::Message)
                }
                "presence" => return Presence::parse_with(element, jids).map(Stanza::Presence),
                "iq" => return Iq::parse_with(element, jids).map(Stanza::Iq),
                _ => {}
            }
        }
        Err(unexpected(&element, "message, presence or iq"))
    }

    /// The stanza as an element in the `jabber:client` namespace.
    pub fn to_element(&self) -> Element {
        self.clone().into()
    }

    /// The sender's address, if the stanza carries one.
    pub fn from(&self) -> Option<&Jid> {
        match self {
            Stanza::Message(m) => m.from.as_ref(),
            Stanza::Presence(p) => p.from.as_ref(),
            Stanza::Iq(i) => i.from.as_ref(),
        }
    }

    /// The recipient's address, if the stanza carries one.
    pub fn to(&self) -> Option<&Jid> {
        match self {
            Stanza::Message(m) => m.to.as_ref(),
            Stanza::Presence(p) => p.to.as_ref(),
            Stanza::Iq(i) => i.to.as_ref(),
        }
    }

    /// The stanza's `id` (always present on an IQ).
    pub fn id(&self) -> Option<&str> {
        match self {
            Stanza::Message(m) => m.id.as_deref(),
            Stanza::Presence(p) => p.id.as_deref(),
            Stanza::Iq(i) => Some(&i.id),
        }
    }
}

impl TryFrom<Element> for Stanza {
    type Error = StanzaParseError;

    fn try_from(element: Element) -> Result<Self, Self::Error> {
        Stanza::parse(element)
    }
}

impl From<Stanza> for Element {
    fn from(stanza: Stanza) -> Element {
        match stanza {
            Stanza::Message(m) => m.into(),
            Stanza::Presence(p) => p.into(),
            Stanza::Iq(i) => i.into(),
        }
    }
}

impl From<Message> for Stanza {
    fn from(m: Message) -> Self {
        Stanza::Message(m)
    }
}

impl From<Presence> for Stanza {
    fn from(p: Presence) -> Self {
        Stanza::Presence(p)
    }
}

impl From<Iq> for Stanza {
    fn from(i: Iq) -> Self {
        Stanza::Iq(i)
    }
}

// ---- helpers shared by the stanza types ----

/// The error for an element that is not `expected`.
pub(crate) fn unexpected(element: &Element, expected: &'static str) -> StanzaParseError {
    StanzaParseError::UnexpectedElement {
        expected,
        ns: element.ns().to_string(),
        local: element.local_name().to_string(),
    }
}

/// Checks that `element` is `local` in `jabber:client`.
pub(crate) fn expect_client(
    element: &Element,
    local: &'static str,
) -> Result<(), StanzaParseError> {
    if element.is(NS_CLIENT, local) {
        Ok(())
    } else {
        Err(unexpected(element, local))
    }
}

/// Parses the optional JID attribute `attr`.
pub(crate) fn jid_attr(
    element: &Element,
    attr: &'static str,
    jids: &mut JidSource<'_>,
) -> Result<Option<Jid>, StanzaParseError> {
    match element.attr(attr) {
        None => Ok(None),
        Some(value) => jids
            .parse(value)
            .map(Some)
            .map_err(|e| StanzaParseError::InvalidJid {
                attr,
                value: value.to_string(),
                reason: JidError(e),
            }),
    }
}

/// The element's own `xml:lang` attribute (not an inherited one).
pub(crate) fn own_lang(element: &Element) -> Option<String> {
    element.attr_ns(NS_XML, "lang").map(str::to_string)
}

/// The attributes common to all stanzas (RFC 6120 §8.1).
pub(crate) struct CommonAttrs {
    pub(crate) from: Option<Jid>,
    pub(crate) to: Option<Jid>,
    pub(crate) id: Option<String>,
    pub(crate) lang: Option<String>,
}

impl CommonAttrs {
    /// Reads `from`, `to`, `id` and the element's own `xml:lang`.
    pub(crate) fn parse(
        element: &Element,
        jids: &mut JidSource<'_>,
    ) -> Result<Self, StanzaParseError> {
        Ok(CommonAttrs {
            from: jid_attr(element, "from", jids)?,
            to: jid_attr(element, "to", jids)?,
            id: element.attr("id").map(str::to_string),
            lang: own_lang(element),
        })
    }
}

/// Starts a stanza element with its common attributes, in canonical order.
pub(crate) fn stanza_element(
    local: &'static str,
    from: Option<&Jid>,
    to: Option<&Jid>,
    id: Option<&str>,
    type_: Option<&'static str>,
    lang: Option<&str>,
) -> Element {
    let mut e = Element::new(NS_CLIENT, local);
    if let Some(from) = from {
        e.set_attr("from", from.as_str());
    }
    if let Some(to) = to {
        e.set_attr("to", to.as_str());
    }
    if let Some(id) = id {
        e.set_attr("id", id);
    }
    if let Some(t) = type_ {
        e.set_attr("type", t);
    }
    if let Some(lang) = lang {
        e.set_attr_ns(NS_XML, "lang", lang);
    }
    e
}

/// Texts in several languages (RFC 6121 §5.2.3, §4.7.2.2): the primary one,
/// in the stanza's own language, and alternatives keyed by `xml:lang`.
pub(crate) struct LangTexts<'a> {
    pub(crate) primary: &'a mut Option<String>,
    pub(crate) alternatives: &'a mut BTreeMap<String, String>,
}

impl LangTexts<'_> {
    /// Files `child`'s text: primary when it has no `xml:lang` or one equal
    /// (case-insensitively, as language tags are) to `stanza_lang`, the
    /// stanza's effective language; otherwise under its language. Two texts
    /// in one language are a [`StanzaParseError::DuplicateChild`].
    pub(crate) fn add(
        &mut self,
        mut child: Element,
        stanza_lang: Option<&str>,
        element: &'static str,
        name: &'static str,
    ) -> Result<(), StanzaParseError> {
        let text = take_text(&mut child);
        let lang = child.attr_ns(NS_XML, "lang");
        let is_primary = match (lang, stanza_lang) {
            (None, _) => true,
            (Some(l), Some(s)) => l.eq_ignore_ascii_case(s),
            (Some(_), None) => false,
        };
        let duplicate = || StanzaParseError::DuplicateChild {
            element,
            child: name,
            lang: lang.or(stanza_lang).map(str::to_string),
        };
        if is_primary {
            if self.primary.is_some() {
                return Err(duplicate());
            }
            *self.primary = Some(text);
        } else if let Some(l) = lang {
            if self.alternatives.keys().any(|k| k.eq_ignore_ascii_case(l)) {
                return Err(duplicate());
            }
            self.alternatives.insert(l.to_string(), text);
        }
        Ok(())
    }
}

/// Moves the element's direct text out (all its text nodes, concatenated:
/// what [`Element::text`] returns). A single run that the reader unescaped
/// into a buffer of its own becomes the `String` without a copy; a slice of
/// the shared receive buffer is copied once (a `String` must not keep that
/// buffer alive).
pub(crate) fn take_text(element: &mut Element) -> String {
    let nodes = element.nodes_mut();
    let mut texts = nodes.iter_mut().filter_map(|n| match n {
        Node::Text(t) => Some(t),
        Node::Element(_) => None,
    });
    let Some(first) = texts.next() else {
        return String::new();
    };
    let mut text = String::from(std::mem::take(first));
    for t in texts {
        text.push_str(t);
    }
    text
}

/// Appends `<name>primary</name>` then one `<name xml:lang='..'>` per
/// alternative to `parent`.
pub(crate) fn push_lang_texts(
    parent: &mut Element,
    name: &'static str,
    primary: Option<&str>,
    alternatives: &BTreeMap<String, String>,
) {
    if let Some(text) = primary {
        parent.push_child(Element::new(NS_CLIENT, name).with_text(text));
    }
    for (lang, text) in alternatives {
        let mut child = Element::new(NS_CLIENT, name).with_text(text.as_str());
        child.set_attr_ns(NS_XML, "lang", lang.as_str());
        parent.push_child(child);
    }
}

/// The text for `lang` among a primary text (in `stanza_lang`) and its
/// alternatives.
pub(crate) fn text_in<'a>(
    lang: &str,
    stanza_lang: Option<&str>,
    primary: Option<&'a str>,
    alternatives: &'a BTreeMap<String, String>,
) -> Option<&'a str> {
    if stanza_lang.is_some_and(|s| s.eq_ignore_ascii_case(lang)) {
        if let Some(p) = primary {
            return Some(p);
        }
    }
    alternatives
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(lang))
        .map(|(_, v)| v.as_str())
}
