//! Builds element trees from tokens: namespace resolution, tag matching,
//! attribute checks, limits, and the stream structure (header, top-level
//! elements, end).
//!
//! Hot path notes: a start tag's names are kept as byte ranges into the
//! fragment until the tag is complete (a tag never spans two fragments), so
//! the only shared strings made are the ones the tree keeps. An element is
//! built once, at its start tag, directly in one node vector shared by all
//! open elements; its children are pushed after it, and at its end tag they
//! are moved out in one copy into an exactly sized `Vec` (no growth, no
//! slack). Unescaped text is copied once into an exactly sized string (no
//! UTF-8 re-validation: it is built from `&str`). Adjacent text runs are
//! gathered before they are stored, so merging stays linear.

use std::collections::VecDeque;
use std::ops::Range;

use bytestring::ByteString;
use xmlparser::StrSpan;

use super::element::{Attribute, Element, Name, Node};
use super::error::XmlErrorKind;
use super::escape;
use super::intern::{self, Interned};
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
struct Frame {
    /// Where the element is in `Builder::nodes`; its children follow it.
    index: usize,
    /// The prefix as written (empty for none), to match the end tag.
    prefix: ByteString,
    mark: Mark,
    /// The effective `xml:lang` (own or inherited).
    lang: Option<Interned>,
}

/// A start tag being read: from `ElementStart` to `ElementEnd`.
#[derive(Debug)]
struct PendingStart {
    prefix: Range<usize>,
    local: Range<usize>,
    at: usize,
}

/// A namespace declaration, or a prefixed attribute (resolved when the
/// start tag is complete). Unprefixed attributes are built directly.
#[derive(Debug)]
struct Special {
    kind: SpecialKind,
    /// Where the attribute's name starts.
    at: usize,
}

#[derive(Debug)]
enum SpecialKind {
    /// `xmlns='…'` (empty prefix) or `xmlns:prefix='…'`.
    Decl { prefix: Interned, uri: Interned },
    /// `prefix:local='…'`, the `index`-th attribute of the element.
    Attr {
        prefix: ByteString,
        local: ByteString,
        value: Interned,
        index: usize,
    },
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
    stack: Vec<Frame>,
    /// The open elements, each followed by its children so far.
    nodes: Vec<Node>,
    /// The root's prefix and local name as written, and its scope mark.
    root: Option<(ByteString, ByteString, Mark)>,
    root_lang: Option<Interned>,
    scopes: Scopes,
    pending: Option<PendingStart>,
    /// The current tag's unprefixed attributes, after a placeholder at
    /// index 0 (so that handing them over is one exact copy).
    plain: Vec<Attribute>,
    /// The current tag's declarations and prefixed attributes.
    special: Vec<Special>,
    text: PendingText,
    /// Reused buffer for unescaping.
    scratch: String,
    /// Absolute offset where the current top-level element started.
    stanza_start: u64,
    limits: ReaderLimits,
}

#[inline]
fn range(span: &StrSpan<'_>) -> Range<usize> {
    span.start()..span.end()
}

/// `:local` (an empty prefix before a colon) is not a name; the tokenizer
/// checks the rest of a QName. `name_at` is where the name starts.
#[inline]
fn check_qname(
    prefix: &StrSpan<'_>,
    local: &StrSpan<'_>,
    name_at: usize,
) -> Result<(), BuildError> {
    if prefix.as_str().is_empty() && local.start() != name_at {
        return Err((XmlErrorKind::InvalidName, name_at));
    }
    Ok(())
}

impl Builder {
    pub(crate) fn new(limits: ReaderLimits) -> Self {
        Builder {
            phase: Phase::Prolog,
            stack: Vec::new(),
            nodes: Vec::new(),
            root: None,
            root_lang: None,
            scopes: Scopes::default(),
            pending: None,
            plain: vec![Attribute {
                name: Name::new(ByteString::new(), ByteString::new()),
                value: ByteString::new(),
            }],
            special: Vec::new(),
            text: PendingText::None,
            scratch: String::new(),
            stanza_start: 0,
            limits,
        }
    }

