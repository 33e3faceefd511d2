//! The publish-subscribe plumbing that the Personal Eventing Protocol
//! (XEP-0163) users share: user avatars ([`crate::avatar`], XEP-0084) and
//! bookmarks ([`crate::bookmarks`], XEP-0402).
//!
//! Requests (XEP-0060): retrieving items (§6.5, by id §6.5.8, the latest
//! §6.5.7), publishing an item (§7.1) with publish-options (§7.1.5, as
//! XEP-0223 asks for private data), retracting an item (§7.2, with
//! `notify`). Answers: the `<items/>` of a retrieval, parsed bounded.
//! Notifications (§7.1.2.1 published items, §7.2.2.1 retractions, §7.5.2
//! purge, §8.4.3 delete) arrive as `<message><event
//! xmlns='http://jabber.org/protocol/pubsub#event'/></message>`; a module
//! interested in a node lists `NODE+notify` among its features (XEP-0163
//! §4.3: our caps then ask the server for them).
//!
//! Who speaks for a node (XEP-0163 §4.3.1, §6.1): a PEP service is an
//! account's bare JID, and notifications come from it (or, for our own
//! account, without `from`). [`Notification::read`] accepts only those
//! senders: a notification from a full JID (another client, anyone's) is
//! refused with [`PepError::FullJidSender`]; each module then checks that
//! the bare JID may speak for the node (bookmarks: only our own account).
//! Parsing is bounded (at most `max` items in a result or notification)
//! and every defect is a typed [`PepError`], never a panic.

use crate::disco::{DataForm, FieldType, FormField, FormKind};
use crate::stanza::{BareJid, Jid, Message, MessageType};
use crate::xml::Element;

/// The XEP-0060 namespace of requests and results.
pub const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";
/// The XEP-0060 namespace of event notifications.
pub const NS_PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
/// The XEP-0060 namespace of pubsub-specific error conditions.
pub const NS_PUBSUB_ERRORS: &str = "http://jabber.org/protocol/pubsub#errors";
/// The `FORM_TYPE` of publish-options (XEP-0060 §7.1.5).
pub const PUBLISH_OPTIONS: &str = "http://jabber.org/protocol/pubsub#publish-options";

/// The longest node name read.
const MAX_NODE: usize = 1024;

/// Why a pubsub result or notification was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PepError {
    /// The element is not the one expected (`<pubsub><items/></pubsub>` in
    /// a result, `<event/>` in a notification).
    #[error("expected <{element} xmlns='{ns}'/>")]
    WrongElement {
        /// The expected namespace.
        ns: &'static str,
        /// The expected element.
        element: &'static str,
    },
    /// The result or notification is about another node than the one asked.
    #[error("expected items of node {expected:?}, found node {found:?}")]
    WrongNode {
        /// The node asked about.
        expected: String,
        /// The node found.
        found: String,
    },
    /// A required attribute is missing (an `<items/>`'s `node`, a
    /// `<retract/>`'s `id`).
    #[error("<{element}/> without its '{attribute}' attribute")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
    },
    /// More items than accepted (the bound is in the message).
    #[error("more than {max} {what}")]
    TooMany {
        /// What there were too many of.
        what: &'static str,
        /// The bound.
        max: usize,
    },
    /// A notification from a full JID: a PEP service is an account's bare
    /// JID (XEP-0163 §4.3.1), so this is a client (perhaps another
    /// resource of ours, perhaps a stranger) posing as one.
    #[error("a pubsub notification from {0}, a full JID: only a bare JID speaks for its nodes")]
    FullJidSender(Jid),
}

/// An item: its id and its payload (the first child element), as
/// published or as retrieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PepItem {
    /// The item's id (`None` when the service sent none).
    pub id: Option<String>,
    /// The payload, if the item carries one.
    pub payload: Option<Element>,
}

impl PepItem {
    /// An item with this id and payload.
    pub fn new(id: impl Into<String>, payload: Element) -> Self {
        PepItem {
            id: Some(id.into()),
            payload: Some(payload),
        }
    }

    /// Reads an `<item/>` (of either namespace).
    fn parse(item: &Element) -> Self {
        PepItem {
            id: item.attr("id").map(str::to_string),
            payload: item.children().next().cloned(),
        }
    }
}

