//! Replays the committed fuzz seed corpus (`fuzz/corpus/stream_reader/`)
//! through the same differential chunking check as the fuzz target: whole
//! input vs 1-byte chunks, 7-byte chunks, a seeded pseudo-random split and
//! (for `FF 00`-prefixed fuzz inputs) the input's own split points, under the
//! default limits and under small limits. Nothing may panic and every split
//! must give the same events and error.
//!
//! File names carry expectations: `valid-*` must parse cleanly (header,
//! stanzas, end) under the default limits, `hostile-*` must end in an error
//! (and, where [`HOSTILE_KINDS`] says so, in one of the listed kinds). Other
//! files (inputs added by the fuzzer) only have to agree across splits.
//!
//! The seed files are written by the ignored test `write_seed_corpus`:
//! `cargo test -p xmpp-proto --test fuzz_corpus -- --ignored write_seed_corpus`.

use xmpp_test_support::chunking;

use xmpp_test_support::corpus;

use std::path::PathBuf;

use chunking::Limits;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/stream_reader")
}

/// The error kinds (as `XmlErrorKind::as_str`) acceptable for each hostile
/// seed under the default limits. A hostile file missing here must fail
/// with some error.
const HOSTILE_KINDS: &[(&str, &[&str])] = &[
    ("hostile-billion-laughs.xml", &["doctype"]),
    ("hostile-doctype-entities.xml", &["doctype"]),
    ("hostile-xxe-external-entity.xml", &["doctype"]),
    (
        "hostile-doctype-inside-stream.xml",
        &["doctype", "unknown-markup"],
    ),
    ("hostile-undefined-entity.xml", &["undefined-entity"]),
    ("hostile-deep-nesting-10000.xml", &["too-deep"]),
    ("hostile-truncated-utf8.xml", &["invalid-utf8"]),
    (
        "hostile-truncated-utf8-at-eof.xml",
        &["invalid-utf8", "unexpected-eof"],
    ),
    ("hostile-overlong-utf8.xml", &["invalid-utf8"]),
    ("hostile-overlong-utf8-lt.xml", &["invalid-utf8"]),
    ("hostile-surrogate-utf8.xml", &["invalid-utf8"]),
    ("hostile-charref-zero.xml", &["invalid-char-ref"]),
    ("hostile-charref-fffe.xml", &["invalid-char-ref"]),
    ("hostile-charref-surrogate.xml", &["invalid-char-ref"]),
    (
        "hostile-charref-surrogate-decimal-attr.xml",
        &["invalid-char-ref"],
    ),
    ("hostile-charref-too-big.xml", &["invalid-char-ref"]),
    ("hostile-control-char.xml", &["invalid-char"]),
    ("hostile-unbound-prefix.xml", &["unbound-prefix"]),
    ("hostile-unbound-attr-prefix.xml", &["unbound-prefix"]),
    ("hostile-duplicate-attribute.xml", &["duplicate-attribute"]),
    (
        "hostile-duplicate-expanded-attribute.xml",
        &["duplicate-attribute"],
    ),
    ("hostile-comment.xml", &["comment"]),
    ("hostile-comment-before-root.xml", &["comment"]),
    (
        "hostile-processing-instruction.xml",
        &["processing-instruction"],
    ),
    (
        "hostile-endless-text.xml",
        &["buffer-full", "unexpected-eof"],
    ),
    (
        "hostile-endless-attribute.xml",
        &["buffer-full", "stanza-too-large", "unexpected-eof"],
    ),
    ("hostile-mismatched-tag.xml", &["mismatched-tag"]),
    ("hostile-cdata-end-in-text.xml", &["invalid-markup-char"]),
    (
        "hostile-bare-ampersand.xml",
        &["invalid-markup-char", "syntax"],
    ),
    (
        "hostile-lt-in-attribute.xml",
        &["invalid-markup-char", "syntax"],
    ),
    ("hostile-latin1-declaration.xml", &["bad-declaration"]),
    ("hostile-second-root.xml", &["content-outside-root"]),
    ("hostile-text-after-end.xml", &["content-outside-root"]),
    ("hostile-rebind-xml-prefix.xml", &["reserved-namespace"]),
    ("hostile-empty-prefixed-ns.xml", &["reserved-namespace"]),
    ("hostile-truncated-stream.xml", &["unexpected-eof"]),
    (
        "hostile-utf16-bom.xml",
        &["invalid-utf8", "bad-declaration", "syntax"],
    ),
    ("hostile-many-attributes.xml", &["too-many-attributes"]),
];

