//! The XML declaration (XML 1.0 §2.8): `<?xml version='1.x' encoding='UTF-8' standalone='yes'?>`.
//! XMPP streams are UTF-8 (RFC 6120 §11.6): any other declared encoding is refused.

/// Checks a complete declaration `<?xml … ?>`; true when acceptable.
pub(crate) fn is_valid(decl: &str) -> bool {
    let Some(body) = decl
        .strip_prefix("<?xml")
        .and_then(|s| s.strip_suffix("?>"))
    else {
        return false;
    };
    let mut p = Parser { s: body };
    let Some(version) = p.pseudo_attr("version") else {
        return false;
    };
    let v = version.as_bytes();
    if v.len() < 3 || &v[..2] != b"1." || !v[2..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut next = p.pseudo_attr("encoding");
    if let Some(enc) = next {
        if !enc.eq_ignore_ascii_case("utf-8") {
            return false;
        }
        next = p.pseudo_attr("standalone");
    } else {
        next = p.pseudo_attr("standalone");
    }
    if let Some(sd) = next {
        if sd != "yes" && sd != "no" {
            return false;
        }
    }
    p.s.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

struct Parser<'a> {
    s: &'a str,
}

impl<'a> Parser<'a> {
    /// Parses `S name Eq quoted` if the next pseudo-attribute is `name`.
    fn pseudo_attr(&mut self, name: &str) -> Option<&'a str> {
        let rest = self.s.trim_start_matches([' ', '\t', '\n', '\r']);
        if rest.len() == self.s.len() {
            return None; // a pseudo-attribute must follow whitespace
        }
        let rest = rest.strip_prefix(name)?;
        let rest = rest.trim_start_matches([' ', '\t', '\n', '\r']);
        let rest = rest.strip_prefix('=')?;
        let rest = rest.trim_start_matches([' ', '\t', '\n', '\r']);
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let rest = &rest[1..];
        let end = rest.find(quote)?;
        self.s = &rest[end + 1..];
        Some(&rest[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn declarations() {
        assert!(is_valid("<?xml version='1.0'?>"));
        assert!(is_valid(
            "<?xml version=\"1.0\" encoding=\"utf-8\" standalone='yes' ?>"
        ));
        assert!(is_valid("<?xml\nversion = '1.1'\tencoding='UTF-8'?>"));
        assert!(!is_valid("<?xml encoding='UTF-8'?>"));
        assert!(!is_valid("<?xml version='1.0' encoding='ISO-8859-1'?>"));
        assert!(!is_valid("<?xml version='2.0'?>"));
        assert!(!is_valid("<?xml version='1.0'encoding='UTF-8'?>"));
        assert!(!is_valid("<?xml version='1.0' standalone='maybe'?>"));
        assert!(!is_valid(
            "<?xml version='1.0' standalone='yes' encoding='UTF-8'?>"
        ));
        assert!(!is_valid("<?xml version='1.0' foo='bar'?>"));
    }
}
