//! The boundary scanner: finds where complete tokens end in a growing buffer.
//!
//! `xmlparser` has no feed API: handed a truncated buffer it sometimes fails
//! and sometimes returns a silently short token (`<mess`, `hello wor`). So
//! before any byte reaches the tokenizer, this scanner walks each received
//! byte exactly once and records the last *safe* offset: a point in content
//! state where every token before it is complete (just before a `<`, or just
//! after the `>` that ends a tag, CDATA section or XML declaration). The
//! tokenizer is only ever handed `[consumed, safe)`, so no byte is tokenized
//! twice however the input is chunked, and the work stays linear.
//!
//! The scanner also rejects, at the `<` that starts them, the constructs
//! restricted XML forbids (RFC 6120 §11.1): DOCTYPE, comments, processing
//! instructions other than the XML declaration at the start of the document,
//! and unknown `<!` markup. It enforces the token-size limit, so a peer
//! sending endless text without `<` cannot grow memory.
//!
//! Every decision depends only on the bytes, never on where a chunk ended:
//! when a decision needs a few more bytes of lookahead the scanner waits.

use super::error::XmlErrorKind;

/// Where the scanner is inside the markup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Character data; `safe` is the start of the pending text.
    Content,
    /// Inside a start or end tag, possibly inside a quoted attribute value.
    Tag { quote: u8 },
    /// Inside `<![CDATA[ … ]]>`; `from` is where `]]>` may start.
    Cdata { from: usize },
    /// Inside the XML declaration `<?xml … ?>`; `from` is where `?>` may start.
    Decl { from: usize },
}

/// Incremental boundary scanner over the reader's buffer (positions are
/// relative to the buffer start; [`Scanner::shift`] follows the buffer).
#[derive(Debug)]
pub(crate) struct Scanner {
    state: State,
    /// Next byte to look at.
    pos: usize,
    /// End of the last complete token.
    safe: usize,
    /// First forbidden construct found, as (kind, relative offset).
    error: Option<(XmlErrorKind, usize)>,
    /// Most bytes one token may span.
    max_token: usize,
}

const CDATA_OPEN: &[u8] = b"<![CDATA[";
const COMMENT_OPEN: &[u8] = b"<!--";
const DOCTYPE_OPEN: &[u8] = b"<!DOCTYPE";

impl Scanner {
    pub(crate) fn new() -> Self {
        Scanner {
            state: State::Content,
            pos: 0,
            safe: 0,
            error: None,
            max_token: usize::MAX,
        }
    }

    /// End of the last complete token, relative to the buffer.
    pub(crate) fn safe(&self) -> usize {
        self.safe
    }

    /// The first forbidden construct found, if any (relative offset).
    pub(crate) fn error(&self) -> Option<&(XmlErrorKind, usize)> {
        self.error.as_ref()
    }

    /// The buffer dropped its first `n` bytes (all before `safe`).
    pub(crate) fn shift(&mut self, n: usize) {
        self.pos -= n;
        self.safe -= n;
        match &mut self.state {
            State::Cdata { from } | State::Decl { from } => *from = from.saturating_sub(n),
            State::Content | State::Tag { .. } => {}
        }
        if let Some((_, at)) = &mut self.error {
            *at -= n;
        }
    }

    /// Scans `buf[pos..]` (all of it valid UTF-8 up to a char boundary).
    /// `decl_at` is the relative position where an XML declaration may
    /// start, if the document start is still in the buffer. `max_token` bounds
    /// the bytes held without a complete token.
    pub(crate) fn scan(&mut self, buf: &[u8], decl_at: Option<usize>, max_token: usize) {
        self.max_token = max_token;
        while self.error.is_none() && self.pos < buf.len() {
            if !self.step(buf, decl_at) {
                break;
            }
        }
        if self.error.is_none() && self.pos - self.safe > max_token {
            self.error = Some((XmlErrorKind::BufferFull { limit: max_token }, self.safe));
        }
    }

    /// One step; false when more input is needed.
    fn step(&mut self, buf: &[u8], decl_at: Option<usize>) -> bool {
        match self.state {
            State::Content => {
                let Some(k) = memchr::memchr(b'<', &buf[self.pos..]) else {
                    self.pos = buf.len();
                    return false;
                };
                let lt = self.pos + k;
                // Everything before this '<' is complete text.
                if !self.complete_token(lt) {
                    return false;
                }
                self.pos = lt;
                self.open_markup(buf, lt, decl_at)
            }
            State::Tag { mut quote } => {
                // Tags are short: a plain loop beats a SIMD search per quote.
                let mut i = self.pos;
                while i < buf.len() {
                    let b = buf[i];
                    i += 1;
                    if quote == 0 {
                        match b {
                            b'>' => return self.close(i),
                            b'\'' | b'"' => quote = b,
                            _ => {}
                        }
                    } else if b == quote {
                        quote = 0;
                    }
                }
                self.pos = buf.len();
                self.state = State::Tag { quote };
                false
            }
            State::Cdata { from } => self.find_terminator(buf, from, b']'),
            State::Decl { from } => self.find_terminator(buf, from, b'?'),
        }
    }

