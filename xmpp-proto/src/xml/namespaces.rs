//! Namespace scopes (Namespaces in XML 1.0): prefix bindings that open with
//! an element and close with it, plus the reserved `xml`/`xmlns` rules.

use bytestring::ByteString;

use super::element::{NS_XML, NS_XMLNS};
use super::error::XmlErrorKind;
use super::intern::Interned;

/// Prefix bindings in scope. The default namespace is kept apart so the
/// common case, an unprefixed name, resolves in O(1).
#[derive(Debug, Default)]
pub(crate) struct Scopes {
    /// Prefixed bindings, innermost last.
    bindings: Vec<(Interned, Interned)>,
    /// Default namespaces declared, innermost last.
    defaults: Vec<Interned>,
}

/// Where to roll back to when an element closes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mark {
    bindings: usize,
    defaults: usize,
}

impl Scopes {
    /// A mark to restore when the current element closes.
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            bindings: self.bindings.len(),
            defaults: self.defaults.len(),
        }
    }

    /// Drops the bindings made since `mark`.
    pub(crate) fn pop_to(&mut self, mark: Mark) {
        self.bindings.truncate(mark.bindings);
        self.defaults.truncate(mark.defaults);
    }

    /// Declares `prefix` (empty for the default namespace) as `uri`.
    pub(crate) fn declare(&mut self, prefix: Interned, uri: Interned) -> Result<(), XmlErrorKind> {
        let reserved = XmlErrorKind::ReservedNamespace;
        let (p, u) = (prefix.as_str(), uri.as_str());
        match p {
            "xmlns" => return Err(reserved),
            "xml" if u != NS_XML => return Err(reserved),
            "xml" => return Ok(()),
            "" => {}
            // Namespaces 1.0 has no way to undeclare a prefix.
            _ if u.is_empty() => return Err(reserved),
            _ => {}
        }
        if u == NS_XML || u == NS_XMLNS {
            return Err(reserved);
        }
        if p.is_empty() {
            self.defaults.push(uri);
        } else {
            self.bindings.push((prefix, uri));
        }
        Ok(())
    }

    /// The default namespace ("" if none).
    #[inline]
    pub(crate) fn default_ns(&self) -> ByteString {
        match self.defaults.last() {
            Some(uri) => uri.get(),
            None => ByteString::new(),
        }
    }

    /// The namespace of `prefix` (empty prefix: the default namespace).
    #[inline]
    pub(crate) fn resolve(&self, prefix: &str) -> Result<ByteString, XmlErrorKind> {
        if prefix.is_empty() {
            return Ok(self.default_ns());
        }
        self.resolve_prefixed(prefix)
    }

    fn resolve_prefixed(&self, prefix: &str) -> Result<ByteString, XmlErrorKind> {
        if let Some((_, uri)) = self
            .bindings
            .iter()
            .rev()
            .find(|(p, _)| p.as_str() == prefix)
        {
            return Ok(uri.get());
        }
        match prefix {
            "xml" => Ok(ByteString::from_static(NS_XML)),
            _ => Err(XmlErrorKind::UnboundPrefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bs(s: &'static str) -> Interned {
        Interned::Shared(ByteString::from_static(s))
    }

    #[test]
    fn scoping() {
        let mut s = Scopes::default();
        assert_eq!(&*s.resolve("").unwrap(), "");
        let m = s.mark();
        s.declare(bs(""), bs("jabber:client")).unwrap();
        s.declare(bs("stream"), bs("http://etherx.jabber.org/streams"))
            .unwrap();
        assert_eq!(&*s.resolve("").unwrap(), "jabber:client");
        let m2 = s.mark();
        s.declare(bs(""), bs("")).unwrap();
        assert_eq!(&*s.resolve("").unwrap(), "");
        s.pop_to(m2);
        assert_eq!(&*s.resolve("").unwrap(), "jabber:client");
        s.pop_to(m);
        assert_eq!(s.resolve("stream"), Err(XmlErrorKind::UnboundPrefix));
        assert_eq!(&*s.resolve("xml").unwrap(), NS_XML);
    }

    #[test]
    fn reserved() {
        let mut s = Scopes::default();
        let r = Err(XmlErrorKind::ReservedNamespace);
        assert_eq!(s.declare(bs("xmlns"), bs("urn:x")), r);
        assert_eq!(s.declare(bs("xml"), bs("urn:x")), r);
        assert_eq!(s.declare(bs("p"), bs(NS_XML)), r);
        assert_eq!(s.declare(bs(""), bs(NS_XMLNS)), r);
        assert_eq!(s.declare(bs("p"), bs("")), r);
        assert_eq!(s.declare(bs("xml"), bs(NS_XML)), Ok(()));
    }
}
