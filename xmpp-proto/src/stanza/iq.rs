//! IQ stanzas: RFC 6120 §8.2.3 (request-response semantics: `get`/`set`
//! carry exactly one payload, `result` zero or one, `error` an `<error/>`
//! and optionally the original payload) with the `id` rules of §8.1.3 and
//! the errors of §8.3.

use std::fmt;

use super::{
    expect_client, stanza_element, CommonAttrs, Jid, JidSource, StanzaError, StanzaParseError,
    NS_CLIENT,
};
use crate::xml::{Element, Node};

/// The `type` of an IQ (RFC 6120 §8.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IqType {
    /// A request for information.
    Get,
    /// A request to provide data or change state.
    Set,
    /// A successful response.
    Result,
    /// A failed response.
    Error,
}

impl IqType {
    /// The value of the `type` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            IqType::Get => "get",
            IqType::Set => "set",
            IqType::Result => "result",
            IqType::Error => "error",
        }
    }

    /// The type for a `type` attribute value, if it is a defined one.
    pub fn from_attr(value: &str) -> Option<Self> {
        Some(match value {
            "get" => IqType::Get,
            "set" => IqType::Set,
            "result" => IqType::Result,
            "error" => IqType::Error,
            _ => return None,
        })
    }

    /// True for `get` and `set`, the types that must be answered.
    pub fn is_request(self) -> bool {
        matches!(self, IqType::Get | IqType::Set)
    }

    /// How many payload elements this type allows, in words.
    pub(crate) fn payload_rule(self) -> &'static str {
        match self {
            IqType::Get | IqType::Set => "exactly one",
            IqType::Result => "at most one",
            IqType::Error => "at most one (besides <error/>)",
        }
    }
}

impl fmt::Display for IqType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An IQ's type together with what that type carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IqPayload {
    /// `get` with its request element.
    Get(Element),
    /// `set` with its request element.
    Set(Element),
    /// `result`, with a payload or empty.
    Result(Option<Element>),
    /// `error`, with the error and optionally the request's payload.
    Error {
        /// The stanza error.
        error: StanzaError,
        /// The payload of the request that failed, when echoed back.
        original: Option<Element>,
    },
}

impl IqPayload {
    /// The IQ type this payload goes with.
    pub fn type_(&self) -> IqType {
        match self {
            IqPayload::Get(_) => IqType::Get,
            IqPayload::Set(_) => IqType::Set,
            IqPayload::Result(_) => IqType::Result,
            IqPayload::Error { .. } => IqType::Error,
        }
    }
}

/// An `<iq/>` stanza.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iq {
    /// The sender (stamped by the server on received stanzas).
    pub from: Option<Jid>,
    /// The recipient (none: the user's own account, answered by the server).
    pub to: Option<Jid>,
    /// The id that pairs a request with its response (required).
    pub id: String,
    /// The IQ's own `xml:lang` attribute.
    pub lang: Option<String>,
    /// The type and its content.
    pub payload: IqPayload,
}

impl Iq {
    fn with_payload(to: Option<Jid>, id: impl Into<String>, payload: IqPayload) -> Self {
        Iq {
            from: None,
            to,
            id: id.into(),
            lang: None,
            payload,
        }
    }

    /// A `get` request; `to: None` addresses the user's own account.
    pub fn get(to: Option<Jid>, id: impl Into<String>, payload: Element) -> Self {
        Self::with_payload(to, id, IqPayload::Get(payload))
    }

    /// A `set` request; `to: None` addresses the user's own account.
    pub fn set(to: Option<Jid>, id: impl Into<String>, payload: Element) -> Self {
        Self::with_payload(to, id, IqPayload::Set(payload))
    }

    /// An empty `result` answering `request`: same id, addressed to its
    /// sender. `from` is left for the server to stamp. Only `get` and
    /// `set` IQs may be answered (RFC 6120 §8.2.3): check
    /// [`Iq::is_request`] first.
    pub fn result_for(request: &Iq) -> Self {
        Self::with_payload(
            request.from.clone(),
            request.id.clone(),
            IqPayload::Result(None),
        )
    }

    /// A `result` with a payload answering `request` (see [`Iq::result_for`]).
    pub fn result_with(request: &Iq, payload: Element) -> Self {
        Self::with_payload(
            request.from.clone(),
            request.id.clone(),
            IqPayload::Result(Some(payload)),
        )
    }

    /// An `error` answering `request` (see [`Iq::result_for`]); the
    /// request's payload is not echoed back (set `original` to do so).
    pub fn error_for(request: &Iq, error: StanzaError) -> Self {
        Self::with_payload(
            request.from.clone(),
            request.id.clone(),
            IqPayload::Error {
                error,
                original: None,
            },
        )
    }

    /// The IQ's type.
    pub fn type_(&self) -> IqType {
        self.payload.type_()
    }

    /// True for `get` and `set`.
    pub fn is_request(&self) -> bool {
        self.type_().is_request()
    }

