//! The incremental stream reader: bytes in, stream events out.
//!
//! Data flow for each [`StreamReader::feed`]:
//! 1. the bytes are appended to one `BytesMut` buffer;
//! 2. new bytes are checked to be UTF-8 (a split character waits for its tail);
//! 3. the [scanner](super::scanner) walks new bytes once and moves the *safe*
//!    point to the end of the last complete token;
//! 4. everything before the safe point is split off as one frozen, shared
//!    fragment and tokenized by `xmlparser` exactly once; the
//!    [builder](super::builder) turns tokens into element trees whose strings
//!    are slices of that fragment (no copy unless an entity is unescaped);
//! 5. complete events are queued; the first error is queued after them.
//!
//! Because the tokenizer only ever sees complete tokens, the events and the
//! error (kind and offset) do not depend on how the input was chunked.

use std::collections::VecDeque;

use bytestring::ByteString;
use xmlparser::Tokenizer;

use super::builder::Builder;
use super::decl;
use super::element::Element;
use super::error::{XmlError, XmlErrorKind};
use super::limits::ReaderLimits;
use super::scanner::Scanner;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What the reader found in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// The root (stream) element's start tag: its name and attributes; the
    /// element has no children (they arrive as [`StreamEvent::Element`]).
    Header(Element),
    /// A complete top-level child of the stream (a stanza or a nonza).
    Element(Element),
    /// The root element closed (`</stream:stream>`).
    End,
}

/// Incremental reader of an XML stream under the restricted-XML profile of
/// RFC 6120 §11. Feed it bytes in chunks of any size; drain events.
///
/// ```
/// use xmpp_proto::xml::{StreamEvent, StreamReader};
///
/// let mut reader = StreamReader::new(Default::default());
/// reader.feed(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
/// reader.feed(b"<message><body>hi &amp; bye</bo");
/// assert!(matches!(reader.next_event(), Some(Ok(StreamEvent::Header(_)))));
/// assert!(reader.next_event().is_none()); // the message is not complete yet
/// reader.feed(b"dy></message>");
/// let Some(Ok(StreamEvent::Element(msg))) = reader.next_event() else { panic!() };
/// assert!(msg.is("jabber:client", "message"));
/// assert_eq!(&*msg.child_text("jabber:client", "body").unwrap(), "hi & bye");
/// ```
#[derive(Debug)]
pub struct StreamReader {
    /// Received, UTF-8-validated bytes not yet split into a fragment.
    buf: String,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    /// The first bytes of a character split across feeds.
    tail: Vec<u8>,
    /// Absolute offset where an XML declaration may start (after a BOM).
    decl_abs: u64,
    /// Fragments of complete tokens, tokenized lazily as events are drained.
    frags: VecDeque<Fragment>,
    scanner: Scanner,
    builder: Builder,
    events: VecDeque<StreamEvent>,
    /// A problem found ahead of the tokenizer (scanner, UTF-8, end of input),
    /// reported once every fragment before it has been read.
    pending_error: Option<XmlError>,
    error: Option<XmlError>,
    error_reported: bool,
    finished: bool,
    limits: ReaderLimits,
}

/// A run of complete tokens, shared by every string parsed from it.
#[derive(Debug)]
struct Fragment {
    text: ByteString,
    /// Absolute offset of `text[0]`.
    base: u64,
    /// Next byte to tokenize.
    pos: usize,
}

impl StreamReader {
    /// A reader at the start of a stream.
    pub fn new(limits: ReaderLimits) -> Self {
        StreamReader {
            buf: String::with_capacity(8 * 1024),
            base: 0,
            tail: Vec::new(),
            decl_abs: 0,
            frags: VecDeque::new(),
            scanner: Scanner::new(),
            builder: Builder::new(limits),
            events: VecDeque::new(),
            pending_error: None,
            error: None,
            error_reported: false,
            finished: false,
            limits,
        }
    }

    /// The limits this reader enforces.
    pub fn limits(&self) -> &ReaderLimits {
        &self.limits
    }

    /// Appends received bytes. Ignored after an error or [`finish`](Self::finish).
    pub fn feed(&mut self, data: &[u8]) {
        if self.stopped() || data.is_empty() {
            return;
        }
        let rest = self.push_utf8(data);
        self.advance();
        if let Some(bad) = rest {
            // Report the invalid sequence after everything before it.
            self.stop_at(XmlErrorKind::InvalidUtf8, bad);
        }
    }

