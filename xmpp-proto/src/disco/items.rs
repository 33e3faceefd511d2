//! XEP-0030 §4 disco#items results: the items associated with an entity
//! (or one of its nodes), each a JID with an optional node and name (§4.1,
//! §4.2), read from and written to
//! `<query xmlns='http://jabber.org/protocol/disco#items'/>`.

use crate::stanza::Jid;
use crate::xml::Element;

use super::info::bounded;
use super::limits::MAX_ITEMS;
use super::{DiscoParseError, NS_DISCO_ITEMS};

/// One item: an entity, or a node of one (§4.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DiscoItem {
    /// The item's JID (required).
    pub jid: Jid,
    /// The node, for items not addressable by a JID alone.
    pub node: Option<String>,
    /// A name for people.
    pub name: Option<String>,
}

impl DiscoItem {
    /// An item for `jid`, without node or name.
    pub fn new(jid: Jid) -> Self {
        DiscoItem {
            jid,
            node: None,
            name: None,
        }
    }

    /// With this node.
    pub fn with_node(mut self, node: impl Into<String>) -> Self {
        self.node = Some(node.into());
        self
    }

    /// With this name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn parse(item: &Element) -> Result<Self, DiscoParseError> {
        let jid = item.attr("jid").ok_or(DiscoParseError::MissingAttribute {
            element: "item",
            attribute: "jid",
        })?;
        let jid = jid
            .parse::<Jid>()
            .map_err(|_| DiscoParseError::InvalidJid(jid.to_string()))?;
        Ok(DiscoItem {
            jid,
            // §4.2: the node MUST NOT be null.
            node: item
                .attr("node")
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            name: item.attr("name").map(str::to_string),
        })
    }

    fn to_element(&self) -> Element {
        let mut e = Element::new(NS_DISCO_ITEMS, "item").with_attr("jid", self.jid.to_string());
        if let Some(node) = &self.node {
            e.set_attr("node", node.clone());
        }
        if let Some(name) = &self.name {
            e.set_attr("name", name.clone());
        }
        e
    }
}

/// The items of an entity or node, in the order received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DiscoItems {
    /// The items (none is a valid answer, §7).
    pub items: Vec<DiscoItem>,
}

impl DiscoItems {
    /// These items.
    pub fn new(items: impl IntoIterator<Item = DiscoItem>) -> Self {
        DiscoItems {
            items: items.into_iter().collect(),
        }
    }

    /// Reads a disco#items `<query/>`: every item needs a valid `jid`; at
    /// most [`MAX_ITEMS`] items (a larger list
    /// needs result set management, XEP-0059, which is not implemented).
    pub fn parse(query: &Element) -> Result<Self, DiscoParseError> {
        if !query.is(NS_DISCO_ITEMS, "query") {
            return Err(DiscoParseError::WrongElement {
                ns: NS_DISCO_ITEMS,
                element: "query",
            });
        }
        let mut items = Vec::new();
        for item in query.children().filter(|c| c.is(NS_DISCO_ITEMS, "item")) {
            bounded(&items, MAX_ITEMS, "items")?;
            items.push(DiscoItem::parse(item)?);
        }
        Ok(DiscoItems { items })
    }

    /// The items as a disco#items `<query/>`, with `node` when it answers
    /// for a node.
    pub fn to_element(&self, node: Option<&str>) -> Element {
        let mut query = Element::new(NS_DISCO_ITEMS, "query");
        if let Some(node) = node {
            query.set_attr("node", node.to_string());
        }
        for i in &self.items {
            query.push_child(i.to_element());
        }
        query
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().expect("jid")
    }

    #[test]
    fn items_round_trip() {
        let items = DiscoItems::new([
            DiscoItem::new(jid("catalog.shakespeare.lit"))
                .with_node("books")
                .with_name("Books by and about Shakespeare"),
            DiscoItem::new(jid("juliet@capulet.com/balcony")),
        ]);
        let query = items.to_element(Some("music"));
        assert_eq!(query.attr("node"), Some("music"));
        assert_eq!(DiscoItems::parse(&query), Ok(items));
        assert_eq!(
            DiscoItems::parse(&Element::new(NS_DISCO_ITEMS, "query")),
            Ok(DiscoItems::default())
        );
    }

    #[test]
    fn hostile_items_are_typed_errors() {
        let q = || Element::new(NS_DISCO_ITEMS, "query");
        assert_eq!(
            DiscoItems::parse(&q().with_child(Element::new(NS_DISCO_ITEMS, "item"))),
            Err(DiscoParseError::MissingAttribute {
                element: "item",
                attribute: "jid"
            })
        );
        assert_eq!(
            DiscoItems::parse(
                &q().with_child(Element::new(NS_DISCO_ITEMS, "item").with_attr("jid", "a@b@c"))
            ),
            Err(DiscoParseError::InvalidJid("a@b@c".into()))
        );
        let mut many = q();
        for _ in 0..=MAX_ITEMS {
            many.push_child(Element::new(NS_DISCO_ITEMS, "item").with_attr("jid", "example.com"));
        }
        assert_eq!(
            DiscoItems::parse(&many),
            Err(DiscoParseError::TooMany {
                what: "items",
                max: MAX_ITEMS
            })
        );
    }
}
