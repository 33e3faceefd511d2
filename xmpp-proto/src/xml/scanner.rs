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

    /// True when the bytes from [`Scanner::safe`] are a text run (no
    /// construct is open).
    pub(crate) fn in_text(&self) -> bool {
        self.mode == Mode::Content
    }

    /// How many bytes from [`Scanner::safe`] are known to be a clean text
    /// run (checked as they arrived, see `check_pending_text`): the
    /// tokenizer need not check them again.
    pub(crate) fn clean_text(&self) -> usize {
        if self.mode == Mode::Content {
            self.pos - self.safe
        } else {
            0
        }
    }

    /// The stream will get no more bytes: the text run pending at the end
    /// is complete, and may be cut off whole.
    pub(crate) fn end_text(&mut self, len: usize) {
        if self.mode == Mode::Content {
            self.safe = len;
            self.pos = len;
            self.searched = len;
        }
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

    /// The tokenizer found a text run starting at offset 0 of a buffer
    /// rebuilt from there, which a cut had split (the cut was taken after a
    /// `>` that was text, not the end of a tag): the bytes from 0 are one
    /// run again (forgetting any tentative error, which was measured from
    /// the wrong start).
    pub(crate) fn resume_text(&mut self) {
        self.mode = Mode::Content;
        self.pos = 0;
        self.searched = 0;
        self.safe = 0;
        self.error = None;
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
                self.check_pending_text(buf, max_token);
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

impl Scanner {
    /// In content, the bytes from `safe` are one text run that has not
    /// ended yet: a forbidden character or `]]>` in it is an error however
    /// the run continues, so it is reported now (at the run's start, as the
    /// tokenizer does), not when a `<` finally arrives. Only the bytes not
    /// looked at yet are checked (and the two before them, for a split
    /// `]]>`). A problem that completes past `max_token` bytes comes after
    /// the run was already too long: that is left to the size check.
    fn check_pending_text(&mut self, buf: &[u8], max_token: usize) {
        let from = self.pos.saturating_sub(2).max(self.safe);
        if from >= buf.len() {
            return;
        }
        if let Err((kind, end)) = check_text(&buf[from..]) {
            if from + end - self.safe <= max_token {
                self.error = Some((kind, self.safe));
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
/// occur.
///
/// On failure: the kind and the end (exclusive) of the first offending
/// bytes. When a run has both problems, the one whose bytes are complete
/// first is reported (`xmlparser` itself would name the forbidden
/// character whatever its place): so the verdict on a run never changes
/// when more of it arrives, and the boundary tracker can report it as soon
/// as it is received (see [`Scanner::scan`]).
pub(crate) fn check_text(run: &[u8]) -> Result<(), (XmlErrorKind, usize)> {
    // Short runs (whitespace between elements, a name, a few bytes of a
    // read): one early-exit pass, no set-up.
    if run.len() < 32 {
        let plain = run
            .iter()
            .all(|&c| (c >= 0x20 && c != b'>' && c != 0xEF) || matches!(c, b'\t' | b'\n' | b'\r'));
        if plain {
            return Ok(());
        }
    }
    // Branch-free flags over the whole run, so the loop vectorizes.
    let (mut control, mut ef, mut gt) = (false, false, false);
    for &c in run {
        control |= is_control(c);
        ef |= c == 0xEF;
        gt |= c == b'>';
    }
    if control || ef {
        return first_text_error(run);
    }
    match gt.then(|| memchr::memmem::find(run, b"]]>")).flatten() {
        Some(i) => Err((XmlErrorKind::InvalidMarkupChar, i + 3)),
        None => Ok(()),
    }
}

#[inline]
fn is_control(c: u8) -> bool {
    (c < 0x20) & (c != b'\t') & (c != b'\n') & (c != b'\r')
}

/// The slow half of [`check_text`]: finds the first problem, if any.
#[cold]
fn first_text_error(run: &[u8]) -> Result<(), (XmlErrorKind, usize)> {
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
    let noncharacter = memchr::memchr_iter(0xEF, run)
        .find(|&i| run.get(i + 1) == Some(&0xBF) && matches!(run.get(i + 2), Some(0xBE | 0xBF)))
        .map(|i| i + 3);
    let control = run.iter().position(|&c| is_control(c)).map(|i| i + 1);
    let invalid = match (control, noncharacter) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let markup = memchr::memmem::find(run, b"]]>").map(|i| i + 3);
    match (invalid, markup) {
        (Some(c), Some(m)) if m < c => Err((XmlErrorKind::InvalidMarkupChar, m)),
        (Some(c), _) => Err((XmlErrorKind::InvalidChar, c)),
        (None, Some(m)) => Err((XmlErrorKind::InvalidMarkupChar, m)),
        (None, None) => Ok(()),
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
            "\u{0}]]>",
            "\u{EFFF}\u{BFBF}",
            "漢字 & é",
        ] {
            same_verdict(text);
        }
        // Where both problems occur, the first one complete is named.
        assert_eq!(
            check_text(b"]]>\x00"),
            Err((XmlErrorKind::InvalidMarkupChar, 3))
        );
        assert_eq!(check_text(b"a\x00]]>"), Err((XmlErrorKind::InvalidChar, 2)));
        assert_eq!(
            check_text("ab\u{FFFF}".as_bytes()),
            Err((XmlErrorKind::InvalidChar, 5))
        );
    }

    /// Ours and the tokenizer's verdicts agree: both accept or both refuse,
    /// with the same kind when the run has one kind of problem (with both,
    /// ours names the first, see [`check_text`]); the end we report is
    /// where that problem's bytes end.
    fn same_verdict(text: &str) {
        let ours = check_text(text.as_bytes());
        let theirs = tokenizer_verdict(text);
        assert_eq!(ours.is_ok(), theirs.is_ok(), "{text:?}");
        let Err((kind, end)) = ours else { return };
        let both = text.contains("]]>") && check_text(text.replace("]]>", "").as_bytes()).is_err();
        if !both {
            assert_eq!(Err(kind.clone()), theirs, "{text:?}");
        }
        // Cut just before the end, the run is clean as far as it goes;
        // with its end, it is refused for the same reason.
        let bytes = text.as_bytes();
        assert_eq!(check_text(&bytes[..end]), Err((kind, end)), "{text:?}");
        assert!(check_text(&bytes[..end - 1]).is_ok(), "{text:?}");
    }

    #[test]
    fn pending_text_is_checked_as_it_arrives() {
        // No `<` follows, so nothing is cut: the tracker reports the
        // forbidden character at the start of the run.
        let mut s = Scanner::new();
        s.scan(b"<a>ok", None, 1 << 20);
        assert_eq!(s.error(), None);
        s.scan(b"<a>ok\x00", None, 1 << 20);
        assert_eq!(s.error(), Some(&(XmlErrorKind::InvalidChar, 3)));
        // `]]>` split across reads.
        let mut s = Scanner::new();
        s.scan(b"<a>x]", None, 1 << 20);
        s.scan(b"<a>x]]", None, 1 << 20);
        assert_eq!(s.error(), None);
        s.scan(b"<a>x]]>", None, 1 << 20);
        assert_eq!(s.error(), Some(&(XmlErrorKind::InvalidMarkupChar, 3)));
        // A problem completing past the size limit: the run was too long first.
        let mut s = Scanner::new();
        s.scan(b"<a>12345678\x01", None, 8);
        assert_eq!(s.error(), Some(&(XmlErrorKind::BufferFull { limit: 8 }, 3)));
        let mut s = Scanner::new();
        s.scan(b"<a>1234567\x01", None, 8);
        assert_eq!(s.error(), Some(&(XmlErrorKind::InvalidChar, 3)));
        // Inside a held construct the bytes are not text.
        let mut s = Scanner::new();
        s.scan(b"<a><![CDATA[\x00", None, 1 << 20);
        assert_eq!(s.error(), None);
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
                same_verdict(&text);
            }
        }
    }
}
