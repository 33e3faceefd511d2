//! The tokenizer loop: one fragment through `xmlparser` into the builder.
//!
//! A fragment ends at a cut chosen by the boundary tracker without looking
//! at the bytes before it (see `scanner.rs`), so this loop is where markup is
//! checked: at every content position (after text, a tag, or a CDATA
//! section) a `<!` or `<?` is classified here before the tokenizer sees it.
//! A construct that continues past the fragment's end (a CDATA section
//! containing `<`; a tag containing `<`, which is always an error) is handed
//! back to the reader ("carry") before any of its bytes reach the builder,
//! and read again once complete.
//!
//! Every unit (text run, tag, CDATA section, declaration) is checked against
//! `max_buffered` before its error or its content counts, as if it had
//! arrived byte by byte: a unit longer than that is `BufferFull` at its
//! start whatever it contains. Error offsets are unchanged from the former
//! full pre-scan: the start of the unit for markup and size errors, the end
//! of the last good token for tokenizer errors.

use std::collections::VecDeque;

use xmlparser::{ElementEnd, Token, Tokenizer};

use super::super::builder::Builder;
use super::super::decl;
use super::super::error::{XmlError, XmlErrorKind};
use super::super::limits::ReaderLimits;
use super::super::scanner::{self, Hold, Markup};
use super::{Fragment, StreamEvent};

/// A construct starting at this fragment offset continues past the
/// fragment's end: read it again once complete.
pub(super) type Carry = Option<(usize, Resume)>;

/// What a carried construct is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resume {
    /// Markup to hold until its terminator.
    Hold(Hold),
    /// A text run that a cut split (see [`Fragment::open_end`]).
    Text,
}

/// Events queued per run (a few trees stay in cache until drained).
const BATCH: usize = 4;

/// No start tag is open.
const NO_TAG: usize = usize::MAX;

#[inline]
fn markup_at(bytes: &[u8], at: usize) -> bool {
    bytes.get(at) == Some(&b'<') && matches!(bytes.get(at + 1), Some(b'!' | b'?'))
}

