//! The extension interface: how protocol extensions plug into a session.
//!
//! A module owns its state and sees only what is routed to it; the
//! connection machine knows nothing about rosters or rooms. Adding an
//! extension means one new file implementing [`Module`], one
//! [`Client::register`](crate::Client::register) call, and its tests.
//!
//! Routing while online, for every stanza that passed address validation:
//! 1. every module *observes* it ([`Module::observe_stanza`]): stream
//!    management counts it, caps read presences others consume;
//! 2. IQ results/errors go to whoever sent the request (a module's
//!    [`Module::handle_iq_response`] or the application's
//!    [`Event::IqResponse`](crate::Event::IqResponse)), after the spoofing check;
//! 3. IQ get/set requests go to the one module that registered the
//!    payload's (namespace, element) ([`Module::iq_requests`]; two owners
//!    of one pair are refused at registration), whose answer the core sends;
//!    unowned ones get `service-unavailable` (RFC 6120 §8.4), except the
//!    core's own XEP-0030 disco#info and disco#items (whose nodes modules
//!    publish: [`Module::disco_node_info`], [`Module::disco_items`]);
//!    XEP-0199 pings are the built-in [`Ping`](crate::ping::Ping) module's,
//!    registered by `Client::new`;
//! 4. messages and presences are offered to each module, highest
//!    [`Module::routing_priority`] first and in registration order among
//!    equals, until one returns [`Handled::Yes`] (or [`Handled::Take`], to
//!    be handed the stanza by value in [`Module::take_stanza`]); the rest
//!    become events.
//!
//! Every stanza that leaves the session, whoever sends it, first passes
//! each module's [`Module::on_outgoing`] (to add origin-id, caps, ...).
//! Modules send through their [`ModuleContext`]: what they send is queued
//! and written once their hook returns, so the outgoing hooks of every
//! module (the sender's included) see it.

use std::any::Any;
use std::collections::VecDeque;
use std::time::Instant;

use crate::disco::{DiscoInfo, DiscoItem};
use crate::stanza::{BareJid, DefinedCondition, ErrorType, FullJid, Iq, Jid, Stanza, StanzaError};
use crate::xml::Element;

use super::event::{Event, IqFailure, Warning, WarningKind};
use super::features::StreamFeatures;
use super::outbox::{IqOwner, Outbox};
use super::SendError;

/// Whether a module consumed what it was offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Consumed: no later module and not the application sees it.
    Yes,
    /// Not for this module.
    No,
    /// Consumed, and the module wants the stanza itself: the core hands
    /// it over by value to [`Module::take_stanza`] (no copy), and no later
    /// module and not the application sees it.
    Take,
}

/// A module's answer to an IQ request routed to it, which the core sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IqAnswer {
    /// A `result`, with this payload (none for an empty result).
    Result(Option<Element>),
    /// An `error`.
    Error(StanzaError),
}

impl IqAnswer {
    /// An `error` with this type and condition.
    pub fn error(kind: ErrorType, condition: DefinedCondition) -> Self {
        IqAnswer::Error(StanzaError::new(kind, condition))
    }
}

/// A module's registration could not be accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// Another module (or the core) already answers these IQ requests.
    #[error(
        "module {module} wants the IQ requests <{element} xmlns='{ns}'/>, \
         which {owner} already answers: register only one of them"
    )]
    IqConflict {
        /// The module being registered.
        module: &'static str,
        /// The payload namespace.
        ns: &'static str,
        /// The payload element name.
        element: &'static str,
        /// Who owns the pair already (a module's name, or `"the core"`).
        owner: &'static str,
    },
    /// A module of this type is registered already.
    #[error("a module of type {0} is registered already")]
    Duplicate(&'static str),
}

/// A module's command could not be run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// No module of the requested type was registered on this session.
    #[error("no module of type {0} is registered: register it when the session starts")]
    NotRegistered(&'static str),
}

