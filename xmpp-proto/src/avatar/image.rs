//! The avatar image both avatar protocols carry (XEP-0084 data, XEP-0153
//! vCard photos) and the helpers they share: SHA-1 in hex (the id or hash
//! each advertises), base64 measured before it is decoded (RFC 2045 lines
//! and missing padding accepted).

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use sha1::{Digest as _, Sha1};

/// An avatar image: its content type (when known) and its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct AvatarImage {
    /// The content type (`image/png`, ...), as the publisher said.
    pub mime_type: Option<String>,
    /// The image data.
    pub data: Vec<u8>,
}

impl AvatarImage {
    /// An image of this content type.
    pub fn new(mime_type: impl Into<String>, data: Vec<u8>) -> Self {
        AvatarImage {
            mime_type: Some(mime_type.into()),
            data,
        }
    }

    /// The SHA-1 of the data, in lowercase hex: the id XEP-0084 and the
    /// hash XEP-0153 advertise.
    pub fn sha1_hex(&self) -> String {
        sha1_hex(&self.data)
    }
}

impl std::fmt::Debug for AvatarImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvatarImage")
            .field("mime_type", &self.mime_type)
            .field("bytes", &self.data.len())
            .finish()
    }
}

/// The SHA-1 of `data` in lowercase hex.
pub fn sha1_hex(data: &[u8]) -> String {
    Sha1::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True for a SHA-1 in hex (40 digits, either case).
pub(crate) fn is_sha1_hex(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The number of base64 characters (whitespace not counted) that encode
/// `max` bytes.
pub(crate) fn max_encoded_len(max: usize) -> usize {
    max.div_ceil(3).saturating_mul(4)
}

/// The base64 characters of `text`, whitespace not counted: what is
/// measured before anything is decoded.
pub(crate) fn encoded_len(text: &str) -> usize {
    text.bytes().filter(|b| !b.is_ascii_whitespace()).count()
}

/// Decodes base64 that may be cut into lines (RFC 2045) and may lack its
/// padding. Call only after [`encoded_len`] was checked.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact.as_bytes()).ok()
}

/// Base64 of `data`, without line breaks.
pub(crate) fn encode_base64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_and_base64_helpers() {
        // RFC 3174's first test vector.
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert!(is_sha1_hex("A9993E364706816ABA3E25717850C26C9CD0D89D"));
        assert!(!is_sha1_hex("a9993e36"));
        assert!(!is_sha1_hex("g9993e364706816aba3e25717850c26c9cd0d89d"));
        assert_eq!(max_encoded_len(3), 4);
        assert_eq!(max_encoded_len(4), 8);
        assert_eq!(encoded_len("YW\r\n Jj\t"), 4);
        assert_eq!(decode_base64("YW\nJj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(
            decode_base64("YWI").as_deref(),
            Some(&b"ab"[..]),
            "no padding"
        );
        assert_eq!(decode_base64("YW*j"), None);
        assert_eq!(encode_base64(b"abc"), "YWJj");
    }
}
