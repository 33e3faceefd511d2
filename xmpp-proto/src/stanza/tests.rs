//! Cross-cutting stanza tests (RFC 6120 §8, RFC 6121 §4-5): helpers shared
//! by the per-type tests, dispatch, hostile inputs, and round-trip
//! properties through the XML writer and reader.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::xml::{StreamEvent, StreamReader};

const STREAM_OPEN: &str = "<stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams'";

/// Reads the first stanza of a stream whose header carries `header_attrs`.
fn read_stanza(header_attrs: &str, xml: &str) -> Element {
    let mut reader = StreamReader::new(Default::default());
    reader.feed(format!("{STREAM_OPEN}{header_attrs}>{xml}").as_bytes());
    while let Some(event) = reader.next_event() {
        match event {
            Ok(StreamEvent::Element(e)) => return e,
            Ok(_) => {}
            Err(e) => panic!("{xml}: {e:?}"),
        }
    }
    panic!("no stanza in {xml}")
}

/// Parses `xml` as a stanza of a `jabber:client` stream without `xml:lang`.
pub(crate) fn parse_xml(xml: &str) -> Element {
    read_stanza("", xml)
}

/// Parses `xml` as a stanza of a stream with `xml:lang='en'`.
pub(crate) fn parse_in_stream(xml: &str) -> Element {
    read_stanza(" xml:lang='en'", xml)
}

/// Checks that `stanza` survives element conversion and the XML writer and
/// reader unchanged.
pub(crate) fn roundtrip(stanza: Stanza) {
    let element = stanza.to_element();
    assert_eq!(Stanza::parse(element.clone()).as_ref(), Ok(&stanza));
    let mut bytes = Vec::new();
    element.write_in_stream(&mut bytes, NS_CLIENT);
    let xml = String::from_utf8(bytes).unwrap();
    let reread = parse_xml(&xml);
    assert_eq!(reread, element, "{xml}");
    assert_eq!(Stanza::parse(reread), Ok(stanza), "{xml}");
}

#[test]
fn dispatch_and_accessors() {
    let m = Stanza::parse(parse_xml("<message id='1' to='a@b'/>")).unwrap();
    assert!(matches!(m, Stanza::Message(_)));
    assert_eq!(
        (m.id(), m.to().map(Jid::as_str), m.from()),
        (Some("1"), Some("a@b"), None)
    );
    let p = Stanza::try_from(parse_xml("<presence from='a@b/c'/>")).unwrap();
    assert_eq!(p.from().map(Jid::as_str), Some("a@b/c"));
    let i = Stanza::parse(parse_xml("<iq id='q' type='result'/>")).unwrap();
    assert_eq!(i.id(), Some("q"));
    let back: Element = i.clone().into();
    assert_eq!(Stanza::parse(back), Ok(i));
}

#[test]
fn non_stanzas_are_refused() {
    for (xml, ns, local) in [
        ("<body>x</body>", "jabber:client", "body"),
        (
            "<message xmlns='jabber:server'/>",
            "jabber:server",
            "message",
        ),
        (
            "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
            "http://etherx.jabber.org/streams",
            "error",
        ),
    ] {
        assert_eq!(
            Stanza::parse(parse_xml(xml)),
            Err(StanzaParseError::UnexpectedElement {
                expected: "message, presence or iq",
                ns: ns.into(),
                local: local.into()
            })
        );
    }
    // Asking for one kind and getting another.
    assert!(matches!(
        Message::try_from(parse_xml("<presence/>")),
        Err(StanzaParseError::UnexpectedElement {
            expected: "message",
            ..
        })
    ));
}

#[test]
fn invalid_jids_give_typed_errors() {
    let long = "x".repeat(1024);
    let cases = [
        "a@b@c".to_string(),
        "@example.com".to_string(),
        format!("{long}@example.com"),
        format!("example.com/{long}"),
        "juliet@example.com/".to_string(),
        "juliet@".to_string(),
        "".to_string(),
        "exa mple.com".to_string(),
    ];
    for value in cases {
        for kind in ["message", "presence", "iq"] {
            let mut e = Element::new(NS_CLIENT, kind)
                .with_attr("id", "x")
                .with_attr("type", if kind == "iq" { "result" } else { "error" })
                .with_attr("from", value.as_str());
            let err = Stanza::parse(e.clone()).unwrap_err();
            let StanzaParseError::InvalidJid { attr, value: v, .. } = &err else {
                panic!("{kind} {value:?}: {err:?}")
            };
            assert_eq!((*attr, v.as_str()), ("from", value.as_str()));
            assert!(err.to_string().contains("'from'"), "{err}");
            e.remove_attr("from");
            e.set_attr("to", value.as_str());
            assert!(matches!(
                Stanza::parse(e),
                Err(StanzaParseError::InvalidJid { attr: "to", .. })
            ));
        }
    }
}

#[test]
fn error_messages_say_what_went_wrong() {
    let err = Stanza::parse(parse_xml("<message from='a@b@c'/>")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid JID in the 'from' attribute \"a@b@c\": second @ found before parsing the resource"
    );
    let err =
        Stanza::parse(parse_xml("<message><body>a</body><body>b</body></message>")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<message/> has more than one <body/> child"
    );
    let cloned = err.clone();
    assert_eq!(cloned, err);
}

// ---- properties ----

fn jid_strategy() -> impl Strategy<Value = Jid> {
    (
        proptest::option::of("[a-z0-9._-]{1,12}"),
        "[a-z]{1,10}(\\.[a-z]{2,5}){0,2}",
        proptest::option::of("[A-Za-z0-9 ./@-]{1,12}"),
    )
        .prop_map(|(node, domain, resource)| {
            let mut s = String::new();
            if let Some(n) = node {
                s.push_str(&n);
                s.push('@');
            }
            s.push_str(&domain);
            if let Some(r) = resource {
                s.push('/');
                s.push_str(&r);
            }
            Jid::new(&s).unwrap_or_else(|e| panic!("{s}: {e}"))
        })
}

