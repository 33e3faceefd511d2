//! Channel binding for the SCRAM `-PLUS` mechanisms: RFC 5056, RFC 5802 §6
//! and §7 (`gs2-cbind-flag`, the `c=` attribute), RFC 5929 (`tls-unique`,
//! `tls-server-end-point`), RFC 9266 (`tls-exporter`) and XEP-0440 (type
//! names as advertised in `<sasl-channel-binding/>`).
//!
//! The TLS layer computes the binding data; this module only names it and
//! builds the GS2 header and the `c=` input from it.

use std::fmt;

/// A channel-binding type from the IANA registry that XMPP uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelBindingType {
    /// `tls-exporter` (RFC 9266): the TLS 1.3 (or TLS 1.2 with extended master
    /// secret) exporter with label `EXPORTER-Channel-Binding`, 32 bytes.
    TlsExporter,
    /// `tls-unique` (RFC 5929 §3): the first Finished message of a TLS ≤ 1.2
    /// handshake. Undefined for TLS 1.3.
    TlsUnique,
    /// `tls-server-end-point` (RFC 5929 §4): a hash of the server's certificate.
    TlsServerEndPoint,
}

impl ChannelBindingType {
    /// Every type, strongest binding first.
    pub const ALL: [ChannelBindingType; 3] = [
        ChannelBindingType::TlsExporter,
        ChannelBindingType::TlsUnique,
        ChannelBindingType::TlsServerEndPoint,
    ];

    /// The registered name, as used in `p=` and in XEP-0440.
    pub fn name(&self) -> &'static str {
        match self {
            ChannelBindingType::TlsExporter => "tls-exporter",
            ChannelBindingType::TlsUnique => "tls-unique",
            ChannelBindingType::TlsServerEndPoint => "tls-server-end-point",
        }
    }

    /// Parses a registered name (exact, case-sensitive match).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for ChannelBindingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Channel-binding data the TLS layer gave the driver for this connection.
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelBinding {
    /// Which binding this is.
    pub kind: ChannelBindingType,
    /// The binding bytes (must be non-empty to be used).
    pub data: Vec<u8>,
}

impl ChannelBinding {
    /// Bundles a type with its data.
    pub fn new(kind: ChannelBindingType, data: Vec<u8>) -> Self {
        ChannelBinding { kind, data }
    }
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelBinding")
            .field("kind", &self.kind)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// The GS2 channel-binding flag sent first in the SCRAM client-first-message
/// (RFC 5802 §7 `gs2-cbind-flag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gs2Flag {
    /// `p=<type>`: the client binds to the TLS channel with this type (`-PLUS`).
    P(ChannelBindingType),
    /// `y`: the client supports channel binding but believes the server does
    /// not. A server that does support binding fails the exchange, which is
    /// what detects an attacker who stripped the `-PLUS` mechanisms.
    Y,
    /// `n`: the client does not (or cannot usefully) bind.
    N,
}

impl Gs2Flag {
    /// The GS2 header without an authzid: `"p=<type>,,"`, `"y,,"` or `"n,,"`.
    pub fn header(&self) -> String {
        match self {
            Gs2Flag::P(kind) => format!("p={},,", kind.name()),
            Gs2Flag::Y => "y,,".to_owned(),
            Gs2Flag::N => "n,,".to_owned(),
        }
    }

    /// The bytes whose base64 forms the client-final `c=` attribute
    /// (RFC 5802 §7 `cbind-input`): the GS2 header, followed by the binding
    /// data for `p=`.
    pub(crate) fn cbind_input(&self, cb_data: &[u8]) -> Vec<u8> {
        let mut input = self.header().into_bytes();
        if matches!(self, Gs2Flag::P(_)) {
            input.extend_from_slice(cb_data);
        }
        input
    }
}

impl fmt::Display for Gs2Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gs2Flag::P(kind) => write!(f, "p={kind}"),
            Gs2Flag::Y => f.write_str("y"),
            Gs2Flag::N => f.write_str("n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in ChannelBindingType::ALL {
            assert_eq!(ChannelBindingType::from_name(t.name()), Some(t));
        }
        assert_eq!(ChannelBindingType::from_name("TLS-UNIQUE"), None);
        assert_eq!(ChannelBindingType::from_name("tls-foo"), None);
    }

    #[test]
    fn headers_and_cbind_input() {
        let p = Gs2Flag::P(ChannelBindingType::TlsExporter);
        assert_eq!(p.header(), "p=tls-exporter,,");
        assert_eq!(p.cbind_input(b"XYZ"), b"p=tls-exporter,,XYZ");
        assert_eq!(Gs2Flag::Y.cbind_input(b"XYZ"), b"y,,");
        assert_eq!(Gs2Flag::N.cbind_input(b""), b"n,,");
    }

    #[test]
    fn debug_does_not_dump_binding_data() {
        let cb = ChannelBinding::new(ChannelBindingType::TlsUnique, vec![0xAB; 12]);
        let s = format!("{cb:?}");
        assert!(s.contains("data_len: 12") && !s.contains("171"));
    }
}
