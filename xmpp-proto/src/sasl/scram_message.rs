//! The SCRAM message grammar of RFC 5802 §7 as the client needs it:
//! `saslname` escaping, attribute splitting, and parsing the
//! server-first-message (`[m=...,]r=...,s=...,i=...[,extensions]`, where
//! XEP-0474 v0.5.0 adds the `h=` extension).

use super::error::SaslError;

/// Encodes a username as an RFC 5802 `saslname` (`=` → `=3D`, `,` → `=2C`).
pub(crate) fn escape_saslname(name: &str) -> Result<String, SaslError> {
    if name.is_empty() {
        return Err(SaslError::InvalidUsername {
            reason: "it is empty",
        });
    }
    if name.contains('\0') {
        return Err(SaslError::InvalidUsername {
            reason: "it contains a NUL character",
        });
    }
    Ok(name.replace('=', "=3D").replace(',', "=2C"))
}

/// Server messages are UTF-8 without NUL (RFC 5802 §7 `value-utf8-char`).
pub(crate) fn message_text(data: &[u8]) -> Result<&str, SaslError> {
    let text = std::str::from_utf8(data).map_err(|_| SaslError::MalformedServerMessage {
        reason: "it is not valid UTF-8",
    })?;
    if text.contains('\0') {
        return Err(SaslError::MalformedServerMessage {
            reason: "it contains a NUL character",
        });
    }
    Ok(text)
}

/// Splits `a=value,b=value` into `(attribute letter, value)` pairs; each
/// attribute is one ASCII letter and each value is non-empty.
pub(crate) fn attributes(text: &str) -> impl Iterator<Item = Result<(u8, &str), SaslError>> {
    text.split(',').map(|part| match part.as_bytes() {
        [key, b'=', _, ..] if key.is_ascii_alphabetic() => Ok((*key, &part[2..])),
        _ => Err(SaslError::MalformedServerMessage {
            reason: "an attribute is not of the form a=value",
        }),
    })
}

/// The fields of a server-first-message, borrowed from it.
pub(crate) struct ServerFirst<'a> {
    pub(crate) nonce: &'a str,
    pub(crate) salt: &'a str,
    /// Saturated at `u64::MAX`.
    pub(crate) iterations: u64,
    /// The XEP-0474 `h=` value, if sent.
    pub(crate) ssdp: Option<&'a str>,
}

/// `server-first-message = [reserved-mext ","] nonce "," salt ","
/// iteration-count ["," extensions]` (RFC 5802 §7), in that order.
pub(crate) fn parse_server_first(text: &str) -> Result<ServerFirst<'_>, SaslError> {
    let malformed = |reason| SaslError::MalformedServerMessage { reason };
    let mut attrs = attributes(text);
    let mut expect = |letter: u8, missing: &'static str| match attrs.next() {
        Some(Ok((b'm', _))) => Err(SaslError::MandatoryExtension),
        Some(Ok((key, value))) if key == letter => Ok(value),
        Some(Err(e)) => Err(e),
        _ => Err(malformed(missing)),
    };
    let nonce = expect(b'r', "the nonce (r=) is missing or not first")?;
    let salt = expect(b's', "the salt (s=) is missing or not second")?;
    let count = expect(b'i', "the iteration count (i=) is missing or not third")?;
    let mut ssdp = None;
    for attr in attrs {
        match attr? {
            (b'h', _) if ssdp.is_some() => return Err(malformed("h= appears twice")),
            (b'h', value) => ssdp = Some(value),
            (b'r' | b's' | b'i', _) => return Err(malformed("r=, s= or i= appears twice")),
            _ => {} // Unknown optional extensions are ignored (RFC 5802 §5.1).
        }
    }
    if !nonce.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(malformed("the nonce has non-printable characters"));
    }
    if count.starts_with('0') || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(
            "the iteration count is not a positive decimal number",
        ));
    }
    let iterations = count.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Ok(ServerFirst {
        nonce,
        salt,
        iterations,
        ssdp,
    })
}

/// Equality without an early exit on the first differing byte.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saslname_escaping() {
        assert_eq!(escape_saslname("a=b,c").unwrap(), "a=3Db=2Cc");
        assert!(escape_saslname("").is_err());
        assert!(escape_saslname("a\0b").is_err());
    }

    #[test]
    fn parse_accepts_extensions_and_rejects_bad_grammar() {
        let f = parse_server_first("r=abc,s=c2FsdA==,i=4096,x=1,h=aGFzaA==").unwrap();
        assert_eq!(
            (f.nonce, f.salt, f.iterations, f.ssdp),
            ("abc", "c2FsdA==", 4096, Some("aGFzaA=="))
        );
        for bad in [
            "",
            "r=abc",
            "r=abc,s=c2FsdA==",
            "s=c2FsdA==,r=abc,i=4096",
            "r=abc,i=4096,s=c2FsdA==",
            "r=abc,s=c2FsdA==,i=",
            "r=abc,s=c2FsdA==,i=0",
            "r=abc,s=c2FsdA==,i=04096",
            "r=abc,s=c2FsdA==,i=-1",
            "r=abc,s=c2FsdA==,i=4096,h=a,h=b",
            "r=abc,s=c2FsdA==,i=4096,r=abd",
            "r=abc,s=,i=4096",
            "r=a c,s=c2FsdA==,i=4096",
            "r=abc,,s=c2FsdA==,i=4096",
            "1=abc,s=c2FsdA==,i=4096",
        ] {
            assert!(
                matches!(
                    parse_server_first(bad),
                    Err(SaslError::MalformedServerMessage { .. })
                ),
                "accepted {bad:?}"
            );
        }
        assert_eq!(
            parse_server_first("m=ext,r=abc,s=c2FsdA==,i=4096").err(),
            Some(SaslError::MandatoryExtension)
        );
    }

    #[test]
    fn huge_iteration_counts_saturate_instead_of_overflowing() {
        let f = parse_server_first("r=a,s=c2FsdA==,i=99999999999999999999999999").unwrap();
        assert_eq!(f.iterations, u64::MAX);
    }

    #[test]
    fn ct_eq_works() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
