//! Invitations, both ways: mediated ones through the room (XEP-0045
//! §7.8.2: `<x xmlns='http://jabber.org/protocol/muc#user'><invite/></x>`
//! sent to the room, which forwards it from its own bare JID; declined
//! with `<decline/>`, §7.8.2 too) and direct ones (XEP-0249: `<x
//! xmlns='jabber:x:conference' jid='room'/>` sent to the invitee).
//!
//! Received invitations are kept until accepted ([`Muc::accept`]) or
//! declined ([`Muc::decline`]), at most [`MucLimits::invitations`] of
//! them, one per room (XEP-0249 §4: present only one of several, and drop
//! those to rooms we are in). A mediated invitation is believed only from
//! a bare JID: a room forwards it from its own address, so one from a full
//! JID is no room's and is dropped with a warning. A direct invitation
//! names its room in `jid`, which must be a bare JID.
//!
//! [`MucLimits::invitations`]: super::MucLimits::invitations

use crate::client::{Event, ModuleContext};
use crate::stanza::{BareJid, Jid, Message, MessageType};
use crate::xml::Element;

use super::{Muc, MucError, MucEvent, NS_CONFERENCE, NS_MUC_USER};

/// How an invitation came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationKind {
    /// Through the room (XEP-0045 §7.8.2).
    Mediated,
    /// From the inviter directly (XEP-0249).
    Direct,
}

/// An invitation to a room ([`MucEvent::Invited`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// The room.
    pub room: BareJid,
    /// Who invites: for a direct invitation the sender, for a mediated one
    /// whom the room names (its word).
    pub from: Option<Jid>,
    /// Why, if given.
    pub reason: Option<String>,
    /// The room's password, if given.
    pub password: Option<String>,
    /// The one-to-one chat thread the room continues, if any.
    pub thread: Option<String>,
    /// How it came.
    pub kind: InvitationKind,
}

/// What a message about invitations says.
enum Incoming {
    Invite(Invitation),
    Declined {
        room: BareJid,
        from: Option<Jid>,
        reason: Option<String>,
    },
}

/// True when `m` is an invitation or a decline this module reads.
pub(crate) fn is_invitation(m: &Message) -> bool {
    if m.type_ == MessageType::Error {
        return false;
    }
    m.payloads.iter().any(|p| {
        p.is(NS_CONFERENCE, "x")
            || (p.is(NS_MUC_USER, "x")
                && (p.child(NS_MUC_USER, "invite").is_some()
                    || p.child(NS_MUC_USER, "decline").is_some()))
    })
}

/// Reads an invitation or decline; `Err` says why it was refused.
fn parse(m: &Message) -> Result<Incoming, String> {
    let sender = m.from.as_ref().map_or("(no from)", Jid::as_str);
    if let Some(x) = m.payloads.iter().find(|p| p.is(NS_MUC_USER, "x")) {
        // Mediated: only the room, from its bare JID, forwards these.
        let room = match &m.from {
            Some(from) if from.resource().is_none() && from.node().is_some() => from.to_bare(),
            _ => {
                return Err(format!(
                    "dropped a mediated invitation from {sender}: rooms send them from their \
                     bare JID"
                ))
            }
        };
        let jid_attr = |e: &Element| e.attr("from").and_then(|f| f.parse::<Jid>().ok());
        let reason = |e: &Element| {
            e.child_text(NS_MUC_USER, "reason")
                .map(|r| r.trim().to_string())
        };
        if let Some(invite) = x.child(NS_MUC_USER, "invite") {
            return Ok(Incoming::Invite(Invitation {
                from: jid_attr(invite),
                reason: reason(invite),
                password: x.child_text(NS_MUC_USER, "password").map(|p| p.to_string()),
                thread: invite
                    .child(NS_MUC_USER, "continue")
                    .and_then(|c| c.attr("thread"))
                    .map(str::to_string),
                kind: InvitationKind::Mediated,
                room,
            }));
        }
        if let Some(decline) = x.child(NS_MUC_USER, "decline") {
            return Ok(Incoming::Declined {
                room,
                from: jid_attr(decline),
                reason: reason(decline),
            });
        }
    }
    let Some(x) = m.payloads.iter().find(|p| p.is(NS_CONFERENCE, "x")) else {
        return Err(format!(
            "dropped an invitation from {sender} without a room"
        ));
    };
    let room = match x.attr("jid").map(str::parse::<Jid>) {
        Some(Ok(j)) if j.resource().is_none() && j.node().is_some() => j.to_bare(),
        _ => {
            return Err(format!(
                "dropped a direct invitation from {sender}: its jid is not a room's bare JID"
            ))
        }
    };
    Ok(Incoming::Invite(Invitation {
        room,
        from: m.from.clone(),
        reason: x.attr("reason").map(str::to_string),
        password: x.attr("password").map(str::to_string),
        thread: (x.attr("continue") == Some("true") || x.attr("continue") == Some("1"))
            .then(|| x.attr("thread").map(str::to_string))
            .flatten(),
        kind: InvitationKind::Direct,
    }))
}

