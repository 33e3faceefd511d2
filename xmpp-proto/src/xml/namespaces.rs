//! Namespace scopes (Namespaces in XML 1.0): prefix bindings that open with
//! an element and close with it, plus the reserved `xml`/`xmlns` rules.

use std::collections::HashMap;

use bytestring::ByteString;

use super::element::{NS_XML, NS_XMLNS};
use super::error::XmlErrorKind;
use super::intern::Interned;

/// Prefix bindings in scope. The default namespace is kept apart so the
/// common case, an unprefixed name, resolves in O(1). The first
/// [`SCANNED`] prefixed bindings (all of them in ordinary streams) are
/// searched by a short scan; beyond them each prefix's innermost binding is
/// indexed, so that even thousands of bindings in scope
/// (`max_depth × max_attributes`) cost one lookup per name, not a scan.
#[derive(Debug, Default)]
pub(crate) struct Scopes {
    /// Prefixed bindings, innermost last.
    bindings: Vec<Binding>,
    /// Prefixes bound at positions from [`SCANNED`] on: the position of
    /// the innermost such binding.
    innermost: HashMap<ByteString, usize>,
    /// Default namespaces declared, innermost last.
    defaults: Vec<Interned>,
}

/// Bindings below this position are found by scanning.
const SCANNED: usize = 16;

#[derive(Debug)]
struct Binding {
    prefix: ByteString,
    uri: Interned,
    /// The indexed binding of the same prefix this one shadows, if any.
    shadows: Option<usize>,
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
    #[inline]
    pub(crate) fn pop_to(&mut self, mark: Mark) {
        while self.bindings.len() > mark.bindings {
            let Some(b) = self.bindings.pop() else {
                break;
            };
            if self.bindings.len() < SCANNED {
                continue;
            }
            match b.shadows {
                Some(i) => {
                    if let Some(slot) = self.innermost.get_mut(&*b.prefix) {
                        *slot = i;
                    }
                }
                None => {
                    self.innermost.remove(&*b.prefix);
                }
            }
        }
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
            let prefix = prefix.into_bytestring();
            let index = self.bindings.len();
            let shadows = if index >= SCANNED {
                self.innermost.insert(prefix.clone(), index)
            } else {
                None
            };
            self.bindings.push(Binding {
                prefix,
                uri,
                shadows,
            });
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
        // An indexed binding is inner to every scanned one.
        let indexed = if self.innermost.is_empty() {
            None
        } else {
            self.innermost
                .get(prefix)
                .and_then(|&i| self.bindings.get(i))
        };
        let scanned = || {
            let n = self.bindings.len().min(SCANNED);
            self.bindings[..n]
                .iter()
                .rev()
                .find(|b| &*b.prefix == prefix)
        };
        if let Some(b) = indexed.or_else(scanned) {
            return Ok(b.uri.get());
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
        // Shadowing, and its undoing.
        let m3 = s.mark();
        s.declare(bs("stream"), bs("urn:inner")).unwrap();
        assert_eq!(&*s.resolve("stream").unwrap(), "urn:inner");
        s.pop_to(m3);
        assert_eq!(
            &*s.resolve("stream").unwrap(),
            "http://etherx.jabber.org/streams"
        );
        s.pop_to(m);
        assert_eq!(s.resolve("stream"), Err(XmlErrorKind::UnboundPrefix));
        // Past the scanned bindings: indexed, shadowed and restored.
        let m = s.mark();
        for i in 0..40 {
            s.declare(
                bs(["a", "b", "c", "d"][i % 4]),
                bs(["1", "2", "3", "4", "5"][i % 5]),
            )
            .unwrap();
        }
        let inner = s.mark();
        s.declare(bs("a"), bs("inner")).unwrap();
        assert_eq!(&*s.resolve("a").unwrap(), "inner");
        s.pop_to(inner);
        // The 37th binding (i = 36) is the innermost `a`: 36 % 5 = 1.
        assert_eq!(&*s.resolve("a").unwrap(), "2");
        assert_eq!(&*s.resolve("d").unwrap(), "5");
        s.pop_to(m);
        assert_eq!(s.resolve("a"), Err(XmlErrorKind::UnboundPrefix));
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