/// An event of a third-party extension ([`Event::Extension`]): the module's
/// own event type, boxed. Built-in modules have typed variants instead.
pub struct ExtensionEvent {
    /// The name of the module that emitted it ([`Module::name`]).
    pub module: &'static str,
    /// The event; [`ExtensionEvent::downcast`] to the module's type.
    pub payload: Box<dyn Any + Send>,
}

impl ExtensionEvent {
    /// The payload as the module's event type `T`, if it is one.
    pub fn downcast<T: Any>(self) -> Result<T, Self> {
        match self.payload.downcast::<T>() {
            Ok(t) => Ok(*t),
            Err(payload) => Err(ExtensionEvent {
                module: self.module,
                payload,
            }),
        }
    }

    /// A reference to the payload as `T`, if it is one.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.payload.downcast_ref::<T>()
    }
}

impl std::fmt::Debug for ExtensionEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtensionEvent")
            .field("module", &self.module)
            .finish_non_exhaustive()
    }
}

/// What a module may do from a hook or a command: read the session's
/// addresses and time, send stanzas and tracked IQs, emit events.
pub struct ModuleContext<'a> {
    pub(super) now: Instant,
    pub(super) account: &'a BareJid,
    pub(super) bound: Option<&'a FullJid>,
    pub(super) outbox: &'a mut Outbox,
    pub(super) events: &'a mut VecDeque<Event>,
    /// Stanzas to send once the hook returns (through the outgoing hooks).
    pub(super) queued: &'a mut Vec<Stanza>,
    /// Stanzas to route again once the current one is done.
    pub(super) again: &'a mut Vec<(Stanza, Provenance)>,
    /// Where the stanza being routed came from (`Live` unless a module
    /// dispatched it again).
    pub(super) provenance: &'a Provenance,
    /// When bytes last arrived on the session's transport.
    pub(super) last_received: Option<Instant>,
    /// Set by [`ModuleContext::connection_lost`].
    pub(super) lost: &'a mut Option<&'static str>,
    pub(super) module_index: usize,
    pub(super) module_name: &'static str,
}

