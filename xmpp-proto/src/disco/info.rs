//! XEP-0030 §3.1 disco#info results: who an entity is ([`Identity`]), what
//! it supports (features), and XEP-0128 extensions (data forms), read from
//! and written to `<query xmlns='http://jabber.org/protocol/disco#info'/>`.

use crate::client::NS_DISCO_INFO;
use crate::xml::{Element, NS_XML};

use super::form::{DataForm, NS_DATA_FORMS};
use super::limits::{MAX_EXTENSIONS, MAX_FEATURES, MAX_IDENTITIES};
use super::DiscoParseError;

/// A XEP-0030 identity (§3.1; the registry's client category types are
/// `bot`, `console`, `game`, `handheld`, `pc`, `phone`, `sms`, `tablet`, `web`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    /// The category (`client`).
    pub category: String,
    /// The type within it (`pc`, `bot`, ...).
    pub kind: String,
    /// The `xml:lang` of the name, if given on the identity itself.
    pub lang: Option<String>,
    /// A name for people, if any.
    pub name: Option<String>,
}

impl Default for Identity {
    /// `client`/`pc`, without a name.
    fn default() -> Self {
        Identity::new("client", "pc")
    }
}

impl Identity {
    /// An identity of this category and type, without name or language.
    pub fn new(category: impl Into<String>, kind: impl Into<String>) -> Self {
        Identity {
            category: category.into(),
            kind: kind.into(),
            lang: None,
            name: None,
        }
    }

    /// With this name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// With this `xml:lang` (of the name).
    pub fn with_lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// Reads an `<identity/>`: `category` and `type` are required (§3.1).
    /// Only the element's own `xml:lang` counts, not one inherited from the
    /// stream: it is part of what XEP-0115 hashes.
    pub fn parse(identity: &Element) -> Result<Self, DiscoParseError> {
        let required = |attribute| {
            identity
                .attr(attribute)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or(DiscoParseError::MissingAttribute {
                    element: "identity",
                    attribute,
                })
        };
        Ok(Identity {
            category: required("category")?,
            kind: required("type")?,
            lang: identity.attr_ns(NS_XML, "lang").map(str::to_string),
            name: identity.attr("name").map(str::to_string),
        })
    }

    /// The identity as `<identity/>` (disco#info namespace).
    pub fn to_element(&self) -> Element {
        let mut e = Element::new(NS_DISCO_INFO, "identity")
            .with_attr("category", self.category.clone())
            .with_attr("type", self.kind.clone());
        if let Some(lang) = &self.lang {
            e.set_attr_ns(NS_XML, "lang", lang.clone());
        }
        if let Some(name) = &self.name {
            e.set_attr("name", name.clone());
        }
        e
    }
}

/// What an entity (or one of its nodes) says about itself: its identities,
/// features and extension forms, each list in the order received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DiscoInfo {
    /// Who the entity is (one or more).
    pub identities: Vec<Identity>,
    /// What it supports: protocol namespaces and other feature names.
    pub features: Vec<String>,
    /// XEP-0128 extended information (data forms of type `result`).
    pub extensions: Vec<DataForm>,
}

impl DiscoInfo {
    /// With these identities and features, no extension.
    pub fn new<I, S>(identities: impl IntoIterator<Item = Identity>, features: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        DiscoInfo {
            identities: identities.into_iter().collect(),
            features: features.into_iter().map(Into::into).collect(),
            extensions: Vec::new(),
        }
    }

    /// True when `feature` is among the features.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// The extension form whose `FORM_TYPE` is `form_type`.
    pub fn extension(&self, form_type: &str) -> Option<&DataForm> {
        self.extensions
            .iter()
            .find(|f| f.form_type() == Some(form_type))
    }

