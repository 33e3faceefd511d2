//! XEP-0045 status codes (§9 and the registry of §15.6): what the room says
//! about a presence or a configuration change in `<status code='…'/>`, and
//! what a departure means (§7.14 exit, §8.2 kick, §9.1 ban, §9.4 and §10.6
//! affiliation changes, §10.2 members-only, §10.9 destruction, §11.2
//! shutdown, §11.1 technical removal).

use crate::stanza::BareJid;
use crate::xml::Element;

use super::occupants::{Actor, MucItem};
use super::NS_MUC_USER;

/// A XEP-0045 status code. The ones this crate acts upon are named; any
/// other is kept as [`StatusCode::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum StatusCode {
    /// 100: any occupant may see our real JID (a non-anonymous room).
    JidsVisible,
    /// 104: the room's configuration changed (not privacy-related).
    ConfigChanged,
    /// 110: this presence is about ourselves.
    SelfPresence,
    /// 170: the room's discussions are logged (publicly archived).
    Logged,
    /// 171: the room is no longer logged.
    NotLogged,
    /// 172: the room is now non-anonymous.
    NowJidsVisible,
    /// 173: the room is now semi-anonymous.
    NowJidsToModerators,
    /// 201: the room was created by this join and waits to be configured
    /// (accept the default or submit a form: [`Muc::accept_default_config`](super::Muc::accept_default_config),
    /// [`Muc::submit_config`](super::Muc::submit_config)).
    Created,
    /// 210: the service changed our nick (on joining or on a nick change).
    NickModified,
    /// 301: banned.
    Banned,
    /// 303: the occupant changed nick (the new one is in the item).
    NickChanged,
    /// 307: kicked.
    Kicked,
    /// 321: removed because the affiliation changed.
    AffiliationChanged,
    /// 322: removed because the room became members-only.
    MembersOnly,
    /// 332: removed because the service shuts down.
    Shutdown,
    /// 333: removed because of a technical problem (the service's error).
    TechnicalError,
    /// Any other code.
    Other(u16),
}

impl StatusCode {
    /// The code for a number.
    pub fn from_code(code: u16) -> StatusCode {
        match code {
            100 => StatusCode::JidsVisible,
            104 => StatusCode::ConfigChanged,
            110 => StatusCode::SelfPresence,
            170 => StatusCode::Logged,
            171 => StatusCode::NotLogged,
            172 => StatusCode::NowJidsVisible,
            173 => StatusCode::NowJidsToModerators,
            201 => StatusCode::Created,
            210 => StatusCode::NickModified,
            301 => StatusCode::Banned,
            303 => StatusCode::NickChanged,
            307 => StatusCode::Kicked,
            321 => StatusCode::AffiliationChanged,
            322 => StatusCode::MembersOnly,
            332 => StatusCode::Shutdown,
            333 => StatusCode::TechnicalError,
            other => StatusCode::Other(other),
        }
    }

    /// The number.
    pub fn code(self) -> u16 {
        match self {
            StatusCode::JidsVisible => 100,
            StatusCode::ConfigChanged => 104,
            StatusCode::SelfPresence => 110,
            StatusCode::Logged => 170,
            StatusCode::NotLogged => 171,
            StatusCode::NowJidsVisible => 172,
            StatusCode::NowJidsToModerators => 173,
            StatusCode::Created => 201,
            StatusCode::NickModified => 210,
            StatusCode::Banned => 301,
            StatusCode::NickChanged => 303,
            StatusCode::Kicked => 307,
            StatusCode::AffiliationChanged => 321,
            StatusCode::MembersOnly => 322,
            StatusCode::Shutdown => 332,
            StatusCode::TechnicalError => 333,
            StatusCode::Other(n) => n,
        }
    }
}

/// At most this many status codes are read from one element: the registry
/// has about thirty.
const MAX_CODES: usize = 32;

/// The status codes of a `<x xmlns='…muc#user'/>`, in document order,
/// without repeats; codes that are not three-digit numbers are skipped.
pub(crate) fn codes(x: &Element) -> Vec<StatusCode> {
    let mut out = Vec::new();
    for s in x.children().filter(|c| c.is(NS_MUC_USER, "status")) {
        let Some(code) = s
            .attr("code")
            .filter(|c| c.len() == 3)
            .and_then(|c| c.parse::<u16>().ok())
        else {
            continue;
        };
        let code = StatusCode::from_code(code);
        if !out.contains(&code) {
            out.push(code);
            if out.len() == MAX_CODES {
                break;
            }
        }
    }
    out
}

/// Why an occupant (or we) left a room: [`MucEvent::OccupantLeft`](super::MucEvent::OccupantLeft)
/// and [`MucEvent::Left`](super::MucEvent::Left). Being removed is always
/// one of these, never a silent change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Departure {
    /// Left of their own will (for us: [`Muc::leave`](super::Muc::leave),
    /// or an unavailable presence the room sent without saying why).
    Left,
    /// Kicked by a moderator (307).
    Kicked(Removal),
    /// Banned (301).
    Banned(Removal),
    /// Removed because their affiliation changed (321).
    AffiliationChanged(Removal),
    /// Removed because the room became members-only (322).
    MembersOnly(Removal),
    /// Removed because the service shuts down (332).
    Shutdown(Removal),
    /// Removed because of a technical problem (333).
    Error(Removal),
    /// The room was destroyed (§10.9).
    Destroyed(Destroyed),
}