/// What a notification says happened to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeChange {
    /// Items published (§7.1.2.1) and items retracted (§7.2.2.1, by id).
    Items {
        /// The items published, in document order.
        published: Vec<PepItem>,
        /// The ids of the items retracted.
        retracted: Vec<String>,
    },
    /// Every item was removed (§7.5.2).
    Purged,
    /// The node was deleted (§8.4.3), with its items.
    Deleted,
}

/// A pubsub event notification about one node, with the bare JID whose
/// node it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Whose node: the sender's bare JID, or our account's for a
    /// notification without `from` (RFC 6120 §8.1.2.1).
    pub jid: BareJid,
    /// The node.
    pub node: String,
    /// What happened to it.
    pub change: NodeChange,
}

impl Notification {
    /// The notification `message` carries about one of `nodes`, if it is
    /// one: `None` for any other message (no `<event/>`, another node, an
    /// error). `Err` when it is one but refused: from a full JID
    /// ([`PepError::FullJidSender`]), malformed, or with more than `max`
    /// items or retractions. `account` is our account's bare JID.
    pub fn read(
        message: &Message,
        account: &BareJid,
        nodes: &[&str],
        max: usize,
    ) -> Option<Result<Notification, PepError>> {
        if message.type_ == MessageType::Error {
            return None;
        }
        let event = message.payload(NS_PUBSUB_EVENT, "event")?;
        let child = event.children().find(|c| c.ns() == NS_PUBSUB_EVENT)?;
        // Configuration and subscription notifications say nothing of items.
        if !matches!(child.local_name(), "items" | "purge" | "delete")
            || !nodes.contains(&child.attr("node")?)
        {
            return None;
        }
        Some(Self::parse(message.from.as_ref(), account, child, max))
    }

    /// True when `message` carries a notification about one of `nodes`
    /// (whether or not it would be accepted): what a module consumes.
    pub fn is_about(message: &Message, nodes: &[&str]) -> bool {
        message.type_ != MessageType::Error
            && message
                .payload(NS_PUBSUB_EVENT, "event")
                .is_some_and(|event| {
                    event
                        .children()
                        .filter_map(|c| c.attr("node"))
                        .any(|n| nodes.contains(&n))
                })
    }

    /// Reads `child` (`<items/>`, `<purge/>` or `<delete/>` of the event
    /// namespace) sent by `from`.
    fn parse(
        from: Option<&Jid>,
        account: &BareJid,
        child: &Element,
        max: usize,
    ) -> Result<Notification, PepError> {
        let jid = match from {
            None => account.clone(),
            Some(j) if j.resource().is_some() => return Err(PepError::FullJidSender(j.clone())),
            Some(j) => j.to_bare(),
        };
        let node = node_of(child, "items")?;
        let change = match child.local_name() {
            "items" => {
                let mut published = Vec::new();
                let mut retracted = Vec::new();
                for c in child.children().filter(|c| c.ns() == NS_PUBSUB_EVENT) {
                    if published.len() + retracted.len() >= max {
                        return Err(PepError::TooMany {
                            what: "items in one notification",
                            max,
                        });
                    }
                    match c.local_name() {
                        "item" => published.push(PepItem::parse(c)),
                        "retract" => match c.attr("id") {
                            Some(id) => retracted.push(id.to_string()),
                            None => {
                                return Err(PepError::MissingAttribute {
                                    element: "retract",
                                    attribute: "id",
                                })
                            }
                        },
                        _ => {}
                    }
                }
                NodeChange::Items {
                    published,
                    retracted,
                }
            }
            "purge" => NodeChange::Purged,
            "delete" => NodeChange::Deleted,
            _ => {
                return Err(PepError::WrongElement {
                    ns: NS_PUBSUB_EVENT,
                    element: "items",
                })
            }
        };
        Ok(Notification { jid, node, change })
    }
}

/// The `node` attribute of `element`, bounded.
fn node_of(element: &Element, name: &'static str) -> Result<String, PepError> {
    match element.attr("node") {
        Some(n) if !n.is_empty() && n.len() <= MAX_NODE => Ok(n.to_string()),
        _ => Err(PepError::MissingAttribute {
            element: name,
            attribute: "node",
        }),
    }
}

/// `<pubsub><items node='NODE'>` with one `<item id/>` per id (§6.5.8),
/// or all items when `ids` is empty (§6.5.2), at most `max_items` of the
/// latest when given (§6.5.7).
pub fn items_request(node: &str, ids: &[&str], max_items: Option<usize>) -> Element {
    let mut items = Element::new(NS_PUBSUB, "items").with_attr("node", node.to_string());
    if let Some(max) = max_items {
        items.set_attr("max_items", max.to_string());
    }
    for id in ids {
        items.push_child(Element::new(NS_PUBSUB, "item").with_attr("id", id.to_string()));
    }
    Element::new(NS_PUBSUB, "pubsub").with_child(items)
}