impl ModuleContext<'_> {
    /// The current time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The account's bare JID.
    pub fn account(&self) -> &BareJid {
        self.account
    }

    /// Our bound full JID, while online.
    pub fn own_jid(&self) -> Option<&FullJid> {
        self.bound
    }

    /// True while stanzas can be sent.
    pub fn is_online(&self) -> bool {
        self.outbox.open
    }

    /// Sends a stanza (an id is added when it has none) and returns its
    /// id. It leaves after the current hook or command, through every
    /// module's [`Module::on_outgoing`].
    pub fn send(&mut self, stanza: impl Into<Stanza>) -> Result<String, SendError> {
        self.may_send()?;
        let mut stanza = stanza.into();
        let id = self.outbox.ensure_id(&mut stanza);
        self.queued.push(stanza);
        Ok(id)
    }

    /// Sends an IQ request whose answer comes back to this module's
    /// [`Module::handle_iq_response`], after the check that it comes from
    /// the address the request went to. Returns the id used (a fresh one
    /// when the IQ has none), with which the answer is correlated.
    pub fn send_iq(&mut self, mut iq: Iq) -> Result<String, SendError> {
        self.may_send()?;
        let owner = IqOwner::Module(self.module_index);
        let id = self.outbox.track_iq(self.now, &mut iq, owner)?;
        self.queued.push(Stanza::Iq(iq));
        Ok(id)
    }

    /// Online, and room in stream management's queue (counting what this
    /// hook already queued).
    fn may_send(&self) -> Result<(), SendError> {
        if !self.outbox.open {
            return Err(SendError::NotOnline);
        }
        if self.outbox.sm.is_full(self.queued.len()) {
            return Err(SendError::QueueFull(self.outbox.sm.len()));
        }
        Ok(())
    }

    /// A fresh unique id.
    pub fn new_id(&mut self) -> String {
        self.outbox.new_id()
    }

    /// Emits an event to the application (a built-in module's typed variant).
    pub fn emit(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// Emits this module's own event type as [`Event::Extension`].
    pub fn emit_extension<T: Any + Send>(&mut self, event: T) {
        self.events.push_back(Event::Extension(ExtensionEvent {
            module: self.module_name,
            payload: Box::new(event),
        }));
    }

    /// Emits a warning: something received was refused, the session goes on.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.events.push_back(Event::Warning(Warning {
            kind: WarningKind::Module,
            message: format!("{}: {}", self.module_name, message.into()),
        }));
    }

    /// Routes `stanza` again, as if received, once the current one is done
    /// (a carbon's or an archive result's forwarded message, which every
    /// module must see as a message), marked with where it came from: the
    /// modules read it with [`ModuleContext::provenance`]. A stanza routed
    /// again cannot be routed again a second time (that would allow
    /// loops): the call is then refused with a warning. Dispatching with
    /// [`Provenance::Live`] is refused the same way: only a stanza received
    /// as it is may claim to be live.
    pub fn dispatch(&mut self, stanza: Stanza, provenance: Provenance) {
        if self.is_redispatched() {
            self.warn("refused to route a forwarded stanza a second time");
            return;
        }
        if provenance == Provenance::Live {
            self.warn("refused to route a forwarded stanza as a live one");
            return;
        }
        self.again.push((stanza, provenance));
    }

    /// True while the stanza being handled was routed again by a module
    /// ([`ModuleContext::dispatch`]) rather than received as it is.
    pub fn is_redispatched(&self) -> bool {
        *self.provenance != Provenance::Live
    }

    /// When bytes last arrived from the server, if any: whitespace
    /// keepalives included, which no hook sees (a liveness check counts
    /// them as signs of life).
    pub fn last_received(&self) -> Option<Instant> {
        self.last_received
    }

    /// Declares the connection dead: a liveness check of this module (the
    /// built-in [`Ping`](crate::ping::Ping)'s unanswered ping) says the
    /// server is gone. Once the current input or command is handled, the
    /// core ends the connection as [`DisconnectReason::Timeout`]`(reason)`,
    /// exactly as for any lost connection: IQs in flight fail, modules go
    /// offline, and with a reconnect policy the session reconnects.
    /// Ignored while the session is not online.
    ///
    /// This is the one way a module acts on the session's state. Modules
    /// cannot otherwise change it (log in, close, reconnect, bind): those
    /// transitions belong to the connection machine alone.
    ///
    /// [`DisconnectReason::Timeout`]: crate::DisconnectReason::Timeout
    pub fn connection_lost(&mut self, reason: &'static str) {
        if self.outbox.open && self.lost.is_none() {
            *self.lost = Some(reason);
        }
    }

    /// Where the stanza being handled came from: [`Provenance::Live`] for
    /// one received as it is, else what the module that unwrapped it said.
    pub fn provenance(&self) -> &Provenance {
        self.provenance
    }
}

/// Which copy of a message a XEP-0280 carbon is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Carbon {
    /// A message another resource of the account sent (`<sent/>`).
    Sent,
    /// A message another resource of the account received (`<received/>`).
    Received,
}

impl Carbon {
    /// The carbon's element name, as the CLI prints it (`"sent"`, `"received"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Carbon::Sent => "sent",
            Carbon::Received => "received",
        }
    }
}

/// Where a stanza being routed came from. Modules that unwrap a forwarded
/// stanza (carbons, archive results) route it again with
/// [`ModuleContext::dispatch`] and say what it is, so every other module
/// sees it as it sees a live one, told apart by this mark.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Provenance {
    /// Received as it is.
    #[default]
    Live,
    /// A XEP-0280 carbon copy, accepted from the account's bare JID.
    Carbon(Carbon),
    /// A stanza forwarded inside another one (XEP-0297) that the named
    /// module unwrapped for a protocol of its own (a third-party extension).
    Forwarded(&'static str),
    /// A result of a message archive query (XEP-0313).
    Archive {
        /// The id the archive gives the message (its XEP-0359 stanza-id).
        archive_id: String,
        /// The query's id, as the query set it.
        query_id: Option<String>,
        /// From an automatic catch-up ([`Mam::catch_up`](crate::mam::Mam::catch_up)),
        /// not a query of the application's: a message delivered already
        /// (live, or by an earlier catch-up) is dropped, not delivered twice.
        catch_up: bool,
    },
}