    /// The request element of a `get`/`set`, the payload of a `result`, or
    /// the echoed request of an `error`.
    pub fn payload_element(&self) -> Option<&Element> {
        match &self.payload {
            IqPayload::Get(e) | IqPayload::Set(e) => Some(e),
            IqPayload::Result(e) | IqPayload::Error { original: e, .. } => e.as_ref(),
        }
    }

    /// The error of an `error` IQ.
    pub fn error(&self) -> Option<&StanzaError> {
        match &self.payload {
            IqPayload::Error { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The IQ as an element in `jabber:client`.
    pub fn to_element(&self) -> Element {
        self.clone().into()
    }
}

impl TryFrom<Element> for Iq {
    type Error = StanzaParseError;

    fn try_from(element: Element) -> Result<Self, StanzaParseError> {
        Iq::parse_with(element, &mut JidSource::default())
    }
}

impl Iq {
    /// Parses a received iq, its addresses through `jids`.
    pub(super) fn parse_with(
        element: Element,
        jids: &mut JidSource<'_>,
    ) -> Result<Self, StanzaParseError> {
        expect_client(&element, "iq")?;
        let common = CommonAttrs::parse(&element, jids)?;
        let missing = |attr| StanzaParseError::MissingAttribute {
            element: "iq",
            attr,
        };
        let id = common.id.ok_or_else(|| missing("id"))?;
        let type_ = match element.attr("type") {
            None => return Err(missing("type")),
            Some(t) => IqType::from_attr(t).ok_or_else(|| StanzaParseError::UnknownType {
                element: "iq",
                value: t.to_string(),
            })?,
        };
        let (_, _, nodes) = element.into_parts();
        let mut children = nodes.into_iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        });
        let count = |found| StanzaParseError::IqChildCount { type_, found };
        let payload = match type_ {
            IqType::Get | IqType::Set | IqType::Result => {
                let first = children.next();
                let rest = children.count();
                match (type_, first) {
                    (_, Some(_)) if rest > 0 => return Err(count(1 + rest)),
                    (IqType::Get, Some(e)) => IqPayload::Get(e),
                    (IqType::Set, Some(e)) => IqPayload::Set(e),
                    (IqType::Get | IqType::Set, None) => return Err(count(0)),
                    (_, e) => IqPayload::Result(e),
                }
            }
            IqType::Error => {
                let mut error = None;
                let mut others = Vec::new();
                for child in children {
                    if child.is(NS_CLIENT, "error") {
                        if error.is_some() {
                            return Err(StanzaParseError::DuplicateChild {
                                element: "iq",
                                child: "<error/>",
                                lang: None,
                            });
                        }
                        error = Some(StanzaError::try_from(child)?);
                    } else {
                        others.push(child);
                    }
                }
                let error = error.ok_or(StanzaParseError::MissingChild {
                    element: "iq",
                    child: "<error/>",
                })?;
                if others.len() > 1 {
                    return Err(count(others.len()));
                }
                IqPayload::Error {
                    error,
                    original: others.pop(),
                }
            }
        };
        Ok(Iq {
            from: common.from,
            to: common.to,
            id,
            lang: common.lang,
            payload,
        })
    }
}

impl From<Iq> for Element {
    fn from(iq: Iq) -> Element {
        let mut e = stanza_element(
            "iq",
            iq.from.as_ref(),
            iq.to.as_ref(),
            Some(&iq.id),
            Some(iq.type_().as_str()),
            iq.lang.as_deref(),
        );
        match iq.payload {
            IqPayload::Get(p) | IqPayload::Set(p) | IqPayload::Result(Some(p)) => e.push_child(p),
            IqPayload::Result(None) => {}
            IqPayload::Error { error, original } => {
                // RFC 6120 §8.3.1 shows the echoed payload before <error/>.
                if let Some(o) = original {
                    e.push_child(o);
                }
                e.push_child(error.into());
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stanza::tests::{parse_xml, roundtrip};
    use crate::stanza::{DefinedCondition, ErrorType, Stanza};

    const ROSTER: &str = "jabber:iq:roster";

    fn iq(xml: &str) -> Result<Iq, StanzaParseError> {
        Iq::try_from(parse_xml(xml))
    }

    #[test]
    fn rfc6121_roster_get_and_result() {
        // RFC 6121 §2.1.3 roster get and §2.1.4 roster result.
        let get = iq(
            "<iq from='juliet@example.com/balcony' id='bv1bs71f' type='get'>\
                      <query xmlns='jabber:iq:roster'/></iq>",
        )
        .unwrap();
        assert_eq!(get.type_(), IqType::Get);
        assert!(get.is_request());
        assert!(get.payload_element().unwrap().is(ROSTER, "query"));
        roundtrip(Stanza::Iq(get.clone()));

        let result = iq(
            "<iq id='bv1bs71f' to='juliet@example.com/chamber' type='result'>\
                         <query xmlns='jabber:iq:roster' ver='ver11'>\
                         <item jid='romeo@example.net' name='Romeo' subscription='both'>\
                         <group>Friends</group></item></query></iq>",
        )
        .unwrap();
        assert_eq!(result.type_(), IqType::Result);
        assert_eq!(result.payload_element().unwrap().attr("ver"), Some("ver11"));
        roundtrip(Stanza::Iq(result));
    }

    #[test]
    fn rfc6120_empty_result_and_error_with_original() {
        // RFC 6120 §8.2.3 (Example: result without payload; error response).
        let r = iq(
            "<iq from='example.com' id='rr82a1z7' to='juliet@example.com/balcony' type='result'/>",
        )
        .unwrap();
        assert_eq!(r.payload, IqPayload::Result(None));
        roundtrip(Stanza::Iq(r));

        let e = iq("<iq id='yhc13a95' to='juliet@example.com/balcony' type='error'>\
                    <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>balcony</resource></bind>\
                    <error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
                    </error></iq>")
        .unwrap();
        let err = e.error().unwrap();
        assert_eq!(
            (err.type_, &err.condition),
            (ErrorType::Cancel, &DefinedCondition::Conflict)
        );
        assert!(e
            .payload_element()
            .unwrap()
            .is("urn:ietf:params:xml:ns:xmpp-bind", "bind"));
        roundtrip(Stanza::Iq(e));
    }

    #[test]
    fn child_count_rules() {
        let q = "<query xmlns='jabber:iq:roster'/>";
        assert_eq!(
            iq(&format!("<iq id='a' type='get'>{q}{q}</iq>")),
            Err(StanzaParseError::IqChildCount {
                type_: IqType::Get,
                found: 2
            })
        );
        assert_eq!(
            iq("<iq id='a' type='set'> text only </iq>"),
            Err(StanzaParseError::IqChildCount {
                type_: IqType::Set,
                found: 0
            })
        );
        assert_eq!(
            iq(&format!("<iq id='a' type='result'>{q}{q}{q}</iq>")),
            Err(StanzaParseError::IqChildCount {
                type_: IqType::Result,
                found: 3
            })
        );
        let cond =
            "<error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>";
        assert_eq!(
            iq(&format!("<iq id='a' type='error'>{q}{q}{cond}</iq>")),
            Err(StanzaParseError::IqChildCount {
                type_: IqType::Error,
                found: 2
            })
        );
        assert_eq!(
            iq(&format!("<iq id='a' type='error'>{q}</iq>")),
            Err(StanzaParseError::MissingChild {
                element: "iq",
                child: "<error/>"
            })
        );
        assert!(matches!(
            iq(&format!("<iq id='a' type='error'>{cond}{cond}</iq>")),
            Err(StanzaParseError::DuplicateChild { .. })
        ));
        // Whitespace between children is not a child.
        assert!(iq(&format!("<iq id='a' type='get'>\n  {q}\n</iq>")).is_ok());
    }

    #[test]
    fn required_attributes() {
        assert_eq!(
            iq("<iq type='result'/>"),
            Err(StanzaParseError::MissingAttribute {
                element: "iq",
                attr: "id"
            })
        );
        assert_eq!(
            iq("<iq id='x'/>"),
            Err(StanzaParseError::MissingAttribute {
                element: "iq",
                attr: "type"
            })
        );
        assert_eq!(
            iq("<iq id='x' type='query'/>"),
            Err(StanzaParseError::UnknownType {
                element: "iq",
                value: "query".into()
            })
        );
        assert!(matches!(
            iq("<iq id='x' type='result' to='a@b@c'/>"),
            Err(StanzaParseError::InvalidJid { attr: "to", .. })
        ));
        let msg = iq("<iq id='x' type='get'/>").unwrap_err().to_string();
        assert_eq!(
            msg,
            "<iq type='get'/> must have exactly one payload element, found 0"
        );
    }

    #[test]
    fn responses_to_a_request() {
        let from: Jid = "romeo@example.net/orchard".parse().unwrap();
        let mut req = Iq::get(None, "v1", Element::new("jabber:iq:version", "query"));
        req.from = Some(from.clone());
        let ok = Iq::result_for(&req);
        assert_eq!((ok.to.as_ref(), ok.id.as_str()), (Some(&from), "v1"));
        assert_eq!(ok.from, None);
        assert_eq!(
            ok.to_element().to_xml(),
            "<iq xmlns='jabber:client' to='romeo@example.net/orchard' id='v1' type='result'/>"
        );
        let with = Iq::result_with(&req, Element::new("jabber:iq:version", "query"));
        assert!(with.payload_element().is_some());
        let err = Iq::error_for(
            &req,
            StanzaError::from_condition(DefinedCondition::FeatureNotImplemented),
        );
        assert_eq!(err.type_(), IqType::Error);
        assert_eq!(
            err.to_element().to_xml(),
            "<iq xmlns='jabber:client' to='romeo@example.net/orchard' id='v1' type='error'>\
             <error type='cancel'><feature-not-implemented \
             xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        );
        roundtrip(Stanza::Iq(err));
        let set = Iq::set(Some(from), "s1", Element::new(ROSTER, "query"));
        assert_eq!(set.type_(), IqType::Set);
    }
}