    /// Signals the end of input: a stream still open becomes
    /// [`XmlErrorKind::UnexpectedEof`]; trailing non-whitespace after the
    /// root is [`XmlErrorKind::ContentOutsideRoot`].
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.pending_error.is_some() || self.error.is_some() {
            return;
        }
        // Drain every fragment first: whether the root has ended is known
        // only once all complete tokens are read.
        while self.pending_error.is_none() && self.error.is_none() && !self.frags.is_empty() {
            self.step();
        }
        if self.error.is_some() {
            return;
        }
        let at = self.base;
        let kind = if !self.builder.ended() {
            Some((XmlErrorKind::UnexpectedEof, at))
        } else if !self.buf.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            Some((XmlErrorKind::ContentOutsideRoot, at))
        } else if !self.tail.is_empty() {
            Some((XmlErrorKind::InvalidUtf8, at + self.buf.len() as u64))
        } else {
            None
        };
        if let Some((kind, offset)) = kind {
            self.stop_at(kind, offset);
        }
    }

    /// The next event, `None` when more input is needed (or the stream is
    /// over). An error comes after every event before it, exactly once;
    /// after it the reader yields `None` forever.
    pub fn next_event(&mut self) -> Option<Result<StreamEvent, XmlError>> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(Ok(e));
            }
            if self.error.is_none() && !self.frags.is_empty() {
                self.step();
                continue;
            }
            if self.error.is_none() {
                self.error = self.pending_error.take();
            }
            if self.error_reported {
                return None;
            }
            let err = self.error.clone()?;
            self.error_reported = true;
            return Some(Err(err));
        }
    }

    /// The error that stopped the reader, if any (also after it was returned).
    pub fn error(&self) -> Option<&XmlError> {
        self.error.as_ref().or(self.pending_error.as_ref())
    }

    /// Bytes fed so far that were fully processed (tokenized).
    pub fn bytes_consumed(&self) -> u64 {
        match self.frags.front() {
            Some(f) => f.base + f.pos as u64,
            None => self.base,
        }
    }

    /// Bytes held that do not yet form a complete token.
    pub fn buffered_len(&self) -> usize {
        self.buf.len() + self.tail.len()
    }

    fn stopped(&self) -> bool {
        self.error.is_some() || self.pending_error.is_some() || self.finished
    }

    /// Records the first problem found ahead of the tokenizer.
    fn stop_at(&mut self, kind: XmlErrorKind, offset: u64) {
        if self.pending_error.is_none() && self.error.is_none() {
            self.pending_error = Some(XmlError { kind, offset });
        }
    }

    /// Appends the valid UTF-8 prefix of `data` (completing a character split
    /// by the previous feed); returns the absolute offset of an invalid
    /// sequence, if any.
    fn push_utf8(&mut self, mut data: &[u8]) -> Option<u64> {
        if !self.tail.is_empty() {
            let need = utf8_len(self.tail[0]).saturating_sub(self.tail.len());
            let take = need.min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            match simdutf8::compat::from_utf8(&self.tail) {
                Ok(c) => {
                    self.buf.push_str(c);
                    self.tail.clear();
                }
                Err(e) if e.error_len().is_none() => return None,
                Err(_) => return Some(self.base + self.buf.len() as u64),
            }
        }
        match simdutf8::compat::from_utf8(data) {
            Ok(s) => {
                self.buf.push_str(s);
                None
            }
            Err(e) => {
                let (ok, rest) = data.split_at(e.valid_up_to());
                // The prefix was just validated by from_utf8.
                self.buf
                    .push_str(simdutf8::basic::from_utf8(ok).unwrap_or_default());
                if e.error_len().is_none() {
                    self.tail.extend_from_slice(rest);
                    None
                } else {
                    Some(self.base + self.buf.len() as u64)
                }
            }
        }
    }

    /// Scans the new bytes and splits off the complete tokens as a fragment.
    fn advance(&mut self) {
        if self.base == 0 && self.buf.starts_with('\u{FEFF}') {
            self.decl_abs = BOM.len() as u64;
        }
        let decl_at = self.decl_abs.checked_sub(self.base).map(|d| d as usize);
        self.scanner
            .scan(self.buf.as_bytes(), decl_at, self.limits.max_buffered);
        let safe = self.scanner.safe();
        if safe > 0 {
            let text = if safe >= 16 * 1024 {
                // A large run: hand over the buffer itself, keep the small rest.
                let mut rest = String::with_capacity((self.buf.len() - safe).max(8 * 1024));
                rest.push_str(&self.buf[safe..]);
                self.buf.truncate(safe);
                ByteString::from(std::mem::replace(&mut self.buf, rest))
            } else {
                // A small run (a typical read): one exact copy, the buffer stays.
                let text = ByteString::from(self.buf[..safe].to_owned());
                self.buf.drain(..safe);
                text
            };
            self.frags.push_back(Fragment {
                text,
                base: self.base,
                pos: 0,
            });
            self.base += safe as u64;
            self.scanner.shift(safe);
        }
        if let Some((kind, at)) = self.scanner.error().cloned() {
            self.stop_at(kind, self.base + at as u64);
        }
    }

    /// Tokenizes the front fragment until it yields an event or ends.
    fn step(&mut self) {
        let Some(frag) = self.frags.front_mut() else {
            return;
        };
        let result = run(frag, &mut self.builder, &mut self.events, self.decl_abs);
        if frag.pos >= frag.text.len() {
            self.frags.pop_front();
        }
        if let Err(e) = result {
            self.error = Some(e);
            self.pending_error = None;
            self.frags.clear();
        }
    }
}

