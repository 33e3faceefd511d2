//! Message stanzas: RFC 6120 §8.2.1 (the push semantics) and RFC 6121 §5
//! (types §5.2.2, `<body/>` §5.2.3, `<subject/>` §5.2.4, `<thread/>`
//! §5.2.5, with the `xml:lang` rules of RFC 6120 §8.1.5).

use std::collections::BTreeMap;
use std::fmt;

use super::{
    expect_client, push_lang_texts, stanza_element, take_text, text_in, CommonAttrs, Jid,
    JidSource, LangTexts, StanzaError, StanzaParseError, NS_CLIENT,
};
use crate::xml::{Element, Node};

/// The `type` of a message (RFC 6121 §5.2.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// One-to-one conversation.
    Chat,
    /// An error bounced back for a message this entity sent.
    Error,
    /// Multi-user chat.
    Groupchat,
    /// An alert or notification that expects no reply.
    Headline,
    /// A standalone message; the meaning of a missing `type` attribute.
    #[default]
    Normal,
}

impl MessageType {
    /// The value of the `type` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Chat => "chat",
            MessageType::Error => "error",
            MessageType::Groupchat => "groupchat",
            MessageType::Headline => "headline",
            MessageType::Normal => "normal",
        }
    }

    /// The type for a `type` attribute value, if it is a defined one.
    pub fn from_attr(value: &str) -> Option<Self> {
        Some(match value {
            "chat" => MessageType::Chat,
            "error" => MessageType::Error,
            "groupchat" => MessageType::Groupchat,
            "headline" => MessageType::Headline,
            "normal" => MessageType::Normal,
            _ => return None,
        })
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A conversation thread (RFC 6121 §5.2.5).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Thread {
    /// The thread identifier (the element's text).
    pub id: String,
    /// The parent thread, when this one was spawned from it.
    pub parent: Option<String>,
}

impl Thread {
    /// A thread without a parent.
    pub fn new(id: impl Into<String>) -> Self {
        Thread {
            id: id.into(),
            parent: None,
        }
    }
}

/// A `<message/>` stanza.
///
/// The primary [`body`](Message::body) is the one in the message's own
/// language: without `xml:lang`, or with the language in effect for the
/// message (its own `xml:lang` or the one inherited from the stream).
/// Bodies in other languages are in [`bodies`](Message::bodies); the same
/// holds for subjects. Keep `bodies`/`subjects` free of the message's own
/// language, or they read back as the primary text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// The sender (stamped by the server on received stanzas).
    pub from: Option<Jid>,
    /// The recipient.
    pub to: Option<Jid>,
    /// The stanza id.
    pub id: Option<String>,
    /// The message type (`normal` when the attribute is absent).
    pub type_: MessageType,
    /// The message's own `xml:lang` attribute.
    pub lang: Option<String>,
    /// The body in the message's language.
    pub body: Option<String>,
    /// Bodies in other languages, by `xml:lang`.
    pub bodies: BTreeMap<String, String>,
    /// The subject in the message's language.
    pub subject: Option<String>,
    /// Subjects in other languages, by `xml:lang`.
    pub subjects: BTreeMap<String, String>,
    /// The conversation thread.
    pub thread: Option<Thread>,
    /// The `<error/>` child (expected when `type_` is `Error`).
    pub error: Option<StanzaError>,
    /// Every other child element, as received (extensions).
    pub payloads: Vec<Element>,
}

impl Message {
    /// An empty message of the given type.
    pub fn new(type_: MessageType) -> Self {
        Message {
            type_,
            ..Message::default()
        }
    }

    /// A `chat` message with a body, for one-to-one conversations.
    pub fn chat(to: impl Into<Jid>, body: impl Into<String>) -> Self {
        Message::new(MessageType::Chat).with_to(to).with_body(body)
    }

    /// A `groupchat` message with a body, for a multi-user chat room.
    pub fn groupchat(to: impl Into<Jid>, body: impl Into<String>) -> Self {
        Message::new(MessageType::Groupchat)
            .with_to(to)
            .with_body(body)
    }

    /// A `normal` message with a body.
    pub fn normal(to: impl Into<Jid>, body: impl Into<String>) -> Self {
        Message::new(MessageType::Normal)
            .with_to(to)
            .with_body(body)
    }

