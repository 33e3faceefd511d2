//! XEP-0313 §6 archiving preferences: what the server archives by default
//! (`always`, `never`, `roster`) and the JIDs always or never archived.

use crate::stanza::BareJid;
use crate::xml::Element;

use super::NS_MAM;

/// The most JIDs read from each of `<always/>` and `<never/>`: a server
/// answer past it is refused, not truncated (a truncated list written back
/// would silently change the preferences).
pub const MAX_PREFS_JIDS: usize = 10_000;

/// What the archive keeps when no JID rule applies (§6.1 `default`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultPolicy {
    /// Every message.
    Always,
    /// No message.
    Never,
    /// Messages with contacts in the roster.
    Roster,
}

impl DefaultPolicy {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultPolicy::Always => "always",
            DefaultPolicy::Never => "never",
            DefaultPolicy::Roster => "roster",
        }
    }

    /// Reads the attribute value.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "always" => Some(DefaultPolicy::Always),
            "never" => Some(DefaultPolicy::Never),
            "roster" => Some(DefaultPolicy::Roster),
            _ => None,
        }
    }
}

/// The archiving preferences (§6.1 `<prefs/>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefs {
    /// What is kept when neither list names the JID.
    pub default: DefaultPolicy,
    /// Always archived, whatever `default` says.
    pub always: Vec<BareJid>,
    /// Never archived, whatever `default` says.
    pub never: Vec<BareJid>,
}

/// Why a `<prefs/>` answer was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefsError {
    /// The answer has no `<prefs xmlns='urn:xmpp:mam:2'/>`.
    #[error("the archive's answer has no <prefs xmlns='urn:xmpp:mam:2'/>")]
    Missing,
    /// `default` is missing or not `always`, `never` or `roster`.
    #[error("the archive's preferences have no valid default (got {0:?})")]
    BadDefault(Option<String>),
    /// A `<jid/>` is not a JID.
    #[error("the archive's preferences name an invalid JID {0:?}")]
    BadJid(String),
    /// More than [`MAX_PREFS_JIDS`] JIDs in one list.
    #[error("the archive's preferences list more than {MAX_PREFS_JIDS} JIDs")]
    TooMany,
}

impl Prefs {
    /// Archive as `default` says, with no JID rule.
    pub fn new(default: DefaultPolicy) -> Self {
        Prefs {
            default,
            always: Vec::new(),
            never: Vec::new(),
        }
    }

    /// The `<prefs/>` element of a set request.
    pub fn to_element(&self) -> Element {
        let list = |name: &str, jids: &[BareJid]| {
            let mut e = Element::new(NS_MAM, name);
            for j in jids {
                e.push_child(Element::new(NS_MAM, "jid").with_text(j.as_str().to_string()));
            }
            e
        };
        Element::new(NS_MAM, "prefs")
            .with_attr("default", self.default.as_str())
            .with_child(list("always", &self.always))
            .with_child(list("never", &self.never))
    }

    /// Reads a `<prefs/>` element.
    pub fn parse(e: &Element) -> Result<Prefs, PrefsError> {
        if !e.is(NS_MAM, "prefs") {
            return Err(PrefsError::Missing);
        }
        let default = e
            .attr("default")
            .and_then(DefaultPolicy::from_name)
            .ok_or_else(|| PrefsError::BadDefault(e.attr("default").map(str::to_string)))?;
        let list = |name: &str| -> Result<Vec<BareJid>, PrefsError> {
            let Some(l) = e.child(NS_MAM, name) else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            for j in l.children().filter(|c| c.is(NS_MAM, "jid")) {
                if out.len() == MAX_PREFS_JIDS {
                    return Err(PrefsError::TooMany);
                }
                let text = j.text();
                let jid = text
                    .trim()
                    .parse::<BareJid>()
                    .map_err(|_| PrefsError::BadJid(text.to_string()))?;
                out.push(jid);
            }
            Ok(out)
        };
        Ok(Prefs {
            default,
            always: list("always")?,
            never: list("never")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> BareJid {
        s.parse().expect("jid")
    }

    #[test]
    fn prefs_round_trip_as_the_xep_writes_them() {
        let p = Prefs {
            default: DefaultPolicy::Roster,
            always: vec![jid("romeo@montague.lit")],
            never: vec![jid("montague@montague.lit")],
        };
        let xml = p.to_element().to_xml();
        assert_eq!(
            xml,
            "<prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>romeo@montague.lit</jid>\
             </always><never><jid>montague@montague.lit</jid></never></prefs>"
        );
        assert_eq!(Prefs::parse(&p.to_element()), Ok(p));
    }

    #[test]
    fn bad_prefs_are_typed_errors() {
        let e = Element::new(NS_MAM, "prefs").with_attr("default", "sometimes");
        assert_eq!(
            Prefs::parse(&e),
            Err(PrefsError::BadDefault(Some("sometimes".into())))
        );
        let e = Element::new(NS_MAM, "prefs")
            .with_attr("default", "never")
            .with_child(
                Element::new(NS_MAM, "always")
                    .with_child(Element::new(NS_MAM, "jid").with_text("@bad")),
            );
        assert_eq!(Prefs::parse(&e), Err(PrefsError::BadJid("@bad".into())));
        assert_eq!(
            Prefs::parse(&Element::new(NS_MAM, "query")),
            Err(PrefsError::Missing)
        );
    }
}
