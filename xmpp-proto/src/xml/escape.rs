//! Entity and character references, line-end and attribute-value
//! normalization (XML 1.0 §2.11, §3.3.3, §4.1), and the writer's escaping.
//!
//! Only the five predefined entities exist: there is no DTD, so there is no
//! entity expansion of any kind. Text without `&` or `\r` (and attribute
//! values without `&`, `\t`, `\n`, `\r`) is returned as a zero-copy slice;
//! otherwise the unescaped form is built in a reused `String` and copied once
//! into an exactly sized shared string (built from `&str` pieces and whole
//! `char`s, so it needs no second UTF-8 check).

use bytestring::ByteString;

use super::error::XmlErrorKind;
use super::intern::{self, Interned};

/// A reference or character problem at a byte offset inside the raw text.
pub(crate) type EscapeError = (XmlErrorKind, usize);

/// Unescapes character data (text or, with `refs = false`, CDATA) taken
/// from `src` (a slice of `frag`); `scratch` is a reused work buffer.
#[inline]
pub(crate) fn text(
    scratch: &mut String,
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
            scratch.clear();
            unescape(src, first, Mode::Text { refs }, scratch)?;
            Ok(ByteString::from(scratch.as_str()))
        }
    }
}

/// Unescapes and normalizes an attribute value taken from `src` (a slice of `frag`).
#[inline]
pub(crate) fn attr(
    scratch: &mut String,
    frag: &ByteString,
    src: &str,
) -> Result<Interned, EscapeError> {
    match attr_special(src.as_bytes()) {
        // Only short values (`chat`, `result`, `en`, ...) can be common
        // names; namespace URIs are looked up by the caller.
        None if src.len() <= 12 => Ok(intern::interned(frag, src)),
        None => Ok(Interned::Shared(frag.slice_ref(src))),
        Some(first) => {
            scratch.clear();
            unescape(src, first, Mode::Attr, scratch)?;
            Ok(Interned::Shared(ByteString::from(scratch.as_str())))
        }
    }
}

/// The first `&`, tab, LF or CR in an attribute value. Eight bytes at a
/// time: a word with no byte below 0x20 (the tokenizer has already refused
/// other control characters) and no `&` is skipped whole.
#[inline]
fn attr_special(bytes: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i..i + 8]);
        let x = u64::from_le_bytes(w);
        let amp = x ^ (LO * u64::from(b'&'));
        let below_space = x.wrapping_sub(LO * 0x20) & !x;
        let is_amp = amp.wrapping_sub(LO) & !amp;
        if (below_space | is_amp) & HI != 0 {
            break;
        }
        i += 8;
    }
    next_special(bytes, i, Mode::Attr)
}

