//! The server's `<failure/>` element: RFC 6120 §6.4.5 (failure) and §6.5
//! (SASL error conditions, `urn:ietf:params:xml:ns:xmpp-sasl`).
//!
//! Independent of the XML layer: the driver passes the local name of the
//! condition child and the `<text/>` content, if any.

use std::fmt;

/// A defined SASL failure condition (RFC 6120 §6.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SaslFailureCondition {
    /// `<aborted/>` (§6.5.1): the server acknowledges our `<abort/>`.
    Aborted,
    /// `<account-disabled/>` (§6.5.2): the account is disabled.
    AccountDisabled,
    /// `<credentials-expired/>` (§6.5.3): the credentials expired.
    CredentialsExpired,
    /// `<encryption-required/>` (§6.5.4): the mechanism needs TLS first.
    EncryptionRequired,
    /// `<incorrect-encoding/>` (§6.5.5): our base64 was bad.
    IncorrectEncoding,
    /// `<invalid-authzid/>` (§6.5.6): bad authorization identity.
    InvalidAuthzid,
    /// `<invalid-mechanism/>` (§6.5.7): mechanism not supported.
    InvalidMechanism,
    /// `<malformed-request/>` (§6.5.8): the request was malformed.
    MalformedRequest,
    /// `<mechanism-too-weak/>` (§6.5.9): policy needs a stronger mechanism.
    MechanismTooWeak,
    /// `<not-authorized/>` (§6.5.10): wrong credentials, usually.
    NotAuthorized,
    /// `<temporary-auth-failure/>` (§6.5.11): try again later.
    TemporaryAuthFailure,
    /// Any other (undefined) condition element's local name.
    Other(String),
}

impl SaslFailureCondition {
    /// The defined conditions, in RFC 6120 §6.5 order.
    pub const DEFINED: [SaslFailureCondition; 11] = [
        SaslFailureCondition::Aborted,
        SaslFailureCondition::AccountDisabled,
        SaslFailureCondition::CredentialsExpired,
        SaslFailureCondition::EncryptionRequired,
        SaslFailureCondition::IncorrectEncoding,
        SaslFailureCondition::InvalidAuthzid,
        SaslFailureCondition::InvalidMechanism,
        SaslFailureCondition::MalformedRequest,
        SaslFailureCondition::MechanismTooWeak,
        SaslFailureCondition::NotAuthorized,
        SaslFailureCondition::TemporaryAuthFailure,
    ];

    /// Maps a condition element's local name.
    pub fn from_name(name: &str) -> Self {
        Self::DEFINED
            .into_iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| SaslFailureCondition::Other(name.to_owned()))
    }

    /// The element's local name.
    pub fn name(&self) -> &str {
        match self {
            Self::Aborted => "aborted",
            Self::AccountDisabled => "account-disabled",
            Self::CredentialsExpired => "credentials-expired",
            Self::EncryptionRequired => "encryption-required",
            Self::IncorrectEncoding => "incorrect-encoding",
            Self::InvalidAuthzid => "invalid-authzid",
            Self::InvalidMechanism => "invalid-mechanism",
            Self::MalformedRequest => "malformed-request",
            Self::MechanismTooWeak => "mechanism-too-weak",
            Self::NotAuthorized => "not-authorized",
            Self::TemporaryAuthFailure => "temporary-auth-failure",
            Self::Other(name) => name,
        }
    }

    /// Whether asking the user for (new) credentials is the likely remedy.
    pub fn is_credentials_problem(&self) -> bool {
        matches!(self, Self::NotAuthorized | Self::CredentialsExpired)
    }

    /// Whether the same attempt may succeed later without any change.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::TemporaryAuthFailure)
    }

    fn advice(&self) -> &'static str {
        match self {
            Self::Aborted => "the exchange was aborted",
            Self::AccountDisabled => "the account is disabled; contact the server operator",
            Self::CredentialsExpired => "the credentials expired; set a new password",
            Self::EncryptionRequired => "negotiate TLS before authenticating",
            Self::IncorrectEncoding => "the server could not decode our data (client bug)",
            Self::InvalidAuthzid => "the authorization identity is not allowed",
            Self::InvalidMechanism => "the server does not support that mechanism",
            Self::MalformedRequest => "the server rejected our request as malformed",
            Self::MechanismTooWeak => "the server requires a stronger mechanism",
            Self::NotAuthorized => "check the username and password",
            Self::TemporaryAuthFailure => "temporary server problem; retry later",
            Self::Other(_) => "undefined condition",
        }
    }
}

impl fmt::Display for SaslFailureCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed `<failure/>`: the server refused the authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct SaslFailure {
    /// The condition.
    pub condition: SaslFailureCondition,
    /// The optional human-readable `<text/>` from the server.
    pub text: Option<String>,
}

impl SaslFailure {
    /// Builds a failure from the condition child's local name and the
    /// `<text/>` content (an empty text counts as none).
    pub fn new(condition: &str, text: Option<&str>) -> Self {
        SaslFailure {
            condition: SaslFailureCondition::from_name(condition),
            text: text.filter(|t| !t.is_empty()).map(str::to_owned),
        }
    }

    fn describe(&self) -> String {
        let mut s = format!(
            "server refused authentication: {} ({})",
            self.condition,
            self.condition.advice()
        );
        if let Some(text) = &self.text {
            s.push_str(": ");
            s.extend(text.chars().filter(|c| !c.is_control()).take(200));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_condition_round_trips() {
        for c in SaslFailureCondition::DEFINED {
            assert_eq!(SaslFailureCondition::from_name(c.name()), c);
        }
        assert_eq!(SaslFailureCondition::DEFINED.len(), 11);
    }

    #[test]
    fn unknown_condition_is_other() {
        let f = SaslFailure::new("bad-auth", None);
        assert_eq!(f.condition, SaslFailureCondition::Other("bad-auth".into()));
        assert_eq!(f.condition.name(), "bad-auth");
    }

    #[test]
    fn text_is_kept_and_displayed() {
        let f = SaslFailure::new("not-authorized", Some("Invalid username or password"));
        assert_eq!(f.condition, SaslFailureCondition::NotAuthorized);
        assert!(f.condition.is_credentials_problem());
        assert_eq!(f.text.as_deref(), Some("Invalid username or password"));
        let shown = f.to_string();
        assert!(shown.contains("not-authorized") && shown.contains("Invalid username"));
        assert_eq!(SaslFailure::new("aborted", Some("")).text, None);
        assert!(SaslFailure::new("temporary-auth-failure", None)
            .condition
            .is_temporary());
    }
}
