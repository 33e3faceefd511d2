//! Reader transcripts: every input fed whole, byte by byte and in odd
//! chunks must give the same events and the same error.

use super::*;

const OPEN: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

type Outcome = (Vec<StreamEvent>, Option<XmlError>);

fn read_chunked(input: &[u8], chunk: usize, limits: ReaderLimits, finish: bool) -> Outcome {
    let mut r = StreamReader::new(limits);
    let mut events = Vec::new();
    let mut error = None;
    let mut drain = |r: &mut StreamReader, events: &mut Vec<StreamEvent>| {
        while let Some(e) = r.next_event() {
            match e {
                Ok(e) => events.push(e),
                Err(e) => error = Some(e),
            }
        }
    };
    for c in input.chunks(chunk.max(1)) {
        r.feed(c);
        drain(&mut r, &mut events);
    }
    if finish {
        r.finish();
    }
    drain(&mut r, &mut events);
    (events, error)
}

/// Reads `input` whole, byte by byte and in 7-byte chunks; all must agree.
fn read_with(input: &[u8], limits: ReaderLimits, finish: bool) -> Outcome {
    let whole = read_chunked(input, input.len(), limits, finish);
    for chunk in [1, 2, 7] {
        let other = read_chunked(input, chunk, limits, finish);
        assert_eq!(whole, other, "chunk size {chunk} changed the outcome");
    }
    whole
}

fn read(input: &str) -> Outcome {
    read_with(input.as_bytes(), ReaderLimits::default(), false)
}