#[test]
fn replay_seed_corpus() {
    let dir = corpus_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 12,
        "seed corpus too small: {} files",
        files.len()
    );

    let (mut valid, mut hostile) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(path).unwrap();
        let (data, points, _) = chunking::decode_fuzz_input(&input);

        let outcome = std::panic::catch_unwind(|| {
            let small = chunking::check_all(data, &points, Limits::small(), usize::MAX);
            let default = chunking::check_all(data, &points, Limits::defaults(), usize::MAX);
            (default, small)
        });
        let (default, _small) = match outcome {
            Ok(o) => o,
            Err(_) => panic!("seed {name} failed the differential check (see the panic above)"),
        };

        eprintln!(
            "{name}: {} events, {} stanzas, error {}",
            default.events.len(),
            default.stanzas(),
            default
                .error
                .as_ref()
                .map_or("none".to_string(), |e| format!(
                    "{} at {}",
                    e.kind.as_str(),
                    e.offset
                ))
        );
        if name.starts_with("valid-") {
            valid += 1;
            assert!(
                default.is_clean(),
                "{name} should parse cleanly, got error {:?} after {} events",
                default.error,
                default.events.len()
            );
        } else if name.starts_with("hostile-") {
            hostile += 1;
            let err = default.error.as_ref().unwrap_or_else(|| {
                panic!(
                    "{name} must end in an error, got {} events and no error",
                    default.events.len()
                )
            });
            if let Some((_, kinds)) = HOSTILE_KINDS.iter().find(|(n, _)| *n == name) {
                assert!(
                    kinds.contains(&err.kind.as_str()),
                    "{name}: expected one of {kinds:?}, got {} at offset {}",
                    err.kind.as_str(),
                    err.offset
                );
            }
        }
    }
    assert!(valid >= 8, "only {valid} valid-* seeds");
    assert!(hostile >= 15, "only {hostile} hostile-* seeds");
    for (name, _) in HOSTILE_KINDS {
        assert!(dir.join(name).is_file(), "seed {name} is missing");
    }
}

/// The generated seeds still parse to the stanza counts the generator
/// reports (so the corpus generator and the seed files stay honest).
#[test]
fn generated_streams_parse_with_expected_counts() {
    let cases: Vec<(&str, (Vec<u8>, usize))> = vec![
        ("messages", corpus::messages(300)),
        ("plain_messages", corpus::plain_messages(300)),
        ("roster", corpus::roster(300)),
        ("presences", corpus::presences(300)),
        ("mam", corpus::mam_pages(3, 20)),
        ("vcard", corpus::vcard(64 * 1024)),
        ("mixed", corpus::mixed_small()),
    ];
    for (name, (bytes, count)) in cases {
        let doc = corpus::with_footer(bytes);
        let out = chunking::check_all(&doc, &[], Limits::large(), 0);
        assert!(out.is_clean(), "{name}: {:?}", out.error);
        assert_eq!(out.stanzas(), count, "{name}: stanza count");
        // And without the footer the stream is merely unfinished.
        let open = chunking::run([&doc[..doc.len() - corpus::FOOTER.len()]], Limits::large());
        assert_eq!(open.stanzas(), count, "{name}: stanza count without footer");
        assert_eq!(
            open.error.as_ref().map(|e| e.kind.as_str()),
            Some("unexpected-eof"),
            "{name}: finish() on an open stream"
        );
    }
}

/// Writes the seed corpus. Run once after changing the generator or the
/// hand-written seeds below; the files are committed.
#[test]
#[ignore = "writes fuzz/corpus/stream_reader; run by hand"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let mut written = 0;
    for (name, bytes) in seeds() {
        assert!(bytes.len() < 64 * 1024, "{name} is {} bytes", bytes.len());
        std::fs::write(dir.join(&name), bytes).unwrap();
        written += 1;
    }
    eprintln!("wrote {written} seeds to {}", dir.display());
}

