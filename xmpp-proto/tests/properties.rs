//! Property tests of the XML stream reader and writer (proptest).
//!
//! (a) chunking invariance: a generated stream of stanzas (arbitrary valid
//!     names incl. non-ASCII, namespaces declared as defaults or prefixes,
//!     attributes, text needing escapes, CDATA, character references,
//!     nesting), written by a deliberately varied serializer in this file,
//!     parses to the expected elements, and identically under any chunking;
//! (b) round trip: an element built with the public API from arbitrary
//!     names, namespaces, attributes and text, written with `to_xml()` (and
//!     `write_in_stream`) inside `<s xmlns='urn:x'>…</s>`, parses back equal
//!     under any chunking;
//! (c) arbitrary bytes, and mutated valid streams, never panic the reader
//!     and give the same result whole and chunked.
//!
//! Case counts are moderate so the suite takes seconds in a debug build;
//! raise them with PROPTEST_CASES=N.

use xmpp_test_support::chunking;

use xmpp_test_support::corpus;

use chunking::{Event, Limits};
use corpus::Rng;
use proptest::prelude::*;
use xmpp_proto::xml::Element;

const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
const NS_STREAM: &str = "http://etherx.jabber.org/streams";

// ---------------------------------------------------------------------------
// Model

#[derive(Clone, Debug)]
struct MAttr {
    ns: String,
    local: String,
    value: String,
}

#[derive(Clone, Debug)]
enum MNode {
    Elem(MElem),
    Text(String),
}

#[derive(Clone, Debug)]
struct MElem {
    ns: String,
    local: String,
    attrs: Vec<MAttr>,
    children: Vec<MNode>,
}

impl MElem {
    /// The same element built with the public API.
    fn build(&self) -> Element {
        let mut e = Element::new(self.ns.clone(), self.local.clone());
        for a in &self.attrs {
            e.set_attr_ns(a.ns.clone(), a.local.clone(), a.value.clone());
        }
        for c in &self.children {
            match c {
                MNode::Elem(child) => e.push_child(child.build()),
                MNode::Text(t) => e.append_text(t.clone()),
            }
        }
        e
    }
}

// ---------------------------------------------------------------------------
// Strategies

const NAME_START: &[char] = &[
    'a',
    'b',
    'm',
    'q',
    'Z',
    '_',
    'é',
    'ü',
    'Ω',
    'ж',
    '漢',
    '字',
    'ß',
    'ñ',
    '\u{10348}',
    'ア',
];
const NAME_REST: &[char] = &[
    'a',
    'y',
    'K',
    '_',
    '-',
    '.',
    '0',
    '9',
    '·',
    '\u{301}',
    'é',
    '語',
    '‿',
    '\u{1F600}',
];

fn is_name_char_ok(c: char) -> bool {
    // U+1F600 is in #x10000-#xEFFFF, so a valid NameChar.
    c != ':'
}

fn ncname() -> impl Strategy<Value = String> {
    (
        prop::sample::select(NAME_START),
        prop::collection::vec(prop::sample::select(NAME_REST), 0..6),
    )
        .prop_map(|(first, rest)| {
            let mut s = String::new();
            s.push(first);
            s.extend(rest.into_iter().filter(|&c| is_name_char_ok(c)));
            s
        })
}

fn element_ns() -> impl Strategy<Value = String> {
    prop::sample::select(
        &[
            "",
            "jabber:client",
            "urn:x",
            "urn:a:ü",
            "http://jabber.org/protocol/chatstates",
            NS_STREAM,
            // Bound to `xml:`, never declared: written as `xml:name`.
            NS_XML,
        ][..],
    )
    .prop_map(String::from)
}

fn attr_ns() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(String::new()),
        1 => Just("urn:a:ü".to_string()),
        1 => Just("urn:b".to_string()),
        1 => Just(NS_XML.to_string()),
    ]
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn xml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(&[
            '&', '<', '>', '"', '\'', '\r', '\n', '\t', ']', ']', ' ', ';', '#', '=',
        ][..]),
        3 => prop::char::range('a', 'z'),
        2 => prop::sample::select(&['é', 'ü', '漢', '😀', '\u{FFFD}', '\u{E000}', '\u{85}', '\u{2028}', '\u{10FFFF}'][..]),
        2 => any::<char>().prop_filter("XML Char", |&c| is_xml_char(c)),
    ]
}

fn xml_text(min: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(xml_char(), min..24).prop_map(|v| v.into_iter().collect())
}

fn attrs() -> impl Strategy<Value = Vec<MAttr>> {
    prop::collection::vec((attr_ns(), ncname(), xml_text(0)), 0..4).prop_map(|v| {
        let mut out: Vec<MAttr> = Vec::new();
        for (ns, local, value) in v {
            if !out.iter().any(|a| a.ns == ns && a.local == local) {
                out.push(MAttr { ns, local, value });
            }
        }
        out
    })
}