    /// A reply to this message: addressed to its sender (to the room's bare
    /// JID for a groupchat message), same type and thread, with `body`.
    pub fn reply(&self, body: impl Into<String>) -> Message {
        let to = match self.type_ {
            MessageType::Groupchat => self.from.as_ref().map(|j| Jid::from(j.to_bare())),
            _ => self.from.clone(),
        };
        let type_ = match self.type_ {
            MessageType::Groupchat => MessageType::Groupchat,
            MessageType::Chat => MessageType::Chat,
            _ => MessageType::Normal,
        };
        Message {
            to,
            type_,
            body: Some(body.into()),
            thread: self.thread.clone(),
            ..Message::default()
        }
    }

    /// Builder: sets the recipient.
    pub fn with_to(mut self, to: impl Into<Jid>) -> Self {
        self.to = Some(to.into());
        self
    }

    /// Builder: sets the sender.
    pub fn with_from(mut self, from: impl Into<Jid>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Builder: sets the stanza id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Builder: sets the message's `xml:lang`.
    pub fn with_lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// Builder: sets the primary body.
    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Builder: adds a body in another language.
    pub fn with_body_in(mut self, lang: impl Into<String>, body: impl Into<String>) -> Self {
        self.bodies.insert(lang.into(), body.into());
        self
    }

    /// Builder: sets the primary subject.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Builder: sets the thread.
    pub fn with_thread(mut self, thread: Thread) -> Self {
        self.thread = Some(thread);
        self
    }

    /// Builder: appends an extension element.
    pub fn with_payload(mut self, payload: Element) -> Self {
        self.payloads.push(payload);
        self
    }

    /// The body in language `lang`, if there is one.
    pub fn body_in(&self, lang: &str) -> Option<&str> {
        text_in(
            lang,
            self.lang.as_deref(),
            self.body.as_deref(),
            &self.bodies,
        )
    }

    /// The first payload named `local` in namespace `ns`.
    pub fn payload(&self, ns: &str, local: &str) -> Option<&Element> {
        self.payloads.iter().find(|p| p.is(ns, local))
    }

    /// The message as an element in `jabber:client`.
    pub fn to_element(&self) -> Element {
        self.clone().into()
    }
}

impl TryFrom<Element> for Message {
    type Error = StanzaParseError;