/// Checks references in text that is validated but not kept.
pub(crate) fn check_text(src: &str) -> Result<(), EscapeError> {
    let bytes = src.as_bytes();
    let mut from = 0;
    while let Some(k) = memchr::memchr(b'&', &bytes[from..]) {
        let i = from + k;
        let (_, len) = reference(&bytes[i..]).map_err(|kind| (kind, i))?;
        from = i + len;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Mode {
    /// Character data; `refs` is false inside CDATA sections.
    Text { refs: bool },
    /// An attribute value (whitespace is normalized to spaces).
    Attr,
}

/// The next byte at or after `from` that unescaping must handle.
#[inline]
fn next_special(bytes: &[u8], from: usize, mode: Mode) -> Option<usize> {
    let rest = &bytes[from..];
    let k = match mode {
        Mode::Text { refs: true } => memchr::memchr2(b'&', b'\r', rest),
        Mode::Text { refs: false } => memchr::memchr(b'\r', rest),
        // Values are short: a plain loop.
        Mode::Attr => rest
            .iter()
            .position(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r')),
    };
    k.map(|k| from + k)
}

/// Appends the unescaped form of `src` (whose first special byte is at
/// `first`) to `out`.
fn unescape(src: &str, first: usize, mode: Mode, out: &mut String) -> Result<(), EscapeError> {
    let bytes = src.as_bytes();
    out.reserve(src.len());
    let attr = matches!(mode, Mode::Attr);
    let mut run = 0;
    let mut i = first;
    loop {
        // Special bytes are ASCII, so `run..i` are char boundaries.
        out.push_str(&src[run..i]);
        match bytes[i] {
            b'&' => {
                let (c, len) = reference(&bytes[i..]).map_err(|k| (k, i))?;
                out.push(c);
                i += len;
            }
            b'\r' => {
                out.push(if attr { ' ' } else { '\n' });
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
            }
            _ => {
                // Tab or LF in an attribute value.
                out.push(' ');
                i += 1;
            }
        }
        run = i;
        match next_special(bytes, i, mode) {
            Some(k) => i = k,
            None => break,
        }
    }
    out.push_str(&src[run..]);
    Ok(())
}

/// Parses one reference at the start of `r` (which starts with `&`):
/// returns the character and the reference's length in bytes.
#[inline]
fn reference(r: &[u8]) -> Result<(char, usize), XmlErrorKind> {
    // The predefined entities by whole-word compares, and numeric references
    // with few digits, without a search for ';'; anything else (including
    // every error) takes the general path.
    if let Some(head) = r.get(..4) {
        let w = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        const LT: u32 = u32::from_le_bytes(*b"&lt;");
        const GT: u32 = u32::from_le_bytes(*b"&gt;");
        const AMP: u32 = u32::from_le_bytes(*b"&amp");
        const QUOT: u32 = u32::from_le_bytes(*b"&quo");
        const APOS: u32 = u32::from_le_bytes(*b"&apo");
        match w {
            LT => return Ok(('<', 4)),
            GT => return Ok(('>', 4)),
            AMP if r.get(4) == Some(&b';') => return Ok(('&', 5)),
            QUOT if r.get(4..6) == Some(b"t;") => return Ok(('"', 6)),
            APOS if r.get(4..6) == Some(b"s;") => return Ok(('\'', 6)),
            _ if head[1] == b'#' => {
                if let Some(found) = char_ref_fast(r) {
                    return Ok(found);
                }
            }
            _ => {}
        }
    }
    reference_slow(r)
}

/// `&#NNN;` or `&#xHHHH;` with up to six digits naming an XML character.
#[inline]
fn char_ref_fast(r: &[u8]) -> Option<(char, usize)> {
    let (radix, mut i) = if r.get(2) == Some(&b'x') {
        (16, 3)
    } else {
        (10, 2)
    };
    let digits_from = i;
    let mut v: u32 = 0;
    while let Some(&b) = r.get(i) {
        if b == b';' {
            break;
        }
        v = v * radix + (b as char).to_digit(radix)?;
        i += 1;
        if i - digits_from > 6 {
            return None;
        }
    }
    if i == digits_from || r.get(i) != Some(&b';') {
        return None;
    }
    let c = char::from_u32(v).filter(|&c| is_xml_char(c))?;
    Some((c, i + 1))
}

fn reference_slow(r: &[u8]) -> Result<(char, usize), XmlErrorKind> {
    // The longest legal reference is `&#x10FFFF;` after any number of
    // leading zeros: bound the search past those zeros, so a bare '&'
    // followed by megabytes costs nothing (and each zero is read once).
    let digits = match r.get(1..3) {
        Some(b"#x") => 3,
        Some([b'#', _]) => 2,
        _ => r.len(),
    };
    let zeros = r
        .get(digits..)
        .map_or(0, |d| d.iter().take_while(|&&b| b == b'0').count());
    let window = &r[1..r.len().min(64 + zeros)];
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
        let checked = check_text(s);
        let r = text(&mut String::new(), &frag, &frag.clone(), true).map(|b| b.to_string());
        assert_eq!(checked, r.as_ref().map(|_| ()).map_err(|e| e.clone()));
        r
    }

    fn a(s: &str) -> Result<String, EscapeError> {
        let frag = ByteString::from(s.to_string());
        attr(&mut String::new(), &frag, &frag.clone()).map(|b| b.as_str().to_string())
    }

    #[test]
    fn predefined_and_char_refs() {
        assert_eq!(t("a &lt;&gt;&amp;&quot;&apos; b").unwrap(), "a <>&\"' b");
        assert_eq!(t("&#65;&#x42;&#x1F600;&#0065;").unwrap(), "AB😀A");
        assert_eq!(t("x\r\ny\rz").unwrap(), "x\ny\nz");
        assert_eq!(t("&#13;").unwrap(), "\r");
    }

    #[test]
    fn any_number_of_leading_zeros() {
        // XML puts no bound on the digits of a character reference.
        for zeros in [0, 1, 57, 63, 64, 70, 500] {
            let z = "0".repeat(zeros);
            assert_eq!(t(&format!("&#x{z}41;")).unwrap(), "A", "{zeros}");
            assert_eq!(t(&format!("a&#{z}66;b")).unwrap(), "aBb", "{zeros}");
            assert_eq!(a(&format!("&#x{z}1F600;")).unwrap(), "😀", "{zeros}");
            // Still refused: a zero value, and a value too large, however written.
            assert_eq!(
                t(&format!("&#x{z}0;")),
                Err((XmlErrorKind::InvalidCharRef, 0))
            );
            assert_eq!(
                t(&format!("&#{z}1114112;")),
                Err((XmlErrorKind::InvalidCharRef, 0))
            );
        }
        // The bound past the zeros stays: a reference that never ends is a bare '&'.
        let long = format!("&#x{}", "0".repeat(200));
        assert_eq!(t(&long), Err((XmlErrorKind::InvalidMarkupChar, 0)));
    }

    #[test]
    fn fast_and_general_paths_agree() {
        for r in [
            "&lt;",
            "&gt;",
            "&amp;",
            "&quot;",
            "&apos;",
            "&#65;",
            "&#x41;",
            "&#x1F600;",
            "&#0000065;",
            "&#x10FFFF;",
            "&#x110000;",
            "&#0;",
            "&#xD800;",
            "&#xFFFE;",
            "&#;",
            "&#x;",
            "&#12a;",
            "&#x1G;",
            "&amp",
            "&lt",
            "&quo;",
            "&apos",
            "&#65",
            "&#9999999;",
            "&l;",
            "&",
        ] {
            let b = r.as_bytes();
            assert_eq!(reference(b), reference_slow(b), "{r}");
        }
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
        assert_eq!(a("x&amp;y\r\rz é&lt;").unwrap(), "x&y  z é<");
        let long = "0123456789abcdef0123456789abcdef";
        assert_eq!(a(long).unwrap(), long);
        for i in 0..long.len() {
            for c in ["&amp;", "\t", "\n", "\r"] {
                let s = format!("{}{c}{}", &long[..i], &long[i..]);
                let want = format!(
                    "{}{}{}",
                    &long[..i],
                    if c == "&amp;" { "&" } else { " " },
                    &long[i..]
                );
                assert_eq!(a(&s).unwrap(), want, "{s:?}");
            }
        }
    }

    #[test]
    fn cdata_only_normalizes_line_ends() {
        let frag = ByteString::from("a&amp;\r\nb\rc".to_string());
        let out = text(&mut String::new(), &frag, &frag.clone(), false).unwrap();
        assert_eq!(&*out, "a&amp;\nb\nc");
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
