//! Builds element trees from tokens: namespace resolution, tag matching,
//! attribute checks, limits, and the stream structure (header, top-level
//! elements, end).

use bytestring::ByteString;
use xmlparser::{ElementEnd, StrSpan, Token};

use super::element::{is_name_char, is_name_start_char, Attribute, Element, Name, Node, NS_XML};
use super::error::XmlErrorKind;
use super::escape;
use super::limits::ReaderLimits;
use super::namespaces::Scopes;
use super::reader::StreamEvent;

/// An error at a position inside the current fragment.
pub(crate) type BuildError = (XmlErrorKind, usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before the root element: BOM, declaration, whitespace.
    Prolog,
    /// Inside the root (stream) element.
    Root,
    /// After the root element closed: whitespace only.
    Ended,
}

/// An open element.
#[derive(Debug)]
struct Open {
    prefix: ByteString,
    local: ByteString,
    ns_mark: usize,
    element: Element,
}

/// A start tag being read: from `ElementStart` to `ElementEnd`.
#[derive(Debug)]
struct PendingStart {
    prefix: ByteString,
    local: ByteString,
    at: usize,
}

/// An attribute as written, before namespace resolution.
#[derive(Debug)]
struct RawAttr {
    prefix: ByteString,
    local: ByteString,
    value: ByteString,
    at: usize,
}

/// Token-to-tree state, kept across fragments.
#[derive(Debug)]
pub(crate) struct Builder {
    phase: Phase,
    /// Open elements below the root (the root is not kept as a tree).
    stack: Vec<Open>,
    root: Option<(ByteString, ByteString, usize)>,
    root_lang: Option<ByteString>,
    scopes: Scopes,
    pending: Option<PendingStart>,
    attrs: Vec<RawAttr>,
    /// Absolute offset where the current top-level element started.
    stanza_start: u64,
    limits: ReaderLimits,
}

impl Builder {
    pub(crate) fn new(limits: ReaderLimits) -> Self {
        Builder {
            phase: Phase::Prolog,
            stack: Vec::new(),
            root: None,
            root_lang: None,
            scopes: Scopes::default(),
            pending: None,
            attrs: Vec::new(),
            stanza_start: 0,
            limits,
        }
    }

    /// True before the root element started.
    pub(crate) fn in_prolog(&self) -> bool {
        self.phase == Phase::Prolog
    }

    /// True once the root element has closed.
    pub(crate) fn ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// Handles one token of `frag` (whose first byte is at absolute `base`).
    pub(crate) fn token(
        &mut self,
        token: Token<'_>,
        frag: &ByteString,
        base: u64,
        out: &mut impl FnMut(StreamEvent),
    ) -> Result<(), BuildError> {
        match token {
            Token::ElementStart {
                prefix,
                local,
                span,
            } => {
                let at = span.start();
                let (prefix, local) = qname(frag, prefix, local, at + 1)?;
                if self.phase != Phase::Prolog && self.phase != Phase::Root {
                    return Err((XmlErrorKind::ContentOutsideRoot, at));
                }
                if self.phase == Phase::Root && self.stack.is_empty() {
                    self.stanza_start = base + at as u64;
                }
                self.attrs.clear();
                self.pending = Some(PendingStart { prefix, local, at });
                Ok(())
            }
            Token::Attribute {
                prefix,
                local,
                value,
                span,
            } => {
                let at = span.start();
                let (prefix, local) = qname(frag, prefix, local, at)?;
                if self.attrs.len() >= self.limits.max_attributes {
                    let limit = self.limits.max_attributes;
                    return Err((XmlErrorKind::TooManyAttributes { limit }, at));
                }
                if self
                    .attrs
                    .iter()
                    .any(|a| a.local == local && a.prefix == prefix)
                {
                    return Err((XmlErrorKind::DuplicateAttribute, at));
                }
                let value =
                    escape::attr(frag, value.as_str()).map_err(|(k, o)| (k, value.start() + o))?;
                self.attrs.push(RawAttr {
                    prefix,
                    local,
                    value,
                    at,
                });
                Ok(())
            }
            Token::ElementEnd { end, span } => match end {
                ElementEnd::Open => self.start_tag_done(false, span.end(), base, out),
                ElementEnd::Empty => self.start_tag_done(true, span.end(), base, out),
                ElementEnd::Close(prefix, local) => {
                    self.check_size(span.end(), base, span.start())?;
                    self.end_tag(prefix, local, span.start(), out)
                }
            },
            Token::Text { text } => self.text(frag, text, true, base),
            Token::Cdata { text, span } => {
                if self.phase != Phase::Root {
                    return Err((XmlErrorKind::ContentOutsideRoot, span.start()));
                }
                self.text(frag, text, false, base)
            }
            Token::Comment { span, .. } => Err((XmlErrorKind::Comment, span.start())),
            Token::ProcessingInstruction { span, .. } => {
                Err((XmlErrorKind::ProcessingInstruction, span.start()))
            }
            Token::Declaration { span, .. } => {
                Err((XmlErrorKind::ProcessingInstruction, span.start()))
            }
            Token::DtdStart { span, .. }
            | Token::EmptyDtd { span, .. }
            | Token::EntityDeclaration { span, .. }
            | Token::DtdEnd { span } => Err((XmlErrorKind::Doctype, span.start())),
        }
    }

