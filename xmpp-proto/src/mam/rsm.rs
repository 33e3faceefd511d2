//! XEP-0059 result set management, as archive queries use it: the page a
//! query asks for (§2.1 `<max/>`, §2.2 `<after/>`, §2.5 `<before/>`, an
//! empty `<before/>` for the last page) and what the answer says of the
//! page it returned (§2.1 `<first index/>`, `<last/>`, `<count/>`).

use crate::xml::Element;

/// The XEP-0059 namespace.
pub const NS_RSM: &str = "http://jabber.org/protocol/rsm";

/// The page a query asks for (XEP-0059 §2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// At most this many items (`<max/>`).
    pub max: Option<usize>,
    /// The items after this one (`<after/>`: paging forwards).
    pub after: Option<String>,
    /// The items before this one (`<before/>`: paging backwards); an empty
    /// string asks for the last page (§2.5).
    pub before: Option<String>,
}

impl Page {
    /// No limit and no cursor: the archive's first page, of its own size.
    pub fn new() -> Self {
        Page::default()
    }

    /// At most `max` items.
    pub fn with_max(mut self, max: usize) -> Self {
        self.max = Some(max);
        self
    }

    /// The items after `id` (the `last` of the previous page).
    pub fn after(mut self, id: impl Into<String>) -> Self {
        self.after = Some(id.into());
        self
    }

    /// The items before `id` (the `first` of the next page).
    pub fn before(mut self, id: impl Into<String>) -> Self {
        self.before = Some(id.into());
        self
    }

    /// The last page (an empty `<before/>`, §2.5).
    pub fn last(mut self) -> Self {
        self.before = Some(String::new());
        self
    }

    /// True when it asks for nothing in particular (no `<set/>` is sent).
    pub fn is_empty(&self) -> bool {
        *self == Page::default()
    }

    /// The `<set/>` element.
    pub fn to_element(&self) -> Element {
        let mut set = Element::new(NS_RSM, "set");
        if let Some(max) = self.max {
            set.push_child(Element::new(NS_RSM, "max").with_text(max.to_string()));
        }
        if let Some(after) = &self.after {
            set.push_child(Element::new(NS_RSM, "after").with_text(after.clone()));
        }
        if let Some(before) = &self.before {
            let mut b = Element::new(NS_RSM, "before");
            if !before.is_empty() {
                b.append_text(before.clone());
            }
            set.push_child(b);
        }
        set
    }
}

/// What an answer says of the page it returned (XEP-0059 §2.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageInfo {
    /// The first item's id (`<first/>`), none for an empty page.
    pub first: Option<String>,
    /// The first item's position in the whole set (`<first index/>`).
    pub first_index: Option<usize>,
    /// The last item's id (`<last/>`), none for an empty page.
    pub last: Option<String>,
    /// How many items the whole set has (`<count/>`), if the server said.
    pub count: Option<usize>,
}

impl PageInfo {
    /// Reads a `<set/>`. Unparsable numbers are left out (the cursor is
    /// what matters for paging).
    pub fn parse(set: &Element) -> PageInfo {
        let text = |name: &str| set.child(NS_RSM, name).map(|c| c.text().to_string());
        let first = set.child(NS_RSM, "first");
        PageInfo {
            first: first.map(|f| f.text().to_string()),
            first_index: first
                .and_then(|f| f.attr("index"))
                .and_then(|i| i.parse().ok()),
            last: text("last"),
            count: text("count").and_then(|c| c.trim().parse().ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(e: &Element) -> String {
        e.to_xml()
    }

    #[test]
    fn a_page_request_names_only_what_is_set() {
        assert!(Page::new().is_empty());
        assert_eq!(
            xml(&Page::new().with_max(50).after("a1").to_element()),
            "<set xmlns='http://jabber.org/protocol/rsm'><max>50</max><after>a1</after></set>"
        );
        assert_eq!(
            xml(&Page::new().with_max(10).last().to_element()),
            "<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set>"
        );
    }

    #[test]
    fn page_info_reads_first_last_count() {
        let set = Element::new(NS_RSM, "set")
            .with_child(
                Element::new(NS_RSM, "first")
                    .with_attr("index", "3")
                    .with_text("a"),
            )
            .with_child(Element::new(NS_RSM, "last").with_text("b"))
            .with_child(Element::new(NS_RSM, "count").with_text("x"));
        assert_eq!(
            PageInfo::parse(&set),
            PageInfo {
                first: Some("a".into()),
                first_index: Some(3),
                last: Some("b".into()),
                count: None,
            }
        );
    }
}
