//! Entity and character references, line-end and attribute-value
//! normalization (XML 1.0 §2.11, §3.3.3, §4.1), and the writer's escaping.
//!
//! Only the five predefined entities exist: there is no DTD, so there is no
//! entity expansion of any kind. Text without `&` or `\r` (and attribute
//! values without `&`, `\t`, `\n`, `\r`) is returned as a zero-copy slice.

use bytes::BytesMut;
use bytestring::ByteString;

use super::error::XmlErrorKind;

/// A reference or character problem at a byte offset inside the raw text.
pub(crate) type EscapeError = (XmlErrorKind, usize);

/// Unescapes character data (text or, with `refs = false`, CDATA) taken
/// from `src` (a slice of `frag`). Unescaped copies go into `arena`, one
/// shared buffer, so they cost no allocation of their own.
pub(crate) fn text(
    arena: &mut BytesMut,
    frag: &ByteString,
    src: &str,
    refs: bool,
) -> Result<ByteString, EscapeError> {
    let bytes = src.as_bytes();
    let special = if refs {
        memchr::memchr2(b'&', b'\r', bytes)
    } else {
        memchr::memchr(b'\r', bytes)
    };
    match special {
        None => Ok(frag.slice_ref(src)),
        Some(first) => {
            unescape(src, first, false, refs, arena)?;
            Ok(freeze(arena))
        }
    }
}

/// Unescapes and normalizes an attribute value taken from `src` (a slice of `frag`).
pub(crate) fn attr(
    arena: &mut BytesMut,
    frag: &ByteString,
    src: &str,
) -> Result<ByteString, EscapeError> {
    match src
        .bytes()
        .position(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r'))
    {
        None => Ok(super::intern::slice(frag, src)),
        Some(first) => {
            unescape(src, first, true, true, arena)?;
            Ok(freeze(arena))
        }
    }
}

/// Checks references in text that is validated but not kept.
pub(crate) fn check_text(src: &str) -> Result<(), EscapeError> {
    match memchr::memchr(b'&', src.as_bytes()) {
        None => Ok(()),
        Some(first) => unescape(src, first, false, true, &mut BytesMut::new()),
    }
}

/// The arena's new bytes as a shared string. They were written from `&str`
/// pieces and whole `char`s, so they are UTF-8; the check cannot fail.
fn freeze(arena: &mut BytesMut) -> ByteString {
    let bytes = arena.split().freeze();
    ByteString::try_from(bytes).unwrap_or_default()
}

/// Appends the unescaped form of `src` (whose first special byte is at
/// `first`) to `out`.
fn unescape(
    src: &str,
    first: usize,
    attr: bool,
    refs: bool,
    out: &mut BytesMut,
) -> Result<(), EscapeError> {
    let bytes = src.as_bytes();
    if out.capacity() < src.len() {
        out.reserve(src.len().max(4096));
    }
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    let mut run = first;
    let mut utf8 = [0u8; 4];
    while i < bytes.len() {
        match bytes[i] {
            b'&' if refs => {
                out.extend_from_slice(&bytes[run..i]);
                let (c, len) = reference(&bytes[i..]).map_err(|k| (k, i))?;
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                i += len;
                run = i;
            }
            b'\r' => {
                out.extend_from_slice(&bytes[run..i]);
                out.extend_from_slice(if attr { b" " } else { b"\n" });
                i += if bytes.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                run = i;
            }
            b'\t' | b'\n' if attr => {
                out.extend_from_slice(&bytes[run..i]);
                out.extend_from_slice(b" ");
                i += 1;
                run = i;
            }
            _ => i += 1,
        }
    }
    out.extend_from_slice(&bytes[run..]);
    Ok(())
}

/// Parses one reference at the start of `r` (which starts with `&`):
/// returns the character and the reference's length in bytes.
fn reference(r: &[u8]) -> Result<(char, usize), XmlErrorKind> {
    // The longest legal reference is `&#x10FFFF;` with leading zeros; bound the
    // search so a bare '&' followed by megabytes costs nothing.
    let window = &r[1..r.len().min(64)];
    let Some(semi) = memchr::memchr(b';', window) else {
        return Err(bare_or_undefined(window));
    };
    let body = &window[..semi];
    let len = semi + 2;
    let c = match body {
        b"lt" => '<',
        b"gt" => '>',
        b"amp" => '&',
        b"quot" => '"',
        b"apos" => '\'',
        [b'#', b'x', hex @ ..] => char_ref(hex, 16)?,
        [b'#', dec @ ..] => char_ref(dec, 10)?,
        _ => return Err(bare_or_undefined(&window[..=semi])),
    };
    Ok((c, len))
}

/// `&name;` with a plausible name is an undefined entity; anything else a bare `&`.
fn bare_or_undefined(after_amp: &[u8]) -> XmlErrorKind {
    let name_len = after_amp
        .iter()
        .take_while(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':') || **b >= 0x80
        })
        .count();
    if name_len > 0 && after_amp.get(name_len) == Some(&b';') {
        XmlErrorKind::UndefinedEntity
    } else {
        XmlErrorKind::InvalidMarkupChar
    }
}