impl Muc {
    /// A received invitation or decline ([`is_invitation`]).
    pub(crate) fn on_invitation(&mut self, cx: &mut ModuleContext<'_>, m: &Message) {
        match parse(m) {
            Err(why) => cx.warn(why),
            Ok(Incoming::Declined { room, from, reason }) => {
                cx.emit(Event::Muc(MucEvent::Declined { room, from, reason }))
            }
            Ok(Incoming::Invite(invitation)) => {
                // XEP-0249 §4: not to a room we are in, and only one per room.
                if self.rooms.contains_key(&invitation.room)
                    || self.invitations.iter().any(|i| i.room == invitation.room)
                {
                    return;
                }
                if self.invitations.len() >= self.limits.invitations {
                    return cx.warn(format!(
                        "dropped an invitation to {}: {} invitations are pending already \
                         (MucLimits::invitations)",
                        invitation.room, self.limits.invitations
                    ));
                }
                self.invitations.push(invitation.clone());
                cx.emit(Event::Muc(MucEvent::Invited(invitation)));
            }
        }
    }

    /// The invitations received and not yet accepted or declined.
    pub fn invitations(&self) -> impl Iterator<Item = &Invitation> {
        self.invitations.iter()
    }

    /// Accepts the pending invitation to `room`: joins it as `nick`, with
    /// the password the invitation carried.
    pub fn accept(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        nick: &str,
    ) -> Result<(), MucError> {
        let Some(at) = self.invitations.iter().position(|i| i.room == *room) else {
            return Err(MucError::NoInvitation(room.clone()));
        };
        let mut join = super::Join::new(room.clone(), nick);
        join.password = self.invitations[at].password.clone();
        self.join(cx, join)
    }

    /// Declines the pending invitation to `room`: a mediated one through
    /// the room to the inviter (§7.8.2), a direct one silently (XEP-0249
    /// §3). It is forgotten either way.
    pub fn decline(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        reason: Option<&str>,
    ) -> Result<(), MucError> {
        let Some(at) = self.invitations.iter().position(|i| i.room == *room) else {
            return Err(MucError::NoInvitation(room.clone()));
        };
        let invitation = self.invitations.remove(at);
        if invitation.kind == InvitationKind::Mediated {
            // Back to the inviter as the room named it: a bare, full or
            // occupant JID (§7.8.2), which the room resolves.
            let mut decline = Element::new(NS_MUC_USER, "decline");
            if let Some(to) = &invitation.from {
                decline.set_attr("to", to.to_string());
            }
            if let Some(r) = reason {
                decline.push_child(Element::new(NS_MUC_USER, "reason").with_text(r.to_string()));
            }
            let x = Element::new(NS_MUC_USER, "x").with_child(decline);
            cx.send(
                Message::new(MessageType::Normal)
                    .with_to(room.clone())
                    .with_payload(x),
            )?;
        }
        Ok(())
    }

    /// Invites `to` into `room` through the room (a mediated invitation,
    /// §7.8.2: what members-only rooms need). Returns the message's id.
    pub fn invite(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        to: &Jid,
        reason: Option<&str>,
    ) -> Result<String, MucError> {
        let mut invite = Element::new(NS_MUC_USER, "invite").with_attr("to", to.to_string());
        if let Some(r) = reason {
            invite.push_child(Element::new(NS_MUC_USER, "reason").with_text(r.to_string()));
        }
        let x = Element::new(NS_MUC_USER, "x").with_child(invite);
        Ok(cx.send(
            Message::new(MessageType::Normal)
                .with_to(room.clone())
                .with_payload(x),
        )?)
    }

    /// Invites `to` into `room` directly (XEP-0249), with the password we
    /// joined the room with, if any. Returns the message's id.
    pub fn invite_direct(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        to: &Jid,
        reason: Option<&str>,
    ) -> Result<String, MucError> {
        let mut x = Element::new(NS_CONFERENCE, "x").with_attr("jid", room.to_string());
        if let Some(p) = self.rooms.get(room).and_then(|r| r.password.clone()) {
            x.set_attr("password", p);
        }
        if let Some(r) = reason {
            x.set_attr("reason", r.to_string());
        }
        Ok(cx.send(
            Message::new(MessageType::Normal)
                .with_to(to.clone())
                .with_payload(x),
        )?)
    }
}