/// `<pubsub><publish node='NODE'><item id>payload</item></publish>`
/// (§7.1), with `<publish-options/>` when `options` has fields (§7.1.5).
pub fn publish_request(node: &str, item: PepItem, options: Option<&DataForm>) -> Element {
    let mut el = Element::new(NS_PUBSUB, "item");
    if let Some(id) = item.id {
        el.set_attr("id", id);
    }
    if let Some(payload) = item.payload {
        el.push_child(payload);
    }
    let publish = Element::new(NS_PUBSUB, "publish")
        .with_attr("node", node.to_string())
        .with_child(el);
    let mut pubsub = Element::new(NS_PUBSUB, "pubsub").with_child(publish);
    if let Some(form) = options {
        pubsub.push_child(Element::new(NS_PUBSUB, "publish-options").with_child(form.to_element()));
    }
    pubsub
}

/// Who may read a node's items (XEP-0060 §4.5), a publish-option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessModel {
    /// Anyone.
    Open,
    /// Those subscribed to the owner's presence (the PEP default, XEP-0163 §4.2).
    Presence,
    /// Contacts in some roster groups.
    Roster,
    /// Those the owner lets subscribe.
    Authorize,
    /// Only the owner and those listed (private data, XEP-0223).
    Whitelist,
}

impl AccessModel {
    /// The value of `pubsub#access_model`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessModel::Open => "open",
            AccessModel::Presence => "presence",
            AccessModel::Roster => "roster",
            AccessModel::Authorize => "authorize",
            AccessModel::Whitelist => "whitelist",
        }
    }
}

/// The publish-options form (§7.1.5) with these `pubsub#` fields, e.g.
/// `[("pubsub#access_model", "whitelist")]`.
pub fn publish_options<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> DataForm {
    let mut all = vec![FormField::new("FORM_TYPE", [PUBLISH_OPTIONS]).with_type(FieldType::Hidden)];
    all.extend(
        fields
            .into_iter()
            .map(|(var, value)| FormField::new(var, [value])),
    );
    DataForm {
        kind: FormKind::Submit,
        title: None,
        instructions: Vec::new(),
        fields: all,
    }
}

/// `<pubsub><retract node='NODE' notify='true'><item id/></retract>`
/// (§7.2; `notify` asks the service to tell the subscribers, §7.2.2.1).
pub fn retract_request(node: &str, id: &str, notify: bool) -> Element {
    let mut retract = Element::new(NS_PUBSUB, "retract")
        .with_attr("node", node.to_string())
        .with_child(Element::new(NS_PUBSUB, "item").with_attr("id", id.to_string()));
    if notify {
        retract.set_attr("notify", "true");
    }
    Element::new(NS_PUBSUB, "pubsub").with_child(retract)
}