fn stanzas(events: &[StreamEvent]) -> Vec<&Element> {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Element(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn error_of(input: &str) -> (XmlErrorKind, u64) {
    let (_, err) = read(input);
    let err = err.unwrap_or_else(|| panic!("no error for {input:?}"));
    (err.kind, err.offset)
}

#[test]
fn header_stanzas_and_end() {
    let input = format!(
        "{OPEN}<message to='a@b/c' type='chat'><body>hi &amp; &#x1F600;</body></message> \
         <presence/></stream:stream>"
    );
    let (events, err) = read(&input);
    assert_eq!(err, None);
    assert_eq!(events.len(), 4);
    let StreamEvent::Header(h) = &events[0] else {
        panic!("no header")
    };
    assert!(h.is(NS_STREAMS, "stream"));
    assert_eq!(h.attr("to"), Some("example.com"));
    assert_eq!(h.attr_ns(NS_XML, "lang"), Some("en"));
    let s = stanzas(&events);
    assert!(s[0].is("jabber:client", "message"));
    assert_eq!(
        s[0].lang(),
        Some("en"),
        "xml:lang inherited from the stream"
    );
    assert_eq!(
        &*s[0].child_text("jabber:client", "body").unwrap(),
        "hi & 😀"
    );
    assert!(s[1].is("jabber:client", "presence"));
    assert_eq!(events[3], StreamEvent::End);
}

#[test]
fn namespaces_resolve() {
    let input = format!(
        "{OPEN}<iq xmlns:r='jabber:iq:roster' type='result'><r:query><r:item jid='x@y' r:a='1'/>\
         <item xmlns='urn:other' xml:lang='de'/></r:query></iq>"
    );
    let (events, err) = read(&input);
    assert_eq!(err, None);
    let iq = stanzas(&events)[0];
    let q = iq.child("jabber:iq:roster", "query").unwrap();
    let item = q.child("jabber:iq:roster", "item").unwrap();
    assert_eq!(item.attr("jid"), Some("x@y"));
    assert_eq!(item.attr_ns("jabber:iq:roster", "a"), Some("1"));
    let other = q.child("urn:other", "item").unwrap();
    assert_eq!(other.lang(), Some("de"));
    // Prefixes carry no meaning: the same tree written without them is equal.
    let plain = format!(
        "{OPEN}<iq type='result'><query xmlns='jabber:iq:roster'><item jid='x@y' \
         xmlns:z='jabber:iq:roster' z:a='1'/><item xmlns='urn:other' xml:lang='de'/></query></iq>"
    );
    let (events2, _) = read(&plain);
    assert_eq!(stanzas(&events2)[0], iq);
}

#[test]
fn whitespace_keepalives_and_cdata() {
    let input = format!("{OPEN} \n <message><body><![CDATA[a<b]]>&lt;c\r\nd</body></message>\t");
    let (events, err) = read(&input);
    assert_eq!(err, None);
    let body = stanzas(&events)[0]
        .child("jabber:client", "body")
        .unwrap()
        .text();
    assert_eq!(&*body, "a<b<c\nd");
    assert!(matches!(&stanzas(&events)[0].nodes()[0], Node::Element(_)));
}

#[test]
fn restricted_xml_is_rejected_at_the_right_offset() {
    let n = OPEN.len() as u64;
    let cases: &[(&str, XmlErrorKind, u64)] = &[
        ("<!DOCTYPE x [<!ENTITY a 'b'>]>", XmlErrorKind::Doctype, 0),
        ("<!-- c -->", XmlErrorKind::Comment, 0),
        ("<?php x?>", XmlErrorKind::ProcessingInstruction, 0),
        ("<message>&xxe;</message>", XmlErrorKind::UndefinedEntity, 9),
        (
            "<message>a & b</message>",
            XmlErrorKind::InvalidMarkupChar,
            11,
        ),
        ("<message>&#0;</message>", XmlErrorKind::InvalidCharRef, 9),
        (
            "<message>&#xD800;</message>",
            XmlErrorKind::InvalidCharRef,
            9,
        ),
        ("<message a='&#xFFFF;'/>", XmlErrorKind::InvalidCharRef, 12),
        ("<message>\u{1}</message>", XmlErrorKind::InvalidChar, 9),
        ("<message>]]></message>", XmlErrorKind::InvalidMarkupChar, 9),
        // Raw noncharacters and controls in text, anywhere in the run: the
        // error is at the start of the text run, as the tokenizer had it.
        (
            "<message>ok \u{FFFE}</message>",
            XmlErrorKind::InvalidChar,
            9,
        ),
        (
            "<message><b/>x\u{FFFF}y</message>",
            XmlErrorKind::InvalidChar,
            13,
        ),
        // Both problems in one run: the first complete one is named, so
        // the verdict is the same when the run arrives in pieces.
        (
            "<message>a]]>b\u{1B}</message>",
            XmlErrorKind::InvalidMarkupChar,
            9,
        ),
        (
            "<message>a\u{1B}]]>b</message>",
            XmlErrorKind::InvalidChar,
            9,
        ),
        ("<message></presence>", XmlErrorKind::MismatchedTag, 9),
        ("<p:message/>", XmlErrorKind::UnboundPrefix, 0),
        (
            "<message a='1' a='2'/>",
            XmlErrorKind::DuplicateAttribute,
            15,
        ),
        (
            "<message xmlns:p='u' xmlns:q='u' p:a='1' q:a='2'/>",
            XmlErrorKind::DuplicateAttribute,
            41,
        ),
        (
            "<message xmlns:xml='u'/>",
            XmlErrorKind::ReservedNamespace,
            9,
        ),
        ("<message xmlns:p=''/>", XmlErrorKind::ReservedNamespace, 9),
        ("<xmlns:message/>", XmlErrorKind::ReservedNamespace, 0),
        ("<1message/>", XmlErrorKind::InvalidName, 0),
        ("<:message/>", XmlErrorKind::InvalidName, 1),
        ("<message a='<'/>", XmlErrorKind::Syntax, 8),
    ];
    for (tail, kind, at) in cases {
        let (got_kind, got_at) = error_of(&format!("{OPEN}{tail}"));
        assert_eq!((&got_kind, got_at), (kind, n + at), "for {tail:?}");
    }
}

#[test]
fn invalid_utf8_and_split_characters() {
    let mut input = OPEN.as_bytes().to_vec();
    input.extend_from_slice("<message><body>é漢😀</body></message>".as_bytes());
    let (events, err) = read_with(&input, ReaderLimits::default(), false);
    assert_eq!(err, None);
    assert_eq!(
        &*stanzas(&events)[0]
            .child_text("jabber:client", "body")
            .unwrap(),
        "é漢😀"
    );
    let mut bad = OPEN.as_bytes().to_vec();
    bad.extend_from_slice(b"<presence/><message>\xC0\xAF</message>");
    let (events, err) = read_with(&bad, ReaderLimits::default(), false);
    assert_eq!(
        stanzas(&events).len(),
        1,
        "the presence before it is delivered"
    );
    let err = err.unwrap();
    assert_eq!(err.kind, XmlErrorKind::InvalidUtf8);
    assert_eq!(err.offset, (OPEN.len() + 20) as u64);
}

#[test]
fn declaration_and_bom() {
    let ok = "\u{FEFF}<?xml version='1.0' encoding='UTF-8'?>\n<doc><a/></doc>";
    let (events, err) = read(ok);
    assert_eq!(err, None);
    assert_eq!(events.len(), 3);
    assert_eq!(
        error_of("<?xml version='1.0' encoding='ISO-8859-1'?><doc/>"),
        (XmlErrorKind::BadDeclaration, 0)
    );
    assert_eq!(
        error_of(" <?xml version='1.0'?><doc/>"),
        (XmlErrorKind::ProcessingInstruction, 1)
    );
}

#[test]
fn content_outside_root() {
    assert_eq!(error_of("x<doc/>"), (XmlErrorKind::ContentOutsideRoot, 0));
    assert_eq!(
        error_of("<doc/><doc/>"),
        (XmlErrorKind::ContentOutsideRoot, 6)
    );
    let (ev, err) = read_with(b"<doc/>  x", ReaderLimits::default(), true);
    assert_eq!(ev.len(), 2);
    assert_eq!(err.map(|e| e.kind), Some(XmlErrorKind::ContentOutsideRoot));
    let (_, err) = read_with(b"<doc><a>", ReaderLimits::default(), true);
    assert_eq!(err.map(|e| e.kind), Some(XmlErrorKind::UnexpectedEof));
    let (_, err) = read_with(b"<doc/> \n", ReaderLimits::default(), true);
    assert_eq!(err, None);
}

#[test]
fn limits_are_enforced_and_earlier_stanzas_kept() {
    let limits = ReaderLimits {
        max_stanza_size: 100,
        max_depth: 3,
        max_attributes: 2,
        max_buffered: 64,
    };
    let check = |tail: &str, kind: XmlErrorKind| {
        let input = format!("<s><ok/>{tail}");
        let (events, err) = read_with(input.as_bytes(), limits, false);
        assert_eq!(stanzas(&events).len(), 1, "{tail}");
        assert_eq!(err.map(|e| e.kind), Some(kind), "{tail}");
    };
    check(
        &format!("<m>{}</m>", "<b>0123456789</b>".repeat(8)),
        XmlErrorKind::StanzaTooLarge { limit: 100 },
    );
    check(
        "<a><b><c><d/></c></b></a>",
        XmlErrorKind::TooDeep { limit: 3 },
    );
    check(
        "<a x='1' y='2' z='3'/>",
        XmlErrorKind::TooManyAttributes { limit: 2 },
    );
    check(&"x".repeat(65), XmlErrorKind::BufferFull { limit: 64 });
    check(
        &format!("<a {}", "x".repeat(70)),
        XmlErrorKind::BufferFull { limit: 64 },
    );
}

#[test]
fn endless_text_does_not_grow_memory() {
    let mut r = StreamReader::new(ReaderLimits::default());
    r.feed(b"<s>");
    let chunk = [b'a'; 4096];
    let mut fed = 0;
    while r.error().is_none() && fed < 10 << 20 {
        r.feed(&chunk);
        fed += chunk.len();
    }
    assert!(r.buffered_len() <= ReaderLimits::default().max_buffered + chunk.len());
    assert!(matches!(
        r.error().map(|e| &e.kind),
        Some(XmlErrorKind::BufferFull { .. })
    ));
}

#[test]
fn billion_laughs_is_refused_before_any_expansion() {
    let input = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>\
        <!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]><lolz>&lol2;</lolz>";
    assert_eq!(error_of(input), (XmlErrorKind::Doctype, 21));
}

#[test]
fn deep_nesting_is_bounded() {
    let input = format!("<s>{}", "<a>".repeat(10_000));
    let (_, err) = read_with(input.as_bytes(), ReaderLimits::default(), false);
    assert_eq!(
        err.map(|e| e.kind),
        Some(XmlErrorKind::TooDeep { limit: 64 })
    );
}

#[test]
fn error_is_reported_once_then_none() {
    let mut r = StreamReader::new(ReaderLimits::default());
    r.feed(b"<s><!-- -->");
    assert!(matches!(r.next_event(), Some(Ok(StreamEvent::Header(_)))));
    assert!(matches!(r.next_event(), Some(Err(_))));
    assert!(r.next_event().is_none());
    r.feed(b"<more/>");
    assert!(r.next_event().is_none());
    assert!(r.error().is_some());
}

#[test]
fn writer_round_trip_and_minimal_namespaces() {
    let mut e = Element::new("jabber:client", "message")
        .with_attr("to", "a@b")
        .with_attr("q", "it's \"x\"\t\n\r<&>")
        .with_child(Element::new("jabber:client", "body").with_text("a]]>b\r\n&<"))
        .with_child(Element::new("urn:x", "x").with_child(Element::new("", "none")));
    e.set_attr_ns(NS_XML, "lang", "fr");
    e.set_attr_ns("urn:attr", "a", "1");
    let xml = e.to_xml();
    assert!(xml.starts_with("<message xmlns='jabber:client' "), "{xml}");
    assert!(
        xml.contains("<body>"),
        "child inherits the namespace: {xml}"
    );
    assert!(xml.contains("<none xmlns=''/>"), "{xml}");
    let wrapped = format!("<w>{xml}</w>");
    let (events, err) = read(&wrapped);
    assert_eq!(err, None);
    assert_eq!(stanzas(&events)[0], &e);
    let mut out = Vec::new();
    Element::new("jabber:client", "presence").write_in_stream(&mut out, "jabber:client");
    assert_eq!(out, b"<presence/>");
}

#[test]
fn stream_open_writer_parses() {
    let mut out = Vec::new();
    write_stream_open(
        &mut out,
        "jabber:client",
        &[("to", "example.com"), ("version", "1.0")],
    );
    let (events, err) = read_with(&out, ReaderLimits::default(), false);
    assert_eq!(err, None);
    let StreamEvent::Header(h) = &events[0] else {
        panic!()
    };
    assert!(h.is(NS_STREAMS, "stream"));
    assert_eq!(h.attr("to"), Some("example.com"));
}

#[test]
fn char_refs_take_any_number_of_leading_zeros() {
    let zeros = "0".repeat(70);
    let input = format!("{OPEN}<a v='&#x{zeros}41;'>&#x{zeros}41;&#{zeros}66;</a>");
    let (events, err) = read(&input);
    assert_eq!(err, None);
    let a = stanzas(&events)[0];
    assert_eq!(a.text(), "AB");
    assert_eq!(a.attr("v"), Some("A"));
}

#[test]
fn an_element_in_the_xml_namespace_is_written_with_its_prefix() {
    let (events, err) = read(&format!("{OPEN}<s><xml:a><b/></xml:a></s>"));
    assert_eq!(err, None);
    let s = stanzas(&events)[0];
    let xml = s.to_xml();
    assert_eq!(
        xml, "<s xmlns='jabber:client'><xml:a><b/></xml:a></s>",
        "no declaration of the XML namespace, children keep the default"
    );
    let (again, err) = read(&format!("{OPEN}{xml}"));
    assert_eq!(err, None);
    assert_eq!(stanzas(&again)[0], s);
}

#[test]
fn the_stanza_size_limit_holds_for_a_self_closing_stanza() {
    let limits = ReaderLimits {
        max_stanza_size: 100,
        ..ReaderLimits::default()
    };
    let big = "x".repeat(120);
    let offset = OPEN.len() as u64 + 5;
    for stanza in [format!("<m a='{big}'/>"), format!("<m a='{big}'></m>")] {
        let input = format!("{OPEN}<ok/>{stanza}");
        let (events, err) = read_with(input.as_bytes(), limits, false);
        assert_eq!(
            stanzas(&events).len(),
            1,
            "{stanza}: the stanza before is kept"
        );
        let err = err.expect("too large");
        assert_eq!(
            (err.kind, err.offset),
            (XmlErrorKind::StanzaTooLarge { limit: 100 }, offset),
            "{stanza}"
        );
    }
}

#[test]
fn errors_in_a_pending_text_run_do_not_wait_for_the_next_tag() {
    // No `<` follows: each is still reported however the bytes arrive
    // (read_with compares whole, 1-, 2- and 7-byte reads).
    let at = OPEN.len() as u64 + 4;
    for (tail, kind) in [
        ("x\u{0}", XmlErrorKind::InvalidChar),
        ("x]]>y", XmlErrorKind::InvalidMarkupChar),
        ("]]>\u{1}", XmlErrorKind::InvalidMarkupChar),
        ("\u{1}]]>", XmlErrorKind::InvalidChar),
        ("ok\u{FFFF}", XmlErrorKind::InvalidChar),
    ] {
        let (events, err) = read(&format!("{OPEN}<a/>{tail}"));
        assert_eq!(stanzas(&events).len(), 1, "{tail:?}");
        let err = err.unwrap_or_else(|| panic!("no error for {tail:?}"));
        assert_eq!((err.kind, err.offset), (kind, at), "{tail:?}");
    }
    // The fuzz finding: after a CDATA section holding `<`, at stream level.
    let (_, err) = read(&format!("{OPEN}<![CDATA[<']]>'\u{0}>"));
    assert_eq!(err.map(|e| e.kind), Some(XmlErrorKind::InvalidChar));
    // A text run that outgrew the limit before its bad byte is too long.
    let limits = ReaderLimits {
        max_buffered: 8,
        ..ReaderLimits::default()
    };
    let input = format!("{OPEN}<a/>123456789\u{0}");
    let (_, err) = read_with(input.as_bytes(), limits, false);
    assert_eq!(
        err.map(|e| e.kind),
        Some(XmlErrorKind::BufferFull { limit: 8 })
    );
}

#[test]
fn a_bad_reference_before_invalid_utf8_comes_first() {
    // The encoding error ends the input: the text before it is complete,
    // and its own error is the earlier one.
    let mut input = format!("{OPEN}<a/>x&bogus;y").into_bytes();
    input.extend_from_slice(b"\xff<b/>");
    let (_, err) = read_with(&input, ReaderLimits::default(), false);
    let err = err.expect("an error");
    assert_eq!(err.kind, XmlErrorKind::UndefinedEntity);
    // Inside a construct that never ends, the encoding error stands.
    let mut input = format!("{OPEN}<a/><![CDATA[&bogus;").into_bytes();
    input.extend_from_slice(b"\xff");
    let (_, err) = read_with(&input, ReaderLimits::default(), false);
    assert_eq!(err.map(|e| e.kind), Some(XmlErrorKind::InvalidUtf8));
}

#[test]
fn a_text_run_split_by_a_misread_cut_is_read_whole() {
    // `<'…'>` inside the CDATA section looks like a tag to the boundary
    // tracker, which cuts after its `>`: that `>` is text, and the run
    // `'>'x` goes on past the cut. Its error is at the run's start however
    // the input is split (found by the `online` fuzz target).
    let head = format!("{OPEN}<![CDATA[<']]>'>");
    let at = OPEN.len() as u64 + 14;
    for tail in ["'\u{0}>", "'\u{0}<b/>", "'&bogus;<b/>"] {
        let input = format!("{head}{tail}");
        let whole = read_chunked(
            input.as_bytes(),
            input.len(),
            ReaderLimits::default(),
            false,
        );
        let mut r = StreamReader::new(ReaderLimits::default());
        r.feed(head.as_bytes());
        r.feed(tail.as_bytes());
        let mut split = None;
        while let Some(e) = r.next_event() {
            if let Err(e) = e {
                split = Some(e);
            }
        }
        let err = whole.1.expect("an error");
        assert_eq!(Some(&err), split.as_ref(), "{tail:?}");
        assert_eq!(
            err.offset,
            at + if tail.contains('&') { 3 } else { 0 },
            "{tail:?}"
        );
        let (_, bytewise) = read(&input);
        assert_eq!(bytewise, Some(err), "{tail:?}");
    }
}

/// Reads of a few KiB hand their receive buffer over to the stanzas and
/// reuse it once nothing refers to it: stanzas kept by the caller (every
/// third one here) keep their text, later ones read from a reused buffer
/// are right, whatever the read size.
#[test]
fn stanzas_kept_across_reused_receive_buffers_stay_intact() {
    let mut input = String::from(OPEN);
    for i in 0..400 {
        input.push_str(&format!(
            "<message id='m{i}' to='a@b/c'><body>{i} &amp; {}</body></message>",
            "zoë 漢字 ".repeat(i % 23)
        ));
    }
    input.push_str("</stream:stream>");
    let (whole, _) = read_chunked(input.as_bytes(), input.len(), ReaderLimits::default(), true);
    let expected: Vec<&Element> = stanzas(&whole);
    assert_eq!(expected.len(), 400);
    for chunk in [600, 1000, 4096, 9000] {
        let mut r = StreamReader::new(ReaderLimits::default());
        let mut kept = Vec::new();
        let mut n = 0;
        for c in input.as_bytes().chunks(chunk) {
            r.feed(c);
            while let Some(e) = r.next_event() {
                if let StreamEvent::Element(e) = e.expect("valid") {
                    if n % 3 == 0 {
                        kept.push((n, e));
                    } else {
                        assert_eq!(&e, expected[n], "chunk {chunk}, stanza {n}");
                    }
                    n += 1;
                }
            }
        }
        assert_eq!(n, 400, "chunk {chunk}");
        for (i, e) in kept {
            assert_eq!(&e, expected[i], "chunk {chunk}, kept stanza {i}");
        }
    }
}