impl Departure {
    /// A short name for logs and the command-line client: `left`,
    /// `kicked`, `banned`, `affiliation-changed`, `members-only`,
    /// `shutdown`, `error`, `destroyed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Departure::Left => "left",
            Departure::Kicked(_) => "kicked",
            Departure::Banned(_) => "banned",
            Departure::AffiliationChanged(_) => "affiliation-changed",
            Departure::MembersOnly(_) => "members-only",
            Departure::Shutdown(_) => "shutdown",
            Departure::Error(_) => "error",
            Departure::Destroyed(_) => "destroyed",
        }
    }

    /// True when the occupant was removed rather than left.
    pub fn is_removal(&self) -> bool {
        !matches!(self, Departure::Left)
    }

    /// What an unavailable presence says: a `<destroy/>` first, then the
    /// codes by weight (a ban is also a kick; 307 with 333 is a technical
    /// removal, XEP-0045 §11.1).
    pub(crate) fn of(codes: &[StatusCode], item: Option<&MucItem>, x: Option<&Element>) -> Self {
        if let Some(d) = x.and_then(|x| x.child(NS_MUC_USER, "destroy")) {
            return Departure::Destroyed(Destroyed::parse(d));
        }
        let removal = || Removal {
            actor: item.and_then(|i| i.actor.clone()),
            reason: item.and_then(|i| i.reason.clone()),
        };
        let has = |c| codes.contains(&c);
        if has(StatusCode::Banned) {
            Departure::Banned(removal())
        } else if has(StatusCode::TechnicalError) {
            Departure::Error(removal())
        } else if has(StatusCode::Kicked) {
            Departure::Kicked(removal())
        } else if has(StatusCode::AffiliationChanged) {
            Departure::AffiliationChanged(removal())
        } else if has(StatusCode::MembersOnly) {
            Departure::MembersOnly(removal())
        } else if has(StatusCode::Shutdown) {
            Departure::Shutdown(removal())
        } else {
            Departure::Left
        }
    }
}

/// Who removed an occupant and why, as far as the room says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Removal {
    /// Who did it (`<actor/>`), if the room says.
    pub actor: Option<Actor>,
    /// Why (`<reason/>`), if given.
    pub reason: Option<String>,
}

/// A room's destruction (`<destroy/>`, §10.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Destroyed {
    /// The alternate venue, if the owner named one.
    pub alternate: Option<BareJid>,
    /// Why, if given.
    pub reason: Option<String>,
    /// The alternate venue's password, if given.
    pub password: Option<String>,
}

impl Destroyed {
    fn parse(d: &Element) -> Self {
        Destroyed {
            alternate: d.attr("jid").and_then(|j| j.parse::<BareJid>().ok()),
            reason: d.child_text(NS_MUC_USER, "reason").map(|r| r.to_string()),
            password: d.child_text(NS_MUC_USER, "password").map(|p| p.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for n in [
            100, 104, 110, 170, 171, 172, 173, 201, 210, 301, 303, 307, 321, 322, 332, 333, 999,
        ] {
            assert_eq!(StatusCode::from_code(n).code(), n);
        }
        assert_eq!(StatusCode::from_code(174), StatusCode::Other(174));
    }

    #[test]
    fn codes_are_read_once_and_bounded() {
        let mut x = Element::new(NS_MUC_USER, "x");
        for c in ["110", "110", "x", "1100", "201"] {
            x.push_child(Element::new(NS_MUC_USER, "status").with_attr("code", c));
        }
        assert_eq!(codes(&x), [StatusCode::SelfPresence, StatusCode::Created]);
        let mut many = Element::new(NS_MUC_USER, "x");
        for n in 100..1000 {
            many.push_child(Element::new(NS_MUC_USER, "status").with_attr("code", n.to_string()));
        }
        assert_eq!(codes(&many).len(), MAX_CODES);
    }

    #[test]
    fn a_departure_says_why() {
        use StatusCode as S;
        assert_eq!(Departure::of(&[], None, None), Departure::Left);
        assert!(matches!(
            Departure::of(&[S::Kicked, S::SelfPresence], None, None),
            Departure::Kicked(_)
        ));
        assert!(matches!(
            Departure::of(&[S::Kicked, S::Banned], None, None),
            Departure::Banned(_)
        ));
        assert!(matches!(
            Departure::of(&[S::Kicked, S::TechnicalError], None, None),
            Departure::Error(_)
        ));
        for (code, name) in [
            (S::AffiliationChanged, "affiliation-changed"),
            (S::MembersOnly, "members-only"),
            (S::Shutdown, "shutdown"),
        ] {
            assert_eq!(Departure::of(&[code], None, None).as_str(), name);
        }
        let x = Element::new(NS_MUC_USER, "x").with_child(
            Element::new(NS_MUC_USER, "destroy")
                .with_attr("jid", "coven@chat.shakespeare.lit")
                .with_child(Element::new(NS_MUC_USER, "reason").with_text("Macbeth doth come.")),
        );
        let Departure::Destroyed(d) = Departure::of(&[], None, Some(&x)) else {
            panic!("destroyed")
        };
        assert_eq!(
            d.alternate.map(|j| j.to_string()).as_deref(),
            Some("coven@chat.shakespeare.lit")
        );
        assert_eq!(d.reason.as_deref(), Some("Macbeth doth come."));
    }
}
