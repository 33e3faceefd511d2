//! The boundary tracker: decides, without a pre-scan of every byte, how much
//! of the growing buffer may be handed to the tokenizer.
//!
//! `xmlparser` has no feed API: handed a truncated buffer it sometimes fails
//! and sometimes returns a silently short token (`<mess`, `hello wor`). The
//! reader therefore cuts the buffer only at a *safe* point: just before the
//! last `<` of the buffer, or just after the `>` that closes the tag starting
//! at that `<` (found with quote tracking on that tail only). Every byte
//! before the last `<` is handed over without being looked at here: text
//! cannot contain `<` and a well-formed tag cannot either, so the only
//! constructs that can straddle the cut are CDATA sections (which may contain
//! `<`), and malformed markup (a `<` in an attribute value, comments, ...).
//! The tokenizer loop (`run.rs`) finds those at the content position where
//! they start, and hands them back ([`Scanner::hold`]): the tracker then
//! waits for the construct's terminator (`]]>`, `?>`, or a `>` outside
//! quotes) before the next cut, so each byte is searched once and tokenized
//! once however the input is chunked.
//!
//! When the last `<` of the buffer starts `<!` or `<?` the tracker classifies
//! it as the old full scanner did (CDATA and the XML declaration are held,
//! DOCTYPE, comments, PIs and unknown markup are errors). It also bounds the
//! bytes held past the safe point (`max_buffered`). Its errors are
//! *tentative*: that `<` might lie inside a CDATA section that began
//! earlier, so the reader confirms an error only once every byte before it
//! was tokenized without a hold.

use super::error::XmlErrorKind;

/// A construct that must be complete before the next cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    /// `<![CDATA[ … ]]>`.
    Cdata,
    /// `<?xml … ?>` (only at the start of the document).
    Decl,
    /// A tag that contains `<`: waits for its `>` outside quotes.
    Tag,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// After a complete unit: the bytes from `safe` are text.
    Content,
    /// `safe` is the last `<`; what follows is not classified yet; there
    /// is no `>` before `gt`.
    Open { gt: usize },
    /// `safe` is the last `<`, starting a tag scanned up to `pos` with quote
    /// state `quote`; there is no `>` in `pos..gt`.
    Tail { quote: u8, gt: usize },
    /// Holding the construct that starts at `safe` until its terminator;
    /// `from` is where the terminator may start.
    Held { hold: Hold, from: usize, quote: u8 },
}

/// Incremental boundary tracker over the reader's buffer (positions are
/// relative to the buffer start; [`Scanner::shift`] follows the buffer).
#[derive(Debug)]
pub(crate) struct Scanner {
    mode: Mode,
    /// Next byte to look at in the current mode.
    pos: usize,
    /// Bytes before this were searched for `<`.
    searched: usize,
    /// End of the last complete unit: the reader may cut here.
    safe: usize,
    /// Tentative error, as (kind, relative offset).
    error: Option<(XmlErrorKind, usize)>,
}

const CDATA_OPEN: &[u8] = b"<![CDATA[";
const COMMENT_OPEN: &[u8] = b"<!--";
const DOCTYPE_OPEN: &[u8] = b"<!DOCTYPE";

/// What a `<` starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Markup {
    /// A start or end tag.
    Tag,
    /// A construct to hold until its terminator (CDATA, the declaration).
    Hold(Hold),
    /// Markup restricted XML forbids.
    Forbidden(XmlErrorKind),
    /// More bytes are needed to tell.
    NeedMore,
}

