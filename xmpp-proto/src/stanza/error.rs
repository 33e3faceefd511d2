//! Stanza errors (RFC 6120 §8.3): the `<error/>` child of a stanza whose
//! type is `error`, with its error type (§8.3.2), one of the 22 defined
//! conditions (§8.3.3), optional descriptive text and optional
//! application-specific conditions.

use std::fmt;

use super::{jid_attr, own_lang, Jid, JidSource, StanzaParseError, NS_CLIENT};
use crate::xml::{Element, Node, NS_XML};

/// The namespace of stanza error conditions (RFC 6120 §8.3.3).
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// What the sender should do about an error (RFC 6120 §8.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// Retry after providing credentials.
    Auth,
    /// Do not retry: the error cannot be remedied.
    Cancel,
    /// Proceed: the condition was only a warning.
    Continue,
    /// Retry after changing the data sent.
    Modify,
    /// Retry after waiting: the error is temporary.
    Wait,
}

impl ErrorType {
    /// The value of the `type` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Auth => "auth",
            ErrorType::Cancel => "cancel",
            ErrorType::Continue => "continue",
            ErrorType::Modify => "modify",
            ErrorType::Wait => "wait",
        }
    }

    /// The type for a `type` attribute value, if it is a defined one.
    pub fn from_attr(value: &str) -> Option<Self> {
        Some(match value {
            "auth" => ErrorType::Auth,
            "cancel" => ErrorType::Cancel,
            "continue" => ErrorType::Continue,
            "modify" => ErrorType::Modify,
            "wait" => ErrorType::Wait,
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The defined conditions of RFC 6120 §8.3.3, one per error.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DefinedCondition {
    /// `bad-request`: the request is malformed or cannot be processed.
    BadRequest,
    /// `conflict`: a resource or session with the same name exists.
    Conflict,
    /// `feature-not-implemented`: the recipient does not support the feature.
    FeatureNotImplemented,
    /// `forbidden`: the sender lacks the required permissions.
    Forbidden,
    /// `gone`: the recipient can no longer be contacted at this address.
    Gone {
        /// The new address (an XMPP URI), when the error gives one.
        new_address: Option<String>,
    },
    /// `internal-server-error`: misconfiguration or another internal error.
    InternalServerError,
    /// `item-not-found`: the addressed JID or item does not exist.
    ItemNotFound,
    /// `jid-malformed`: an address does not follow the JID syntax.
    JidMalformed,
    /// `not-acceptable`: the request violates the recipient's policies.
    NotAcceptable,
    /// `not-allowed`: no entity may perform the action.
    NotAllowed,
    /// `not-authorized`: the sender must authenticate first.
    NotAuthorized,
    /// `policy-violation`: a local service policy was violated.
    PolicyViolation,
    /// `recipient-unavailable`: the recipient is temporarily unavailable.
    RecipientUnavailable,
    /// `redirect`: the request should be sent to another address.
    Redirect {
        /// The alternative address (an XMPP URI), when the error gives one.
        new_address: Option<String>,
    },
    /// `registration-required`: the sender must register first.
    RegistrationRequired,
    /// `remote-server-not-found`: the remote domain does not exist or cannot be resolved.
    RemoteServerNotFound,
    /// `remote-server-timeout`: the remote server could not be reached in time.
    RemoteServerTimeout,
    /// `resource-constraint`: the recipient lacks the resources to serve the request.
    ResourceConstraint,
    /// `service-unavailable`: the recipient does not provide the service.
    ServiceUnavailable,
    /// `subscription-required`: the sender must subscribe first.
    SubscriptionRequired,
    /// `undefined-condition`: none of the others (see the application condition).
    UndefinedCondition,
    /// `unexpected-request`: the request was not expected at this time.
    UnexpectedRequest,
}

impl DefinedCondition {
    /// The condition element's local name.
    pub fn name(&self) -> &'static str {
        use DefinedCondition::*;
        match self {
            BadRequest => "bad-request",
            Conflict => "conflict",
            FeatureNotImplemented => "feature-not-implemented",
            Forbidden => "forbidden",
            Gone { .. } => "gone",
            InternalServerError => "internal-server-error",
            ItemNotFound => "item-not-found",
            JidMalformed => "jid-malformed",
            NotAcceptable => "not-acceptable",
            NotAllowed => "not-allowed",
            NotAuthorized => "not-authorized",
            PolicyViolation => "policy-violation",
            RecipientUnavailable => "recipient-unavailable",
            Redirect { .. } => "redirect",
            RegistrationRequired => "registration-required",
            RemoteServerNotFound => "remote-server-not-found",
            RemoteServerTimeout => "remote-server-timeout",
            ResourceConstraint => "resource-constraint",
            ServiceUnavailable => "service-unavailable",
            SubscriptionRequired => "subscription-required",
            UndefinedCondition => "undefined-condition",
            UnexpectedRequest => "unexpected-request",
        }
    }

    /// The error type RFC 6120 §8.3.3 recommends for this condition.
    pub fn recommended_type(&self) -> ErrorType {
        use DefinedCondition::*;
        match self {
            Forbidden | NotAuthorized | RegistrationRequired | SubscriptionRequired => {
                ErrorType::Auth
            }
            BadRequest
            | JidMalformed
            | NotAcceptable
            | PolicyViolation
            | Redirect { .. }
            | UndefinedCondition => ErrorType::Modify,
            RecipientUnavailable | RemoteServerTimeout | ResourceConstraint | UnexpectedRequest => {
                ErrorType::Wait
            }
            Conflict
            | FeatureNotImplemented
            | Gone { .. }
            | InternalServerError
            | ItemNotFound
            | NotAllowed
            | RemoteServerNotFound
            | ServiceUnavailable => ErrorType::Cancel,
        }
    }

    /// The condition for a condition element, if it is one of the 22.
    pub fn from_element(element: &Element) -> Option<Self> {
        if element.ns() != NS_STANZAS {
            return None;
        }
        use DefinedCondition::*;
        let address = || {
            let text = element.text();
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_string())
        };
        Some(match element.local_name() {
            "bad-request" => BadRequest,
            "conflict" => Conflict,
            "feature-not-implemented" => FeatureNotImplemented,
            "forbidden" => Forbidden,
            "gone" => Gone {
                new_address: address(),
            },
            "internal-server-error" => InternalServerError,
            "item-not-found" => ItemNotFound,
            "jid-malformed" => JidMalformed,
            "not-acceptable" => NotAcceptable,
            "not-allowed" => NotAllowed,
            "not-authorized" => NotAuthorized,
            "policy-violation" => PolicyViolation,
            "recipient-unavailable" => RecipientUnavailable,
            "redirect" => Redirect {
                new_address: address(),
            },
            "registration-required" => RegistrationRequired,
            "remote-server-not-found" => RemoteServerNotFound,
            "remote-server-timeout" => RemoteServerTimeout,
            "resource-constraint" => ResourceConstraint,
            "service-unavailable" => ServiceUnavailable,
            "subscription-required" => SubscriptionRequired,
            "undefined-condition" => UndefinedCondition,
            "unexpected-request" => UnexpectedRequest,
            _ => return None,
        })
    }

    /// The condition element `<name xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`.
    pub fn to_element(&self) -> Element {
        let e = Element::new(NS_STANZAS, self.name());
        match self {
            DefinedCondition::Gone {
                new_address: Some(a),
            }
            | DefinedCondition::Redirect {
                new_address: Some(a),
            } => e.with_text(a.as_str()),
            _ => e,
        }
    }
}

impl fmt::Display for DefinedCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `<error/>` element of an error stanza (RFC 6120 §8.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StanzaError {
    /// What the sender should do (the `type` attribute).
    pub type_: ErrorType,
    /// The defined condition.
    pub condition: DefinedCondition,
    /// Human-readable text (`<text/>`), not meant to be shown to end users
    /// as the error's meaning (that is `condition`).
    pub text: Option<String>,
    /// The `xml:lang` of `text`.
    pub text_lang: Option<String>,
    /// The entity that generated the error (the `by` attribute, §8.3.2).
    pub by: Option<Jid>,
    /// Application-specific conditions and any other child elements.
    pub extra: Vec<Element>,
}

impl StanzaError {
    /// An error with the given type and condition and nothing else.
    pub fn new(type_: ErrorType, condition: DefinedCondition) -> Self {
        StanzaError {
            type_,
            condition,
            text: None,
            text_lang: None,
            by: None,
            extra: Vec::new(),
        }
    }

    /// An error with the condition's recommended type (RFC 6120 §8.3.3).
    pub fn from_condition(condition: DefinedCondition) -> Self {
        Self::new(condition.recommended_type(), condition)
    }

    /// Builder: sets the descriptive text.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Builder: sets the descriptive text and its language.
    pub fn with_text_lang(mut self, lang: impl Into<String>, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self.text_lang = Some(lang.into());
        self
    }

    /// Builder: sets the `by` attribute.
    pub fn with_by(mut self, by: impl Into<Jid>) -> Self {
        self.by = Some(by.into());
        self
    }

    /// Builder: appends an application-specific condition element.
    pub fn with_extra(mut self, element: Element) -> Self {
        self.extra.push(element);
        self
    }

    /// The `<error/>` element in `jabber:client`.
    pub fn to_element(&self) -> Element {
        self.clone().into()
    }
}

impl fmt::Display for StanzaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.condition, self.type_)?;
        if let Some(by) = &self.by {
            write!(f, " from {by}")?;
        }
        if let Some(text) = &self.text {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StanzaError {}

impl TryFrom<Element> for StanzaError {
    type Error = StanzaParseError;

    /// Parses `<error xmlns='jabber:client'/>`. A missing or unknown `type`,
    /// a missing defined condition, or two conditions or texts are errors;
    /// unknown children (including unknown elements in the conditions'
    /// namespace) go to [`StanzaError::extra`].
    fn try_from(element: Element) -> Result<Self, StanzaParseError> {
        super::expect_client(&element, "error")?;
        let type_ = match element.attr("type") {
            None => {
                return Err(StanzaParseError::MissingAttribute {
                    element: "error",
                    attr: "type",
                })
            }
            Some(t) => ErrorType::from_attr(t).ok_or_else(|| StanzaParseError::UnknownType {
                element: "error",
                value: t.to_string(),
            })?,
        };
        let by = jid_attr(&element, "by", &mut JidSource::default())?;
        let (_, _, nodes) = element.into_parts();
        let mut condition = None;
        let mut text = None;
        let mut text_lang = None;
        let mut extra = Vec::new();
        let duplicate = |child| StanzaParseError::DuplicateChild {
            element: "error",
            child,
            lang: None,
        };
        for node in nodes {
            let Node::Element(child) = node else { continue };
            if child.is(NS_STANZAS, "text") {
                if text.is_some() {
                    return Err(duplicate("<text/>"));
                }
                text = Some(child.text().to_string());
                text_lang = own_lang(&child);
            } else if let Some(c) = DefinedCondition::from_element(&child) {
                if condition.is_some() {
                    return Err(duplicate("defined condition"));
                }
                condition = Some(c);
            } else {
                extra.push(child);
            }
        }
        let condition = condition.ok_or(StanzaParseError::MissingChild {
            element: "error",
            child: "defined condition",
        })?;
        Ok(StanzaError {
            type_,
            condition,
            text,
            text_lang,
            by,
            extra,
        })
    }
}

impl From<StanzaError> for Element {
    fn from(error: StanzaError) -> Element {
        let mut e = Element::new(NS_CLIENT, "error").with_attr("type", error.type_.as_str());
        if let Some(by) = &error.by {
            e.set_attr("by", by.as_str());
        }
        e.push_child(error.condition.to_element());
        if let Some(text) = error.text {
            let mut t = Element::new(NS_STANZAS, "text").with_text(text);
            if let Some(lang) = error.text_lang {
                t.set_attr_ns(NS_XML, "lang", lang);
            }
            e.push_child(t);
        }
        for x in error.extra {
            e.push_child(x);
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stanza::tests::parse_xml;

    const ALL: [&str; 22] = [
        "bad-request",
        "conflict",
        "feature-not-implemented",
        "forbidden",
        "gone",
        "internal-server-error",
        "item-not-found",
        "jid-malformed",
        "not-acceptable",
        "not-allowed",
        "not-authorized",
        "policy-violation",
        "recipient-unavailable",
        "redirect",
        "registration-required",
        "remote-server-not-found",
        "remote-server-timeout",
        "resource-constraint",
        "service-unavailable",
        "subscription-required",
        "undefined-condition",
        "unexpected-request",
    ];

    fn error_xml(inner: &str, attrs: &str) -> Element {
        parse_xml(&format!("<error{attrs}>{inner}</error>"))
    }

    #[test]
    fn all_22_conditions_round_trip() {
        for name in ALL {
            let el = Element::new(NS_STANZAS, name);
            let c = DefinedCondition::from_element(&el).expect(name);
            assert_eq!(c.name(), name);
            assert_eq!(c.to_element(), el);
            let err = StanzaError::from_condition(c.clone());
            assert_eq!(err.type_, c.recommended_type());
            assert_eq!(StanzaError::try_from(err.to_element()), Ok(err));
        }
    }

    #[test]
    fn rfc6120_example_with_text_and_app_condition() {
        // RFC 6120 §8.3.2 / §8.3.3.6-style error with text and an application condition.
        let el = error_xml(
            "<bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Some special text</text>\
             <too-many-parameters xmlns='http://example.org/ns'/>",
            " type='modify' by='example.net'",
        );
        let err = StanzaError::try_from(el).unwrap();
        assert_eq!(err.type_, ErrorType::Modify);
        assert_eq!(err.condition, DefinedCondition::BadRequest);
        assert_eq!(err.text.as_deref(), Some("Some special text"));
        assert_eq!(err.text_lang.as_deref(), Some("en"));
        assert_eq!(err.by.as_ref().map(Jid::as_str), Some("example.net"));
        assert_eq!(err.extra.len(), 1);
        assert!(err.extra[0].is("http://example.org/ns", "too-many-parameters"));
        assert_eq!(StanzaError::try_from(err.to_element()), Ok(err.clone()));
        assert_eq!(
            err.to_string(),
            "bad-request (modify) from example.net: Some special text"
        );
    }

    #[test]
    fn gone_and_redirect_carry_addresses() {
        // RFC 6120 §8.3.3.5 and §8.3.3.14.
        let el = error_xml(
            "<gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:romeo@afterlife.example.net</gone>",
            " type='cancel' by='example.net'",
        );
        let err = StanzaError::try_from(el).unwrap();
        assert_eq!(
            err.condition,
            DefinedCondition::Gone {
                new_address: Some("xmpp:romeo@afterlife.example.net".into())
            }
        );
        assert_eq!(StanzaError::try_from(err.to_element()), Ok(err));
        let el = error_xml(
            "<redirect xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:characters@conference.example.org</redirect>",
            " type='modify'",
        );
        let err = StanzaError::try_from(el).unwrap();
        assert!(matches!(
            &err.condition,
            DefinedCondition::Redirect { new_address: Some(a) } if a == "xmpp:characters@conference.example.org"
        ));
        let empty = error_xml(
            "<redirect xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>",
            " type='modify'",
        );
        assert_eq!(
            StanzaError::try_from(empty).unwrap().condition,
            DefinedCondition::Redirect { new_address: None }
        );
    }

    #[test]
    fn malformed_errors_are_refused() {
        let cond = "<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>";
        assert_eq!(
            StanzaError::try_from(error_xml(cond, "")),
            Err(StanzaParseError::MissingAttribute {
                element: "error",
                attr: "type"
            })
        );
        assert!(matches!(
            StanzaError::try_from(error_xml(cond, " type='fatal'")),
            Err(StanzaParseError::UnknownType { element: "error", value }) if value == "fatal"
        ));
        assert_eq!(
            StanzaError::try_from(error_xml("<forbidden/>", " type='auth'")),
            Err(StanzaParseError::MissingChild {
                element: "error",
                child: "defined condition"
            })
        );
        assert!(matches!(
            StanzaError::try_from(error_xml(&format!("{cond}{cond}"), " type='auth'")),
            Err(StanzaParseError::DuplicateChild {
                child: "defined condition",
                ..
            })
        ));
        assert!(matches!(
            StanzaError::try_from(error_xml(cond, " type='auth' by='a@b@c'")),
            Err(StanzaParseError::InvalidJid { attr: "by", .. })
        ));
        // An unknown element in the conditions namespace is kept, not a condition.
        let err = StanzaError::try_from(error_xml(
            &format!("<made-up xmlns='{NS_STANZAS}'/>{cond}"),
            " type='auth'",
        ))
        .unwrap();
        assert_eq!(err.condition, DefinedCondition::Forbidden);
        assert_eq!(err.extra.len(), 1);
    }
}