/// Merges adjacent text nodes (the reader reports one run).
fn normalize(children: Vec<MNode>) -> Vec<MNode> {
    let mut out: Vec<MNode> = Vec::new();
    for c in children {
        match (out.last_mut(), c) {
            (Some(MNode::Text(prev)), MNode::Text(t)) => prev.push_str(&t),
            (_, c) => out.push(c),
        }
    }
    out
}

fn element() -> impl Strategy<Value = MElem> {
    let leaf = (element_ns(), ncname(), attrs()).prop_map(|(ns, local, attrs)| MElem {
        ns,
        local,
        attrs,
        children: Vec::new(),
    });
    leaf.prop_recursive(4, 24, 4, |inner| {
        (
            element_ns(),
            ncname(),
            attrs(),
            prop::collection::vec(
                prop_oneof![
                    inner.prop_map(MNode::Elem),
                    xml_text(1).prop_map(MNode::Text)
                ],
                0..4,
            ),
        )
            .prop_map(|(ns, local, attrs, children)| MElem {
                ns,
                local,
                attrs,
                children: normalize(children),
            })
    })
}

// ---------------------------------------------------------------------------
// A varied serializer (for (a)): random quoting, whitespace, prefixes,
// redundant declarations, CDATA, character references, empty-element forms.

#[derive(Clone)]
struct Scope {
    default: String,
    /// Bindings in declaration order; the last one for a prefix wins.
    prefixes: Vec<(String, String)>,
}

impl Scope {
    fn resolve(&self, prefix: &str) -> Option<&str> {
        self.prefixes
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, ns)| ns.as_str())
    }

    /// A prefix currently bound to `ns`, if any.
    fn prefix_for(&self, ns: &str) -> Option<String> {
        self.prefixes
            .iter()
            .rev()
            .find(|(p, n)| n == ns && self.resolve(p) == Some(ns))
            .map(|(p, _)| p.clone())
    }
}

struct Writer {
    rng: Rng,
    out: String,
    next_prefix: usize,
}

impl Writer {
    fn space(&mut self) {
        let ws = [" ", " ", " ", "\n", "\t", "  ", "\r\n"];
        let w = ws[self.rng.below(ws.len())];
        self.out.push_str(w);
    }

    fn maybe_space(&mut self) {
        if self.rng.chance(15) {
            self.space();
        }
    }

    fn char_ref(&mut self, c: char) {
        if self.rng.chance(50) {
            self.out.push_str(&format!("&#{};", c as u32));
        } else if self.rng.chance(50) {
            self.out.push_str(&format!("&#x{:X};", c as u32));
        } else {
            self.out.push_str(&format!("&#x{:04x};", c as u32));
        }
    }

    /// `&` as the predefined entity, or (less often) a character reference.
    fn ampersand(&mut self) {
        if self.rng.chance(70) {
            self.out.push_str("&amp;")
        } else {
            self.char_ref('&')
        }
    }

    fn attr_value(&mut self, v: &str) {
        let q = if self.rng.chance(50) { '\'' } else { '"' };
        self.out.push(q);
        for c in v.chars() {
            match c {
                '&' => self.ampersand(),
                '<' => self.out.push_str("&lt;"),
                '"' if q == '"' => self.out.push_str("&quot;"),
                '\'' if q == '\'' => self.out.push_str("&apos;"),
                // Literal whitespace other than ' ' would be normalized to ' '.
                '\t' | '\n' | '\r' => self.char_ref(c),
                // ...so a space may be written as any literal whitespace,
                // including a CRLF pair (one line end, one space).
                // (A literal LF right after a lone CR would join it into one
                // CRLF line end, so never write one there.)
                ' ' if self.rng.chance(30) => {
                    let w = ["\t", "\n", "\r", "\r\n"];
                    let w = w[self.rng.below(w.len())];
                    if w == "\n" && self.out.ends_with('\r') {
                        self.out.push(' ');
                    } else {
                        self.out.push_str(w);
                    }
                }
                '>' if self.rng.chance(50) => self.out.push_str("&gt;"),
                c if self.rng.chance(8) => self.char_ref(c),
                c => self.out.push(c),
            }
        }
        self.out.push(q);
    }

