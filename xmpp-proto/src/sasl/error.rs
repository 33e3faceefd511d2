//! Typed errors of the SASL client layer (RFC 6120 §6, RFC 5802 §7, XEP-0474 §5).
//!
//! Every message says what went wrong and what the caller should do about
//! it. No variant ever carries a password, a salted key, a proof, a nonce or
//! any other SASL payload: only mechanism names, counts, and short tokens
//! from fixed vocabularies (RFC 5802 `server-error-value`s, sanitised).

use std::fmt;

/// Why a SASL authentication attempt could not be started or was aborted on
/// the client side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// Nothing the server offered is both supported and allowed by policy.
    #[error(
        "no acceptable SASL mechanism: the server offered [{offered}]; allow another \
         mechanism in SaslPolicy::allowed, or (if only PLAIN is offered) use TLS"
    )]
    NoAcceptableMechanism {
        /// The server's offered mechanism names, comma-separated.
        offered: String,
    },
    /// PLAIN would send the password in the clear.
    #[error(
        "refusing SASL PLAIN on a stream without TLS: it would reveal the password; \
         negotiate TLS first or set SaslPolicy::allow_plain_without_tls"
    )]
    PlainWithoutTls,
    /// The [`Selection`](super::Selection) names a mechanism the policy forbids.
    #[error("mechanism {mechanism} is not in SaslPolicy::allowed; call select() again")]
    MechanismNotAllowed {
        /// The mechanism's IANA name.
        mechanism: &'static str,
    },
    /// The [`Selection`](super::Selection) names a mechanism the server did not offer.
    #[error(
        "mechanism {mechanism} was not offered by the server; pass the same Offer to \
         select() and SaslClient::new()"
    )]
    MechanismNotOffered {
        /// The mechanism's IANA name.
        mechanism: &'static str,
    },
    /// The [`Selection`](super::Selection) is internally inconsistent.
    #[error("inconsistent Selection: {reason}; build it with select()")]
    InconsistentSelection {
        /// What does not fit together.
        reason: &'static str,
    },
    /// A `p=` GS2 flag was chosen but matching channel-binding data is missing.
    #[error(
        "channel binding {kind} was selected but the TLS layer supplied no (or empty, or \
         other-typed) data for it; pass the same ChannelBinding to select() and new()"
    )]
    ChannelBindingUnavailable {
        /// The channel-binding type name.
        kind: &'static str,
    },
    /// The nonce entropy is too short to make an unpredictable nonce.
    #[error(
        "nonce entropy too short: got {got} bytes, need at least {min}; pass fresh bytes \
         from the platform's CSPRNG"
    )]
    InsufficientEntropy {
        /// Bytes supplied.
        got: usize,
        /// Bytes required.
        min: usize,
    },
    /// The authentication identity cannot be encoded for this mechanism.
    #[error("invalid username: {reason}; fix the account configuration")]
    InvalidUsername {
        /// What is wrong with it (never the name itself).
        reason: &'static str,
    },
    /// The password cannot be used with this mechanism.
    #[error("invalid password: {reason}; ask the user for the password again")]
    InvalidPassword {
        /// What is wrong with it (never the password itself).
        reason: &'static str,
    },
    /// Stored SCRAM keys were given to a mechanism that needs the password.
    #[error("mechanism {mechanism} needs the plain password, not stored SCRAM keys")]
    PasswordRequired {
        /// The mechanism's IANA name.
        mechanism: &'static str,
    },
    /// Stored SCRAM keys do not fit what the server asks for.
    #[error(
        "the stored SCRAM keys cannot be used: {reason}; ask the user for the password \
         again (the server's salt, iteration count or hash changed)"
    )]
    SaltedKeysMismatch {
        /// Which parameter differs.
        reason: &'static str,
    },
    /// A server message does not follow the RFC 5802 grammar.
    #[error("malformed SCRAM message from the server: {reason}; abort this attempt")]
    MalformedServerMessage {
        /// Which rule it breaks (never the message itself).
        reason: &'static str,
    },
    /// The server demands an `m=` extension this client does not know.
    #[error(
        "the server requires a mandatory SCRAM extension (m=) this client does not \
         support; authentication cannot proceed with this mechanism"
    )]
    MandatoryExtension,
    /// The server nonce does not extend the client nonce.
    #[error(
        "the server nonce does not extend our client nonce (replay or broken server); \
         abort and do not retry on this connection"
    )]
    NonceMismatch,
    /// The server asks for fewer PBKDF2 iterations than policy requires.
    #[error(
        "the server asks for {got} PBKDF2 iterations, below the policy minimum of {min}; \
         the server stores weak keys: ask its operator, or lower SaslPolicy::min_iterations"
    )]
    IterationsTooLow {
        /// Iteration count the server sent.
        got: u64,
        /// `SaslPolicy::min_iterations`.
        min: u32,
    },
    /// The server asks for more PBKDF2 iterations than policy allows.
    #[error(
        "the server asks for {got} PBKDF2 iterations, above the policy maximum of {max} \
         (refused before any work, to avoid a CPU exhaustion attack); raise \
         SaslPolicy::max_iterations if this server is trusted"
    )]
    IterationsTooHigh {
        /// Iteration count the server sent (saturated at `u64::MAX`).
        got: u64,
        /// `SaslPolicy::max_iterations`.
        max: u32,
    },
    /// The salt is not valid base64 or is empty.
    #[error("the server's SCRAM salt is {reason}; abort this attempt")]
    InvalidSalt {
        /// `"not valid base64"` or `"empty"`.
        reason: &'static str,
    },
    /// XEP-0474: the advertised mechanism / channel-binding lists were altered.
    #[error(
        "SASL downgrade detected (XEP-0474): the server's hash of its advertised mechanisms \
         and channel-binding types does not match what we received, so someone altered \
         the stream features; treat the connection as attacked and do not retry blindly"
    )]
    DowngradeDetected,
    /// The server ended SCRAM with `e=`.
    #[error("the server rejected the SCRAM exchange: {0}")]
    ServerError(ScramServerError),
    /// `<success/>` carried no server signature (`v=`).
    #[error(
        "the server reported success without proving it knows the password (no v= \
         signature); treat the server as an impostor and disconnect"
    )]
    MissingServerSignature,
    /// The server signature `v=` is wrong.
    #[error(
        "the server's SCRAM signature (v=) is wrong: the server does not know our keys \
         (impostor or man in the middle); disconnect"
    )]
    ServerSignatureMismatch,
    /// A message arrived that is not valid in the exchange's current state.
    #[error("unexpected {got}: {state}; abort this attempt")]
    UnexpectedMessage {
        /// What arrived (`"success"`, `"challenge"`, ...).
        got: &'static str,
        /// Where the exchange was.
        state: &'static str,
    },
    /// A cryptographic primitive failed where it never should.
    #[error("internal error in {what}; this is a bug, please report it")]
    Internal {
        /// Which primitive.
        what: &'static str,
    },
}