/// Tokenizes `frag` from its position until [`BATCH`] events are queued or
/// the fragment ends (a carry or an error ends it early). A run stops only
/// in content state (after an `ElementEnd`), so the next run starts where
/// the tokenizer can resume.
pub(super) fn run(
    frag: &mut Fragment,
    builder: &mut Builder,
    events: &mut VecDeque<StreamEvent>,
    decl_abs: u64,
    limits: &ReaderLimits,
) -> Result<Carry, XmlError> {
    let text = &frag.text;
    let s: &str = text;
    let bytes = s.as_bytes();
    let base = frag.base;
    let end = s.len();
    let max = limits.max_buffered;
    let fail = |kind, at: usize| XmlError {
        kind,
        offset: base + at as u64,
    };
    let too_big = |at: usize| fail(XmlErrorKind::BufferFull { limit: max }, at);
    let produced = events.len();
    let mut pos = frag.pos;
    'content: while pos < end {
        if markup_at(bytes, pos) {
            let decl = decl_abs.checked_sub(base) == Some(pos as u64);
            match scanner::classify(&bytes[pos..end], decl, true) {
                Markup::Hold(hold) => match scanner::unit_end(&bytes[pos..end], hold) {
                    None => return Ok(Some((pos, Resume::Hold(hold)))),
                    Some(len) if hold == Hold::Decl => {
                        if len > max {
                            return Err(too_big(pos));
                        }
                        if !decl::is_valid(&s[pos..pos + len]) {
                            return Err(fail(XmlErrorKind::BadDeclaration, pos));
                        }
                        pos += len;
                        continue 'content;
                    }
                    Some(_) => {} // a complete CDATA section: the tokenizer reads it
                },
                Markup::Forbidden(kind) => return Err(fail(kind, pos)),
                Markup::Tag | Markup::NeedMore => {}
            }
        } else if bytes[pos] != b'<' {
            // Text: found and checked here, a block at a time, instead of
            // by the tokenizer one `char` at a time (same checks, same
            // errors at the same offsets: see `scanner::check_text`).
            let stop = memchr::memchr(b'<', &bytes[pos..end]).map_or(end, |i| pos + i);
            if stop == end && frag.open_end {
                // The run goes on past the cut: it is checked whole (its
                // errors are at its start, its size counts from there).
                return Ok(Some((pos, Resume::Text)));
            }
            // As if the run arrived byte by byte: a forbidden character or
            // `]]>` is refused when its last byte arrives, unless the run
            // had outgrown `max_buffered` before then.
            // (What the tracker checked as it arrived is not checked again,
            // but for two bytes: a `]]>` may end just past it.)
            let skip = if pos == 0 {
                frag.clean.saturating_sub(2)
            } else {
                0
            };
            let from = (pos + skip).min(stop);
            if let Err((kind, at)) = scanner::check_text(&bytes[from..stop]) {
                let at = from - pos + at;
                return Err(if at > max {
                    too_big(pos)
                } else {
                    fail(kind, pos)
                });
            }
            if stop - pos > max {
                return Err(too_big(pos));
            }
            if let Err(err) = builder.text(text, &s[pos..stop], pos, true, base) {
                return settle(bytes, pos, err, builder, max).map_err(|(k, at)| fail(k, at));
            }
            pos = stop;
            continue 'content;
        }
        let mut tokens = Tokenizer::from_fragment(s, pos..end);
        // End of the last complete token, and the start of an open start tag.
        let mut last = pos;
        let mut tag = NO_TAG;
        loop {
            let token = match tokens.next() {
                // The tokenizer stops silently at the end of its input, even
                // between the attributes of a tag that the cut went through.
                None if tag != NO_TAG => {
                    let err = (XmlErrorKind::Syntax, last);
                    return settle(bytes, tag, err, builder, max).map_err(|(k, at)| fail(k, at));
                }
                None => break 'content,
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    let unit = if tag == NO_TAG { last } else { tag };
                    let err = (tokenizer_error_kind(&e), last);
                    return settle(bytes, unit, err, builder, max).map_err(|(k, at)| fail(k, at));
                }
            };
            let (result, unit, token_end) = match token {
                Token::ElementStart {
                    prefix,
                    local,
                    span,
                } => {
                    tag = span.start();
                    let r = builder.start(&prefix, &local, tag, base);
                    if r.is_ok() {
                        last = span.end();
                        continue;
                    }
                    (r, tag, span.end())
                }
                Token::Attribute {
                    prefix,
                    local,
                    value,
                    span,
                } => {
                    let r = if span.end().saturating_sub(tag) > max {
                        Err((XmlErrorKind::BufferFull { limit: max }, tag))
                    } else {
                        builder.attr(text, &prefix, &local, &value, span.start())
                    };
                    if r.is_ok() {
                        last = span.end();
                        continue;
                    }
                    (r, tag, span.end())
                }
                Token::ElementEnd { end: kind, span } => {
                    let e = span.end();
                    let r = match kind {
                        ElementEnd::Open | ElementEnd::Empty => {
                            let start = std::mem::replace(&mut tag, NO_TAG);
                            if e.saturating_sub(start) > max {
                                return Err(too_big(start));
                            }
                            let empty = matches!(kind, ElementEnd::Empty);
                            builder
                                .start_done(text, empty, e, base, events)
                                .map_err(|(k, at)| fail(k, at))?;
                            Ok(())
                        }
                        ElementEnd::Close(p, l) => {
                            if e - span.start() > max {
                                return Err(too_big(span.start()));
                            }
                            builder.end_tag(p.as_str(), l.as_str(), span.start(), e, base, events)
                        }
                    };
                    (r, span.start(), e)
                }
                // Text runs are read above (the tokenizer is only started at
                // a `<`, and left after each unit when text follows); should
                // one reach here, it goes through the same path.
                Token::Text { text: t } => {
                    pos = t.start();
                    continue 'content;
                }
                Token::Cdata { text: t, span } => {
                    if span.end() - span.start() > max {
                        return Err(too_big(span.start()));
                    }
                    let r = if builder.in_root() {
                        builder.text(text, t.as_str(), t.start(), false, base)
                    } else {
                        Err((XmlErrorKind::ContentOutsideRoot, span.start()))
                    };
                    (r, span.start(), span.end())
                }
                // Intercepted above; mapped for completeness.
                Token::Comment { span, .. } => {
                    return Err(fail(XmlErrorKind::Comment, span.start()));
                }
                Token::ProcessingInstruction { span, .. } | Token::Declaration { span, .. } => {
                    return Err(fail(XmlErrorKind::ProcessingInstruction, span.start()));
                }
                Token::DtdStart { span, .. }
                | Token::EmptyDtd { span, .. }
                | Token::EntityDeclaration { span, .. }
                | Token::DtdEnd { span } => return Err(fail(XmlErrorKind::Doctype, span.start())),
            };
            if let Err(err) = result {
                return settle(bytes, unit, err, builder, max).map_err(|(k, at)| fail(k, at));
            }
            // Back in content state.
            last = token_end;
            if events.len() >= produced + BATCH {
                frag.pos = last;
                return Ok(None);
            }
            if last < end && (bytes[last] != b'<' || markup_at(bytes, last)) {
                pos = last;
                continue 'content;
            }
        }
    }
    frag.pos = end;
    Ok(None)
}

/// An error `err` inside the unit that starts at `unit`. If the unit is
/// not complete in the fragment (only malformed markup can be cut short),
/// it is carried and read again once complete; a unit longer than
/// `max_buffered` is `BufferFull` whatever else is wrong with it.
#[cold]
fn settle(
    bytes: &[u8],
    unit: usize,
    err: (XmlErrorKind, usize),
    builder: &mut Builder,
    max: usize,
) -> Result<Carry, (XmlErrorKind, usize)> {
    let rest = &bytes[unit..];
    let len = if rest.first() == Some(&b'<') {
        let hold = if rest.starts_with(b"<![CDATA[") {
            Hold::Cdata
        } else {
            Hold::Tag
        };
        match scanner::unit_end(rest, hold) {
            Some(len) => len,
            None => {
                builder.abort_tag();
                return Ok(Some((unit, Resume::Hold(hold))));
            }
        }
    } else {
        memchr::memchr(b'<', rest).unwrap_or(rest.len())
    };
    if len > max {
        return Err((XmlErrorKind::BufferFull { limit: max }, unit));
    }
    Err(err)
}

/// Maps an `xmlparser` error to our kinds (the position is ours: the end of
/// the last good token, which does not depend on chunking).
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
