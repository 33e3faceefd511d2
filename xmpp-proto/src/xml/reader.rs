//! The incremental stream reader: bytes in, stream events out.
//!
//! Data flow for each [`StreamReader::feed`]:
//! 1. the bytes are appended to one buffer (a huge read in 1 MiB pieces);
//! 2. new bytes are checked to be UTF-8 (a split character waits for its tail);
//! 3. the [boundary tracker](super::scanner) finds the last safe cut (before
//!    the buffer's last `<`, or after the tag that starts there) without
//!    looking at the bytes before it;
//! 4. everything before the cut is split off as one frozen, shared fragment,
//!    tokenized by `xmlparser` exactly once as events are drained, a few
//!    stanzas at a time (see [`run`]); the
//!    [builder](super::builder) turns tokens into element trees whose
//!    strings are slices of that fragment;
//! 5. complete events are queued; the first error is queued after them.
//!
//! A construct that straddles the cut (a CDATA section containing `<`, or
//! malformed markup) is found by the tokenizer loop at the content position
//! where it starts and handed back with the bytes after it ("carry"); the
//! tracker then holds the cut until its terminator has arrived. Errors the
//! tracker finds ahead of the tokenizer are confirmed only once every byte
//! before them was tokenized without such a hold. So the events and the
//! error (kind and offset) do not depend on how the input was chunked.

use std::collections::VecDeque;

use bytes::BytesMut;
use bytestring::ByteString;

use super::builder::Builder;
use super::element::Element;
use super::error::{XmlError, XmlErrorKind};
use super::limits::ReaderLimits;
use super::scanner::Scanner;

#[path = "run.rs"]
mod run;

use run::Resume;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Fragments up to this size are copied into a shared block; larger ones
/// take the receive buffer itself (see `hand_over`).
const SMALL_FRAGMENT: usize = 512;
/// Capacity of a new receive buffer.
const RECEIVE: usize = 8 * 1024;
/// A receive buffer handed over as a fragment is copied out of instead when
/// its capacity exceeds this (a string kept from a small fragment would
/// pin it), unless the fragment is large itself; and it is kept for reuse
/// only up to this capacity.
const MAX_SHARED: usize = 64 * 1024;
/// Fragments at least this large are always handed over (a large run).
const LARGE_FRAGMENT: usize = 16 * 1024;
/// Size of the shared block small fragments are copied into (given back
/// when the reader is idle, see `release_block`).
const BLOCK: usize = 16 * 1024;
/// Largest piece of one read appended at once.
const PIECE: usize = 1 << 20;

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
    /// Received, UTF-8-validated bytes; those from `start` on are not yet
    /// split into a fragment (the prefix is dropped now and then, so small
    /// reads do not move the pending bytes each time).
    buf: String,
    start: usize,
    /// Block that small fragments are copied into and split off from, so a
    /// reader fed in tiny pieces does not allocate per piece.
    block: BytesMut,
    /// The receive buffers last handed over as fragments, older first: the
    /// next receive buffer is one of them that nothing refers to any more,
    /// so that steady reads do not allocate a buffer each. Two, because the
    /// stanza that a read ends inside still refers to the last one.
    spares: [Option<ByteString>; 2],
    /// Absolute stream offset of `buf[start]`.
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
    /// An invalid UTF-8 sequence (nothing after it is kept).
    bad_utf8: Option<XmlError>,
    /// A confirmed problem found ahead of the tokenizer (boundary tracker,
    /// end of input), reported once every event before it has been read.
    pending_error: Option<XmlError>,
    error: Option<XmlError>,
    error_reported: bool,
    finished: bool,
    limits: ReaderLimits,
}

/// A run of complete tokens, shared by every string parsed from it.
#[derive(Debug)]
pub(super) struct Fragment {
    text: ByteString,
    /// Absolute offset of `text[0]`.
    base: u64,
    /// Next byte to tokenize.
    pos: usize,
    /// The cut after the fragment was not taken before a `<` (it was taken
    /// after a `>`, or nothing followed yet): a text run reaching the end
    /// may go on, so it is carried and read whole. Such a run only happens
    /// where the tracker took a `>` in text for the end of a tag.
    open_end: bool,
    /// The first bytes of the fragment that are a text run already checked
    /// by the boundary tracker (a large text received in many reads is
    /// then checked once).
    clean: usize,
}

