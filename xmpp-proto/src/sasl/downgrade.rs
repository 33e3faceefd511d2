//! XEP-0474 (SASL SCRAM Downgrade Protection, "SSDP") version 0.5.0
//! (2025-10-25), §5.1 "Server Sends Downgrade Protection Hash" and §5.2
//! "Client Verifies The Downgrade Protection Hash".
//!
//! The server puts `h=<base64(H(S))>` into its SCRAM server-first-message,
//! where `H` is the hash of the SCRAM mechanism in use and `S` is built from
//! what the server advertised:
//!
//! 1. all advertised SASL mechanism names, sorted with the `i;octet`
//!    collation (RFC 4790 §9.3, plain byte order), joined by `0x1E`;
//! 2. only if the server used XEP-0440: `0x1F`, then the advertised
//!    channel-binding types, sorted the same way, joined by `0x1E`.
//!
//! The client recomputes the hash from the [`Offer`] it received and fails
//! on a mismatch. Because the server-first-message is part of the SCRAM
//! `AuthMessage`, a man in the middle who alters or strips `h=` also breaks
//! the client proof, so the server fails the exchange; an absent `h=` just
//! means the server does not implement XEP-0474.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::error::SaslError;
use super::mechanism::{Offer, ScramHash};

/// Separates items within a list (ASCII "record separator").
const ITEM_SEPARATOR: u8 = 0x1E;
/// Separates the mechanism list from the channel-binding list ("unit separator").
const LIST_SEPARATOR: u8 = 0x1F;

/// The string `S` of XEP-0474 §5.1 for an offer.
pub fn ssdp_input(offer: &Offer) -> Vec<u8> {
    fn push_sorted(out: &mut Vec<u8>, items: &[String]) {
        let mut sorted: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
        sorted.sort_unstable();
        for (i, item) in sorted.into_iter().enumerate() {
            if i > 0 {
                out.push(ITEM_SEPARATOR);
            }
            out.extend_from_slice(item);
        }
    }
    let mut s = Vec::new();
    push_sorted(&mut s, &offer.mechanisms);
    if let Some(types) = &offer.cb_types {
        s.push(LIST_SEPARATOR);
        push_sorted(&mut s, types);
    }
    s
}

/// The raw (not base64) SSDP hash the server should send for `offer`.
pub fn ssdp_hash(hash: ScramHash, offer: &Offer) -> Vec<u8> {
    hash.digest(&ssdp_input(offer))
}

/// Checks the server's `h=` value against the hash expected from our offer.
pub(crate) fn verify(expected: &[u8], h_value: &str) -> Result<(), SaslError> {
    match STANDARD.decode(h_value) {
        Ok(got) if got == expected => Ok(()),
        _ => Err(SaslError::DowngradeDetected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of XEP-0474 §5.3: `h=` over SCRAM-SHA-1 and SCRAM-SHA-1-PLUS
    /// with tls-server-end-point and tls-exporter advertised.
    #[test]
    fn xep_0474_example_hash() {
        let offer = Offer::new(
            &["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"],
            Some(&["tls-server-end-point", "tls-exporter"]),
        );
        assert_eq!(
            ssdp_input(&offer),
            b"SCRAM-SHA-1\x1eSCRAM-SHA-1-PLUS\x1ftls-exporter\x1etls-server-end-point"
        );
        let h = STANDARD.encode(ssdp_hash(ScramHash::Sha1, &offer));
        assert_eq!(h, "G6k/rBLDqgOhRRaCuuatSDFkJ08=");
        let expected = ssdp_hash(ScramHash::Sha1, &offer);
        assert_eq!(verify(&expected, "G6k/rBLDqgOhRRaCuuatSDFkJ08="), Ok(()));
    }

    #[test]
    fn no_xep_0440_means_no_unit_separator_and_empty_list_keeps_it() {
        let without = Offer::new(&["SCRAM-SHA-256", "PLAIN"], None);
        assert_eq!(ssdp_input(&without), b"PLAIN\x1eSCRAM-SHA-256");
        let empty = Offer::new(&["SCRAM-SHA-256", "PLAIN"], Some(&[]));
        assert_eq!(ssdp_input(&empty), b"PLAIN\x1eSCRAM-SHA-256\x1f");
    }

    #[test]
    fn octet_order_puts_upper_case_before_lower_and_shorter_prefix_first() {
        let offer = Offer::new(&["b", "B", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"], None);
        assert_eq!(
            ssdp_input(&offer),
            b"B\x1eSCRAM-SHA-1\x1eSCRAM-SHA-1-PLUS\x1eb"
        );
    }

    #[test]
    fn stripped_plus_or_cb_types_change_the_hash() {
        let real = Offer::new(
            &["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"],
            Some(&["tls-exporter"]),
        );
        let server_h = STANDARD.encode(ssdp_hash(ScramHash::Sha256, &real));
        let stripped = Offer::new(&["SCRAM-SHA-256"], Some(&["tls-exporter"]));
        let no_cb = Offer::new(&["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], None);
        for seen in [&stripped, &no_cb] {
            let expected = ssdp_hash(ScramHash::Sha256, seen);
            assert_eq!(
                verify(&expected, &server_h),
                Err(SaslError::DowngradeDetected)
            );
        }
        let expected = ssdp_hash(ScramHash::Sha256, &real);
        assert_eq!(
            verify(&expected, "not base64!"),
            Err(SaslError::DowngradeDetected)
        );
        // A SHA-1 hash sent in a SHA-256 exchange is a mismatch too.
        let sha1_h = STANDARD.encode(ssdp_hash(ScramHash::Sha1, &real));
        assert_eq!(
            verify(&expected, &sha1_h),
            Err(SaslError::DowngradeDetected)
        );
    }
}
