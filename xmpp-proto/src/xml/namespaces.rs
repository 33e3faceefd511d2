//! Namespace scopes (Namespaces in XML 1.0): prefix bindings that open with
//! an element and close with it, plus the reserved `xml`/`xmlns` rules.

use bytestring::ByteString;

use super::element::{NS_XML, NS_XMLNS};
use super::error::XmlErrorKind;

/// A stack of bindings; an empty prefix is the default namespace.
#[derive(Debug, Default)]
pub(crate) struct Scopes {
    bindings: Vec<(ByteString, ByteString)>,
}

impl Scopes {
    /// A mark to restore when the current element closes.
    pub(crate) fn mark(&self) -> usize {
        self.bindings.len()
    }

    /// Drops the bindings made since `mark`.
    pub(crate) fn pop_to(&mut self, mark: usize) {
        self.bindings.truncate(mark);
    }

    /// Declares `prefix` (empty for the default namespace) as `uri`.
    pub(crate) fn declare(
        &mut self,
        prefix: ByteString,
        uri: ByteString,
    ) -> Result<(), XmlErrorKind> {
        let reserved = XmlErrorKind::ReservedNamespace;
        match &*prefix {
            "xmlns" => return Err(reserved),
            "xml" if &*uri != NS_XML => return Err(reserved),
            "xml" => return Ok(()),
            "" => {}
            // Namespaces 1.0 has no way to undeclare a prefix.
            _ if uri.is_empty() => return Err(reserved),
            _ => {}
        }
        if &*uri == NS_XML || &*uri == NS_XMLNS {
            return Err(reserved);
        }
        self.bindings.push((prefix, uri));
        Ok(())
    }

    /// The namespace of `prefix` (empty prefix: the default namespace, "" if none).
    pub(crate) fn resolve(&self, prefix: &str) -> Result<ByteString, XmlErrorKind> {
        if let Some((_, uri)) = self.bindings.iter().rev().find(|(p, _)| &**p == prefix) {
            return Ok(uri.clone());
        }
        match prefix {
            "" => Ok(ByteString::new()),
            "xml" => Ok(ByteString::from_static(NS_XML)),
            _ => Err(XmlErrorKind::UnboundPrefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bs(s: &'static str) -> ByteString {
        ByteString::from_static(s)
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
