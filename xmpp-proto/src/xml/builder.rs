//! Builds element trees from tokens: namespace resolution, tag matching,
//! attribute checks, limits, and the stream structure (header, top-level
//! elements, end).
//!
//! Hot path notes: a start tag's pieces are kept as byte ranges into the
//! fragment until the tag is complete (a tag never spans two fragments), so
//! the only shared strings made are the ones the tree keeps; unescaped text
//! goes to one arena buffer; adjacent text runs are gathered before they
//! are stored, so merging stays linear.

use std::ops::Range;

use bytes::BytesMut;
use bytestring::ByteString;
use xmlparser::{ElementEnd, StrSpan, Token};

use super::element::{is_name_start_char, Attribute, Element, Name, Node, NS_XML};
use super::error::XmlErrorKind;
use super::escape;
use super::intern;
use super::limits::ReaderLimits;
use super::namespaces::{Mark, Scopes};
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

/// An open element below the root.
#[derive(Debug)]
struct Open {
    /// The prefix as written (empty for none), to match the end tag.
    prefix: ByteString,
    mark: Mark,
    element: Element,
}

/// A start tag being read: from `ElementStart` to `ElementEnd`.
#[derive(Debug)]
struct PendingStart {
    prefix: Range<usize>,
    local: Range<usize>,
    at: usize,
}

/// An attribute as written, before namespace resolution.
#[derive(Debug)]
struct RawAttr {
    prefix: Range<usize>,
    local: Range<usize>,
    value: ByteString,
    at: usize,
}

/// Text gathered until the next tag: one run (no copy) or several (copied
/// once into an owned buffer).
#[derive(Debug, Default)]
enum PendingText {
    #[default]
    None,
    One(ByteString),
    Many(String),
}

/// Token-to-tree state, kept across fragments.
#[derive(Debug)]
pub(crate) struct Builder {
    phase: Phase,
    /// Open elements below the root (the root is not kept as a tree).
    stack: Vec<Open>,
    /// The root's prefix and local name as written, and its scope mark.
    root: Option<(ByteString, ByteString, Mark)>,
    root_lang: Option<ByteString>,
    scopes: Scopes,
    pending: Option<PendingStart>,
    attrs: Vec<RawAttr>,
    text: PendingText,
    arena: BytesMut,
    /// Absolute offset where the current top-level element started.
    stanza_start: u64,
    limits: ReaderLimits,
}