/// A protocol extension plugged into a session. Every hook has a default
/// that does nothing, so a module implements only what it needs. Modules
/// are reached from the application by type
/// ([`Client::module`](crate::Client::module),
/// [`Client::with_module`](crate::Client::with_module)); no `as_any`
/// boilerplate is needed (trait objects upcast to `dyn Any`).
pub trait Module: Any + Send {
    /// A short name, for logs, warnings and conflicts (`"roster"`).
    fn name(&self) -> &'static str;

    /// The XEP-0030 features this module implements, listed in our
    /// disco#info answer.
    fn features(&self) -> &[&'static str] {
        &[]
    }

    /// Our disco#info as the core answers it (the configured identity and
    /// every module's features): before [`Module::online`], and again when
    /// a registration while online changes it. Entity capabilities
    /// (XEP-0115) hashes it.
    fn own_disco_info(&mut self, info: &DiscoInfo) {
        let _ = info;
    }

    /// The disco#info of one of our nodes this module publishes
    /// (XEP-0030 §3.2), which the core answers with; `None` (the default)
    /// when `node` is not this module's.
    fn disco_node_info(&self, node: &str) -> Option<DiscoInfo> {
        let _ = node;
        None
    }

    /// The disco#items this module lists (XEP-0030 §4): for `None`, items
    /// added to the list of our JID itself; for a node, `Some` when the
    /// node is this module's (the core answers with the first `Some`, else
    /// `item-not-found`). The default lists nothing.
    fn disco_items(&self, node: Option<&str>) -> Option<Vec<DiscoItem>> {
        let _ = node;
        None
    }

    /// The IQ requests (get or set) this module answers, by the payload's
    /// (namespace, element name). Read once, at registration.
    fn iq_requests(&self) -> &[(&'static str, &'static str)] {
        &[]
    }

    /// The features of the stream the session runs on (after
    /// authentication), before [`Module::online`].
    fn stream_features(&mut self, features: &StreamFeatures) {
        let _ = features;
    }

    /// The session came online (resource bound, or the stream resumed).
    fn online(&mut self, ctx: &mut ModuleContext<'_>, resumed: bool) {
        let _ = (ctx, resumed);
    }

    /// The session went offline. With `resumable` the server keeps it
    /// for a resumption, so state tied to it may be kept.
    fn offline(&mut self, resumable: bool) {
        let _ = resumable;
    }

    /// Every incoming stanza (addresses validated), before it is routed:
    /// to observe, never to consume.
    fn observe_stanza(&mut self, ctx: &mut ModuleContext<'_>, stanza: &Stanza) {
        let _ = (ctx, stanza);
    }

    /// Where this module stands when messages and presences are offered
    /// ([`Module::handle_stanza`]): modules with a higher priority are
    /// offered each one first, modules of equal priority in registration
    /// order. The default, 0, keeps registration order. A module that
    /// filters what others would consume (the multi-user chat module drops
    /// groupchat traffic of rooms we are not in, before
    /// [`Messages`](crate::messages::Messages) turns every message into an
    /// event) returns a positive value, so its rule holds whatever order
    /// the application registers modules in. Read once, at registration;
    /// only this offer is ordered by it (every other hook runs in
    /// registration order).
    fn routing_priority(&self) -> i32 {
        0
    }

    /// An incoming message or presence. Return [`Handled::Yes`] to consume
    /// it, [`Handled::Take`] to consume it and be handed it by value.
    fn handle_stanza(&mut self, ctx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        let _ = (ctx, stanza);
        Handled::No
    }

