//! What the restricted-XML profile expects of a well-formed (`valid` or
//! `invalid`) test document, computed independently of the reader under test:
//! accepted exactly when it is UTF-8, has no DTD, comment or processing
//! instruction after the XML declaration, and is namespace-well-formed.

/// The expectation for one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The reader must accept the document.
    Accept,
    /// The reader must reject it, for the given reason.
    Reject(String),
}

/// What the profile expects of a well-formed document.
pub fn expect_well_formed(bytes: &[u8]) -> Verdict {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => return reject(format!("not UTF-8 (byte {})", e.valid_up_to())),
    };
    let (decl, body) = split_declaration(text);
    if let Some(enc) = pseudo_attribute(decl, "encoding") {
        if !enc.eq_ignore_ascii_case("utf-8") {
            return reject(format!("declares encoding {enc}"));
        }
    }
    if let Some(what) = forbidden_markup(body) {
        return reject(format!("has a {what}"));
    }
    if let Err(e) = roxmltree::Document::parse(text) {
        return reject(format!("not namespace-well-formed (roxmltree: {e})"));
    }
    match lexical_namespace_error(body) {
        Some(why) => reject(format!("not namespace-well-formed ({why})")),
        None => Verdict::Accept,
    }
}

fn reject(why: String) -> Verdict {
    Verdict::Reject(why)
}

/// Whether the raw bytes contain a document type declaration (for statistics;
/// only meaningful for ASCII-compatible encodings).
pub fn has_doctype(bytes: &[u8]) -> bool {
    bytes.windows(9).any(|w| w == b"<!DOCTYPE")
}

/// Splits off the XML declaration (`<?xml` + whitespace … `?>`) at the start.
fn split_declaration(text: &str) -> (&str, &str) {
    let is_decl = text.starts_with("<?xml") && text[5..].starts_with([' ', '\t', '\r', '\n']);
    match text.find("?>") {
        Some(end) if is_decl => (&text[..end + 2], &text[end + 2..]),
        _ => ("", text),
    }
}

/// The value of a pseudo-attribute of the XML declaration.
fn pseudo_attribute<'a>(decl: &'a str, name: &str) -> Option<&'a str> {
    let after = decl.split_once(name)?.1.trim_start();
    let after = after.strip_prefix('=')?.trim_start();
    let quote = after.chars().next()?;
    after[quote.len_utf8()..].split(quote).next()
}

/// The first DTD, comment or processing instruction outside CDATA sections.
fn forbidden_markup(body: &str) -> Option<&'static str> {
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt..];
        if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            rest = cdata.split_once("]]>").map_or("", |(_, after)| after);
            continue;
        }
        if rest.starts_with("<!DOCTYPE") {
            return Some("DTD");
        } else if rest.starts_with("<!--") {
            return Some("comment");
        } else if rest.starts_with("<?") {
            return Some("processing instruction");
        }
        rest = &rest[1..];
    }
    None
}

/// Namespaces 1.0 rules roxmltree does not check: QName shape (`:a`, `a:`),
/// declaring the `xmlns` prefix, and empty prefixed declarations
/// (`xmlns:p=""`, allowed only in Namespaces 1.1). Assumes a well-formed,
/// DTD-less document without comments or PIs.
fn lexical_namespace_error(body: &str) -> Option<String> {
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        if let Some(cdata) = rest.strip_prefix("![CDATA[") {
            rest = cdata.split_once("]]>").map_or("", |(_, after)| after);
            continue;
        }
        let is_end = rest.starts_with('/');
        let (name, after) = split_name(rest.trim_start_matches('/'));
        if !is_qname(name) {
            return Some(format!("element name {name:?} is not a QName"));
        }
        rest = after;
        if is_end {
            continue;
        }
        loop {
            rest = rest.trim_start();
            if rest.is_empty() || rest.starts_with(['/', '>']) {
                break;
            }
            let (name, after) = split_name(rest);
            if !is_qname(name) {
                return Some(format!("attribute name {name:?} is not a QName"));
            }
            let Some((value, after)) = attribute_value(after) else {
                return Some(format!("oracle cannot scan attribute {name:?}"));
            };
            if name == "xmlns:xmlns" {
                return Some("declares the xmlns prefix".into());
            }
            if name.starts_with("xmlns:") && value.is_empty() {
                return Some(format!("empty prefixed declaration {name}"));
            }
            rest = after;
        }
    }
    None
}

/// Splits `= "value"` into the value and what follows it.
fn attribute_value(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start().strip_prefix('=')?.trim_start();
    let quote = s.chars().next().filter(|q| matches!(q, '"' | '\''))?;
    s[1..].split_once(quote)
}

fn split_name(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| c.is_whitespace() || matches!(c, '=' | '/' | '>'))
        .unwrap_or(s.len());
    s.split_at(end)
}

/// `NCName (':' NCName)?` as far as colons go (name characters are the
/// well-formedness check's business).
fn is_qname(name: &str) -> bool {
    let parts: Vec<&str> = name.split(':').collect();
    parts.len() <= 2 && parts.iter().all(|p| !p.is_empty())
}
