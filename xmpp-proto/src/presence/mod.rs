//! Presence (RFC 6121 §4) and presence subscriptions (RFC 6121 §3), a
//! built-in module.
//!
//! Sending: our availability ([`Presence::available`], §4.2 initial
//! presence and §4.4 updates, with `<show/>`, `<status/>` and
//! `<priority/>`, §4.7.2) and going offline ([`Presence::unavailable`],
//! §4.5). The module remembers what we last broadcast ([`Presence::own`])
//! and sends it again when a fresh session comes online
//! ([`Presence::with_initial`] hands it to the module of the next
//! connection).
//!
//! Subscriptions (§3): [`Presence::subscribe`] (§3.1.1),
//! [`Presence::approve`] (§3.1.5), [`Presence::deny`] (§3.1.4),
//! [`Presence::unsubscribe`] (§3.3.1), [`Presence::cancel`] (§3.2.1) and
//! [`Presence::pre_approve`] (§3.4, only when the server offered
//! `<sub xmlns='urn:xmpp:features:pre-approval'/>`). Subscription
//! addresses are bare JIDs: a request from a full JID counts as from its
//! bare JID (§3.1.2). Incoming requests and answers become
//! [`PresenceEvent`]s; the requests awaiting an answer are listed by
//! [`Presence::pending_requests`].
//!
//! Availability of others (§4.4, §4.5): per bare JID, the available
//! resources with their show, status and priority ([`Presence::contact`])
//! and the best one to talk to ([`Presence::best_resource`]). Our own
//! account's other resources (and this one's broadcast echoed back, §4.2.2)
//! are tracked like any contact's, under the account's bare JID.
//!
//! What is left to others: presences of type `error` and `probe`, and
//! multi-user chat presences (with `<x xmlns='http://jabber.org/protocol/muc#user'/>`,
//! XEP-0045) are not consumed: they reach the application as
//! [`Event::Presence`] (with the [`Muc`](crate::muc::Muc) module
//! registered, which is offered them first, it consumes the rooms').
//!
//! Hostile input. The server stamps and vouches for every `from`
//! (RFC 6120 §8.1.2.1), so presence from a JID without a localpart is
//! accepted like any other: such addresses are legitimate contacts
//! (gateways, XEP-0100, subscribe and send presence from a domain JID) and
//! RFC 6121 sets no rule against them. A presence without a `from` would,
//! by RFC 6120 §8.1.2.1, come from our own account, which has no reason to
//! send us availability or subscription requests that way: it is ignored
//! with a warning. Memory is bounded by [`PresenceLimits`]: past a limit,
//! a new contact, resource or pending request is refused with a warning
//! ([`Event::Warning`]); updates to what is known are always applied.
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::presence::{Availability, Presence, PresenceError};
//! use xmpp_proto::stanza::Show;
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! client.register(Presence::new()).unwrap();
//! // Online, the application announces itself (here it is not online yet).
//! let away = Availability::new().with_show(Show::Away).with_status("lunch");
//! let sent = client.with_module(Instant::now(), |p: &mut Presence, cx| p.available(cx, away));
//! assert!(matches!(sent, Ok(Err(PresenceError::Send(_)))));
//! ```

mod contacts;
mod subscriptions;

use crate::client::{Event, Handled, Module, ModuleContext, SendError, StreamFeatures};
use crate::stanza::{self, BareJid, Jid, PresenceType, Show, Stanza};
use crate::xml::Element;

pub use contacts::{Availability, Contact};

use contacts::{Contacts, Refused};
use subscriptions::Pending;

/// The stream feature announcing subscription pre-approval (RFC 6121 §3.4).
pub const NS_PRE_APPROVAL: &str = "urn:xmpp:features:pre-approval";
/// XEP-0045 multi-user chat user namespace: presences carrying it belong
/// to rooms, not to this module.
pub const NS_MUC_USER: &str = "http://jabber.org/protocol/muc#user";

/// How much the module keeps, at most. Anything new past a limit is
/// refused with a warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresenceLimits {
    /// Contacts (bare JIDs) with at least one available resource. Default 10,000.
    pub contacts: usize,
    /// Available resources per contact. Default 32.
    pub resources: usize,
    /// Incoming subscription requests awaiting an answer. Default 1,000.
    pub pending_requests: usize,
}

impl Default for PresenceLimits {
    fn default() -> Self {
        PresenceLimits {
            contacts: 10_000,
            resources: 32,
            pending_requests: 1_000,
        }
    }
}