    /// Finds `]]>` (with `b == b']'`) or `?>` starting at or after `from`.
    fn find_terminator(&mut self, buf: &[u8], from: usize, b: u8) -> bool {
        let Some(k) = memchr::memchr(b'>', &buf[self.pos..]) else {
            self.pos = buf.len();
            return false;
        };
        let gt = self.pos + k;
        self.pos = gt + 1;
        let need = if b == b']' { 2 } else { 1 };
        if gt >= from + need && buf[gt - need..gt].iter().all(|&c| c == b) {
            return self.close(gt + 1);
        }
        true
    }

    /// A tag, section or declaration ended just before `end`.
    fn close(&mut self, end: usize) -> bool {
        self.state = State::Content;
        self.pos = end;
        self.complete_token(end)
    }

    /// The pending token ends at `end`: checks its size and moves `safe`.
    /// The check happens whether or not the token arrived in one piece, so
    /// the outcome does not depend on chunking.
    fn complete_token(&mut self, end: usize) -> bool {
        if end - self.safe > self.max_token {
            let limit = self.max_token;
            self.error = Some((XmlErrorKind::BufferFull { limit }, self.safe));
            return false;
        }
        self.safe = end;
        true
    }

    /// Classifies the markup that starts at `lt`; false when more bytes are needed.
    fn open_markup(&mut self, buf: &[u8], lt: usize, decl_at: Option<usize>) -> bool {
        let rest = &buf[lt..];
        let Some(&next) = rest.get(1) else {
            return false;
        };
        match next {
            b'!' => {
                for (open, what) in [
                    (CDATA_OPEN, None),
                    (COMMENT_OPEN, Some(XmlErrorKind::Comment)),
                    (DOCTYPE_OPEN, Some(XmlErrorKind::Doctype)),
                ] {
                    let n = rest.len().min(open.len());
                    if rest[..n] != open[..n] {
                        continue;
                    }
                    if n < open.len() {
                        return false; // could still become this construct
                    }
                    match what {
                        None => {
                            self.pos = lt + open.len();
                            self.state = State::Cdata { from: self.pos };
                            return true;
                        }
                        Some(kind) => {
                            self.error = Some((kind, lt));
                            return false;
                        }
                    }
                }
                self.error = Some((XmlErrorKind::UnknownMarkup, lt));
                false
            }
            b'?' => {
                if decl_at == Some(lt) {
                    // `<?xml` followed by whitespace is the declaration.
                    let n = rest.len().min(6);
                    let is_decl = |r: &[u8]| {
                        r[..n.min(5)] == b"<?xml"[..n.min(5)]
                            && (n < 6 || matches!(r[5], b' ' | b'\t' | b'\n' | b'\r'))
                    };
                    if is_decl(rest) {
                        if n < 6 {
                            return false;
                        }
                        self.pos = lt + 5;
                        self.state = State::Decl { from: self.pos };
                        return true;
                    }
                }
                self.error = Some((XmlErrorKind::ProcessingInstruction, lt));
                false
            }
            _ => {
                self.pos = lt + 1;
                self.state = State::Tag { quote: 0 };
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(input: &[u8]) -> Scanner {
        let mut s = Scanner::new();
        s.scan(input, Some(0), 1 << 20);
        s
    }

    #[test]
    fn safe_points() {
        assert_eq!(scan_all(b"<a>text").safe(), 3);
        assert_eq!(scan_all(b"<a>text<").safe(), 7);
        assert_eq!(scan_all(b"<a x='>'>").safe(), 9);
        assert_eq!(scan_all(b"<a x='>'").safe(), 0);
        assert_eq!(scan_all(b"<![CDATA[ a > ]] ]]>").safe(), 20);
        assert_eq!(scan_all(b"<![CDATA[]]").safe(), 0);
        assert_eq!(scan_all(b"<?xml version='1.0'?><s>").safe(), 24);
    }

    #[test]
    fn forbidden_markup() {
        assert_eq!(
            scan_all(b"<a><!-- x -->").error(),
            Some(&(XmlErrorKind::Comment, 3))
        );
        assert_eq!(
            scan_all(b"<!DOCTYPE a>").error(),
            Some(&(XmlErrorKind::Doctype, 0))
        );
        assert_eq!(
            scan_all(b"<a><?pi x?>").error(),
            Some(&(XmlErrorKind::ProcessingInstruction, 3))
        );
        assert_eq!(
            scan_all(b"<a><!ELEMENT").error(),
            Some(&(XmlErrorKind::UnknownMarkup, 3))
        );
        // A declaration anywhere but the start is a PI.
        assert_eq!(
            scan_all(b" <?xml version='1.0'?>").error(),
            Some(&(XmlErrorKind::ProcessingInstruction, 1))
        );
    }

    #[test]
    fn waits_for_lookahead() {
        let mut s = Scanner::new();
        s.scan(b"<a><!-", None, 1 << 20);
        assert_eq!(s.error(), None);
        assert_eq!(s.safe(), 3);
        s.scan(b"<a><!--", None, 1 << 20);
        assert_eq!(s.error(), Some(&(XmlErrorKind::Comment, 3)));
    }

    #[test]
    fn token_limit() {
        let mut s = Scanner::new();
        s.scan(b"<a>0123456789", None, 8);
        assert_eq!(s.error(), Some(&(XmlErrorKind::BufferFull { limit: 8 }, 3)));
    }
}