    /// True once the root element has closed.
    pub(crate) fn ended(&self) -> bool {
        self.phase == Phase::Ended
    }

    /// True inside the root element.
    pub(crate) fn in_root(&self) -> bool {
        self.phase == Phase::Root
    }

    /// Forgets a start tag that turned out to be truncated (it is read
    /// again once complete).
    pub(crate) fn abort_tag(&mut self) {
        self.pending = None;
        self.clear_attrs();
    }

    #[inline]
    fn clear_attrs(&mut self) {
        self.plain.truncate(1);
        self.special.clear();
    }

    /// `ElementStart`: `at` is the `<`, `base` the fragment's absolute offset.
    #[inline]
    pub(crate) fn start(
        &mut self,
        prefix: &StrSpan<'_>,
        local: &StrSpan<'_>,
        at: usize,
        base: u64,
    ) -> Result<(), BuildError> {
        check_qname(prefix, local, at + 1)?;
        if self.phase == Phase::Ended {
            return Err((XmlErrorKind::ContentOutsideRoot, at));
        }
        self.flush_text();
        if self.phase == Phase::Root && self.stack.is_empty() {
            self.stanza_start = base + at as u64;
        }
        self.clear_attrs();
        self.pending = Some(PendingStart {
            prefix: range(prefix),
            local: range(local),
            at,
        });
        Ok(())
    }

    /// `Attribute` (`at` is where its name starts).
    #[inline]
    pub(crate) fn attr(
        &mut self,
        frag: &ByteString,
        prefix: &StrSpan<'_>,
        local: &StrSpan<'_>,
        value: &StrSpan<'_>,
        at: usize,
    ) -> Result<(), BuildError> {
        check_qname(prefix, local, at)?;
        let count = self.plain.len() - 1 + self.special.len();
        if count >= self.limits.max_attributes {
            let limit = self.limits.max_attributes;
            return Err((XmlErrorKind::TooManyAttributes { limit }, at));
        }
        let (p, l) = (prefix.as_str(), local.as_str());
        let dup = (XmlErrorKind::DuplicateAttribute, at);
        let value_at = value.start();
        let mut value = || {
            escape::attr(&mut self.scratch, frag, value.as_str())
                .map_err(|(k, o)| (k, value_at + o))
        };
        if p.is_empty() && l != "xmlns" {
            // The common case: final form right away.
            if self.plain[1..]
                .iter()
                .any(|a| intern::same(&a.name.local, l))
            {
                return Err(dup);
            }
            let value = value()?.into_bytestring();
            self.plain.push(Attribute {
                name: Name {
                    ns: ByteString::new(),
                    local: intern::slice(frag, l),
                },
                value,
            });
            return Ok(());
        }
        let declared = if p.is_empty() {
            Some("")
        } else if p == "xmlns" {
            Some(l)
        } else {
            None
        };
        let mut prefixed = 0;
        for s in &self.special {
            match (&s.kind, declared) {
                (SpecialKind::Decl { prefix: d, .. }, Some(q)) if d.as_str() == q => {
                    return Err(dup)
                }
                (
                    SpecialKind::Attr {
                        prefix: sp,
                        local: sl,
                        ..
                    },
                    None,
                ) => {
                    if intern::same(sl, l) && intern::same(sp, p) {
                        return Err(dup);
                    }
                    prefixed += 1;
                }
                _ => {}
            }
        }
        let value = value()?;
        let kind = match declared {
            Some(q) => SpecialKind::Decl {
                prefix: if q.is_empty() {
                    Interned::Static("")
                } else {
                    intern::interned(frag, q)
                },
                // Copied into the name of every element in scope.
                uri: value.into_static(),
            },
            None => SpecialKind::Attr {
                prefix: intern::slice(frag, p),
                local: intern::slice(frag, l),
                value,
                index: self.plain.len() - 1 + prefixed,
            },
        };
        self.special.push(Special { kind, at });
        Ok(())
    }