/// What the presence module reports ([`Event::PresenceUpdate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PresenceEvent {
    /// An entity's availability changed (or was announced again): one per
    /// available or unavailable presence received. An unavailable presence
    /// from a bare JID means every resource of it went away.
    Changed {
        /// Who: a full JID (one resource) or a bare JID (every resource,
        /// or an entity without resources).
        jid: Jid,
        /// True for available, false for unavailable.
        available: bool,
        /// The availability detail (always `None` when unavailable).
        show: Option<Show>,
        /// The status text (for unavailable: why, or the last status).
        status: Option<String>,
        /// The priority.
        priority: i8,
        /// The presence's extension elements (entity capabilities, avatar
        /// hash, idle time, ...).
        payloads: Vec<Element>,
    },
    /// Someone asks to see our presence (RFC 6121 §3.1.2). Answer with
    /// [`Presence::approve`] or [`Presence::deny`]; until then it is listed
    /// in [`Presence::pending_requests`]. The same request may come again
    /// (the server redelivers pending requests at each login, §3.1.3).
    SubscriptionRequest {
        /// Who asks (a full JID sender is reduced to its bare JID).
        from: BareJid,
        /// The text they sent along, if any.
        status: Option<String>,
    },
    /// Our request to see `from`'s presence was approved (§3.1.5): their
    /// presence follows.
    SubscriptionApproved {
        /// Who approved.
        from: BareJid,
    },
    /// `from` no longer wants to see our presence, or withdrew their
    /// pending request (§3.3.2).
    ContactUnsubscribed {
        /// Who unsubscribed.
        from: BareJid,
    },
    /// `from` denied our request or cancelled our subscription (§3.1.5,
    /// §3.2.2): we no longer receive their presence, and what we knew of
    /// it was forgotten.
    SubscriptionRevoked {
        /// Who revoked it.
        from: BareJid,
    },
}

/// A presence command could not be carried out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresenceError {
    /// The stanza could not be sent (not online).
    #[error("cannot send the presence: {0}")]
    Send(#[from] SendError),
    /// Pre-approval (RFC 6121 §3.4) needs the server's support, which this
    /// server did not advertise in its stream features.
    #[error(
        "the server does not support subscription pre-approval (RFC 6121 §3.4): \
         wait for {jid}'s subscription request and approve it then"
    )]
    PreApprovalUnsupported {
        /// Whom we tried to pre-approve.
        jid: BareJid,
    },
    /// [`Presence::approve`] with no request from `jid` pending.
    #[error(
        "no subscription request from {jid} is pending: approve it when it arrives \
         (PresenceEvent::SubscriptionRequest), or pre-approve it with pre_approve \
         if the server supports that"
    )]
    NoPendingRequest {
        /// Whom we tried to approve.
        jid: BareJid,
    },
}

/// The presence module: our availability, subscriptions, and the
/// availability of contacts. Register it with
/// [`Client::register`](crate::Client::register); run its commands with
/// [`Client::with_module`](crate::Client::with_module); read its state
/// with [`Client::module`](crate::Client::module).
#[derive(Clone, Debug, Default)]
pub struct Presence {
    limits: PresenceLimits,
    /// What we last broadcast as available; `None` once unavailable.
    own: Option<Availability>,
    /// The server offered subscription pre-approval.
    pre_approval: bool,
    contacts: Contacts,
    pending: Pending,
}

impl Presence {
    /// A module with the default [`PresenceLimits`], sending nothing until
    /// told to.
    pub fn new() -> Self {
        Presence::default()
    }