fn char_ref(digits: &[u8], radix: u32) -> Result<char, XmlErrorKind> {
    if digits.is_empty() {
        return Err(XmlErrorKind::InvalidCharRef);
    }
    let mut v: u32 = 0;
    for &d in digits {
        let d = (d as char)
            .to_digit(radix)
            .ok_or(XmlErrorKind::InvalidCharRef)?;
        v = v
            .checked_mul(radix)
            .and_then(|v| v.checked_add(d))
            .ok_or(XmlErrorKind::InvalidCharRef)?;
    }
    match char::from_u32(v) {
        Some(c) if is_xml_char(c) => Ok(c),
        _ => Err(XmlErrorKind::InvalidCharRef),
    }
}

/// XML 1.0 `Char`: tab, LF, CR, and U+0020 up, minus surrogates, U+FFFE, U+FFFF.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// XML whitespace (`S`): space, tab, LF, CR.
pub(crate) fn is_xml_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Appends `s` escaped for character data. `>` is escaped too (so `]]>`
/// never appears) and CR as a reference (so it survives line-end normalization).
pub(crate) fn escape_text(out: &mut Vec<u8>, s: &str) {
    escape(out, s, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'>' => Some(b"&gt;"),
        b'\r' => Some(b"&#13;"),
        _ => None,
    });
}

/// Appends `s` escaped for an attribute value in single quotes; tab, LF and
/// CR become references so attribute-value normalization keeps them.
pub(crate) fn escape_attr(out: &mut Vec<u8>, s: &str) {
    escape(out, s, |b| match b {
        b'&' => Some(b"&amp;"),
        b'<' => Some(b"&lt;"),
        b'\'' => Some(b"&apos;"),
        b'\t' => Some(b"&#9;"),
        b'\n' => Some(b"&#10;"),
        b'\r' => Some(b"&#13;"),
        _ => None,
    });
}

#[inline]
fn escape(out: &mut Vec<u8>, s: &str, map: impl Fn(u8) -> Option<&'static [u8]>) {
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if let Some(rep) = map(b) {
            out.extend_from_slice(&bytes[run..i]);
            out.extend_from_slice(rep);
            run = i + 1;
        }
    }
    out.extend_from_slice(&bytes[run..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Result<String, EscapeError> {
        let frag = ByteString::from(s.to_string());
        text(&mut BytesMut::new(), &frag, &frag.clone(), true).map(|b| b.to_string())
    }

    fn a(s: &str) -> Result<String, EscapeError> {
        let frag = ByteString::from(s.to_string());
        attr(&mut BytesMut::new(), &frag, &frag.clone()).map(|b| b.to_string())
    }

    #[test]
    fn predefined_and_char_refs() {
        assert_eq!(t("a &lt;&gt;&amp;&quot;&apos; b").unwrap(), "a <>&\"' b");
        assert_eq!(t("&#65;&#x42;&#x1F600;&#0065;").unwrap(), "AB😀A");
        assert_eq!(t("x\r\ny\rz").unwrap(), "x\ny\nz");
        assert_eq!(t("&#13;").unwrap(), "\r");
    }

    #[test]
    fn rejects_bad_refs() {
        assert_eq!(t("a&foo;"), Err((XmlErrorKind::UndefinedEntity, 1)));
        assert_eq!(t("a & b"), Err((XmlErrorKind::InvalidMarkupChar, 2)));
        assert_eq!(t("&#0;"), Err((XmlErrorKind::InvalidCharRef, 0)));
        assert_eq!(t("&#xFFFE;"), Err((XmlErrorKind::InvalidCharRef, 0)));
        assert_eq!(t("&#xD800;"), Err((XmlErrorKind::InvalidCharRef, 0)));
        assert_eq!(t("&#x110000;"), Err((XmlErrorKind::InvalidCharRef, 0)));
        assert_eq!(
            t("&#99999999999999;"),
            Err((XmlErrorKind::InvalidCharRef, 0))
        );
        assert_eq!(t("&#;"), Err((XmlErrorKind::InvalidCharRef, 0)));
        assert_eq!(t("&#x;"), Err((XmlErrorKind::InvalidCharRef, 0)));
        assert_eq!(t("&amp"), Err((XmlErrorKind::InvalidMarkupChar, 0)));
    }

    #[test]
    fn attribute_normalization() {
        assert_eq!(a("a\tb\nc\r\nd").unwrap(), "a b c d");
        assert_eq!(a("&#9;&#10;&#13;").unwrap(), "\t\n\r");
    }

    #[test]
    fn escaping() {
        let mut out = Vec::new();
        escape_text(&mut out, "a<b>&]]>\r");
        assert_eq!(out, b"a&lt;b&gt;&amp;]]&gt;&#13;");
        out.clear();
        escape_attr(&mut out, "'\"\t\n<&");
        assert_eq!(out, b"&apos;\"&#9;&#10;&lt;&amp;");
    }
}