    fn text(&mut self, t: &str) {
        // Cut the text into pieces, each written as escaped text or CDATA.
        let chars: Vec<char> = t.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let len = 1 + self.rng.below(chars.len() - i);
            let piece: String = chars[i..i + len].iter().collect();
            i += len;
            if self.rng.chance(25) && !piece.contains("]]>") && !piece.contains('\r') {
                self.out.push_str("<![CDATA[");
                self.out.push_str(&piece);
                self.out.push_str("]]>");
                continue;
            }
            for c in piece.chars() {
                match c {
                    '&' => self.ampersand(),
                    '<' => self.out.push_str("&lt;"),
                    '>' if self.out.ends_with("]]") || self.rng.chance(30) => {
                        self.out.push_str("&gt;")
                    }
                    '\r' => self.char_ref(c),
                    // A literal LF right after a lone CR would join it into
                    // one CRLF line end.
                    '\n' if self.out.ends_with('\r') => self.char_ref(c),
                    // A line feed may be written as any line end (CRLF or a
                    // lone CR), which the reader normalizes to LF.
                    '\n' if self.rng.chance(40) => {
                        let w = if self.rng.chance(50) { "\r\n" } else { "\r" };
                        self.out.push_str(w);
                    }
                    '"' if self.rng.chance(20) => self.out.push_str("&quot;"),
                    '\'' if self.rng.chance(20) => self.out.push_str("&apos;"),
                    c if self.rng.chance(5) => self.char_ref(c),
                    c => self.out.push(c),
                }
            }
        }
    }

    fn fresh_prefix(&mut self, scope: &Scope) -> String {
        // Sometimes rebind an existing prefix (shadowing), usually a new one.
        if self.rng.chance(15) {
            if let Some((p, _)) = scope.prefixes.iter().find(|(p, _)| p != "stream") {
                return p.clone();
            }
        }
        let p = format!("p{}", self.next_prefix);
        self.next_prefix += 1;
        p
    }

    fn element(&mut self, e: &MElem, parent: &Scope) {
        let mut scope = parent.clone();
        let mut decls: Vec<(String, String)> = Vec::new(); // (attr name, ns)

        // The element's qualified name.
        let qname = if e.ns == NS_XML {
            format!("xml:{}", e.local)
        } else if e.ns == scope.default && self.rng.chance(75) {
            e.local.clone()
        } else if !e.ns.is_empty() && self.rng.chance(50) {
            let p = match scope.prefix_for(&e.ns) {
                Some(p) if self.rng.chance(70) => p,
                _ => {
                    let p = self.fresh_prefix(&scope);
                    decls.push((format!("xmlns:{p}"), e.ns.clone()));
                    scope.prefixes.push((p.clone(), e.ns.clone()));
                    p
                }
            };
            format!("{p}:{}", e.local)
        } else {
            decls.push(("xmlns".to_string(), e.ns.clone()));
            scope.default = e.ns.clone();
            e.local.clone()
        };

        // Attribute qualified names (may add declarations).
        let mut attr_names = Vec::new();
        for a in &e.attrs {
            let name = if a.ns.is_empty() {
                a.local.clone()
            } else if a.ns == NS_XML {
                format!("xml:{}", a.local)
            } else {
                let p = match scope.prefix_for(&a.ns) {
                    Some(p) => p,
                    None => {
                        let p = format!("p{}", self.next_prefix);
                        self.next_prefix += 1;
                        decls.push((format!("xmlns:{p}"), a.ns.clone()));
                        scope.prefixes.push((p.clone(), a.ns.clone()));
                        p
                    }
                };
                format!("{p}:{}", a.local)
            };
            attr_names.push(name);
        }

        // Interleave the declarations at random places among the attributes
        // (which keep their order: the reader reports document order).
        let mut items: Vec<(String, String)> = attr_names
            .into_iter()
            .zip(&e.attrs)
            .map(|(name, a)| (name, a.value.clone()))
            .collect();
        for d in decls {
            let at = self.rng.below(items.len() + 1);
            items.insert(at, d);
        }

        self.out.push('<');
        self.out.push_str(&qname);
        for (name, value) in &items {
            self.space();
            self.out.push_str(name);
            self.maybe_space();
            self.out.push('=');
            self.maybe_space();
            self.attr_value(value);
        }
        self.maybe_space();
        if e.children.is_empty() && self.rng.chance(60) {
            self.out.push_str("/>");
            return;
        }
        self.out.push('>');
        for c in &e.children {
            match c {
                MNode::Elem(child) => self.element(child, &scope),
                MNode::Text(t) => self.text(t),
            }
        }
        self.out.push_str("</");
        self.out.push_str(&qname);
        self.maybe_space();
        self.out.push('>');
    }
}

