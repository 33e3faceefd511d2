//! The owned element tree that the reader produces and the writer consumes.
//!
//! Strings are [`ByteString`]s: cheap-to-clone UTF-8 views into the shared
//! receive buffer, so a parsed stanza's names, attribute values and text
//! usually cost no copy at all. Elements compare by namespace and local name
//! (RFC 6120 §11.2: prefixes carry no meaning), then attributes and children.

use bytestring::ByteString;

/// The XML namespace, bound to the `xml` prefix by definition.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of namespace declarations themselves.
pub const NS_XMLNS: &str = "http://www.w3.org/2000/xmlns/";

/// An expanded name: namespace URI (empty for "no namespace") and local name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    /// Namespace URI, or the empty string when the name is in no namespace.
    pub ns: ByteString,
    /// Local part (never contains a colon).
    pub local: ByteString,
}

impl Name {
    /// Builds a name from a namespace URI and a local name.
    pub fn new(ns: impl Into<ByteString>, local: impl Into<ByteString>) -> Self {
        Name {
            ns: ns.into(),
            local: local.into(),
        }
    }

    /// True when this name is `local` in namespace `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        &*self.local == local && &*self.ns == ns
    }
}

/// One attribute of an element. Namespace declarations (`xmlns`, `xmlns:p`)
/// are not attributes: the reader resolves them and the writer recreates them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// The attribute's expanded name (no namespace for unprefixed attributes).
    pub name: Name,
    /// The attribute value, unescaped and normalized.
    pub value: ByteString,
}

/// A child of an element: another element or a run of character data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (text and CDATA sections, unescaped, adjacent runs merged).
    Text(ByteString),
}

/// An XML element with its attributes and children.
#[derive(Clone, Debug, Eq)]
pub struct Element {
    name: Name,
    attrs: Vec<Attribute>,
    children: Vec<Node>,
    lang: Option<ByteString>,
}

impl PartialEq for Element {
    /// Compares names, attributes (in order) and children; the inherited
    /// language is context, not content, and is not compared.
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.attrs == other.attrs && self.children == other.children
    }
}

impl std::hash::Hash for Element {
    /// Hashes what [`PartialEq`] compares: name, attributes and children.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.attrs.hash(state);
        self.children.hash(state);
    }
}

/// A name that cannot be written as XML (empty, bad characters, a colon).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid XML local name (NCName): use letters, digits, '-', '.', '_' and no colon"
)]
pub struct InvalidName(pub String);