    /// Builder: other limits.
    pub fn with_limits(mut self, limits: PresenceLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Builder: the availability to broadcast as soon as the session comes
    /// online (not when it resumes: the server kept it). Hand it
    /// [`Presence::own`] of the previous connection's module to come back
    /// as we were. Register the roster module first, so that the roster
    /// is requested before presence is sent (RFC 6121 §2.2).
    pub fn with_initial(mut self, availability: Availability) -> Self {
        self.own = Some(availability);
        self
    }

    // ===== our presence =====

    /// Broadcasts our availability (initial presence, RFC 6121 §4.2, or an
    /// update, §4.4) and remembers it.
    pub fn available(
        &mut self,
        cx: &mut ModuleContext<'_>,
        availability: Availability,
    ) -> Result<(), PresenceError> {
        cx.send(broadcast(&availability))?;
        self.own = Some(availability);
        Ok(())
    }

    /// Broadcasts that we are going offline (RFC 6121 §4.5), with an
    /// optional reason. The session stays open (close it with
    /// [`Client::close`](crate::Client::close)); nothing is sent at the
    /// next login until [`Presence::available`].
    pub fn unavailable(
        &mut self,
        cx: &mut ModuleContext<'_>,
        status: Option<String>,
    ) -> Result<(), PresenceError> {
        let mut p = stanza::Presence::unavailable();
        p.status = status;
        cx.send(p)?;
        self.own = None;
        Ok(())
    }

    /// Broadcasts [`Presence::own`] again, if we are available; returns
    /// whether anything was sent.
    pub fn resend(&mut self, cx: &mut ModuleContext<'_>) -> Result<bool, PresenceError> {
        match &self.own {
            Some(a) => {
                cx.send(broadcast(a))?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// What we last broadcast as available (or will at login, see
    /// [`Presence::with_initial`]); `None` when unavailable.
    pub fn own(&self) -> Option<&Availability> {
        self.own.as_ref()
    }

    // ===== subscriptions =====

    /// Asks to see `jid`'s presence (RFC 6121 §3.1.1), with an optional
    /// text for them. Their answer comes as
    /// [`PresenceEvent::SubscriptionApproved`] or
    /// [`PresenceEvent::SubscriptionRevoked`] (or never).
    pub fn subscribe(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: &BareJid,
        status: Option<String>,
    ) -> Result<(), PresenceError> {
        let mut p = stanza::Presence::subscribe(jid.clone());
        p.status = status;
        cx.send(p)?;
        Ok(())
    }

    /// Approves `jid`'s pending request (`subscribed`, RFC 6121 §3.1.5).
    /// Without one, refused with [`PresenceError::NoPendingRequest`]:
    /// approving in advance is [`Presence::pre_approve`].
    pub fn approve(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: &BareJid,
    ) -> Result<(), PresenceError> {
        if !self.pending.contains(jid) {
            return Err(PresenceError::NoPendingRequest { jid: jid.clone() });
        }
        self.send_subscribed(cx, jid)
    }

    /// Approves `jid`'s subscription before they ask (RFC 6121 §3.4), when
    /// the server supports it (else [`PresenceError::PreApprovalUnsupported`],
    /// and nothing is sent). With their request pending, this approves it.
    pub fn pre_approve(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: &BareJid,
    ) -> Result<(), PresenceError> {
        if !self.pre_approval && !self.pending.contains(jid) {
            return Err(PresenceError::PreApprovalUnsupported { jid: jid.clone() });
        }
        self.send_subscribed(cx, jid)
    }

    /// `subscribed` to `jid`, which answers their request if one is pending.
    fn send_subscribed(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: &BareJid,
    ) -> Result<(), PresenceError> {
        cx.send(stanza::Presence::subscribed(jid.clone()))?;
        self.pending.remove(jid);
        Ok(())
    }

    /// Denies `jid`'s request (`unsubscribed`, RFC 6121 §3.1.4). Sent even
    /// when no request from them is pending (harmless: the server ignores
    /// it, or it cancels a subscription they had); returns whether one was.
    pub fn deny(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: &BareJid,
    ) -> Result<bool, PresenceError> {
        cx.send(stanza::Presence::unsubscribed(jid.clone()))?;
        Ok(self.pending.remove(jid))
    }

    /// Stops seeing `jid`'s presence (`unsubscribe`, RFC 6121 §3.3.1): what
    /// we knew of it is forgotten (an event says so when anything was).
    pub fn unsubscribe(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: &BareJid,
    ) -> Result<(), PresenceError> {
        cx.send(stanza::Presence::unsubscribe(jid.clone()))?;
        self.forget(cx, jid);
        Ok(())
    }

    /// Revokes `jid`'s subscription to our presence (`unsubscribed`, RFC
    /// 6121 §3.2.1); a pending request from them is answered by it too.
    pub fn cancel(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: &BareJid,
    ) -> Result<(), PresenceError> {
        cx.send(stanza::Presence::unsubscribed(jid.clone()))?;
        self.pending.remove(jid);
        Ok(())
    }

    /// The requests awaiting an answer, with the text each came with.
    pub fn pending_requests(&self) -> impl Iterator<Item = (&BareJid, Option<&str>)> {
        self.pending.iter()
    }

    /// True when the server offered subscription pre-approval (RFC 6121 §3.4).
    pub fn supports_pre_approval(&self) -> bool {
        self.pre_approval
    }

    // ===== others' presence =====

    /// The available resources of `jid`; `None` when none is.
    pub fn contact(&self, jid: &BareJid) -> Option<&Contact> {
        self.contacts.get(jid)
    }

    /// The best resource of `jid` (see [`Contact::best`]): the address to
    /// talk to and its availability.
    pub fn best_resource(&self, jid: &BareJid) -> Option<(&Jid, &Availability)> {
        self.contacts.get(jid).and_then(Contact::best)
    }

    /// Every contact with an available resource, by bare JID.
    pub fn contacts(&self) -> impl Iterator<Item = (&BareJid, &Contact)> {
        self.contacts.iter()
    }

    /// The limits in force.
    pub fn limits(&self) -> PresenceLimits {
        self.limits
    }

    // ===== incoming =====

    fn on_available(&mut self, cx: &mut ModuleContext<'_>, from: &Jid, p: &stanza::Presence) {
        let availability = Availability {
            show: p.show,
            status: p.status.clone(),
            priority: p.priority,
        };
        let limits = self.limits;
        match self
            .contacts
            .available(from, availability, limits.contacts, limits.resources)
        {
            Ok(()) => emit(cx, changed(from, true, p)),
            Err(Refused::TooManyContacts { limit }) => cx.warn(format!(
                "ignored the presence of {from}: {limit} contacts are tracked already \
                 (PresenceLimits::contacts)"
            )),
            Err(Refused::TooManyResources { limit }) => cx.warn(format!(
                "ignored the presence of {from}: {limit} resources of {} are tracked already \
                 (PresenceLimits::resources)",
                from.to_bare()
            )),
        }
    }

    fn on_unavailable(&mut self, cx: &mut ModuleContext<'_>, from: &Jid, p: &stanza::Presence) {
        self.contacts.unavailable(from);
        emit(cx, changed(from, false, p));
    }

    fn on_subscription(&mut self, cx: &mut ModuleContext<'_>, from: &Jid, p: &stanza::Presence) {
        let from = from.to_bare();
        let event = match p.type_ {
            PresenceType::Subscribe => {
                let status = p.status.clone();
                if !self
                    .pending
                    .add(from.clone(), status.clone(), self.limits.pending_requests)
                {
                    return cx.warn(format!(
                        "ignored the subscription request of {from}: {} requests are pending \
                         already (PresenceLimits::pending_requests); the server delivers it \
                         again at the next login",
                        self.limits.pending_requests
                    ));
                }
                PresenceEvent::SubscriptionRequest { from, status }
            }
            PresenceType::Subscribed => PresenceEvent::SubscriptionApproved { from },
            PresenceType::Unsubscribe => {
                self.pending.remove(&from);
                PresenceEvent::ContactUnsubscribed { from }
            }
            PresenceType::Unsubscribed => {
                self.forget(cx, &from);
                PresenceEvent::SubscriptionRevoked { from }
            }
            _ => return,
        };
        emit(cx, event);
    }

    /// Forgets what we knew of `jid`'s presence, saying so when anything.
    fn forget(&mut self, cx: &mut ModuleContext<'_>, jid: &BareJid) {
        if self.contacts.forget(jid) > 0 {
            emit(
                cx,
                PresenceEvent::Changed {
                    jid: jid.clone().into(),
                    available: false,
                    show: None,
                    status: None,
                    priority: 0,
                    payloads: Vec::new(),
                },
            );
        }
    }
}

impl Module for Presence {
    fn name(&self) -> &'static str {
        "presence"
    }

    fn stream_features(&mut self, features: &StreamFeatures) {
        self.pre_approval = features.has(NS_PRE_APPROVAL, "sub");
    }

    fn online(&mut self, cx: &mut ModuleContext<'_>, resumed: bool) {
        if resumed {
            return;
        }
        self.contacts.clear();
        self.pending.clear();
        if let Some(a) = &self.own {
            if let Err(e) = cx.send(broadcast(a)) {
                cx.warn(format!("could not send the initial presence: {e}"));
            }
        }
    }

    fn offline(&mut self, resumable: bool) {
        // A resumed session keeps its presence subscriptions flowing; a new
        // one gets everything again from the server.
        if !resumable {
            self.contacts.clear();
            self.pending.clear();
        }
    }

    fn handle_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        let Stanza::Presence(p) = stanza else {
            return Handled::No;
        };
        if matches!(p.type_, PresenceType::Error | PresenceType::Probe)
            || p.payloads.iter().any(|x| x.is(NS_MUC_USER, "x"))
        {
            return Handled::No;
        }
        let Some(from) = &p.from else {
            cx.warn(format!(
                "ignored a presence of type {} without a sender",
                p.type_
            ));
            return Handled::Yes;
        };
        match p.type_ {
            PresenceType::Available => self.on_available(cx, from, p),
            PresenceType::Unavailable => self.on_unavailable(cx, from, p),
            _ => self.on_subscription(cx, from, p),
        }
        Handled::Yes
    }
}

/// The broadcast presence for an availability.
fn broadcast(a: &Availability) -> stanza::Presence {
    stanza::Presence {
        show: a.show,
        status: a.status.clone(),
        priority: a.priority,
        ..stanza::Presence::available()
    }
}

fn changed(from: &Jid, available: bool, p: &stanza::Presence) -> PresenceEvent {
    PresenceEvent::Changed {
        jid: from.clone(),
        available,
        show: if available { p.show } else { None },
        status: p.status.clone(),
        priority: p.priority,
        payloads: p.payloads.clone(),
    }
}

fn emit(cx: &mut ModuleContext<'_>, event: PresenceEvent) {
    cx.emit(Event::PresenceUpdate(event));
}
