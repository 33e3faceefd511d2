//! Moderation, administration and ownership (XEP-0045 §8-§10): roles by
//! nick (kick §8.2, voice §8.3-§8.4) and affiliations by bare JID (ban
//! §9.1, membership §9.3-§9.4, admin §10.6-§10.7, ownership §10.3-§10.4)
//! through `http://jabber.org/protocol/muc#admin`; the lists of those
//! (§8.5, §9.2, §9.5, ...); room configuration through XEP-0004 forms in
//! `http://jabber.org/protocol/muc#owner` (§10.1 creation: accept the
//! default configuration of a new room, status 201, or fetch, fill in and
//! submit the form; §10.2 later changes); and destroying a room (§10.9).
//!
//! Every command returns the request's id; the answer comes back as
//! [`MucEvent::Done`], [`MucEvent::Items`] or [`MucEvent::ConfigForm`] with
//! that id. Whether we may do it is the room's decision (`forbidden`,
//! `not-allowed` come back as the failure).

use crate::client::{Event, IqFailure, ModuleContext};
use crate::disco::form::NS_DATA_FORMS;
use crate::disco::{DataForm, DiscoParseError, FormKind};
use crate::stanza::{BareJid, Iq, IqPayload, Jid};
use crate::xml::Element;

use super::occupants::{Affiliation, MucItem, Role};
use super::{Muc, MucError, MucEvent, NS_MUC_ADMIN, NS_MUC_OWNER};

/// What a request of this module waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// An empty result ([`MucEvent::Done`]).
    Done,
    /// A list of items ([`MucEvent::Items`]).
    Items,
    /// A configuration form ([`MucEvent::ConfigForm`]).
    Form,
}