fn range(span: &StrSpan<'_>) -> Range<usize> {
    span.start()..span.end()
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
            text: PendingText::None,
            arena: BytesMut::new(),
            stanza_start: 0,
            limits,
        }
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
            Token::ElementStart { prefix, local, span } => {
                let at = span.start();
                check_qname(&prefix, &local, at + 1)?;
                if self.phase == Phase::Ended {
                    return Err((XmlErrorKind::ContentOutsideRoot, at));
                }
                self.flush_text();
                if self.phase == Phase::Root && self.stack.is_empty() {
                    self.stanza_start = base + at as u64;
                }
                self.attrs.clear();
                self.pending = Some(PendingStart {
                    prefix: range(&prefix),
                    local: range(&local),
                    at,
                });
                Ok(())
            }
            Token::Attribute {
                prefix,
                local,
                value,
                span,
            } => {
                let at = span.start();
                check_qname(&prefix, &local, at)?;
                if self.attrs.len() >= self.limits.max_attributes {
                    let limit = self.limits.max_attributes;
                    return Err((XmlErrorKind::TooManyAttributes { limit }, at));
                }
                let dup = self.attrs.iter().any(|a| {
                    intern::same(&frag[a.local.clone()], local.as_str())
                        && intern::same(&frag[a.prefix.clone()], prefix.as_str())
                });
                if dup {
                    return Err((XmlErrorKind::DuplicateAttribute, at));
                }
                let value = escape::attr(&mut self.arena, frag, value.as_str())
                    .map_err(|(k, o)| (k, value.start() + o))?;
                self.attrs.push(RawAttr {
                    prefix: range(&prefix),
                    local: range(&local),
                    value,
                    at,
                });
                Ok(())
            }
            Token::ElementEnd { end, span } => match end {
                ElementEnd::Open => self.start_tag_done(frag, false, span.end(), base, out),
                ElementEnd::Empty => self.start_tag_done(frag, true, span.end(), base, out),
                ElementEnd::Close(prefix, local) => {
                    self.check_size(span.end(), base, span.start())?;
                    self.end_tag(prefix.as_str(), local.as_str(), span.start(), out)
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
            Token::ProcessingInstruction { span, .. } | Token::Declaration { span, .. } => {
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
        frag: &ByteString,
        empty: bool,
        end: usize,
        base: u64,
        out: &mut impl FnMut(StreamEvent),
    ) -> Result<(), BuildError> {
        let Some(start) = self.pending.take() else {
            return Err((XmlErrorKind::Syntax, end));
        };
        let at = start.at;
        if self.phase == Phase::Root {
            if self.stack.len() >= self.limits.max_depth {
                let limit = self.limits.max_depth;
                return Err((XmlErrorKind::TooDeep { limit }, at));
            }
            self.check_size(end, base, at)?;
        }
        let mark = self.scopes.mark();
        // Declarations first: they apply to the element's own name and attributes.
        let mut plain = 0;
        for a in &self.attrs {
            let (prefix, local) = (&frag[a.prefix.clone()], &frag[a.local.clone()]);
            let declared = match (prefix, local) {
                ("", "xmlns") => Some(""),
                ("xmlns", p) => Some(p),
                _ => None,
            };
            match declared {
                Some(p) => self
                    .scopes
                    .declare(p, a.value.clone())
                    .map_err(|k| (k, a.at))?,
                None => plain += 1,
            }
        }
        let prefix = &frag[start.prefix.clone()];
        if prefix == "xmlns" {
            return Err((XmlErrorKind::ReservedNamespace, at));
        }
        let ns = self.scopes.resolve(prefix).map_err(|k| (k, at))?;
        let mut attrs: Vec<Attribute> = Vec::with_capacity(plain);
        let mut own_lang = None;
        for a in self.attrs.drain(..) {
            let (p, l) = (&frag[a.prefix.clone()], &frag[a.local.clone()]);
            if (p.is_empty() && l == "xmlns") || p == "xmlns" {
                continue;
            }
            let ans = if p.is_empty() {
                ByteString::new()
            } else {
                self.scopes.resolve(p).map_err(|k| (k, a.at))?
            };
            if attrs
                .iter()
                .any(|b| intern::same(&b.name.local, l) && intern::same(&b.name.ns, &ans))
            {
                return Err((XmlErrorKind::DuplicateAttribute, a.at));
            }
            if !ans.is_empty() && &*ans == NS_XML && l == "lang" {
                own_lang = Some(a.value.clone());
            }
            attrs.push(Attribute {
                name: Name {
                    ns: ans,
                    local: intern::slice(frag, l),
                },
                value: a.value,
            });
        }
        let lang = own_lang.or_else(|| match self.stack.last() {
            Some(parent) => parent.element.lang_inherited(),
            None => self.root_lang.clone(),
        });
        let local = intern::slice(frag, &frag[start.local.clone()]);
        let prefix = if prefix.is_empty() {
            ByteString::new()
        } else {
            frag.slice_ref(prefix)
        };
        let element = Element::from_parts(Name { ns, local }, attrs, Vec::new(), lang);
        match self.phase {
            Phase::Prolog => {
                self.root_lang = element.lang_inherited();
                self.root = Some((prefix, element.name().local.clone(), mark));
                out(StreamEvent::Header(element));
                self.phase = Phase::Root;
                if empty {
                    self.close_root(out);
                }
            }
            Phase::Root if empty => {
                self.scopes.pop_to(mark);
                self.finish_element(element, out);
            }
            Phase::Root => self.stack.push(Open {
                prefix,
                mark,
                element,
            }),
            Phase::Ended => return Err((XmlErrorKind::ContentOutsideRoot, at)),
        }
        Ok(())
    }

    fn end_tag(
        &mut self,
        prefix: &str,
        local: &str,
        at: usize,
        out: &mut impl FnMut(StreamEvent),
    ) -> Result<(), BuildError> {
        if let Some(open) = self.stack.last() {
            if !intern::same(&open.prefix, prefix) || !intern::same(open.element.local_name(), local) {
                return Err((XmlErrorKind::MismatchedTag, at));
            }
            self.flush_text();
            if let Some(open) = self.stack.pop() {
                self.scopes.pop_to(open.mark);
                self.finish_element(open.element, out);
            }
            return Ok(());
        }
        match &self.root {
            Some((p, l, _)) if self.phase == Phase::Root && &**p == prefix && &**l == local => {
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

    /// Stores gathered text in the innermost open element.
    fn flush_text(&mut self) {
        let text = match std::mem::take(&mut self.text) {
            PendingText::None => return,
            PendingText::One(t) => t,
            PendingText::Many(s) => ByteString::from(s),
        };
        if let Some(open) = self.stack.last_mut() {
            open.element.nodes_mut().push(Node::Text(text));
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
        if !self.stack.is_empty() {
            let t = escape::text(&mut self.arena, frag, raw, refs).map_err(shift)?;
            if t.is_empty() {
                return Ok(());
            }
            self.text = match std::mem::take(&mut self.text) {
                PendingText::None => PendingText::One(t),
                PendingText::One(first) => {
                    let mut s = String::with_capacity(2 * (first.len() + t.len()));
                    s.push_str(&first);
                    s.push_str(&t);
                    PendingText::Many(s)
                }
                PendingText::Many(mut s) => {
                    s.push_str(&t);
                    PendingText::Many(s)
                }
            };
            return Ok(());
        }
        if self.phase == Phase::Root {
            // Between stanzas: whitespace keepalives, or text we check and drop.
            if refs {
                escape::check_text(raw).map_err(shift)?;
            }
            return Ok(());
        }
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

/// Checks what the tokenizer leaves to us about a QName: both parts start
/// with a NameStartChar, and `:local` (an empty prefix) is not a name.
/// `name_at` is where the name starts in the fragment.
fn check_qname(prefix: &StrSpan<'_>, local: &StrSpan<'_>, name_at: usize) -> Result<(), BuildError> {
    let starts_ok = |s: &str| s.chars().next().is_some_and(is_name_start_char);
    let ok = if prefix.as_str().is_empty() {
        local.start() == name_at && starts_ok(local.as_str())
    } else {
        starts_ok(prefix.as_str()) && starts_ok(local.as_str())
    };
    if ok {
        Ok(())
    } else {
        Err((XmlErrorKind::InvalidName, name_at))
    }
}