    /// Stanza-size check: the stanza that started at `stanza_start` must
    /// still be within the limit at `end` (fragment-relative). Only called
    /// inside a stanza: for any of its tags, including a self-closing
    /// top-level element, which is a whole stanza in one tag.
    #[inline]
    fn check_size(&self, end: usize, base: u64, at: usize) -> Result<(), BuildError> {
        if base + end as u64 - self.stanza_start > self.limits.max_stanza_size as u64 {
            let limit = self.limits.max_stanza_size;
            return Err((XmlErrorKind::StanzaTooLarge { limit }, at));
        }
        Ok(())
    }

    /// `>` or `/>` of a start tag, ending at `end`.
    pub(crate) fn start_done(
        &mut self,
        frag: &ByteString,
        empty: bool,
        end: usize,
        base: u64,
        out: &mut VecDeque<StreamEvent>,
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
        let mut prefixed = 0;
        for s in &self.special {
            match &s.kind {
                SpecialKind::Decl { prefix, uri } => {
                    let r = self.scopes.declare(prefix.clone(), uri.clone());
                    r.map_err(|k| (k, s.at))?;
                }
                SpecialKind::Attr { .. } => prefixed += 1,
            }
        }
        let prefix = &frag[start.prefix.clone()];
        if prefix == "xmlns" {
            return Err((XmlErrorKind::ReservedNamespace, at));
        }
        let ns = self.scopes.resolve(prefix).map_err(|k| (k, at))?;
        // The strings the element keeps are made before the allocation
        // below: copying a value whose fields were just written stalls on
        // store forwarding, and the call gives the stores time to settle.
        let name = Name {
            ns,
            local: intern::slice(frag, &frag[start.local.clone()]),
        };
        let prefix = if prefix.is_empty() {
            ByteString::new()
        } else {
            intern::slice(frag, prefix)
        };
        let inherited = match self.stack.last() {
            Some(parent) => parent.lang.clone(),
            None => self.root_lang.clone(),
        };
        let mut element_lang = inherited.as_ref().map(Interned::get);
        // One exact copy of the unprefixed attributes (none if there are none).
        let mut attrs = self.plain.split_off(1);
        let mut own_lang = None;
        if prefixed > 0 {
            attrs = self.merge_prefixed(attrs, prefixed, &mut own_lang)?;
        }
        self.special.clear();
        if let Some(own) = &own_lang {
            element_lang = Some(own.get());
        }
        let lang = own_lang.or(inherited);
        match self.phase {
            Phase::Root => {
                let element = Element::from_parts(name, attrs, Vec::new(), element_lang);
                if empty {
                    self.scopes.pop_to(mark);
                    self.finish_element(element, out);
                } else {
                    self.stack.push(Frame {
                        index: self.nodes.len(),
                        prefix,
                        mark,
                        lang,
                    });
                    self.nodes.push(Node::Element(element));
                }
            }
            Phase::Prolog => {
                self.root = Some((prefix, name.local.clone(), mark));
                self.root_lang = lang;
                let header = Element::from_parts(name, attrs, Vec::new(), element_lang);
                out.push_back(StreamEvent::Header(header));
                self.phase = Phase::Root;
                if empty {
                    self.close_root(out);
                }
            }
            Phase::Ended => return Err((XmlErrorKind::ContentOutsideRoot, at)),
        }
        Ok(())
    }