/// A SCRAM `server-error-value` (RFC 5802 §7) from a server-final `e=`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScramServerError {
    /// `invalid-encoding`.
    InvalidEncoding,
    /// `extensions-not-supported`.
    ExtensionsNotSupported,
    /// `invalid-proof`: wrong password (or changed server keys).
    InvalidProof,
    /// `channel-bindings-dont-match`.
    ChannelBindingsDontMatch,
    /// `server-does-support-channel-binding`: we sent `y` to a binding server.
    ServerDoesSupportChannelBinding,
    /// `channel-binding-not-supported`.
    ChannelBindingNotSupported,
    /// `unsupported-channel-binding-type`.
    UnsupportedChannelBindingType,
    /// `unknown-user`.
    UnknownUser,
    /// `invalid-username-encoding`.
    InvalidUsernameEncoding,
    /// `no-resources`.
    NoResources,
    /// `other-error`.
    OtherError,
    /// Any other value, reduced to at most 64 printable ASCII characters.
    Other(String),
}

impl ScramServerError {
    /// Maps an `e=` value; unknown values are sanitised into [`Self::Other`].
    pub fn from_value(value: &str) -> Self {
        match value {
            "invalid-encoding" => Self::InvalidEncoding,
            "extensions-not-supported" => Self::ExtensionsNotSupported,
            "invalid-proof" => Self::InvalidProof,
            "channel-bindings-dont-match" => Self::ChannelBindingsDontMatch,
            "server-does-support-channel-binding" => Self::ServerDoesSupportChannelBinding,
            "channel-binding-not-supported" => Self::ChannelBindingNotSupported,
            "unsupported-channel-binding-type" => Self::UnsupportedChannelBindingType,
            "unknown-user" => Self::UnknownUser,
            "invalid-username-encoding" => Self::InvalidUsernameEncoding,
            "no-resources" => Self::NoResources,
            "other-error" => Self::OtherError,
            other => Self::Other(
                other
                    .chars()
                    .filter(|c| c.is_ascii_graphic())
                    .take(64)
                    .collect(),
            ),
        }
    }

