//! Element trees to bytes: correct escaping and minimal namespace
//! declarations. Elements are written unprefixed with a default namespace
//! declaration only where the namespace changes (an element in the XML
//! namespace, which may not be declared, as `xml:name`); namespaced
//! attributes get a generated prefix (`xml:` for the XML namespace).

use super::element::{Element, Node, NS_XML};
use super::escape::{escape_attr, escape_text};

/// The streams namespace (RFC 6120 §4.8.1).
pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";

/// The stream's closing tag.
pub const STREAM_CLOSE: &[u8] = b"</stream:stream>";

impl Element {
    /// Serializes the element on its own: it declares every namespace it
    /// uses, so the output parses alone to an equal tree.
    pub fn to_xml(&self) -> String {
        let mut out = Vec::new();
        self.write_xml(&mut out);
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Appends the standalone serialization (see [`Element::to_xml`]) to `out`.
    pub fn write_xml(&self, out: &mut Vec<u8>) {
        write_element(self, out, "", &mut Vec::new());
    }

    /// Appends the element as a child of a stream whose default namespace
    /// is `stream_default_ns` (`jabber:client`): the declaration is omitted
    /// when the element is in that namespace.
    pub fn write_in_stream(&self, out: &mut Vec<u8>, stream_default_ns: &str) {
        write_element(self, out, stream_default_ns, &mut Vec::new());
    }
}

/// Appends a stream header `<stream:stream …>` with the given default
/// namespace and attributes (values escaped; names must be valid XML names
/// such as `to`, `version`, `xml:lang`).
pub fn write_stream_open(out: &mut Vec<u8>, default_ns: &str, attrs: &[(&str, &str)]) {
    out.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='");
    escape_attr(out, default_ns);
    out.extend_from_slice(b"' xmlns:stream='");
    out.extend_from_slice(NS_STREAMS.as_bytes());
    out.push(b'\'');
    for (name, value) in attrs {
        out.push(b' ');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"='");
        escape_attr(out, value);
        out.push(b'\'');
    }
    out.push(b'>');
}

/// `prefixes` holds the (namespace, prefix) pairs declared by ancestors.
fn write_element(
    e: &Element,
    out: &mut Vec<u8>,
    default_ns: &str,
    prefixes: &mut Vec<(String, String)>,
) {
    let mark = prefixes.len();
    // The XML namespace is bound to `xml:` and may not be declared
    // (Namespaces in XML 1.0, §3): such an element keeps its prefix, and
    // its children see the default namespace of its parent.
    let (prefix, child_ns): (&[u8], &str) = if e.ns() == NS_XML {
        (b"xml:", default_ns)
    } else {
        (b"", e.ns())
    };
    out.push(b'<');
    out.extend_from_slice(prefix);
    out.extend_from_slice(e.local_name().as_bytes());
    if prefix.is_empty() && e.ns() != default_ns {
        out.extend_from_slice(b" xmlns='");
        escape_attr(out, e.ns());
        out.push(b'\'');
    }
    for a in e.attrs() {
        out.push(b' ');
        let ns = &*a.name.ns;
        if ns == NS_XML {
            out.extend_from_slice(b"xml:");
        } else if !ns.is_empty() {
            let prefix = match prefixes.iter().rev().find(|(n, _)| n == ns) {
                Some((_, p)) => p.clone(),
                None => {
                    let p = format!("ns{}", prefixes.len());
                    out.extend_from_slice(b"xmlns:");
                    out.extend_from_slice(p.as_bytes());
                    out.extend_from_slice(b"='");
                    escape_attr(out, ns);
                    out.extend_from_slice(b"' ");
                    prefixes.push((ns.to_string(), p.clone()));
                    p
                }
            };
            out.extend_from_slice(prefix.as_bytes());
            out.push(b':');
        }
        out.extend_from_slice(a.name.local.as_bytes());
        out.extend_from_slice(b"='");
        escape_attr(out, &a.value);
        out.push(b'\'');
    }
    if e.nodes().is_empty() {
        out.extend_from_slice(b"/>");
    } else {
        out.push(b'>');
        for n in e.nodes() {
            match n {
                Node::Element(c) => write_element(c, out, child_ns, prefixes),
                Node::Text(t) => escape_text(out, t),
            }
        }
        out.extend_from_slice(b"</");
        out.extend_from_slice(prefix);
        out.extend_from_slice(e.local_name().as_bytes());
        out.push(b'>');
    }
    prefixes.truncate(mark);
}