    /// Resolves the prefixed attributes and puts them back in document
    /// order among the unprefixed ones.
    #[cold]
    fn merge_prefixed(
        &mut self,
        plain: Vec<Attribute>,
        prefixed: usize,
        own_lang: &mut Option<Interned>,
    ) -> Result<Vec<Attribute>, BuildError> {
        let mut out: Vec<Attribute> = Vec::with_capacity(plain.len() + prefixed);
        let mut plain = plain.into_iter();
        for s in self.special.drain(..) {
            let SpecialKind::Attr {
                prefix,
                local,
                value,
                index,
            } = s.kind
            else {
                continue;
            };
            while out.len() < index {
                match plain.next() {
                    Some(a) => out.push(a),
                    None => break,
                }
            }
            // Only `xml` is bound to the XML namespace (Scopes refuses others).
            if &*prefix == "xml" && &*local == "lang" {
                *own_lang = Some(value.clone());
            }
            let ns = self.scopes.resolve(&prefix).map_err(|k| (k, s.at))?;
            // Unprefixed attributes are in no namespace and were compared
            // as written; a prefixed one may repeat another's expanded name.
            if out
                .iter()
                .any(|b| intern::same(&b.name.local, &local) && intern::same(&b.name.ns, &ns))
            {
                return Err((XmlErrorKind::DuplicateAttribute, s.at));
            }
            out.push(Attribute {
                name: Name { ns, local },
                value: value.into_bytestring(),
            });
        }
        out.extend(plain);
        Ok(out)
    }

    /// An end tag `</prefix:local>` spanning `at..end`.
    pub(crate) fn end_tag(
        &mut self,
        prefix: &str,
        local: &str,
        at: usize,
        end: usize,
        base: u64,
        out: &mut VecDeque<StreamEvent>,
    ) -> Result<(), BuildError> {
        if self.phase == Phase::Root && !self.stack.is_empty() {
            self.check_size(end, base, at)?;
        }
        if let Some(top) = self.stack.last() {
            let same_local = match self.nodes.get(top.index) {
                Some(Node::Element(e)) => intern::same(e.local_name(), local),
                _ => false,
            };
            if !same_local || !intern::same(&top.prefix, prefix) {
                return Err((XmlErrorKind::MismatchedTag, at));
            }
            let index = top.index;
            let only_text = self.nodes.len() == index + 1;
            let children = match std::mem::take(&mut self.text) {
                // The common `<body>text</body>`: no detour through `nodes`.
                PendingText::One(t) if only_text => vec![Node::Text(t)],
                text => {
                    self.text = text;
                    self.flush_text();
                    // One copy into an exactly sized vector (none if empty).
                    self.nodes.split_off(index + 1)
                }
            };
            if let Some(f) = self.stack.pop() {
                self.scopes.pop_to(f.mark);
                if self.stack.is_empty() {
                    if let Some(Node::Element(mut e)) = self.nodes.pop() {
                        *e.nodes_mut() = children;
                        out.push_back(StreamEvent::Element(e));
                    }
                } else if let Some(Node::Element(e)) = self.nodes.get_mut(f.index) {
                    *e.nodes_mut() = children;
                }
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

    fn close_root(&mut self, out: &mut VecDeque<StreamEvent>) {
        if let Some((_, _, mark)) = &self.root {
            self.scopes.pop_to(*mark);
        }
        self.phase = Phase::Ended;
        out.push_back(StreamEvent::End);
    }

    /// A complete element: a stanza if at top level, else a child.
    #[inline]
    fn finish_element(&mut self, element: Element, out: &mut VecDeque<StreamEvent>) {
        if self.stack.is_empty() {
            out.push_back(StreamEvent::Element(element));
        } else {
            self.nodes.push(Node::Element(element));
        }
    }

    /// Stores gathered text as a child of the innermost open element.
    #[inline]
    fn flush_text(&mut self) {
        let text = match std::mem::take(&mut self.text) {
            PendingText::None => return,
            PendingText::One(t) => t,
            PendingText::Many(s) => ByteString::from(s.as_str()),
        };
        self.nodes.push(Node::Text(text));
    }

    /// Character data (`refs`: a text token; else a CDATA section's content).
    pub(crate) fn text(
        &mut self,
        frag: &ByteString,
        raw: &str,
        at: usize,
        refs: bool,
        base: u64,
    ) -> Result<(), BuildError> {
        let shift = |(k, o): (XmlErrorKind, usize)| (k, at + o);
        if !self.stack.is_empty() {
            let t = escape::text(&mut self.scratch, frag, raw, refs).map_err(shift)?;
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
