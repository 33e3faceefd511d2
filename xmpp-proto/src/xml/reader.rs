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

use bytes::BytesMut;
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
    buf: BytesMut,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    /// `buf[..utf8_valid]` is valid UTF-8.
    utf8_valid: usize,
    /// Relative offset of the first invalid UTF-8 sequence.
    utf8_error: Option<usize>,
    /// Absolute offset where an XML declaration may start (after a BOM).
    decl_abs: u64,
    scanner: Scanner,
    builder: Builder,
    events: VecDeque<StreamEvent>,
    error: Option<XmlError>,
    error_reported: bool,
    finished: bool,
    limits: ReaderLimits,
}

impl StreamReader {
    /// A reader at the start of a stream.
    pub fn new(limits: ReaderLimits) -> Self {
        StreamReader {
            buf: BytesMut::with_capacity(8 * 1024),
            base: 0,
            utf8_valid: 0,
            utf8_error: None,
            decl_abs: 0,
            scanner: Scanner::new(),
            builder: Builder::new(limits),
            events: VecDeque::new(),
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
        if self.error.is_some() || self.finished || data.is_empty() {
            return;
        }
        self.buf.extend_from_slice(data);
        self.advance();
    }

    /// Signals the end of input: a stream still open becomes
    /// [`XmlErrorKind::UnexpectedEof`]; trailing non-whitespace after the
    /// root is [`XmlErrorKind::ContentOutsideRoot`].
    pub fn finish(&mut self) {
        if self.error.is_some() || self.finished {
            return;
        }
        self.finished = true;
        let pending = &self.buf[..];
        let kind = if !self.builder.ended() {
            Some((XmlErrorKind::UnexpectedEof, 0))
        } else if self.utf8_valid < pending.len() {
            Some((XmlErrorKind::InvalidUtf8, self.utf8_valid))
        } else if !pending
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            Some((XmlErrorKind::ContentOutsideRoot, 0))
        } else {
            None
        };
        if let Some((kind, at)) = kind {
            self.fail(kind, at);
        }
    }

    /// The next event, `None` when more input is needed (or the stream is
    /// over). An error comes after every event before it, exactly once;
    /// after it the reader yields `None` forever.
    pub fn next_event(&mut self) -> Option<Result<StreamEvent, XmlError>> {
        if let Some(e) = self.events.pop_front() {
            return Some(Ok(e));
        }
        if self.error_reported {
            return None;
        }
        let err = self.error.clone()?;
        self.error_reported = true;
        Some(Err(err))
    }

    /// The error that stopped the reader, if any (also after it was returned).
    pub fn error(&self) -> Option<&XmlError> {
        self.error.as_ref()
    }

    /// Bytes fed so far that were fully processed (tokenized).
    pub fn bytes_consumed(&self) -> u64 {
        self.base
    }

    /// Bytes held that do not yet form a complete token.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    fn fail(&mut self, kind: XmlErrorKind, rel: usize) {
        if self.error.is_none() {
            self.error = Some(XmlError {
                kind,
                offset: self.base + rel as u64,
            });
        }
    }

    fn advance(&mut self) {
        if self.utf8_error.is_none() {
            match std::str::from_utf8(&self.buf[self.utf8_valid..]) {
                Ok(_) => self.utf8_valid = self.buf.len(),
                Err(e) => {
                    self.utf8_valid += e.valid_up_to();
                    if e.error_len().is_some() {
                        self.utf8_error = Some(self.utf8_valid);
                    }
                }
            }
        }
        if self.base == 0 && self.buf.len() >= BOM.len() && self.buf.starts_with(BOM) {
            self.decl_abs = BOM.len() as u64;
        }
        let decl_at = self
            .decl_abs
            .checked_sub(self.base)
            .map(|d| d as usize)
            .filter(|_| self.builder.in_prolog());
        self.scanner.scan(
            &self.buf[..self.utf8_valid],
            decl_at,
            self.limits.max_buffered,
        );

        let safe = self.scanner.safe();
        if safe > 0 {
            let chunk = self.buf.split_to(safe).freeze();
            let frag_base = self.base;
            self.base += safe as u64;
            self.scanner.shift(safe);
            self.utf8_valid -= safe;
            if let Some(e) = &mut self.utf8_error {
                *e -= safe;
            }
            match ByteString::try_from(chunk) {
                Ok(frag) => {
                    if let Err(e) = self.tokenize(&frag, frag_base) {
                        self.error = Some(e);
                        return;
                    }
                }
                // Unreachable: the bytes were validated above. Report, don't panic.
                Err(_) => {
                    self.error = Some(XmlError {
                        kind: XmlErrorKind::InvalidUtf8,
                        offset: frag_base,
                    });
                    return;
                }
            }
        }
        if let Some((kind, at)) = self.scanner.error().cloned() {
            self.fail(kind, at);
        } else if let Some(at) = self.utf8_error {
            self.fail(XmlErrorKind::InvalidUtf8, at);
        }
    }

    /// Tokenizes one fragment of complete tokens.
    fn tokenize(&mut self, frag: &ByteString, base: u64) -> Result<(), XmlError> {
        let mut start = 0;
        let end = base + frag.len() as u64;
        if self.builder.in_prolog() && (base..end).contains(&self.decl_abs) {
            let rel = (self.decl_abs - base) as usize;
            if frag[rel..].starts_with("<?") {
                self.run(frag, base, 0..rel)?;
                let len = frag[rel..].find("?>").map_or(frag.len() - rel, |i| i + 2);
                if !decl::is_valid(&frag[rel..rel + len]) {
                    return Err(XmlError {
                        kind: XmlErrorKind::BadDeclaration,
                        offset: base + rel as u64,
                    });
                }
                start = rel + len;
            }
        }
        self.run(frag, base, start..frag.len())
    }

    fn run(
        &mut self,
        frag: &ByteString,
        base: u64,
        range: std::ops::Range<usize>,
    ) -> Result<(), XmlError> {
        let mut last = range.start;
        let events = &mut self.events;
        let mut push = |e| events.push_back(e);
        for token in Tokenizer::from_fragment(frag, range) {
            let at_error = |kind, at: usize| XmlError {
                kind,
                offset: base + at as u64,
            };
            match token {
                Ok(t) => {
                    let end = t.span().end();
                    self.builder
                        .token(t, frag, base, &mut push)
                        .map_err(|(k, at)| at_error(k, at))?;
                    last = end;
                }
                Err(e) => return Err(at_error(tokenizer_error_kind(&e), last)),
            }
        }
        Ok(())
    }
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
