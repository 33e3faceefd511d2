//! A roster item (RFC 6121 §2.1.2): its attributes and groups, read from
//! and written to `<item/>` elements of `jabber:iq:roster`.

use crate::stanza::{BareJid, Jid};
use crate::xml::Element;

use super::NS_ROSTER;

/// The subscription state of a roster item (RFC 6121 §2.1.2.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Subscription {
    /// Neither subscribes to the other's presence.
    #[default]
    None,
    /// We receive the contact's presence.
    To,
    /// The contact receives ours.
    From,
    /// Both ways.
    Both,
}

impl Subscription {
    /// The attribute value (`none`, `to`, `from`, `both`).
    pub fn as_str(self) -> &'static str {
        match self {
            Subscription::None => "none",
            Subscription::To => "to",
            Subscription::From => "from",
            Subscription::Both => "both",
        }
    }

    fn parse(value: Option<&str>) -> Option<Self> {
        Some(match value {
            None | Some("none") => Subscription::None,
            Some("to") => Subscription::To,
            Some("from") => Subscription::From,
            Some("both") => Subscription::Both,
            _ => return None,
        })
    }
}

/// One contact of the roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterItem {
    /// The contact's bare JID.
    pub jid: BareJid,
    /// The name the user gave the contact, if any.
    pub name: Option<String>,
    /// The subscription state (set by the server, never by the client).
    pub subscription: Subscription,
    /// A subscription request of ours is pending (`ask='subscribe'`).
    pub ask: bool,
    /// The contact is pre-approved (RFC 6121 §3.4, `approved='true'`).
    pub approved: bool,
    /// The groups the contact is in (each at most once).
    pub groups: Vec<String>,
}

impl RosterItem {
    /// A new item for `jid`, in no group, as a client adds it.
    pub fn new(jid: BareJid) -> Self {
        RosterItem {
            jid,
            name: None,
            subscription: Subscription::None,
            ask: false,
            approved: false,
            groups: Vec::new(),
        }
    }

    /// With this name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// In these groups (duplicates dropped).
    pub fn with_groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups.clear();
        for g in groups {
            push_group(&mut self.groups, g.into());
        }
        self
    }

    /// The item as a client sends it in a roster set (§2.3.2): no
    /// subscription, ask or approved attribute, which only the server sets.
    pub(super) fn to_set_element(&self) -> Element {
        let mut item = Element::new(NS_ROSTER, "item").with_attr("jid", self.jid.to_string());
        if let Some(name) = &self.name {
            item.set_attr("name", name.clone());
        }
        for g in &self.groups {
            item.push_child(Element::new(NS_ROSTER, "group").with_text(g.clone()));
        }
        item
    }
}

/// What one `<item/>` of a result or push says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Parsed {
    /// The item, added or updated.
    Item(RosterItem),
    /// `subscription='remove'`: the item is gone.
    Removed(BareJid),
}

/// Reads an `<item/>`; `None` when it is not a valid item (no or a bad
/// `jid`, a JID with a resource, an unknown subscription value).
pub(super) fn parse(item: &Element) -> Option<Parsed> {
    let jid: Jid = item.attr("jid")?.parse().ok()?;
    if jid.resource().is_some() {
        return None;
    }
    let jid = jid.to_bare();
    let subscription = item.attr("subscription");
    if subscription == Some("remove") {
        return Some(Parsed::Removed(jid));
    }
    let mut groups = Vec::new();
    for g in item.children().filter(|c| c.is(NS_ROSTER, "group")) {
        let name = g.text();
        if !name.is_empty() {
            push_group(&mut groups, name.to_string());
        }
    }
    Some(Parsed::Item(RosterItem {
        jid,
        name: item
            .attr("name")
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        subscription: Subscription::parse(subscription)?,
        ask: item.attr("ask") == Some("subscribe"),
        approved: matches!(item.attr("approved"), Some("true" | "1")),
        groups,
    }))
}

fn push_group(groups: &mut Vec<String>, group: String) {
    if !groups.contains(&group) {
        groups.push(group);
    }
}