/// Text that XML carries unchanged (no CR, which XML normalizes to LF).
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 <>&'\"\n\téß€😀]{0,24}"
}

fn alternatives() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map(
        prop_oneof![Just("de"), Just("fr"), Just("cs")],
        text(),
        0..3,
    )
    .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn error_strategy() -> impl Strategy<Value = Option<StanzaError>> {
    proptest::option::of(
        (
            prop_oneof![
                Just(DefinedCondition::ItemNotFound),
                Just(DefinedCondition::ServiceUnavailable),
                proptest::option::of("xmpp:[a-z]{1,8}@example\\.org")
                    .prop_map(|a| DefinedCondition::Gone { new_address: a }),
            ],
            proptest::option::of(text()),
            proptest::option::of(jid_strategy()),
        )
            .prop_map(|(condition, text, by)| StanzaError {
                type_: condition.recommended_type(),
                condition,
                text,
                text_lang: None,
                by,
                extra: vec![Element::new("urn:example:app", "detail").with_attr("n", "1")],
            }),
    )
}

fn payloads() -> impl Strategy<Value = Vec<Element>> {
    proptest::collection::vec(
        ("[a-z]{1,8}", text()).prop_map(|(name, t)| {
            Element::new("urn:example:ext", name)
                .with_attr("v", t.replace(['\n', '\t'], " "))
                .with_child(Element::new("urn:example:ext", "inner").with_text(t))
        }),
        0..3,
    )
}

fn common() -> impl Strategy<Value = (Option<Jid>, Option<Jid>, Option<String>, Option<String>)> {
    (
        proptest::option::of(jid_strategy()),
        proptest::option::of(jid_strategy()),
        proptest::option::of("[a-zA-Z0-9_-]{1,16}"),
        proptest::option::of(prop_oneof![
            Just("en".to_string()),
            Just("en-GB".to_string())
        ]),
    )
}

fn message_strategy() -> impl Strategy<Value = Message> {
    let type_ = prop_oneof![
        Just(MessageType::Chat),
        Just(MessageType::Error),
        Just(MessageType::Groupchat),
        Just(MessageType::Headline),
        Just(MessageType::Normal),
    ];
    let thread = proptest::option::of(
        ("[a-f0-9]{1,32}", proptest::option::of("[a-f0-9]{1,32}"))
            .prop_map(|(id, parent)| Thread { id, parent }),
    );
    (
        common(),
        type_,
        (proptest::option::of(text()), alternatives()),
        (proptest::option::of(text()), alternatives()),
        thread,
        error_strategy(),
        payloads(),
    )
        .prop_map(
            |(
                (from, to, id, lang),
                type_,
                (body, bodies),
                (subject, subjects),
                thread,
                error,
                payloads,
            )| {
                Message {
                    from,
                    to,
                    id,
                    type_,
                    lang,
                    body,
                    bodies,
                    subject,
                    subjects,
                    thread,
                    error,
                    payloads,
                }
            },
        )
}

fn presence_strategy() -> impl Strategy<Value = Presence> {
    let type_ = prop_oneof![
        Just(PresenceType::Available),
        Just(PresenceType::Unavailable),
        Just(PresenceType::Subscribe),
        Just(PresenceType::Subscribed),
        Just(PresenceType::Unsubscribe),
        Just(PresenceType::Unsubscribed),
        Just(PresenceType::Probe),
        Just(PresenceType::Error),
    ];
    let show = proptest::option::of(prop_oneof![
        Just(Show::Away),
        Just(Show::Chat),
        Just(Show::Dnd),
        Just(Show::Xa)
    ]);
    (
        common(),
        type_,
        show,
        (proptest::option::of(text()), alternatives()),
        any::<i8>(),
        error_strategy(),
        payloads(),
    )
        .prop_map(
            |((from, to, id, lang), type_, show, (status, statuses), priority, error, payloads)| {
                Presence {
                    from,
                    to,
                    id,
                    type_,
                    lang,
                    show,
                    status,
                    statuses,
                    priority,
                    error,
                    payloads,
                }
            },
        )
}

proptest! {
    #[test]
    fn message_round_trips(m in message_strategy()) {
        roundtrip(Stanza::Message(m));
    }

    #[test]
    fn presence_round_trips(p in presence_strategy()) {
        roundtrip(Stanza::Presence(p));
    }

    /// Any attribute values and child texts: parsing returns, never panics.
    #[test]
    fn arbitrary_values_never_panic(
        kind in prop_oneof![Just("message"), Just("presence"), Just("iq")],
        from in any::<String>(),
        type_ in any::<String>(),
        child in prop_oneof![Just("show"), Just("priority"), Just("body"), Just("error")],
        content in any::<String>(),
    ) {
        let e = Element::new(NS_CLIENT, kind)
            .with_attr("from", from)
            .with_attr("type", type_)
            .with_attr("id", "x")
            .with_child(Element::new(NS_CLIENT, child).with_text(content));
        let _ = Stanza::parse(e);
    }

    /// JID strings built from arbitrary parts: parsing returns, never panics.
    #[test]
    fn arbitrary_jids_never_panic(node in ".{0,40}", domain in ".{0,40}", res in ".{0,40}") {
        for s in [format!("{node}@{domain}/{res}"), format!("{domain}/{res}"), domain.clone()] {
            let e = Element::new(NS_CLIENT, "presence").with_attr("to", s);
            let _ = Stanza::parse(e);
        }
    }
}