/// Classifies the markup at the start of `rest` (which starts with `<`).
/// `decl` is true where the XML declaration may start. When `complete` is
/// true no more bytes can follow `rest` within this unit (the next byte is
/// another `<`, or the unit ended inside `rest`), so a partial match is a
/// mismatch and the answer is never [`Markup::NeedMore`].
pub(crate) fn classify(rest: &[u8], decl: bool, complete: bool) -> Markup {
    match rest.get(1) {
        Some(b'!') => {
            for (open, what) in [
                (CDATA_OPEN, Markup::Hold(Hold::Cdata)),
                (COMMENT_OPEN, Markup::Forbidden(XmlErrorKind::Comment)),
                (DOCTYPE_OPEN, Markup::Forbidden(XmlErrorKind::Doctype)),
            ] {
                let n = rest.len().min(open.len());
                if rest[..n] != open[..n] {
                    continue;
                }
                if n == open.len() {
                    return what;
                }
                if !complete {
                    return Markup::NeedMore; // could still become this construct
                }
            }
            Markup::Forbidden(XmlErrorKind::UnknownMarkup)
        }
        Some(b'?') => {
            if decl {
                // `<?xml` followed by whitespace is the declaration.
                let n = rest.len().min(6);
                if rest[..n.min(5)] == b"<?xml"[..n.min(5)] {
                    if n == 6 && matches!(rest[5], b' ' | b'\t' | b'\n' | b'\r') {
                        return Markup::Hold(Hold::Decl);
                    }
                    if n < 6 && !complete {
                        return Markup::NeedMore;
                    }
                }
            }
            Markup::Forbidden(XmlErrorKind::ProcessingInstruction)
        }
        Some(_) => Markup::Tag,
        None if complete => Markup::Tag,
        None => Markup::NeedMore,
    }
}

impl Scanner {
    pub(crate) fn new() -> Self {
        Scanner {
            mode: Mode::Content,
            pos: 0,
            searched: 0,
            safe: 0,
            error: None,
        }
    }

    /// End of the last complete unit, relative to the buffer.
    pub(crate) fn safe(&self) -> usize {
        self.safe
    }

    /// The tentative error, if any (relative offset).
    pub(crate) fn error(&self) -> Option<&(XmlErrorKind, usize)> {
        self.error.as_ref()
    }

    /// The buffer dropped its first `n` bytes (all before `safe`).
    pub(crate) fn shift(&mut self, n: usize) {
        self.pos -= n;
        self.searched -= n;
        self.safe -= n;
        match &mut self.mode {
            Mode::Held { from, .. } => *from = from.saturating_sub(n),
            Mode::Tail { gt, .. } | Mode::Open { gt } => *gt = gt.saturating_sub(n),
            Mode::Content => {}
        }
        if let Some((_, at)) = &mut self.error {
            *at -= n;
        }
    }

    /// The tokenizer found `hold` starting at offset 0 of a buffer rebuilt
    /// from there: wait for its end (forgetting any tentative error).
    pub(crate) fn hold(&mut self, hold: Hold) {
        let from = match hold {
            Hold::Cdata => CDATA_OPEN.len(),
            Hold::Decl => 5,
            Hold::Tag => 1,
        };
        self.mode = Mode::Held {
            hold,
            from,
            quote: 0,
        };
        self.pos = from;
        self.searched = from;
        self.safe = 0;
        self.error = None;
    }

    /// Scans the bytes of `buf` not seen yet. `decl_at` is the relative
    /// position where an XML declaration may start, if still in the buffer;
    /// `max_token` bounds the bytes held past the safe point.
    pub(crate) fn scan(&mut self, buf: &[u8], decl_at: Option<usize>, max_token: usize) {
        while self.error.is_none() && (self.pos < buf.len() || self.searched < buf.len()) {
            if !self.step(buf, decl_at, max_token) {
                break;
            }
        }
        if self.error.is_none() && buf.len() - self.safe > max_token {
            self.error = Some((XmlErrorKind::BufferFull { limit: max_token }, self.safe));
        }
    }