    /// Reads a disco#info `<query/>`. Every identity needs `category` and
    /// `type`, every feature a `var`; at most
    /// [`MAX_IDENTITIES`] identities,
    /// [`MAX_FEATURES`] features and
    /// [`MAX_EXTENSIONS`] forms. Other
    /// children are ignored; duplicates are kept as received (XEP-0115
    /// verification refuses them, [`verify`](super::verify)).
    pub fn parse(query: &Element) -> Result<Self, DiscoParseError> {
        if !query.is(NS_DISCO_INFO, "query") {
            return Err(DiscoParseError::WrongElement {
                ns: NS_DISCO_INFO,
                element: "query",
            });
        }
        let mut info = DiscoInfo::default();
        for child in query.children() {
            if child.is(NS_DISCO_INFO, "identity") {
                bounded(&info.identities, MAX_IDENTITIES, "identities")?;
                info.identities.push(Identity::parse(child)?);
            } else if child.is(NS_DISCO_INFO, "feature") {
                bounded(&info.features, MAX_FEATURES, "features")?;
                let var = child.attr("var").filter(|v| !v.is_empty()).ok_or(
                    DiscoParseError::MissingAttribute {
                        element: "feature",
                        attribute: "var",
                    },
                )?;
                info.features.push(var.to_string());
            } else if child.is(NS_DATA_FORMS, "x") {
                bounded(&info.extensions, MAX_EXTENSIONS, "extension forms")?;
                info.extensions.push(DataForm::parse(child)?);
            }
        }
        Ok(info)
    }

    /// The result as a disco#info `<query/>`, with `node` when it answers
    /// for a node (§3.2: the answer mirrors the query's node).
    pub fn to_element(&self, node: Option<&str>) -> Element {
        let mut query = Element::new(NS_DISCO_INFO, "query");
        if let Some(node) = node {
            query.set_attr("node", node.to_string());
        }
        for i in &self.identities {
            query.push_child(i.to_element());
        }
        for f in &self.features {
            query.push_child(Element::new(NS_DISCO_INFO, "feature").with_attr("var", f.clone()));
        }
        for x in &self.extensions {
            query.push_child(x.to_element());
        }
        query
    }
}

/// Refuses one more entry past `max`.
pub(super) fn bounded<T>(
    list: &[T],
    max: usize,
    what: &'static str,
) -> Result<(), DiscoParseError> {
    if list.len() >= max {
        return Err(DiscoParseError::TooMany { what, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disco::form::FormField;

    #[test]
    fn info_round_trips_with_languages_and_forms() {
        let mut info = DiscoInfo::new(
            [
                Identity::new("client", "pc")
                    .with_lang("en")
                    .with_name("Psi 0.11"),
                Identity::new("client", "pc")
                    .with_lang("el")
                    .with_name("Ψ 0.11"),
            ],
            ["http://jabber.org/protocol/caps", "urn:xmpp:ping"],
        );
        info.extensions.push(DataForm::result(
            "urn:xmpp:dataforms:softwareinfo",
            [FormField::new("os", ["Mac"])],
        ));
        let query = info.to_element(Some("n#v"));
        assert_eq!(query.attr("node"), Some("n#v"));
        let back = DiscoInfo::parse(&query).expect("valid");
        assert_eq!(back, info);
        assert!(back.has_feature("urn:xmpp:ping"));
        assert!(!back.has_feature("urn:xmpp:pin"));
        assert!(back.extension("urn:xmpp:dataforms:softwareinfo").is_some());
    }

    #[test]
    fn hostile_results_are_typed_errors() {
        let q = || Element::new(NS_DISCO_INFO, "query");
        assert!(matches!(
            DiscoInfo::parse(&Element::new("jabber:iq:version", "query")),
            Err(DiscoParseError::WrongElement { .. })
        ));
        let no_type =
            q().with_child(Element::new(NS_DISCO_INFO, "identity").with_attr("category", "client"));
        assert_eq!(
            DiscoInfo::parse(&no_type),
            Err(DiscoParseError::MissingAttribute {
                element: "identity",
                attribute: "type"
            })
        );
        let empty_var = q().with_child(Element::new(NS_DISCO_INFO, "feature").with_attr("var", ""));
        assert!(matches!(
            DiscoInfo::parse(&empty_var),
            Err(DiscoParseError::MissingAttribute {
                element: "feature",
                ..
            })
        ));
        let mut many = q();
        for i in 0..=MAX_FEATURES {
            many.push_child(
                Element::new(NS_DISCO_INFO, "feature").with_attr("var", format!("f{i}")),
            );
        }
        assert_eq!(
            DiscoInfo::parse(&many),
            Err(DiscoParseError::TooMany {
                what: "features",
                max: MAX_FEATURES
            })
        );
        let mut many = q();
        for _ in 0..=MAX_IDENTITIES {
            many.push_child(Identity::default().to_element());
        }
        assert!(matches!(
            DiscoInfo::parse(&many),
            Err(DiscoParseError::TooMany {
                what: "identities",
                ..
            })
        ));
    }
}