impl StreamReader {
    /// A reader at the start of a stream.
    pub fn new(limits: ReaderLimits) -> Self {
        StreamReader {
            buf: String::with_capacity(RECEIVE),
            start: 0,
            block: BytesMut::new(),
            spares: [None, None],
            base: 0,
            tail: Vec::new(),
            decl_abs: 0,
            frags: VecDeque::new(),
            scanner: Scanner::new(),
            builder: Builder::new(limits),
            events: VecDeque::new(),
            bad_utf8: None,
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
        // A huge read is taken in pieces, so that its fragments are
        // ordinary heap blocks (reused from one read to the next) rather
        // than one fresh mapping that faults in page by page.
        if data.len() <= PIECE {
            self.feed_piece(data);
            return;
        }
        for piece in data.chunks(PIECE) {
            self.feed_piece(piece);
            if self.stopped() {
                return;
            }
        }
    }

    fn feed_piece(&mut self, piece: &[u8]) {
        let rest = self.push_utf8(piece);
        self.advance();
        if let Some(offset) = rest {
            // Reported after everything before it; no byte after it is kept.
            self.bad_utf8 = Some(XmlError {
                kind: XmlErrorKind::InvalidUtf8,
                offset,
            });
            self.end_text();
        }
        if self.scanner.error().is_some() {
            self.confirm();
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
        // Read every fragment first: whether the root has ended is known
        // only once all complete tokens are read.
        self.confirm();
        if self.error.is_some() || self.pending_error.is_some() || self.bad_utf8.is_some() {
            return;
        }
        let at = self.base;
        let kind = if !self.builder.ended() {
            Some((XmlErrorKind::UnexpectedEof, at))
        } else if !self
            .pending()
            .bytes()
            .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            Some((XmlErrorKind::ContentOutsideRoot, at))
        } else if !self.tail.is_empty() {
            Some((XmlErrorKind::InvalidUtf8, at + self.pending().len() as u64))
        } else {
            None
        };
        if let Some((kind, offset)) = kind {
            self.pending_error = Some(XmlError { kind, offset });
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
                self.error = self.ahead_error();
            }
            if self.error_reported {
                return None;
            }
            let Some(err) = self.error.clone() else {
                self.release_block();
                return None;
            };
            self.error_reported = true;
            return Some(Err(err));
        }
    }

    /// The error that stopped the reader, if any (also after it was returned).
    pub fn error(&self) -> Option<&XmlError> {
        self.error
            .as_ref()
            .or(self.pending_error.as_ref())
            .or(self.bad_utf8.as_ref())
    }

    /// With every fragment read: the problem found ahead of the tokenizer,
    /// if any, now confirmed (the tracker's, then invalid UTF-8).
    fn ahead_error(&mut self) -> Option<XmlError> {
        if let Some(e) = self.pending_error.take() {
            return Some(e);
        }
        if let Some((kind, at)) = self.scanner.error() {
            return Some(XmlError {
                kind: kind.clone(),
                offset: self.base + *at as u64,
            });
        }
        self.bad_utf8.clone()
    }

    /// Reads every fragment now, so that a problem found ahead of the
    /// tokenizer is confirmed (or dropped, when a carry shows the tracker
    /// misread the content) and further input can be refused.
    fn confirm(&mut self) {
        while self.error.is_none() && !self.frags.is_empty() {
            self.step();
        }
        if self.error.is_none() && self.pending_error.is_none() && self.scanner.error().is_some() {
            self.pending_error = self.ahead_error();
        }
    }

    /// No byte will follow the ones received (the next is not UTF-8): a
    /// text run pending at the end is complete, and an error in it (a bad
    /// reference) comes before the encoding error. Fragments are read first,
    /// so the tracker's view is settled (a carry may show that the pending
    /// bytes are inside a construct, which stays incomplete).
    fn end_text(&mut self) {
        self.confirm();
        if self.error.is_some() || self.pending_error.is_some() || !self.scanner.in_text() {
            return;
        }
        let len = self.pending().len();
        self.scanner.end_text(len);
        self.advance();
        if let Some(last) = self.frags.back_mut() {
            // The run ends with the input.
            last.open_end = false;
        }
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
        self.pending().len() + self.tail.len()
    }

