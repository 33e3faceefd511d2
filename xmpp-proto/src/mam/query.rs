//! XEP-0313 §4: an archive query, its XEP-0004 filter form (§4.1: `with`,
//! `start`, `end`; §4.1.3 of the extended fields: `before-id`, `after-id`,
//! `ids`), its XEP-0059 page (§4.2), and the `<fin/>` that ends it (§4.3).

use crate::disco::form::FORM_TYPE;
use crate::disco::{DataForm, FieldType, FormField, FormKind};
use crate::messages::Stamp;
use crate::stanza::{BareJid, Jid};
use crate::xml::Element;

use super::rsm::{Page, PageInfo, NS_RSM};
use super::NS_MAM;

/// An archive query: whose archive, which messages, which page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// The archive: none for the account's own, else a room's bare JID.
    pub archive: Option<BareJid>,
    /// Only messages with this JID (§4.1.1: a bare JID matches every resource).
    pub with: Option<Jid>,
    /// Only messages at or after this time (§4.1.2).
    pub start: Option<Stamp>,
    /// Only messages at or before this time (§4.1.2).
    pub end: Option<Stamp>,
    /// Only messages archived before this archive id (`before-id`).
    pub before_id: Option<String>,
    /// Only messages archived after this archive id (`after-id`).
    pub after_id: Option<String>,
    /// Only the messages of these archive ids (`ids`).
    pub ids: Vec<String>,
    /// The page (XEP-0059).
    pub page: Page,
}

impl Query {
    /// Every message of the account's own archive (the archive's first page).
    pub fn new() -> Self {
        Query::default()
    }

    /// Every message of the archive of `room`.
    pub fn room(room: BareJid) -> Self {
        Query {
            archive: Some(room),
            ..Query::default()
        }
    }

    /// Only messages with `jid`.
    pub fn with(mut self, jid: Jid) -> Self {
        self.with = Some(jid);
        self
    }

    /// Only messages at or after `stamp`.
    pub fn start(mut self, stamp: Stamp) -> Self {
        self.start = Some(stamp);
        self
    }

    /// Only messages at or before `stamp`.
    pub fn end(mut self, stamp: Stamp) -> Self {
        self.end = Some(stamp);
        self
    }

    /// Only messages archived before the archive id `id`.
    pub fn before_id(mut self, id: impl Into<String>) -> Self {
        self.before_id = Some(id.into());
        self
    }

    /// Only messages archived after the archive id `id`.
    pub fn after_id(mut self, id: impl Into<String>) -> Self {
        self.after_id = Some(id.into());
        self
    }

    /// Only the messages of these archive ids.
    pub fn ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// This page.
    pub fn page(mut self, page: Page) -> Self {
        self.page = page;
        self
    }

    /// The filter form (§4.1): a `submit` form of type `urn:xmpp:mam:2`
    /// with the filters set, none when no filter is.
    pub fn form(&self) -> Option<DataForm> {
        let mut fields = Vec::new();
        let mut single = |var: &str, value: Option<&str>| {
            if let Some(v) = value {
                fields.push(FormField::new(var, [v]));
            }
        };
        single("with", self.with.as_ref().map(Jid::as_str));
        single("start", self.start.as_ref().map(Stamp::as_str));
        single("end", self.end.as_ref().map(Stamp::as_str));
        single("before-id", self.before_id.as_deref());
        single("after-id", self.after_id.as_deref());
        if !self.ids.is_empty() {
            fields.push(FormField::new("ids", self.ids.iter().cloned()));
        }
        if fields.is_empty() {
            return None;
        }
        let mut all = vec![FormField::new(FORM_TYPE, [NS_MAM]).with_type(FieldType::Hidden)];
        all.extend(fields);
        Some(DataForm {
            kind: FormKind::Submit,
            fields: all,
            ..DataForm::default()
        })
    }

    /// The `<query/>` payload, with `query_id` as its `queryid`.
    pub fn to_element(&self, query_id: &str) -> Element {
        let mut q = Element::new(NS_MAM, "query").with_attr("queryid", query_id.to_string());
        if let Some(form) = self.form() {
            q.push_child(form.to_element());
        }
        if !self.page.is_empty() {
            q.push_child(self.page.to_element());
        }
        q
    }
}

/// The end of a query (§4.3 `<fin/>`): whether the archive has nothing
/// more in that direction, and the page returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fin {
    /// True when this page was the last one (`complete='true'`).
    pub complete: bool,
    /// The page returned: the cursor for the next query.
    pub page: PageInfo,
}

impl Fin {
    /// Reads a `<fin/>`, if `e` is one.
    pub fn parse(e: &Element) -> Option<Fin> {
        if !e.is(NS_MAM, "fin") {
            return None;
        }
        Some(Fin {
            // xs:boolean: "true" or "1"; absent means false.
            complete: matches!(e.attr("complete"), Some("true" | "1")),
            page: e
                .child(NS_RSM, "set")
                .map(PageInfo::parse)
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_without_filters_has_no_form() {
        assert_eq!(
            Query::new().to_element("q1").to_xml(),
            "<query xmlns='urn:xmpp:mam:2' queryid='q1'/>"
        );
    }

    #[test]
    fn the_filters_become_the_form_fields() {
        let q = Query::new()
            .with("romeo@example.net".parse().expect("jid"))
            .start(Stamp::parse("2010-06-07T00:00:00Z").expect("stamp"))
            .after_id("a9")
            .ids(["x1", "x2"])
            .page(Page::new().with_max(10));
        let form = q.form().expect("a form");
        assert_eq!(form.form_type(), Some(NS_MAM));
        assert_eq!(form.kind, FormKind::Submit);
        let values = |var: &str| form.field(var).map(|f| f.values.clone());
        assert_eq!(values("with"), Some(vec!["romeo@example.net".into()]));
        assert_eq!(values("start"), Some(vec!["2010-06-07T00:00:00Z".into()]));
        assert_eq!(values("after-id"), Some(vec!["a9".into()]));
        assert_eq!(values("ids"), Some(vec!["x1".into(), "x2".into()]));
        assert_eq!(values("end"), None);
        let xml = q.to_element("q2").to_xml();
        assert!(
            xml.ends_with(
                "<set xmlns='http://jabber.org/protocol/rsm'><max>10</max></set></query>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn fin_reads_complete_and_the_page() {
        let fin = Element::new(NS_MAM, "fin")
            .with_attr("complete", "true")
            .with_child(
                Element::new(NS_RSM, "set")
                    .with_child(Element::new(NS_RSM, "first").with_text("a"))
                    .with_child(Element::new(NS_RSM, "last").with_text("b"))
                    .with_child(Element::new(NS_RSM, "count").with_text("2")),
            );
        let fin = Fin::parse(&fin).expect("a fin");
        assert!(fin.complete);
        assert_eq!(fin.page.first.as_deref(), Some("a"));
        assert_eq!(fin.page.count, Some(2));
        assert_eq!(Fin::parse(&Element::new(NS_MAM, "query")), None);
    }
}