    /// Strict: two bodies (or subjects) in one language are an error.
    fn try_from(element: Element) -> Result<Self, StanzaParseError> {
        parse(element, None, &mut JidSource::default())
    }
}

impl Message {
    /// Parses a received message, forgiving one thing RFC 6121 §5.2.3
    /// forbids but a message can do without: a second `<body/>` (or
    /// `<subject/>`) in a language that already has one is dropped, the
    /// first kept, and each dropped one returned as the error it would
    /// have been. Anything else wrong is still an error.
    pub fn parse_lenient(
        element: Element,
    ) -> Result<(Message, Vec<StanzaParseError>), StanzaParseError> {
        let mut dropped = Vec::new();
        let m = parse(element, Some(&mut dropped), &mut JidSource::default())?;
        Ok((m, dropped))
    }
}

/// Parses a message; with `dropped` (lenient), duplicate bodies and
/// subjects are dropped (the first kept) and added there instead of failing
/// the message.
pub(super) fn parse(
    mut element: Element,
    mut dropped: Option<&mut Vec<StanzaParseError>>,
    jids: &mut JidSource<'_>,
) -> Result<Message, StanzaParseError> {
    expect_client(&element, "message")?;
    let common = CommonAttrs::parse(&element, jids)?;
    let type_ = match element.attr("type") {
        None => MessageType::Normal,
        Some(t) => MessageType::from_attr(t).ok_or_else(|| StanzaParseError::UnknownType {
            element: "message",
            value: t.to_string(),
        })?,
    };
    let nodes = std::mem::take(element.nodes_mut());
    // The language in effect, including one inherited from the stream
    // (borrowed: the element's attributes and language stay where they are).
    let effective_lang = element.lang();
    let mut m = Message {
        from: common.from,
        to: common.to,
        id: common.id,
        type_,
        lang: common.lang,
        ..Message::default()
    };
    let mut keep_first = |added: Result<(), StanzaParseError>| match (added, &mut dropped) {
        (Err(e @ StanzaParseError::DuplicateChild { .. }), Some(dropped)) => {
            dropped.push(e);
            Ok(())
        }
        (other, _) => other,
    };
    // The modelled children fill `m`; everything else is a payload. The
    // payloads are collected into the children's own vector (same element
    // size: the standard library reuses the allocation).
    let mut failed = None;
    let mut child_of = |node: Node| -> Result<Option<Element>, StanzaParseError> {
        let Node::Element(mut child) = node else {
            return Ok(None);
        };
        if child.ns() != NS_CLIENT {
            return Ok(Some(child));
        }
        match child.local_name() {
            "body" => keep_first(
                LangTexts {
                    primary: &mut m.body,
                    alternatives: &mut m.bodies,
                }
                .add(child, effective_lang, "message", "<body/>"),
            )?,
            "subject" => keep_first(
                LangTexts {
                    primary: &mut m.subject,
                    alternatives: &mut m.subjects,
                }
                .add(child, effective_lang, "message", "<subject/>"),
            )?,
            "thread" => {
                if m.thread.is_some() {
                    return Err(duplicate("<thread/>"));
                }
                m.thread = Some(Thread {
                    id: take_text(&mut child),
                    parent: child.attr("parent").map(str::to_string),
                });
            }
            "error" => {
                if m.error.is_some() {
                    return Err(duplicate("<error/>"));
                }
                m.error = Some(StanzaError::try_from(child)?);
            }
            _ => return Ok(Some(child)),
        }
        Ok(None)
    };
    let payloads: Vec<Element> = nodes
        .into_iter()
        .filter_map(|node| {
            if failed.is_some() {
                return None;
            }
            child_of(node).unwrap_or_else(|e| {
                failed = Some(e);
                None
            })
        })
        .collect();
    if let Some(e) = failed {
        return Err(e);
    }
    // Without payloads, the vector would only hold the children's memory.
    if !payloads.is_empty() {
        m.payloads = payloads;
    }
    Ok(m)
}

fn duplicate(child: &'static str) -> StanzaParseError {
    StanzaParseError::DuplicateChild {
        element: "message",
        child,
        lang: None,
    }
}

impl From<Message> for Element {
    fn from(m: Message) -> Element {
        let type_ = (m.type_ != MessageType::Normal).then(|| m.type_.as_str());
        let mut e = stanza_element(
            "message",
            m.from.as_ref(),
            m.to.as_ref(),
            m.id.as_deref(),
            type_,
            m.lang.as_deref(),
        );
        push_lang_texts(&mut e, "subject", m.subject.as_deref(), &m.subjects);
        push_lang_texts(&mut e, "body", m.body.as_deref(), &m.bodies);
        if let Some(thread) = m.thread {
            let mut t = Element::new(NS_CLIENT, "thread").with_text(thread.id);
            if let Some(parent) = thread.parent {
                t.set_attr("parent", parent);
            }
            e.push_child(t);
        }
        if let Some(error) = m.error {
            e.push_child(error.into());
        }
        for p in m.payloads {
            e.push_child(p);
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stanza::tests::{parse_in_stream, parse_xml, roundtrip};
    use crate::stanza::{DefinedCondition, ErrorType, Stanza};

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn message(xml: &str) -> Result<Message, StanzaParseError> {
        Message::try_from(parse_xml(xml))
    }

    #[test]
    fn rfc6121_chat_with_thread() {
        // RFC 6121 §5.2.5 (Example: thread).
        let m = message(
            "<message from='juliet@example.com/balcony' id='ktx72v49' \
             to='romeo@example.net' type='chat' xml:lang='en'>\
             <body>Art thou not Romeo, and a Montague?</body>\
             <thread parent='e0ffe42b28561960c6b12b944a092794b9683a38'>\
             0e3141cd80894871a68e6fe6b1ec56fa</thread></message>",
        )
        .unwrap();
        assert_eq!(m.from, Some(jid("juliet@example.com/balcony")));
        assert_eq!(m.to, Some(jid("romeo@example.net")));
        assert_eq!(m.id.as_deref(), Some("ktx72v49"));
        assert_eq!(m.type_, MessageType::Chat);
        assert_eq!(m.lang.as_deref(), Some("en"));
        assert_eq!(
            m.body.as_deref(),
            Some("Art thou not Romeo, and a Montague?")
        );
        let t = m.thread.as_ref().unwrap();
        assert_eq!(t.id, "0e3141cd80894871a68e6fe6b1ec56fa");
        assert_eq!(
            t.parent.as_deref(),
            Some("e0ffe42b28561960c6b12b944a092794b9683a38")
        );
        assert!(m.payloads.is_empty());
        roundtrip(Stanza::Message(m));
    }

    #[test]
    fn rfc6121_bodies_and_subjects_in_several_languages() {
        // RFC 6121 §5.2.3 and §5.2.4 examples.
        let m = message(
            "<message from='juliet@example.com/balcony' id='z94nb37h' \
             to='romeo@example.net' type='chat' xml:lang='en'>\
             <subject>I implore you!</subject>\
             <subject xml:lang='cs'>&#x00DA;p&#x011B;nliv&#x011B; pros&#x00ED;m!</subject>\
             <body>Wherefore art thou, Romeo?</body>\
             <body xml:lang='cs'>Pro&#x010D;e&#x017D; jsi ty, Romeo?</body>\
             </message>",
        )
        .unwrap();
        assert_eq!(m.body.as_deref(), Some("Wherefore art thou, Romeo?"));
        assert_eq!(
            m.bodies.get("cs").map(String::as_str),
            Some("PročeŽ jsi ty, Romeo?")
        );
        assert_eq!(m.subject.as_deref(), Some("I implore you!"));
        assert_eq!(
            m.subjects.get("cs").map(String::as_str),
            Some("Úpěnlivě prosím!")
        );
        assert_eq!(m.body_in("EN"), Some("Wherefore art thou, Romeo?"));
        assert_eq!(m.body_in("cs"), Some("PročeŽ jsi ty, Romeo?"));
        assert_eq!(m.body_in("de"), None);
        roundtrip(Stanza::Message(m));
    }

    #[test]
    fn primary_body_follows_the_inherited_stream_language() {
        // The stream says xml:lang='en'; a body marked 'en' is the primary one.
        let el = parse_in_stream(
            "<message to='romeo@example.net'><body xml:lang='de'>Hallo</body>\
             <body xml:lang='en'>Hello</body></message>",
        );
        let m = Message::try_from(el).unwrap();
        assert_eq!(m.body.as_deref(), Some("Hello"));
        assert_eq!(m.bodies.get("de").map(String::as_str), Some("Hallo"));
        assert_eq!(m.lang, None);
    }

    #[test]
    fn texts_are_all_the_direct_text_of_their_element() {
        let m = message(
            "<message><body>a &amp; <x xmlns='urn:x'>not this</x>b<![CDATA[<c>]]></body>\
             <subject>&#x1F600;</subject><thread>t<y xmlns='urn:y'/>1</thread></message>",
        )
        .unwrap();
        assert_eq!(m.body.as_deref(), Some("a & b<c>"));
        assert_eq!(m.subject.as_deref(), Some("\u{1F600}"));
        assert_eq!(m.thread, Some(Thread::new("t1")));
        let m = message("<message><body/><subject></subject></message>").unwrap();
        assert_eq!(m.body.as_deref(), Some(""));
        assert_eq!(m.subject.as_deref(), Some(""));
    }

    #[test]
    fn payloads_keep_their_order_among_modelled_children() {
        let m = message(
            "<message><a xmlns='urn:x'/><body>hi</body><b xmlns='urn:x'/>text\
             <thread>t</thread><c xmlns='urn:x'/></message>",
        )
        .unwrap();
        let names: Vec<&str> = m.payloads.iter().map(|p| p.local_name()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let m = message("<message><body>hi</body></message>").unwrap();
        assert!(m.payloads.is_empty());
        // An error after payloads still fails the message.
        assert!(message(
            "<message><a xmlns='urn:x'/><thread>1</thread><b xmlns='urn:x'/><thread>2</thread></message>"
        )
        .is_err());
    }

    #[test]
    fn type_defaults_to_normal_and_unknown_types_are_refused() {
        let m = message("<message to='romeo@example.net'><body>hi</body></message>").unwrap();
        assert_eq!(m.type_, MessageType::Normal);
        assert_eq!(m.to_element().attr("type"), None);
        assert_eq!(
            message("<message type='shout'/>"),
            Err(StanzaParseError::UnknownType {
                element: "message",
                value: "shout".into()
            })
        );
        assert!(message("<message type='CHAT'/>").is_err());
    }

    #[test]
    fn a_received_message_keeps_the_first_of_two_bodies_in_one_language() {
        let parse = |xml: &str| {
            let e = parse_xml(xml);
            Message::parse_lenient(e)
        };
        let (m, dropped) = parse(
            "<message xml:lang='en'><body>first</body><body xml:lang='EN'>second</body>\
                   <body xml:lang='de'>erste</body><body xml:lang='de'>zweite</body>\
                   <subject>s1</subject><subject>s2</subject></message>",
        )
        .expect("delivered");
        assert_eq!(m.body.as_deref(), Some("first"));
        assert_eq!(m.bodies.get("de").map(String::as_str), Some("erste"));
        assert_eq!(m.subject.as_deref(), Some("s1"));
        assert_eq!(dropped.len(), 3, "{dropped:?}");
        assert!(dropped
            .iter()
            .all(|e| matches!(e, StanzaParseError::DuplicateChild { .. })));
        // Anything else wrong still fails the message.
        assert!(
            parse("<message><body>a</body><thread>1</thread><thread>2</thread></message>").is_err()
        );
        // Strict parsing is unchanged.
        let strict =
            Message::try_from(parse_xml("<message><body>a</body><body>b</body></message>"));
        assert!(strict.is_err());
    }

    #[test]
    fn duplicates_are_refused() {
        let dup = |xml| match message(xml) {
            Err(StanzaParseError::DuplicateChild { child, lang, .. }) => (child, lang),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            dup("<message><body>a</body><body>b</body></message>"),
            ("<body/>", None)
        );
        assert_eq!(
            dup("<message xml:lang='en'><body>a</body><body xml:lang='EN'>b</body></message>"),
            ("<body/>", Some("EN".into()))
        );
        assert_eq!(
            dup("<message><body xml:lang='de'>a</body><body xml:lang='de'>b</body></message>"),
            ("<body/>", Some("de".into()))
        );
        assert_eq!(
            dup("<message><thread>a</thread><thread>b</thread></message>"),
            ("<thread/>", None)
        );
    }

    #[test]
    fn unknown_children_are_kept_as_payloads() {
        let m = message(
            "<message to='romeo@example.net' type='chat'><body>hi</body>\
             <active xmlns='http://jabber.org/protocol/chatstates'/>\
             <body xmlns='urn:example:other'>not a body</body></message>",
        )
        .unwrap();
        assert_eq!(m.payloads.len(), 2);
        assert!(m
            .payload("http://jabber.org/protocol/chatstates", "active")
            .is_some());
        assert_eq!(m.body.as_deref(), Some("hi"));
        roundtrip(Stanza::Message(m));
    }

    #[test]
    fn error_message() {
        // RFC 6120 §8.3.3.19-style bounce.
        let m = message(
            "<message from='romeo@example.net' to='juliet@example.com/balcony' \
             type='error' id='b4vs9km4'><body>Hi</body>\
             <error type='cancel'><service-unavailable \
             xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
        )
        .unwrap();
        assert_eq!(m.type_, MessageType::Error);
        let e = m.error.as_ref().unwrap();
        assert_eq!(e.type_, ErrorType::Cancel);
        assert_eq!(e.condition, DefinedCondition::ServiceUnavailable);
        roundtrip(Stanza::Message(m));
    }

    #[test]
    fn hostile_addresses() {
        let long = "a".repeat(1024);
        for (attr, value) in [
            ("from", "a@b@c".to_string()),
            ("to", "@example.com".to_string()),
            ("to", format!("{long}@example.com")),
            ("from", format!("juliet@example.com/{long}")),
            ("to", "example.com/".to_string()),
            ("to", String::new()),
        ] {
            let xml = format!("<message {attr}='{value}'><body>x</body></message>");
            match message(&xml) {
                Err(StanzaParseError::InvalidJid {
                    attr: a, value: v, ..
                }) => {
                    assert_eq!((a, v.as_str()), (attr, value.as_str()));
                }
                other => panic!("{value:?}: {other:?}"),
            }
        }
        // Exactly 1023 bytes is fine.
        let ok = format!("<message to='{}@example.com'/>", "a".repeat(1023));
        assert!(message(&ok).is_ok());
    }

    #[test]
    fn jids_are_normalized() {
        let m = message("<message from='Juliet@EXAMPLE.com/Balcony'/>").unwrap();
        assert_eq!(m.from, Some(jid("juliet@example.com/Balcony")));
    }

    #[test]
    fn builders() {
        let m = Message::chat(jid("romeo@example.net"), "hi")
            .with_id("m1")
            .with_thread(Thread::new("t1"))
            .with_body_in("de", "hallo")
            .with_payload(Element::new("urn:x", "x"));
        let xml = m.to_element().to_xml();
        assert_eq!(
            xml,
            "<message xmlns='jabber:client' to='romeo@example.net' id='m1' type='chat'>\
             <body>hi</body><body xml:lang='de'>hallo</body><thread>t1</thread>\
             <x xmlns='urn:x'/></message>"
        );
        let incoming = m.clone().with_from(jid("juliet@example.com/balcony"));
        let r = incoming.reply("pong");
        assert_eq!(r.to, Some(jid("juliet@example.com/balcony")));
        assert_eq!(r.type_, MessageType::Chat);
        assert_eq!(r.thread, Some(Thread::new("t1")));
        let room = Message::groupchat(jid("room@muc.example"), "x")
            .with_from(jid("room@muc.example/nick"));
        assert_eq!(room.reply("y").to, Some(jid("room@muc.example")));
        assert_eq!(room.reply("y").type_, MessageType::Groupchat);
    }
}