const HDR: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
     xmlns:stream='http://etherx.jabber.org/streams' from='example.com' \
     id='s33d' version='1.0' xml:lang='en'>";

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut s: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>| s.push((name.to_string(), bytes));
    let stream = |body: &str| format!("{HDR}{body}").into_bytes();
    let closed = |body: &str| format!("{HDR}{body}</stream:stream>").into_bytes();

    // --- generated, realistic
    add(
        "valid-gen-messages.xml",
        corpus::with_footer(corpus::messages(25).0),
    );
    add(
        "valid-gen-plain-messages.xml",
        corpus::with_footer(corpus::plain_messages(20).0),
    );
    add(
        "valid-gen-roster.xml",
        corpus::with_footer(corpus::roster(40).0),
    );
    add(
        "valid-gen-presences.xml",
        corpus::with_footer(corpus::presences(25).0),
    );
    add(
        "valid-gen-mam.xml",
        corpus::with_footer(corpus::mam_pages(2, 5).0),
    );
    add(
        "valid-gen-vcard.xml",
        corpus::with_footer(corpus::vcard(6 * 1024).0),
    );
    add(
        "valid-gen-mixed.xml",
        corpus::with_footer(corpus::mixed_small().0),
    );
    // Same, but the peer never closed the stream (ends in unexpected-eof).
    add("open-gen-messages.xml", corpus::messages(5).0);
    // A seed in the explicit-split-points format (see decode_fuzz_input).
    let plain = corpus::with_footer(corpus::plain_messages(3).0);
    add(
        "split-gen-plain-messages.bin",
        chunking::encode_fuzz_input(&plain, &[1, 2, 3, 57, 58, 200, 201, 202, 350], false),
    );

    // --- hand-written, valid
    add(
        "valid-negotiation.xml",
        closed(
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
             <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>\
             <mechanism>PLAIN</mechanism></mechanisms></stream:features>\
             <success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9</success>\
             <iq type='result' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <jid>juliet@example.com/balcony</jid></bind></iq>",
        ),
    );
    add(
        "valid-prefixes-cdata-lang.xml",
        closed(
            "\n  <message to='a@b/c' xml:lang='fr'><body>Bonjour &amp; <![CDATA[<b>salut</b> ]] >]]>!</body>\
             <x:data xmlns:x='urn:example:x' x:attr='1' plain=\"dq &quot;'\"><x:item/>\r\n\
             <item xmlns='' lang='none'>t&#x9;ab&#10;&#13;</item></x:data>\
             <body xml:lang='de'>Grüße</body></message>  \n\
             <iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
        ),
    );
    add(
        "valid-empty-stream.xml",
        format!("{HDR}</stream:stream>").into_bytes(),
    );
    add(
        "valid-self-closing-root.xml",
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'/>"
            .to_vec(),
    );
    add(
        "valid-bom-and-text-in-root.xml",
        [
            &b"\xEF\xBB\xBF"[..],
            &closed("keepalive text is dropped <presence/> more &amp; text\n"),
        ]
        .concat(),
    );
    add(
        "valid-stream-error.xml",
        closed(
            "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>Replaced by new connection</text>\
             </stream:error>",
        ),
    );

    // --- hostile
    let mut laughs = String::from("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    laughs.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">");
    for i in 2..=9 {
        let p = i - 1;
        laughs.push_str(&format!(
            "<!ENTITY lol{i} \"&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};&lol{p};\">"
        ));
    }
    laughs.push_str(
        "]><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
                     <message><body>&lol9;</body></message></stream:stream>",
    );
    add("hostile-billion-laughs.xml", laughs.into_bytes());
    add(
        "hostile-doctype-entities.xml",
        b"<!DOCTYPE stream:stream [<!ENTITY greeting 'hello'><!ELEMENT body ANY>]>\
          <stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
          <message><body>&greeting;</body></message></stream:stream>"
            .to_vec(),
    );
    add(
        "hostile-xxe-external-entity.xml",
        b"<?xml version='1.0'?><!DOCTYPE foo [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>\
          <stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
          <message><body>&xxe;</body></message></stream:stream>"
            .to_vec(),
    );
    add(
        "hostile-doctype-inside-stream.xml",
        stream("<!DOCTYPE x [<!ENTITY e 'boom'>]><message><body>&e;</body></message>"),
    );
    add(
        "hostile-undefined-entity.xml",
        stream("<message><body>a &nbsp; b</body></message>"),
    );
    add(
        "hostile-deep-nesting-10000.xml",
        stream(&format!("<message>{}", "<a>".repeat(10_000))),
    );
    add(
        "hostile-truncated-utf8.xml",
        [
            &stream("<message><body>caf")[..],
            b"\xC3 and \xE6\xBC</body></message>",
        ]
        .concat(),
    );
    add(
        "hostile-truncated-utf8-at-eof.xml",
        [&stream("<message><body>emoji ")[..], b"\xF0\x9F\x98"].concat(),
    );
    add(
        "hostile-overlong-utf8.xml",
        [
            &stream("<message><body>..")[..],
            b"\xC0\xAF\xE0\x80\xAF etc</body></message>",
        ]
        .concat(),
    );
    add(
        "hostile-overlong-utf8-lt.xml",
        [
            &stream("<message><body>")[..],
            b"\xC0\xBCscript\xC0\xBE</body></message>",
        ]
        .concat(),
    );
    add(
        "hostile-surrogate-utf8.xml",
        [
            &stream("<message><body>")[..],
            b"\xED\xA0\x80</body></message>",
        ]
        .concat(),
    );
    add(
        "hostile-charref-zero.xml",
        stream("<message><body>nul &#0; here</body></message>"),
    );
    add(
        "hostile-charref-fffe.xml",
        stream("<message><body>&#xFFFE;</body></message>"),
    );
    add(
        "hostile-charref-surrogate.xml",
        stream("<message><body>&#xD83D;&#xDE00;</body></message>"),
    );
    add(
        "hostile-charref-surrogate-decimal-attr.xml",
        stream("<message id='&#55296;'><body>x</body></message>"),
    );
    add(
        "hostile-charref-too-big.xml",
        stream("<message><body>&#x110000;</body></message>"),
    );
    add(
        "hostile-control-char.xml",
        [&stream("<message><body>bell")[..], b"\x07</body></message>"].concat(),
    );
    add(
        "hostile-unbound-prefix.xml",
        stream("<message><foo:bar/></message>"),
    );
    add(
        "hostile-unbound-attr-prefix.xml",
        stream("<message foo:to='x'/>"),
    );
    add(
        "hostile-duplicate-attribute.xml",
        stream("<message to='a@b' to='c@d'/>"),
    );
    add(
        "hostile-duplicate-expanded-attribute.xml",
        stream("<message xmlns:a='urn:x' xmlns:b='urn:x' a:t='1' b:t='2'/>"),
    );
    add(
        "hostile-comment.xml",
        stream("<message><!-- hi --><body/></message>"),
    );
    add(
        "hostile-comment-before-root.xml",
        b"<?xml version='1.0'?><!-- hello --><stream:stream xmlns='jabber:client' \
          xmlns:stream='http://etherx.jabber.org/streams'></stream:stream>"
            .to_vec(),
    );
    add(
        "hostile-processing-instruction.xml",
        stream("<message><?evil payload?><body/></message>"),
    );
    add(
        "hostile-endless-text.xml",
        stream(&"all work and no play makes jack a dull boy ".repeat(1400)),
    );
    add(
        "hostile-endless-attribute.xml",
        stream(&format!("<message id='{}", "x".repeat(60_000))),
    );
    add(
        "hostile-mismatched-tag.xml",
        stream("<message><body>hi</message></body>"),
    );
    add(
        "hostile-cdata-end-in-text.xml",
        stream("<message><body>a ]]> b</body></message>"),
    );
    add(
        "hostile-bare-ampersand.xml",
        stream("<message><body>fish & chips</body></message>"),
    );
    add("hostile-lt-in-attribute.xml", stream("<message id='a<b'/>"));
    add(
        "hostile-latin1-declaration.xml",
        b"<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream xmlns='jabber:client' \
          xmlns:stream='http://etherx.jabber.org/streams'><message><body>caf\xE9</body></message>"
            .to_vec(),
    );
    add(
        "hostile-second-root.xml",
        format!("{HDR}</stream:stream><a/>").into_bytes(),
    );
    add(
        "hostile-text-after-end.xml",
        format!("{HDR}</stream:stream>trailing").into_bytes(),
    );
    add(
        "hostile-rebind-xml-prefix.xml",
        stream("<message xmlns:xml='urn:not-xml'/>"),
    );
    add(
        "hostile-empty-prefixed-ns.xml",
        stream("<message xmlns:p=''/>"),
    );
    add(
        "hostile-truncated-stream.xml",
        stream("<message to='a@b'><body>cut off mid-sta"),
    );
    add(
        "hostile-utf16-bom.xml",
        "<stream:stream/>"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .fold(vec![0xFF, 0xFE], |mut v, b| {
                v.push(b);
                v
            }),
    );
    let attrs: String = (0..2000).map(|i| format!(" a{i}='v'")).collect();
    add(
        "hostile-many-attributes.xml",
        stream(&format!("<message{attrs}/>")),
    );
    s
}