/// The items of a retrieval result (§6.5.3): `payload` is the result's
/// `<pubsub/>`, which must hold `<items node='NODE'/>` with at most `max`
/// items. A result without payload has no items.
pub fn parse_items(
    payload: Option<&Element>,
    node: &str,
    max: usize,
) -> Result<Vec<PepItem>, PepError> {
    let Some(pubsub) = payload else {
        return Ok(Vec::new());
    };
    let items = pubsub
        .is(NS_PUBSUB, "pubsub")
        .then(|| pubsub.child(NS_PUBSUB, "items"))
        .flatten()
        .ok_or(PepError::WrongElement {
            ns: NS_PUBSUB,
            element: "items",
        })?;
    let found = node_of(items, "items")?;
    if found != node {
        return Err(PepError::WrongNode {
            expected: node.to_string(),
            found,
        });
    }
    let mut out = Vec::new();
    for item in items.children().filter(|c| c.is(NS_PUBSUB, "item")) {
        if out.len() >= max {
            return Err(PepError::TooMany {
                what: "items in one result",
                max,
            });
        }
        out.push(PepItem::parse(item));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(from: Option<&str>, event: Element) -> Message {
        let mut m = Message::new(MessageType::Headline).with_payload(event);
        m.from = from.map(|f| f.parse().expect("jid"));
        m
    }

    fn account() -> BareJid {
        "juliet@example.com".parse().expect("jid")
    }

    fn items_event(node: &str, children: Vec<Element>) -> Element {
        let mut items = Element::new(NS_PUBSUB_EVENT, "items").with_attr("node", node.to_string());
        for c in children {
            items.push_child(c);
        }
        Element::new(NS_PUBSUB_EVENT, "event").with_child(items)
    }

    #[test]
    fn notifications_are_read_with_whose_node_it_is() {
        let payload = Element::new("urn:example", "thing");
        let item = Element::new(NS_PUBSUB_EVENT, "item")
            .with_attr("id", "a")
            .with_child(payload.clone());
        let retract = Element::new(NS_PUBSUB_EVENT, "retract").with_attr("id", "b");
        let event = items_event("urn:example", vec![item, retract]);
        let n = Notification::read(
            &message(Some("romeo@example.net"), event.clone()),
            &account(),
            &["urn:example"],
            10,
        )
        .expect("ours")
        .expect("valid");
        assert_eq!(n.jid.as_str(), "romeo@example.net");
        assert_eq!(
            n.change,
            NodeChange::Items {
                published: vec![PepItem::new("a", payload)],
                retracted: vec!["b".into()]
            }
        );
        // Without from: our own account's node.
        let n = Notification::read(
            &message(None, event.clone()),
            &account(),
            &["urn:example"],
            10,
        )
        .expect("ours")
        .expect("valid");
        assert_eq!(n.jid, account());
        // Another node: not ours to read.
        assert!(
            Notification::read(&message(None, event.clone()), &account(), &["x"], 10).is_none()
        );
        // A full JID: refused.
        assert!(matches!(
            Notification::read(
                &message(Some("romeo@example.net/orchard"), event.clone()),
                &account(),
                &["urn:example"],
                10
            ),
            Some(Err(PepError::FullJidSender(_)))
        ));
        // Bounded.
        assert!(matches!(
            Notification::read(&message(None, event), &account(), &["urn:example"], 1),
            Some(Err(PepError::TooMany { max: 1, .. }))
        ));
        let purge = Element::new(NS_PUBSUB_EVENT, "event")
            .with_child(Element::new(NS_PUBSUB_EVENT, "purge").with_attr("node", "urn:example"));
        let n = Notification::read(&message(None, purge), &account(), &["urn:example"], 1)
            .expect("ours")
            .expect("valid");
        assert_eq!(n.change, NodeChange::Purged);
    }

    #[test]
    fn results_are_checked_for_their_node_and_bounded() {
        let result = |node: &str, n: usize| {
            let mut items = Element::new(NS_PUBSUB, "items").with_attr("node", node.to_string());
            for i in 0..n {
                items.push_child(Element::new(NS_PUBSUB, "item").with_attr("id", i.to_string()));
            }
            Element::new(NS_PUBSUB, "pubsub").with_child(items)
        };
        assert_eq!(
            parse_items(Some(&result("n", 2)), "n", 2).map(|i| i.len()),
            Ok(2)
        );
        assert!(matches!(
            parse_items(Some(&result("n", 3)), "n", 2),
            Err(PepError::TooMany { .. })
        ));
        assert!(matches!(
            parse_items(Some(&result("other", 1)), "n", 2),
            Err(PepError::WrongNode { .. })
        ));
        assert_eq!(parse_items(None, "n", 2), Ok(Vec::new()));
        assert!(matches!(
            parse_items(Some(&Element::new("x", "y")), "n", 2),
            Err(PepError::WrongElement { .. })
        ));
    }

    #[test]
    fn requests_have_the_shape_of_xep_0060() {
        let r = items_request("n", &["a"], Some(1));
        let items = r.child(NS_PUBSUB, "items").expect("items");
        assert_eq!(
            (items.attr("node"), items.attr("max_items")),
            (Some("n"), Some("1"))
        );
        let opts = publish_options([("pubsub#access_model", "whitelist")]);
        let p = publish_request(
            "n",
            PepItem::new("i", Element::new("urn:x", "x")),
            Some(&opts),
        );
        let form = p
            .child(NS_PUBSUB, "publish-options")
            .and_then(|o| o.children().next())
            .expect("form");
        let form = DataForm::parse(form).expect("a form");
        assert_eq!(form.form_type(), Some(PUBLISH_OPTIONS));
        assert_eq!(form.kind, FormKind::Submit);
        let r = retract_request("n", "i", true);
        let retract = r.child(NS_PUBSUB, "retract").expect("retract");
        assert_eq!(retract.attr("notify"), Some("true"));
    }
}