/// Why no configuration form came back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The room answered with an error (`forbidden` for a non-owner), or
    /// none came.
    #[error(transparent)]
    Iq(#[from] IqFailure),
    /// The form in the answer is not a valid data form.
    #[error("the room's configuration form is invalid: {0}")]
    Invalid(#[from] DiscoParseError),
}

/// The most items read from one list answer.
const MAX_ITEMS: usize = 10_000;

impl Muc {
    /// Sends a request to `room` and remembers what it waits for.
    fn request(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        iq: Iq,
        expect: Expect,
    ) -> Result<String, MucError> {
        if self.requests.len() >= self.limits.requests {
            return Err(MucError::TooManyRequests {
                limit: self.limits.requests,
            });
        }
        let id = cx.send_iq(iq)?;
        self.requests.insert(id.clone(), (room.clone(), expect));
        Ok(id)
    }

    fn admin_set(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        item: MucItem,
    ) -> Result<String, MucError> {
        let query = Element::new(NS_MUC_ADMIN, "query").with_child(item.to_element(NS_MUC_ADMIN));
        let iq = Iq::set(Some(Jid::from(room.clone())), "", query);
        self.request(cx, room, iq, Expect::Done)
    }

    /// Changes the role of the occupant `nick` (§8: roles go by nick):
    /// [`Role::None`] kicks, [`Role::Participant`] grants voice,
    /// [`Role::Visitor`] revokes it, [`Role::Moderator`] makes a moderator.
    pub fn set_role(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        nick: &str,
        role: Role,
        reason: Option<&str>,
    ) -> Result<String, MucError> {
        let item = MucItem {
            nick: Some(nick.to_string()),
            role: Some(role),
            reason: reason.map(str::to_string),
            ..MucItem::default()
        };
        self.admin_set(cx, room, item)
    }

    /// Kicks the occupant `nick` (§8.2): its role becomes `none`.
    pub fn kick(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        nick: &str,
        reason: Option<&str>,
    ) -> Result<String, MucError> {
        self.set_role(cx, room, nick, Role::None, reason)
    }

    /// Grants voice to the visitor `nick` (§8.3).
    pub fn grant_voice(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        nick: &str,
    ) -> Result<String, MucError> {
        self.set_role(cx, room, nick, Role::Participant, None)
    }

    /// Revokes the voice of the participant `nick` (§8.4).
    pub fn revoke_voice(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        nick: &str,
    ) -> Result<String, MucError> {
        self.set_role(cx, room, nick, Role::Visitor, None)
    }

    /// Changes the affiliation of the user `jid` (§9-§10: affiliations go
    /// by bare JID): [`Affiliation::Outcast`] bans, [`Affiliation::Member`]
    /// grants membership, [`Affiliation::Admin`] and [`Affiliation::Owner`]
    /// grant those, [`Affiliation::None`] revokes whatever it was.
    pub fn set_affiliation(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        jid: &BareJid,
        affiliation: Affiliation,
        reason: Option<&str>,
    ) -> Result<String, MucError> {
        let item = MucItem {
            jid: Some(Jid::from(jid.clone())),
            affiliation: Some(affiliation),
            reason: reason.map(str::to_string),
            ..MucItem::default()
        };
        self.admin_set(cx, room, item)
    }

    /// Bans the user `jid` (§9.1): its affiliation becomes `outcast`.
    pub fn ban(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        jid: &BareJid,
        reason: Option<&str>,
    ) -> Result<String, MucError> {
        self.set_affiliation(cx, room, jid, Affiliation::Outcast, reason)
    }

    /// Asks for the users with `affiliation` (the ban list for
    /// [`Affiliation::Outcast`], the member list, ...): [`MucEvent::Items`].
    pub fn request_affiliations(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        affiliation: Affiliation,
    ) -> Result<String, MucError> {
        let item = MucItem {
            affiliation: Some(affiliation),
            ..MucItem::default()
        };
        self.admin_get(cx, room, item)
    }

    /// Asks for the occupants with `role` (the voice list for
    /// [`Role::Participant`], the moderators): [`MucEvent::Items`].
    pub fn request_roles(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        role: Role,
    ) -> Result<String, MucError> {
        let item = MucItem {
            role: Some(role),
            ..MucItem::default()
        };
        self.admin_get(cx, room, item)
    }

    fn admin_get(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        item: MucItem,
    ) -> Result<String, MucError> {
        let query = Element::new(NS_MUC_ADMIN, "query").with_child(item.to_element(NS_MUC_ADMIN));
        let iq = Iq::get(Some(Jid::from(room.clone())), "", query);
        self.request(cx, room, iq, Expect::Items)
    }

    /// Asks for the room's configuration form (§10.1.3, §10.2; owners
    /// only): [`MucEvent::ConfigForm`]. Fill it in ([`DataForm::set`]) and
    /// hand it to [`Muc::submit_config`].
    pub fn request_config(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
    ) -> Result<String, MucError> {
        let iq = Iq::get(
            Some(Jid::from(room.clone())),
            "",
            Element::new(NS_MUC_OWNER, "query"),
        );
        self.request(cx, room, iq, Expect::Form)
    }

    /// Submits a configuration: the form as [`DataForm::submit`] makes it
    /// from `form` (a `form` the room sent, filled in; a `submit` form is
    /// sent as it is). [`MucEvent::Done`] says whether the room took it.
    pub fn submit_config(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        form: &DataForm,
    ) -> Result<String, MucError> {
        let submit = match form.kind {
            FormKind::Submit => form.clone(),
            _ => form.submit(),
        };
        self.owner_set(cx, room, submit.to_element())
    }

    /// Accepts the default configuration of a room we just created (status
    /// 201: an "instant room", §10.1.2): an empty submitted form, which
    /// unlocks the room. [`MucEvent::Done`] says whether the room took it.
    pub fn accept_default_config(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
    ) -> Result<String, MucError> {
        let x = Element::new(NS_DATA_FORMS, "x").with_attr("type", "submit");
        self.owner_set(cx, room, x)
    }

    /// Cancels the configuration of a room we just created (§10.1.3): the
    /// room is destroyed.
    pub fn cancel_config(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
    ) -> Result<String, MucError> {
        let x = Element::new(NS_DATA_FORMS, "x").with_attr("type", "cancel");
        self.owner_set(cx, room, x)
    }

    /// Destroys the room (§10.9; owners only), naming an alternate venue
    /// and a reason if given. Every occupant, us included, then leaves
    /// with [`Departure::Destroyed`](super::Departure::Destroyed).
    pub fn destroy(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        reason: Option<&str>,
        alternate: Option<&BareJid>,
    ) -> Result<String, MucError> {
        let mut destroy = Element::new(NS_MUC_OWNER, "destroy");
        if let Some(alt) = alternate {
            destroy.set_attr("jid", alt.to_string());
        }
        if let Some(r) = reason {
            destroy.push_child(Element::new(NS_MUC_OWNER, "reason").with_text(r.to_string()));
        }
        self.owner_set(cx, room, destroy)
    }

    fn owner_set(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        child: Element,
    ) -> Result<String, MucError> {
        let query = Element::new(NS_MUC_OWNER, "query").with_child(child);
        let iq = Iq::set(Some(Jid::from(room.clone())), "", query);
        self.request(cx, room, iq, Expect::Done)
    }

    /// The answer to one of this module's requests.
    pub(crate) fn on_answer(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let Some((room, expect)) = self.requests.remove(id) else {
            return;
        };
        let id = id.to_string();
        let event = match expect {
            Expect::Done => MucEvent::Done {
                id,
                room,
                result: result.map(|_| ()),
            },
            Expect::Items => MucEvent::Items {
                id,
                room,
                result: result.map(|iq| items(&iq)),
            },
            Expect::Form => MucEvent::ConfigForm {
                id,
                room,
                result: match result {
                    Ok(iq) => form(&iq).map_err(ConfigError::Invalid),
                    Err(e) => Err(ConfigError::Iq(e)),
                },
            },
        };
        cx.emit(Event::Muc(event));
    }
}

/// The payload of a result, if any.
fn payload(iq: &Iq) -> Option<&Element> {
    match &iq.payload {
        IqPayload::Result(Some(p)) => Some(p),
        _ => None,
    }
}

/// The items of a `muc#admin` list (at most [`MAX_ITEMS`]).
fn items(iq: &Iq) -> Vec<MucItem> {
    payload(iq)
        .filter(|q| q.is(NS_MUC_ADMIN, "query"))
        .map(|q| {
            q.children()
                .filter(|c| c.is(NS_MUC_ADMIN, "item"))
                .take(MAX_ITEMS)
                .map(|c| MucItem::parse(c, NS_MUC_ADMIN))
                .collect()
        })
        .unwrap_or_default()
}

/// The configuration form of a `muc#owner` answer: an empty form when the
/// room has no options (§10.1.3: "an empty query element").
fn form(iq: &Iq) -> Result<DataForm, DiscoParseError> {
    let x = payload(iq)
        .filter(|q| q.is(NS_MUC_OWNER, "query"))
        .and_then(|q| q.child(NS_DATA_FORMS, "x"));
    match x {
        Some(x) => DataForm::parse(x),
        None => Ok(DataForm {
            kind: FormKind::Form,
            ..DataForm::default()
        }),
    }
}