    /// The wire value (sanitised for [`Self::Other`]).
    pub fn value(&self) -> &str {
        match self {
            Self::InvalidEncoding => "invalid-encoding",
            Self::ExtensionsNotSupported => "extensions-not-supported",
            Self::InvalidProof => "invalid-proof",
            Self::ChannelBindingsDontMatch => "channel-bindings-dont-match",
            Self::ServerDoesSupportChannelBinding => "server-does-support-channel-binding",
            Self::ChannelBindingNotSupported => "channel-binding-not-supported",
            Self::UnsupportedChannelBindingType => "unsupported-channel-binding-type",
            Self::UnknownUser => "unknown-user",
            Self::InvalidUsernameEncoding => "invalid-username-encoding",
            Self::NoResources => "no-resources",
            Self::OtherError => "other-error",
            Self::Other(v) => v,
        }
    }

    fn advice(&self) -> &'static str {
        match self {
            Self::InvalidProof | Self::UnknownUser => "check the username and password",
            Self::ChannelBindingsDontMatch => {
                "the TLS channel differs between us and the server: possible man in the \
                 middle; do not retry without channel binding"
            }
            Self::ServerDoesSupportChannelBinding => {
                "we told the server we saw no -PLUS mechanism but it offers one: possible \
                 mechanism stripping; do not retry blindly"
            }
            Self::ChannelBindingNotSupported | Self::UnsupportedChannelBindingType => {
                "the server cannot use our channel-binding type"
            }
            Self::NoResources => "the server is overloaded; retry later",
            Self::InvalidEncoding
            | Self::ExtensionsNotSupported
            | Self::InvalidUsernameEncoding => "the server could not parse our message",
            Self::OtherError | Self::Other(_) => "see the server's logs",
        }
    }
}

impl fmt::Display for ScramServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e={} ({})", self.value(), self.advice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_values_round_trip_and_unknown_is_sanitised() {
        for v in [
            "invalid-proof",
            "channel-bindings-dont-match",
            "other-error",
        ] {
            assert_eq!(ScramServerError::from_value(v).value(), v);
        }
        let odd = ScramServerError::from_value("weird value\u{7}\u{e9}");
        assert_eq!(odd, ScramServerError::Other("weirdvalue".into()));
        let long = ScramServerError::from_value(&"x".repeat(500));
        assert_eq!(long.value().len(), 64);
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = SaslError::IterationsTooHigh {
            got: 10_000_000_000,
            max: 600_000,
        };
        let text = e.to_string();
        assert!(text.contains("10000000000") && text.contains("max_iterations"));
        let e = SaslError::ServerError(ScramServerError::InvalidProof);
        assert!(e.to_string().contains("password"));
    }
}