/// A whole stream: declaration, header, the stanzas with dropped
/// whitespace/text between them, footer.
fn write_stream(stanzas: &[MElem], seed: u64) -> Vec<u8> {
    let mut w = Writer {
        rng: Rng::new(seed),
        out: String::new(),
        next_prefix: 0,
    };
    if w.rng.chance(50) {
        w.out.push_str("<?xml version='1.0'?>");
    }
    if w.rng.chance(30) {
        w.out.push('\n');
    }
    w.out.push_str(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
         from='example.com' id='x' version='1.0' xml:lang='en'>",
    );
    let scope = Scope {
        default: "jabber:client".into(),
        prefixes: vec![("stream".into(), NS_STREAM.into())],
    };
    for s in stanzas {
        match w.rng.below(6) {
            0 => w.out.push(' '),
            1 => w.out.push_str("\n\t"),
            2 => w.out.push_str("dropped &amp; text"),
            _ => {}
        }
        w.element(s, &scope);
    }
    w.out.push_str("</stream:stream>");
    if w.rng.chance(30) {
        w.out.push_str("\r\n");
    }
    w.out.into_bytes()
}

fn stanza_elements(out: &chunking::Outcome) -> Vec<&Element> {
    out.events
        .iter()
        .filter_map(|e| match e {
            Event::Element(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn splits() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(any::<usize>(), 0..16)
}

// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    /// (a) A generated stream parses to the model's elements, and the same
    /// under any chunking (explicit points, pseudo-random, 7-byte, 1-byte).
    #[test]
    fn chunking_invariance(
        stanzas in prop::collection::vec(element(), 0..5),
        seed in any::<u64>(),
        points in splits(),
    ) {
        let data = write_stream(&stanzas, seed);
        let out = chunking::check_all(&data, &points, Limits::defaults(), 4096);
        prop_assert!(
            out.is_clean(),
            "error {:?} in {}",
            out.error,
            String::from_utf8_lossy(&data)
        );
        match out.events.first() {
            Some(Event::Header(h)) => prop_assert!(h.is(NS_STREAM, "stream")),
            other => prop_assert!(false, "first event {:?}", other),
        }
        let got = stanza_elements(&out);
        let want: Vec<Element> = stanzas.iter().map(MElem::build).collect();
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(*g, w, "input: {}", String::from_utf8_lossy(&data));
        }
    }

    /// (b) to_xml() / write_in_stream() round trip, under any chunking.
    #[test]
    fn round_trip(e in element(), points in splits()) {
        let built = e.build();
        let xml = built.to_xml();
        let mut in_stream = Vec::new();
        built.write_in_stream(&mut in_stream, "urn:x");
        let mut write_xml = Vec::new();
        built.write_xml(&mut write_xml);
        prop_assert_eq!(xml.as_bytes(), &write_xml[..], "to_xml and write_xml differ");

        for (how, body) in [("to_xml", xml.as_bytes()), ("write_in_stream", &in_stream[..])] {
            // to_xml() is standalone: a root in no namespace carries no
            // xmlns='' and would inherit a wrapper's default namespace, so
            // that case is wrapped in a stream without one. (Children in no
            // namespace under a namespaced parent must still get xmlns=''.)
            // The same for a root in the XML namespace: written `xml:name`,
            // it leaves its children the outer default namespace.
            let open: &[u8] = if how == "to_xml" && (e.ns.is_empty() || e.ns == NS_XML) {
                b"<s>"
            } else {
                b"<s xmlns='urn:x'>"
            };
            let data = [open, body, b"</s>"].concat();
            let out = chunking::check_all(&data, &points, Limits::defaults(), 4096);
            prop_assert!(
                out.is_clean(),
                "{}: error {:?} in {}",
                how,
                out.error,
                String::from_utf8_lossy(&data)
            );
            let got = stanza_elements(&out);
            prop_assert_eq!(got.len(), 1, "{}", how);
            prop_assert_eq!(got[0], &built, "{}: {}", how, String::from_utf8_lossy(&data));
        }
    }

    /// (c) Arbitrary bytes: no panic, whole == chunked (default and small limits).
    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..256), points in splits()) {
        chunking::check_all(&data, &points, Limits::defaults(), 256);
        chunking::check_all(&data, &points, Limits::small(), 256);
    }

    /// (c) Mutated valid streams reach deeper states than random bytes.
    #[test]
    fn mutated_streams(
        stanzas in prop::collection::vec(element(), 1..3),
        seed in any::<u64>(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..4),
        points in splits(),
    ) {
        let mut data = write_stream(&stanzas, seed);
        for (pos, byte, op) in edits {
            let at = pos % (data.len() + 1);
            match op {
                0 => data.insert(at, byte),
                1 if at < data.len() => { data.remove(at); }
                _ if at < data.len() => data[at] = byte,
                _ => data.push(byte),
            }
        }
        chunking::check_all(&data, &points, Limits::defaults(), 1024);
        chunking::check_all(&data, &points, Limits::small(), 1024);
    }
}