    /// One step; false when more input is needed.
    fn step(&mut self, buf: &[u8], decl_at: Option<usize>, max_token: usize) -> bool {
        if !matches!(self.mode, Mode::Held { .. }) && self.searched < buf.len() {
            // Only the last '<' matters: everything before it is cut off.
            let new = &buf[self.searched..];
            let lt = match memchr::memrchr2(b'<', b'>', new) {
                // A read that ends inside a tag: no '>' after its '<'.
                Some(k) if new[k] == b'<' => Some((k, buf.len())),
                Some(k) => memchr::memrchr(b'<', &new[..k]).map(|j| (j, 0)),
                None => None,
            };
            if let Some((k, gt)) = lt {
                self.safe = self.searched + k;
                self.pos = self.safe + 1;
                self.mode = Mode::Open { gt };
            }
            self.searched = buf.len();
        }
        match self.mode {
            Mode::Content => {
                self.pos = buf.len();
                false
            }
            Mode::Open { gt } => {
                match classify(&buf[self.safe..], decl_at == Some(self.safe), false) {
                    Markup::Tag => {
                        self.mode = Mode::Tail { quote: 0, gt };
                        true
                    }
                    Markup::NeedMore => {
                        self.pos = buf.len();
                        false
                    }
                    Markup::Hold(hold) => {
                        let from = self.safe
                            + if hold == Hold::Cdata {
                                CDATA_OPEN.len()
                            } else {
                                5
                            };
                        self.mode = Mode::Held {
                            hold,
                            from,
                            quote: 0,
                        };
                        self.pos = from;
                        true
                    }
                    Markup::Forbidden(kind) => {
                        self.error = Some((kind, self.safe));
                        false
                    }
                }
            }
            Mode::Tail { quote, gt } => {
                // Without a '>' ahead the tag cannot be complete: skip the
                // byte-wise quote tracking until one arrives.
                let from = gt.max(self.pos);
                if from >= buf.len() || memchr::memchr(b'>', &buf[from..]).is_none() {
                    self.mode = Mode::Tail {
                        quote,
                        gt: buf.len(),
                    };
                    return false;
                }
                match find_tag_end(buf, self.pos, quote) {
                    Ok(end) => {
                        self.mode = Mode::Content;
                        self.safe = end;
                        self.pos = end;
                        true
                    }
                    Err(quote) => {
                        self.mode = Mode::Tail {
                            quote,
                            gt: buf.len(),
                        };
                        self.pos = buf.len();
                        false
                    }
                }
            }
            Mode::Held { hold, from, quote } => {
                let found = match hold {
                    Hold::Tag => find_tag_end(buf, self.pos, quote),
                    Hold::Cdata => find_terminator(buf, self.pos, from, b"]]").ok_or(quote),
                    Hold::Decl => find_terminator(buf, self.pos, from, b"?").ok_or(quote),
                };
                match found {
                    Ok(end) => {
                        if end - self.safe > max_token {
                            let limit = max_token;
                            self.error = Some((XmlErrorKind::BufferFull { limit }, self.safe));
                            return false;
                        }
                        self.mode = Mode::Content;
                        self.safe = end;
                        self.pos = end;
                        self.searched = end;
                        true
                    }
                    Err(quote) => {
                        // The search looks back from each '>', so a split
                        // terminator is found when its '>' arrives.
                        self.mode = Mode::Held { hold, from, quote };
                        self.pos = buf.len();
                        false
                    }
                }
            }
        }
    }
}

/// The end (just past `>`) of a tag scanned from `from` with quote state
/// `quote`; or the quote state at the end of `buf`.
fn find_tag_end(buf: &[u8], from: usize, mut quote: u8) -> Result<usize, u8> {
    // Tags are short: a plain loop beats a SIMD search per quote.
    let mut i = from;
    while i < buf.len() {
        let b = buf[i];
        i += 1;
        if quote == 0 {
            match b {
                b'>' => return Ok(i),
                b'\'' | b'"' => quote = b,
                _ => {}
            }
        } else if b == quote {
            quote = 0;
        }
    }
    Err(quote)
}

/// The end (just past `>`) of the first `>` at or after `pos` preceded by
/// `before`, with the terminator starting at or after `from`.
fn find_terminator(buf: &[u8], mut pos: usize, from: usize, before: &[u8]) -> Option<usize> {
    while let Some(k) = memchr::memchr(b'>', &buf[pos..]) {
        let gt = pos + k;
        pos = gt + 1;
        if gt >= from + before.len() && &buf[gt - before.len()..gt] == before {
            return Some(gt + 1);
        }
    }
    None
}

/// Where the terminator of `hold` (starting at the beginning of `unit`)
/// ends inside `unit`, if it does. Used by the tokenizer loop.
pub(crate) fn unit_end(unit: &[u8], hold: Hold) -> Option<usize> {
    match hold {
        Hold::Cdata => find_terminator(unit, CDATA_OPEN.len(), CDATA_OPEN.len(), b"]]"),
        Hold::Decl => find_terminator(unit, 5, 5, b"?"),
        Hold::Tag => find_tag_end(unit, 1, 0).ok(),
    }
}