    /// Stanza-size check: `end` (fragment-relative) must stay within the limit.
    fn check_size(&self, end: usize, base: u64, at: usize) -> Result<(), BuildError> {
        if self.phase == Phase::Root
            && !self.stack.is_empty()
            && base + end as u64 - self.stanza_start > self.limits.max_stanza_size as u64
        {
            let limit = self.limits.max_stanza_size;
            return Err((XmlErrorKind::StanzaTooLarge { limit }, at));
        }
        Ok(())
    }

    fn start_tag_done(
        &mut self,
        empty: bool,
        end: usize,
        base: u64,
        out: &mut impl FnMut(StreamEvent),
    ) -> Result<(), BuildError> {
        let Some(start) = self.pending.take() else {
            return Err((XmlErrorKind::Syntax, end));
        };
        let at = start.at;
        let ns_mark = self.scopes.mark();
        // Declarations first: they apply to the element's own name and attributes.
        let mut plain = 0;
        for a in &self.attrs {
            let declared = match (&*a.prefix, &*a.local) {
                ("", "xmlns") => Some(ByteString::new()),
                ("xmlns", _) => Some(a.local.clone()),
                _ => None,
            };
            match declared {
                Some(prefix) => self
                    .scopes
                    .declare(prefix, a.value.clone())
                    .map_err(|k| (k, a.at))?,
                None => plain += 1,
            }
        }
        if &*start.prefix == "xmlns" {
            return Err((XmlErrorKind::ReservedNamespace, at));
        }
        let ns = self.scopes.resolve(&start.prefix).map_err(|k| (k, at))?;
        let mut attrs = Vec::with_capacity(plain);
        let mut own_lang = None;
        for a in self.attrs.drain(..) {
            if (a.prefix.is_empty() && &*a.local == "xmlns") || &*a.prefix == "xmlns" {
                continue;
            }
            let ans = if a.prefix.is_empty() {
                ByteString::new()
            } else {
                self.scopes.resolve(&a.prefix).map_err(|k| (k, a.at))?
            };
            if attrs
                .iter()
                .any(|b: &Attribute| b.name.local == a.local && b.name.ns == ans)
            {
                return Err((XmlErrorKind::DuplicateAttribute, a.at));
            }
            if &*ans == NS_XML && &*a.local == "lang" {
                own_lang = Some(a.value.clone());
            }
            attrs.push(Attribute {
                name: Name {
                    ns: ans,
                    local: a.local,
                },
                value: a.value,
            });
        }
        let inherited = match self.stack.last() {
            Some(parent) => parent.element.lang_inherited(),
            None => self.root_lang.clone(),
        };
        let lang = own_lang.or(inherited);
        let element = Element::from_parts(
            Name {
                ns,
                local: start.local.clone(),
            },
            attrs,
            Vec::new(),
            lang,
        );
        match self.phase {
            Phase::Prolog => {
                self.root_lang = element.lang().map(ByteString::from);
                self.root = Some((start.prefix, start.local, ns_mark));
                out(StreamEvent::Header(element));
                self.phase = Phase::Root;
                if empty {
                    self.close_root(out);
                }
                Ok(())
            }
            Phase::Root => {
                if self.stack.len() >= self.limits.max_depth {
                    let limit = self.limits.max_depth;
                    return Err((XmlErrorKind::TooDeep { limit }, at));
                }
                self.check_size(end, base, at)?;
                if empty {
                    self.scopes.pop_to(ns_mark);
                    self.finish_element(element, out);
                } else {
                    self.stack.push(Open {
                        prefix: start.prefix,
                        local: start.local,
                        ns_mark,
                        element,
                    });
                }
                Ok(())
            }
            Phase::Ended => Err((XmlErrorKind::ContentOutsideRoot, at)),
        }
    }