    /// The stanza this module answered [`Handled::Take`] for, by value:
    /// to keep its parts (a message's body, its addresses) without copying
    /// them into an event.
    fn take_stanza(&mut self, ctx: &mut ModuleContext<'_>, stanza: Stanza) {
        let _ = (ctx, stanza);
    }

    /// An IQ request whose payload is one of [`Module::iq_requests`]. The
    /// core sends the answer: a result with the returned payload, or the error.
    fn handle_iq_request(&mut self, ctx: &mut ModuleContext<'_>, iq: &Iq) -> IqAnswer {
        let _ = (ctx, iq);
        IqAnswer::error(ErrorType::Cancel, DefinedCondition::ServiceUnavailable)
    }

    /// The answer to an IQ this module sent with [`ModuleContext::send_iq`]
    /// (already checked to come from the address the request went to), or
    /// why there is none.
    fn handle_iq_response(
        &mut self,
        ctx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let _ = (ctx, id, result);
    }

    /// Whether this module wants to see the events other modules emit
    /// ([`Module::observe_event`]). Read once, at registration.
    fn observes_events(&self) -> bool {
        false
    }

    /// An event another module just emitted, before the application gets
    /// it (only for modules whose [`Module::observes_events`] is true): to
    /// act on another module's news without either knowing the other's
    /// state (the MUC module joins the rooms bookmarks mark autojoin).
    /// Events emitted here reach the application after the observed one
    /// and are not observed in turn.
    fn observe_event(&mut self, ctx: &mut ModuleContext<'_>, event: &Event) {
        let _ = (ctx, event);
    }

    /// Every stanza about to leave, whoever sent it: to annotate it.
    fn on_outgoing(&mut self, stanza: &mut Stanza) {
        let _ = stanza;
    }

    /// A top-level element that is not a stanza (stream management's
    /// `<r/>` and `<a/>`). Return [`Handled::Yes`] to consume it.
    fn handle_nonza(&mut self, ctx: &mut ModuleContext<'_>, element: &Element) -> Handled {
        let _ = (ctx, element);
        Handled::No
    }

    /// This module's next deadline; it joins the session's.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// A deadline from [`Module::next_deadline`] passed.
    fn handle_timeout(&mut self, ctx: &mut ModuleContext<'_>, now: Instant) {
        let _ = (ctx, now);
    }
}

/// True when `from` is absent or exactly our account's bare JID: the only
/// senders allowed to push account state. RFC 6121 §2.1.6 (roster pushes)
/// and XEP-0280 §11 (carbons) name the bare JID: a full JID, even one of
/// our own other resources, is another client, which may not change our
/// roster or claim to be a copy the server made.
pub fn from_own_account(from: Option<&Jid>, account: &BareJid) -> bool {
    match from {
        None => true,
        Some(j) => j.resource().is_none() && j.to_bare() == *account,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_no_from_or_the_bare_jid_speaks_for_the_account() {
        let own: BareJid = "juliet@example.com".parse().expect("jid");
        let jid = |s: &str| s.parse::<Jid>().expect("jid");
        assert!(from_own_account(None, &own));
        assert!(from_own_account(Some(&jid("juliet@example.com")), &own));
        // Another resource of the same account, or this very one: a client.
        assert!(!from_own_account(
            Some(&jid("juliet@example.com/other")),
            &own
        ));
        assert!(!from_own_account(
            Some(&jid("juliet@example.com/balcony")),
            &own
        ));
        assert!(!from_own_account(Some(&jid("romeo@example.com")), &own));
        assert!(!from_own_account(Some(&jid("example.com")), &own));
    }

    #[test]
    fn extension_events_downcast_to_their_type() {
        #[derive(Debug, PartialEq)]
        struct Version(&'static str);
        let e = ExtensionEvent {
            module: "version",
            payload: Box::new(Version("1.0")),
        };
        assert_eq!(e.get::<Version>(), Some(&Version("1.0")));
        let e = e.downcast::<u32>().expect_err("not a u32");
        assert_eq!(e.downcast::<Version>().ok(), Some(Version("1.0")));
    }
}