/// The checks the tokenizer makes on a text run (up to, not including,
/// the next `<`), made a block at a time: every character must be an XML
/// character (no C0 control but tab, line feed and carriage return; no
/// U+FFFE or U+FFFF; UTF-8 already excludes surrogates), and `]]>` must not
/// occur. A forbidden character wins over `]]>`, as in the tokenizer, which
/// looks for `]]>` only once the run is read.
pub(crate) fn check_text(run: &[u8]) -> Result<(), XmlErrorKind> {
    // Branch-free flags over the whole run, so the loop vectorizes.
    let (mut control, mut ef, mut gt) = (false, false, false);
    for &c in run {
        control |= (c < 0x20) & (c != b'\t') & (c != b'\n') & (c != b'\r');
        ef |= c == 0xEF;
        gt |= c == b'>';
    }
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
    let noncharacter = ef
        && memchr::memchr_iter(0xEF, run)
            .any(|i| run.get(i + 1) == Some(&0xBF) && matches!(run.get(i + 2), Some(0xBE | 0xBF)));
    if control || noncharacter {
        return Err(XmlErrorKind::InvalidChar);
    }
    if gt && memchr::memmem::find(run, b"]]>").is_some() {
        return Err(XmlErrorKind::InvalidMarkupChar);
    }
    Ok(())
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
        // Only the last '<' is looked at: the rest is the tokenizer's.
        assert_eq!(scan_all(b"<a><b>x</b><c x='1'").safe(), 11);
    }

    #[test]
    fn forbidden_markup_at_the_last_lt() {
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
    fn holds_until_the_terminator() {
        let mut s = Scanner::new();
        s.hold(Hold::Cdata);
        s.scan(b"<![CDATA[ a < b ]", None, 1 << 20);
        assert_eq!(s.safe(), 0);
        s.scan(b"<![CDATA[ a < b ]]> <x", None, 1 << 20);
        assert_eq!(s.safe(), 20);
        let mut s = Scanner::new();
        s.hold(Hold::Tag);
        s.scan(b"<a x='<' y='>'/> <b", None, 1 << 20);
        assert_eq!(s.safe(), 17);
    }

    #[test]
    fn token_limit() {
        let mut s = Scanner::new();
        s.scan(b"<a>0123456789", None, 8);
        assert_eq!(s.error(), Some(&(XmlErrorKind::BufferFull { limit: 8 }, 3)));
    }

    /// What the tokenizer says of `text` (no `<` in it) as one text token.
    fn tokenizer_verdict(text: &str) -> Result<(), XmlErrorKind> {
        use xmlparser::{Error, StreamError, Token, Tokenizer};
        match Tokenizer::from_fragment(text, 0..text.len()).next() {
            Some(Ok(Token::Text { text: t })) => {
                assert_eq!(t.as_str(), text, "one token for the whole run");
                Ok(())
            }
            Some(Err(Error::InvalidCharData(StreamError::NonXmlChar(..), _))) => {
                Err(XmlErrorKind::InvalidChar)
            }
            Some(Err(Error::InvalidCharData(StreamError::InvalidCharacterData, _))) => {
                Err(XmlErrorKind::InvalidMarkupChar)
            }
            other => panic!("unexpected tokenizer result {other:?} for {text:?}"),
        }
    }

    #[test]
    fn text_checks_match_the_tokenizer_on_the_edge_cases() {
        for text in [
            "plain",
            "tab\there",
            "a\u{1}b",
            "\u{1f}",
            "x\u{FFFE}",
            "\u{FFFF}y",
            "\u{FFFD}",
            "\u{FEFF}bom",
            "a]]>b",
            "a]]b>c",
            "]]>\u{0}",
            "\u{EFFF}\u{BFBF}",
            "漢字 & é",
        ] {
            assert_eq!(
                check_text(text.as_bytes()),
                tokenizer_verdict(text),
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        /// The block-at-a-time text checks agree with the tokenizer's
        /// char-at-a-time ones on any run without `<`.
        #[test]
        fn text_checks_match_the_tokenizer(
            chars in proptest::collection::vec(proptest::prop_oneof![
                proptest::char::range('\u{0}', '\u{7f}'),
                proptest::sample::select(vec![']', '>', '\u{FFFE}', '\u{FFFF}', '\u{FFFD}', '\u{EFBF}', 'é', '漢', '😀']),
            ], 1..40)
        ) {
            let text: String = chars.into_iter().filter(|&c| c != '<').collect();
            if !text.is_empty() {
                proptest::prop_assert_eq!(check_text(text.as_bytes()), tokenizer_verdict(&text));
            }
        }
    }
}