    /// The bytes not yet split into a fragment.
    fn pending(&self) -> &str {
        &self.buf[self.start..]
    }

    fn stopped(&self) -> bool {
        self.error.is_some()
            || self.pending_error.is_some()
            || self.bad_utf8.is_some()
            || self.finished
    }

    /// Appends the valid UTF-8 prefix of `data` (completing a character split
    /// by the previous feed); returns the absolute offset of an invalid
    /// sequence, if any.
    fn push_utf8(&mut self, mut data: &[u8]) -> Option<u64> {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() == 0 {
                // Handed over with the last fragment.
                self.buf = self.recycled(data.len() + self.tail.len());
            }
        } else if self.start >= 4096 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
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
                Err(_) => return Some(self.base + self.pending().len() as u64),
            }
        }
        // A long run without a cut point (a large text) grows the buffer
        // four-fold: its bytes are then copied about 1.3 times in all by
        // the growth, not twice as with doubling.
        if self.buf.capacity() - self.buf.len() < data.len() {
            self.buf.reserve(data.len().max(3 * self.buf.len()));
        }
        // Tiny reads: the plain check has no set-up cost.
        let checked = if data.len() < 256 {
            std::str::from_utf8(data).map_err(|e| (e.valid_up_to(), e.error_len()))
        } else {
            simdutf8::compat::from_utf8(data).map_err(|e| (e.valid_up_to(), e.error_len()))
        };
        match checked {
            Ok(s) => {
                self.buf.push_str(s);
                None
            }
            Err((valid_up_to, error_len)) => {
                let (ok, rest) = data.split_at(valid_up_to);
                // The prefix was just validated by from_utf8.
                self.buf
                    .push_str(simdutf8::basic::from_utf8(ok).unwrap_or_default());
                if error_len.is_none() {
                    self.tail.extend_from_slice(rest);
                    None
                } else {
                    Some(self.base + self.pending().len() as u64)
                }
            }
        }
    }

    /// Scans the new bytes and splits off the complete tokens as a fragment.
    fn advance(&mut self) {
        if self.base == 0 && self.pending().starts_with('\u{FEFF}') {
            self.decl_abs = BOM.len() as u64;
        }
        let decl_at = self.decl_abs.checked_sub(self.base).map(|d| d as usize);
        let pending = &self.buf.as_bytes()[self.start..];
        let clean = self.scanner.clean_text();
        self.scanner
            .scan(pending, decl_at, self.limits.max_buffered);
        let safe = self.scanner.safe();
        if safe > 0 {
            let open_end = self.buf.as_bytes().get(self.start + safe) != Some(&b'<');
            let text = if safe >= LARGE_FRAGMENT
                || (safe > SMALL_FRAGMENT && self.buf.capacity() <= MAX_SHARED)
            {
                self.hand_over(safe)
            } else {
                let text = self.small_fragment(safe);
                self.start += safe;
                text
            };
            self.frags.push_back(Fragment {
                text,
                base: self.base,
                pos: 0,
                open_end,
                clean: clean.min(safe),
            });
            self.base += safe as u64;
            self.scanner.shift(safe);
        }
    }

    /// Between bursts of small reads the block is given back once nothing
    /// refers to it any more (no fragment, no string of a delivered event),
    /// so an idle reader holds little more than its receive buffer; while
    /// strings still refer to it, dropping it would free nothing. With no
    /// bytes pending, the reader keeps one receive buffer: its own or, when
    /// that went with the last fragment, the last spare. (While a stanza is
    /// incomplete it keeps up to two spares besides, each at most
    /// [`MAX_SHARED`] bytes: the next read reuses one.)
    fn release_block(&mut self) {
        if self.start == self.buf.len() {
            // Nothing pending: one receive buffer is enough (the next read
            // takes the spare when the receive buffer went with the last
            // fragment).
            self.spares[0] = None;
            if self.buf.capacity() > 0 {
                self.spares[1] = None;
            }
        }
        if self.block.capacity() > 0
            && self.frags.is_empty()
            && self.start == self.buf.len()
            && self.block.try_reclaim(BLOCK)
        {
            self.block = BytesMut::new();
        }
    }

    /// The first `len` pending bytes as a fragment, without copying them:
    /// the receive buffer itself becomes the fragment's shared string, and
    /// the bytes after them (a token not yet complete, often nothing) move
    /// to a new receive buffer, a spare one when nothing refers to it any
    /// more.
    fn hand_over(&mut self, len: usize) -> ByteString {
        let end = self.start + len;
        let rest_len = self.buf.len() - end;
        let mut rest = if rest_len == 0 {
            // The next read takes a spare buffer (or a new one).
            String::new()
        } else {
            self.recycled(rest_len)
        };
        rest.push_str(&self.buf[end..]);
        self.buf.truncate(end);
        let capacity = self.buf.capacity();
        let start = std::mem::replace(&mut self.start, 0);
        let whole = ByteString::from(std::mem::replace(&mut self.buf, rest));
        let text = if start == 0 {
            whole.clone()
        } else {
            whole.slice_ref(&whole[start..])
        };
        if capacity <= MAX_SHARED {
            // A larger one was grown for a large run: not kept.
            let [older, newer] = &mut self.spares;
            if newer.is_some() {
                *older = newer.take();
            }
            *newer = Some(whole);
        }
        text
    }

    /// An empty receive buffer for at least `min` bytes: a spare one that
    /// nothing else refers to any more, else a new one.
    fn recycled(&mut self, min: usize) -> String {
        for slot in &mut self.spares {
            if !slot.as_ref().is_some_and(|s| s.as_bytes().is_unique()) {
                continue;
            }
            if let Some(Ok(mut b)) = slot.take().map(|s| s.into_bytes().try_into_mut()) {
                if b.capacity() >= min {
                    b.clear();
                    // Empty: nothing to check.
                    if let Ok(s) = String::from_utf8(b.into()) {
                        return s;
                    }
                }
            }
        }
        String::with_capacity(min.max(RECEIVE))
    }

    /// The first `len` pending bytes as a fragment: tiny ones are copied
    /// into the shared block (re-checking a few bytes of UTF-8 is cheaper
    /// than the two allocations a shared copy of its own costs), others
    /// into an exactly sized allocation.
    fn small_fragment(&mut self, len: usize) -> ByteString {
        let text = &self.buf[self.start..self.start + len];
        if len <= SMALL_FRAGMENT {
            if self.block.capacity() - self.block.len() < len {
                self.block = BytesMut::with_capacity(BLOCK);
            }
            self.block.extend_from_slice(text.as_bytes());
            // Copied from a `&str`: the check cannot fail.
            if let Ok(s) = ByteString::try_from(self.block.split().freeze()) {
                return s;
            }
        }
        ByteString::from(text)
    }

    /// Tokenizes the front fragment until it yields a few events or ends.
    fn step(&mut self) {
        let Some(frag) = self.frags.front_mut() else {
            return;
        };
        let result = run::run(
            frag,
            &mut self.builder,
            &mut self.events,
            self.decl_abs,
            &self.limits,
        );
        match result {
            Ok(None) => {
                if frag.pos >= frag.text.len() {
                    self.frags.pop_front();
                }
            }
            Ok(Some((at, resume))) => self.carry(at, resume),
            Err(e) => {
                self.error = Some(e);
                self.pending_error = None;
                self.frags.clear();
            }
        }
    }

    /// The front fragment holds, from `at`, a construct that continues past
    /// its end: put it and everything after it back into the buffer, and
    /// hold the next cut until the construct's terminator. Each construct is
    /// carried at most once; afterwards the buffer is cut into one fragment
    /// whose bytes past its end contain no `<`, so a later carry starts
    /// past this one's copy or inside the last fragment it made: a byte is
    /// copied at most twice (the copy is linear), and only a malformed tag,
    /// which ends the stream, is read by the tokenizer again.
    fn carry(&mut self, at: usize, resume: Resume) {
        let Some(front) = self.frags.pop_front() else {
            return;
        };
        let later: usize = self.frags.iter().map(|f| f.text.len()).sum();
        let mut buf = String::with_capacity(front.text.len() - at + later + self.pending().len());
        buf.push_str(&front.text[at..]);
        for f in self.frags.drain(..) {
            buf.push_str(&f.text);
        }
        buf.push_str(self.pending());
        self.buf = buf;
        self.start = 0;
        self.base = front.base + at as u64;
        match resume {
            Resume::Hold(hold) => self.scanner.hold(hold),
            Resume::Text => self.scanner.resume_text(),
        }
        self.advance();
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
