//! Why an element is not a valid XEP-0030 result (§3.1 disco#info, §4.1
//! disco#items) or XEP-0004 data form, and why a query produced nothing.

use crate::client::IqFailure;

/// Why an element is not a valid disco result or data form. Hostile input
/// gets one of these, never a panic; lists past their bound are refused
/// whole rather than truncated, so a result is never silently incomplete.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoParseError {
    /// The element is not the one expected (`<query/>` of the namespace,
    /// `<x xmlns='jabber:x:data'/>`).
    #[error("expected <{element} xmlns='{ns}'/>")]
    WrongElement {
        /// The expected namespace.
        ns: &'static str,
        /// The expected element name.
        element: &'static str,
    },
    /// A required attribute is missing or empty (an identity's `category`
    /// or `type`, a feature's `var`, an item's `jid`).
    #[error("<{element}/> without its '{attribute}' attribute")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
    /// An item's `jid` is not a valid JID.
    #[error("an item's jid {0:?} is not a valid JID")]
    InvalidJid(String),
    /// More entries of one kind than this crate accepts (the bound is in
    /// the message; see [`limits`](super::limits)).
    #[error("more than {max} {what} in one element")]
    TooMany {
        /// What there were too many of.
        what: &'static str,
        /// The bound.
        max: usize,
    },
    /// A data form `type` that XEP-0004 §3.1 does not define.
    #[error("unknown data form type {0:?}")]
    UnknownFormType(String),
    /// A field `type` that XEP-0004 §3.3 does not define.
    #[error("unknown data form field type {0:?}")]
    UnknownFieldType(String),
}

/// Why a disco query produced no result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoError {
    /// The entity answered with an error, or none came (timeout, end of the
    /// session).
    #[error(transparent)]
    Iq(#[from] IqFailure),
    /// The entity answered with a result that is not a valid disco result.
    #[error("the answer is not a valid disco result: {0}")]
    Invalid(#[from] DiscoParseError),
}