impl Element {
    /// A new empty element named `local` in namespace `ns`.
    ///
    /// # Panics
    /// If `local` is not a valid XML NCName. Names come from code, not from
    /// the network; use [`Element::try_new`] for names computed at run time.
    pub fn new(ns: impl Into<ByteString>, local: impl Into<ByteString>) -> Self {
        match Self::try_new(ns, local) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Element::new`], but returns an error for an invalid name.
    pub fn try_new(
        ns: impl Into<ByteString>,
        local: impl Into<ByteString>,
    ) -> Result<Self, InvalidName> {
        let local = local.into();
        if !is_ncname(&local) {
            return Err(InvalidName(local.to_string()));
        }
        Ok(Self::from_parts(
            Name::new(ns, local),
            Vec::new(),
            Vec::new(),
            None,
        ))
    }

    /// Assembles an element from parts without validating names (the reader
    /// has already checked them).
    pub(crate) fn from_parts(
        name: Name,
        attrs: Vec<Attribute>,
        children: Vec<Node>,
        lang: Option<ByteString>,
    ) -> Self {
        Element {
            name,
            attrs,
            children,
            lang,
        }
    }

    /// Builder: sets an attribute in no namespace and returns the element.
    ///
    /// # Panics
    /// If `name` is not a valid NCName (see [`Element::new`]).
    pub fn with_attr(mut self, name: impl Into<ByteString>, value: impl Into<ByteString>) -> Self {
        self.set_attr(name, value);
        self
    }

    /// Builder: appends a child element.
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    /// Builder: appends text (merged with a preceding text node).
    pub fn with_text(mut self, text: impl Into<ByteString>) -> Self {
        self.append_text(text);
        self
    }

    /// The element's expanded name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The namespace URI (empty for none).
    pub fn ns(&self) -> &str {
        &self.name.ns
    }

    /// The local name.
    pub fn local_name(&self) -> &str {
        &self.name.local
    }

    /// True when the element is `local` in namespace `ns`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.name.is(ns, local)
    }

    /// The attributes in document order.
    pub fn attrs(&self) -> &[Attribute] {
        &self.attrs
    }

    /// The value of the attribute `name` in no namespace.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_ns("", name)
    }

    /// The value of the attribute `name` in namespace `ns`.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name.is(ns, name))
            .map(|a| &*a.value)
    }

    /// The attribute's value as a shared string (no copy).
    pub fn attr_bytes(&self, name: &str) -> Option<&ByteString> {
        self.attrs
            .iter()
            .find(|a| a.name.is("", name))
            .map(|a| &a.value)
    }

    /// Sets (or replaces) the attribute `name` in no namespace.
    ///
    /// # Panics
    /// If `name` is not a valid NCName.
    pub fn set_attr(&mut self, name: impl Into<ByteString>, value: impl Into<ByteString>) {
        self.set_attr_ns("", name, value);
    }

    /// Sets (or replaces) the attribute `name` in namespace `ns`.
    ///
    /// # Panics
    /// If `name` is not a valid NCName.
    pub fn set_attr_ns(
        &mut self,
        ns: impl Into<ByteString>,
        name: impl Into<ByteString>,
        value: impl Into<ByteString>,
    ) {
        let name = Name::new(ns, name);
        assert!(
            is_ncname(&name.local),
            "{}",
            InvalidName(name.local.to_string())
        );
        let value = value.into();
        match self.attrs.iter_mut().find(|a| a.name == name) {
            Some(a) => a.value = value,
            None => self.attrs.push(Attribute { name, value }),
        }
    }

    /// Removes the attribute `name` in no namespace, returning its value.
    pub fn remove_attr(&mut self, name: &str) -> Option<ByteString> {
        let i = self.attrs.iter().position(|a| a.name.is("", name))?;
        Some(self.attrs.remove(i).value)
    }

    /// The `xml:lang` in effect for this element: its own, or the one it
    /// inherited from its ancestors (including the stream header) when parsed.
    pub fn lang(&self) -> Option<&str> {
        self.attr_ns(NS_XML, "lang").or(self.lang.as_deref())
    }

    /// The child nodes in document order.
    pub fn nodes(&self) -> &[Node] {
        &self.children
    }

    /// Mutable access to the child nodes.
    pub fn nodes_mut(&mut self) -> &mut Vec<Node> {
        &mut self.children
    }

    /// The child elements in document order.
    pub fn children(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element named `local` in namespace `ns`.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.children().find(|e| e.is(ns, local))
    }

    /// Appends a child element.
    pub fn push_child(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Appends text, merging with a preceding text node. Empty text is ignored.
    pub fn append_text(&mut self, text: impl Into<ByteString>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        if let Some(Node::Text(prev)) = self.children.last_mut() {
            let mut s = String::with_capacity(prev.len() + text.len());
            s.push_str(prev);
            s.push_str(&text);
            *prev = ByteString::from(s);
        } else {
            self.children.push(Node::Text(text));
        }
    }

    /// All direct text content concatenated (no copy when there is one run).
    pub fn text(&self) -> ByteString {
        let mut texts = self.children.iter().filter_map(|n| match n {
            Node::Text(t) => Some(t),
            Node::Element(_) => None,
        });
        let Some(first) = texts.next() else {
            return ByteString::new();
        };
        match texts.next() {
            None => first.clone(),
            Some(second) => {
                let mut s = String::from(&**first);
                s.push_str(second);
                for t in texts {
                    s.push_str(t);
                }
                ByteString::from(s)
            }
        }
    }

    /// Text of the first child `local` in `ns`, if that child exists.
    pub fn child_text(&self, ns: &str, local: &str) -> Option<ByteString> {
        self.child(ns, local).map(Element::text)
    }

    /// Consumes the element, returning its parts: name, attributes, children.
    pub fn into_parts(self) -> (Name, Vec<Attribute>, Vec<Node>) {
        (self.name, self.attrs, self.children)
    }
}

/// True for an XML NCName: a Name (XML 1.0 5th edition productions) without colons.
pub fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start_char(c) => {}
        _ => return false,
    }
    chars.all(is_name_char)
}

/// XML 1.0 (5th edition) NameStartChar, without ':'.
pub(crate) fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 (5th edition) NameChar, without ':'.
pub(crate) fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_and_accessors() {
        let e = Element::new("jabber:client", "message")
            .with_attr("to", "a@b")
            .with_child(Element::new("jabber:client", "body").with_text("hi"))
            .with_text("x")
            .with_text("y");
        assert_eq!(e.attr("to"), Some("a@b"));
        assert_eq!(e.attr("from"), None);
        assert_eq!(&*e.child_text("jabber:client", "body").unwrap(), "hi");
        assert_eq!(&*e.text(), "xy");
        assert_eq!(e.nodes().len(), 2);
    }

    #[test]
    fn ncname_rules() {
        assert!(is_ncname("body"));
        assert!(is_ncname("a-b.c_d9"));
        assert!(is_ncname("été"));
        assert!(!is_ncname(""));
        assert!(!is_ncname("9a"));
        assert!(!is_ncname("a:b"));
        assert!(!is_ncname("a b"));
        assert!(!is_ncname("-a"));
        assert!(Element::try_new("", "a><b").is_err());
    }

    #[test]
    fn set_attr_replaces() {
        let mut e = Element::new("", "a");
        e.set_attr("x", "1");
        e.set_attr("x", "2");
        assert_eq!(e.attrs().len(), 1);
        assert_eq!(e.attr("x"), Some("2"));
        assert_eq!(e.remove_attr("x").as_deref(), Some("2"));
        assert!(e.attrs().is_empty());
    }
}