    fn end_tag(
        &mut self,
        prefix: StrSpan<'_>,
        local: StrSpan<'_>,
        at: usize,
        out: &mut impl FnMut(StreamEvent),
    ) -> Result<(), BuildError> {
        let same = |p: &str, l: &str| p == prefix.as_str() && l == local.as_str();
        if let Some(open) = self.stack.last() {
            if !same(&open.prefix, &open.local) {
                return Err((XmlErrorKind::MismatchedTag, at));
            }
            let Some(open) = self.stack.pop() else {
                return Err((XmlErrorKind::MismatchedTag, at));
            };
            self.scopes.pop_to(open.ns_mark);
            self.finish_element(open.element, out);
            return Ok(());
        }
        match &self.root {
            Some((p, l, _)) if self.phase == Phase::Root && same(p, l) => {
                self.close_root(out);
                Ok(())
            }
            Some(_) if self.phase == Phase::Root => Err((XmlErrorKind::MismatchedTag, at)),
            _ => Err((XmlErrorKind::ContentOutsideRoot, at)),
        }
    }

    fn close_root(&mut self, out: &mut impl FnMut(StreamEvent)) {
        if let Some((_, _, mark)) = &self.root {
            self.scopes.pop_to(*mark);
        }
        self.phase = Phase::Ended;
        out(StreamEvent::End);
    }

    /// A complete element: a stanza if at top level, else a child.
    fn finish_element(&mut self, element: Element, out: &mut impl FnMut(StreamEvent)) {
        match self.stack.last_mut() {
            Some(parent) => parent.element.push_child(element),
            None => out(StreamEvent::Element(element)),
        }
    }

    fn text(
        &mut self,
        frag: &ByteString,
        text: StrSpan<'_>,
        refs: bool,
        base: u64,
    ) -> Result<(), BuildError> {
        let at = text.start();
        let raw = text.as_str();
        let shift = |(k, o): (XmlErrorKind, usize)| (k, at + o);
        match self.stack.last_mut() {
            Some(open) => {
                let t = escape::text(frag, raw, refs).map_err(shift)?;
                match open.element.nodes_mut().last_mut() {
                    Some(Node::Text(prev)) => {
                        let mut s = String::with_capacity(prev.len() + t.len());
                        s.push_str(prev);
                        s.push_str(&t);
                        *prev = ByteString::from(s);
                    }
                    _ if t.is_empty() => {}
                    _ => open.element.nodes_mut().push(Node::Text(t)),
                }
                Ok(())
            }
            None if self.phase == Phase::Root => {
                // Between stanzas: whitespace keepalives, or text we check and drop.
                if refs {
                    escape::check_text(raw).map_err(shift)?;
                }
                Ok(())
            }
            None => {
                // Outside the root only whitespace (and a leading byte-order mark).
                let body = if self.phase == Phase::Prolog && base + at as u64 == 0 {
                    raw.strip_prefix('\u{FEFF}').unwrap_or(raw)
                } else {
                    raw
                };
                if escape::is_xml_space(body) {
                    Ok(())
                } else {
                    Err((XmlErrorKind::ContentOutsideRoot, at))
                }
            }
        }
    }
}

/// Converts a tokenizer QName into (prefix, local), checking both are NCNames.
/// `name_at` is where the name starts in the fragment.
fn qname(
    frag: &ByteString,
    prefix: StrSpan<'_>,
    local: StrSpan<'_>,
    name_at: usize,
) -> Result<(ByteString, ByteString), BuildError> {
    let bad = (XmlErrorKind::InvalidName, name_at);
    let ok = |s: &str| {
        let mut c = s.chars();
        c.next().is_some_and(is_name_start_char) && c.all(is_name_char)
    };
    if prefix.as_str().is_empty() {
        // `:local` leaves an empty prefix but the local part does not start the name.
        if local.start() != name_at || !ok(local.as_str()) {
            return Err(bad);
        }
        return Ok((ByteString::new(), frag.slice_ref(local.as_str())));
    }
    if !ok(prefix.as_str()) || !ok(local.as_str()) {
        return Err(bad);
    }
    Ok((
        frag.slice_ref(prefix.as_str()),
        frag.slice_ref(local.as_str()),
    ))
}