/// The length of the UTF-8 sequence a lead byte starts.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// Tokenizes `frag` from its position until at least one event is queued
/// or the fragment ends. A run stops only after an `ElementEnd` token, so
/// the next run starts where the tokenizer is in content state again.
fn run(
    frag: &mut Fragment,
    builder: &mut Builder,
    events: &mut VecDeque<StreamEvent>,
    decl_abs: u64,
) -> Result<(), XmlError> {
    let text = &frag.text;
    let base = frag.base;
    let at_error = |kind, at: usize| XmlError {
        kind,
        offset: base + at as u64,
    };
    let mut end = text.len();
    // The XML declaration (only ever at offset 0, or 3 after a BOM) is
    // checked here; the tokenizer in fragment mode would refuse it.
    if let Some(rel) = decl_abs.checked_sub(base).map(|d| d as usize) {
        if rel >= frag.pos && rel < end && text[rel..].starts_with("<?") {
            if rel > frag.pos {
                end = rel;
            } else {
                let len = text[rel..].find("?>").map_or(text.len() - rel, |i| i + 2);
                if !decl::is_valid(&text[rel..rel + len]) {
                    return Err(at_error(XmlErrorKind::BadDeclaration, rel));
                }
                frag.pos = rel + len;
                return Ok(());
            }
        }
    }
    let produced = std::cell::Cell::new(false);
    let mut push = |e| {
        produced.set(true);
        events.push_back(e);
    };
    let mut last = frag.pos;
    for token in Tokenizer::from_fragment(text, frag.pos..end) {
        match token {
            Ok(t) => {
                let stop = matches!(t, xmlparser::Token::ElementEnd { .. });
                let token_end = t.span().end();
                builder
                    .token(t, text, base, &mut push)
                    .map_err(|(k, at)| at_error(k, at))?;
                last = token_end;
                if stop && produced.get() {
                    break;
                }
            }
            Err(e) => {
                frag.pos = text.len();
                return Err(at_error(tokenizer_error_kind(&e), last));
            }
        }
    }
    frag.pos = if last > frag.pos { last } else { end };
    Ok(())
}

/// Maps an `xmlparser` error to our kinds (the position is ours: the start
/// of the token that failed, which does not depend on chunking).
fn tokenizer_error_kind(e: &xmlparser::Error) -> XmlErrorKind {
    use xmlparser::{Error, StreamError};
    let inner = match e {
        Error::InvalidCharData(s, _)
        | Error::InvalidElement(s, _)
        | Error::InvalidAttribute(s, _)
        | Error::InvalidCdata(s, _) => Some(s),
        _ => None,
    };
    match inner {
        Some(StreamError::NonXmlChar(..)) => XmlErrorKind::InvalidChar,
        Some(StreamError::InvalidCharacterData) => XmlErrorKind::InvalidMarkupChar,
        Some(StreamError::InvalidName) => XmlErrorKind::InvalidName,
        _ => XmlErrorKind::Syntax,
    }
}
