//! The module interface: how protocol extensions plug into the connection.
//!
//! A module sees the stanzas routed to it and owns its state; the connection
//! machine knows nothing about rosters or rooms. Adding an extension means
//! one new file implementing [`Module`], one `register` call, and its tests.
//!
//! Routing while online, for every stanza that passed address validation:
//! 1. IQ results/errors go to whoever sent the request (a module's
//!    [`Module::handle_iq_response`] or the application's
//!    [`Event::IqResponse`]), after the spoofing check.
//! 2. Everything else is offered to each module in registration order until
//!    one returns [`Handled::Yes`].
//! 3. Unhandled IQ get/set requests are answered `service-unavailable`
//!    (RFC 6120 §8.4); unhandled messages and presences become events.

use std::any::Any;
use std::collections::VecDeque;
use std::time::Instant;

use crate::stanza::{FullJid, Iq, Jid, Stanza};

use super::event::{Event, IqFailure, Warning, WarningKind};
use super::outbox::{IqOwner, Outbox};
use super::SendError;

/// Whether a module consumed a stanza.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Consumed: no other module or the application sees it.
    Yes,
    /// Not for this module.
    No,
}

/// What a module may do while handling input.
pub struct ModuleContext<'a> {
    now: Instant,
    own_jid: &'a FullJid,
    outbox: &'a mut Outbox,
    events: &'a mut VecDeque<Event>,
    module_index: usize,
}

impl<'a> ModuleContext<'a> {
    pub(crate) fn new(
        now: Instant,
        own_jid: &'a FullJid,
        outbox: &'a mut Outbox,
        events: &'a mut VecDeque<Event>,
        module_index: usize,
    ) -> Self {
        ModuleContext {
            now,
            own_jid,
            outbox,
            events,
            module_index,
        }
    }

    /// The current time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Our bound full JID.
    pub fn own_jid(&self) -> &FullJid {
        self.own_jid
    }

    /// Sends a stanza (an id is added when it has none).
    pub fn send(&mut self, stanza: impl Into<Stanza>) {
        self.outbox.send_stanza(stanza.into());
    }

    /// Sends an IQ request whose response comes back to this module's
    /// [`Module::handle_iq_response`]. Returns the id used.
    pub fn send_iq(&mut self, iq: Iq) -> Result<String, SendError> {
        let owner = IqOwner::Module(self.module_index);
        self.outbox.send_tracked_iq(self.now, iq, owner)
    }

    /// A fresh unique id.
    pub fn new_id(&mut self) -> String {
        self.outbox.new_id()
    }

    /// Emits an event to the application.
    pub fn emit(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// Emits a warning (refused input, the session goes on).
    pub fn warn(&mut self, message: impl Into<String>) {
        self.events.push_back(Event::Warning(Warning {
            kind: WarningKind::Module,
            message: message.into(),
        }));
    }
}

/// A protocol extension plugged into the connection.
pub trait Module: Any + Send {
    /// A short name for logs.
    fn name(&self) -> &'static str;

    /// An incoming stanza (addresses already validated). Return
    /// [`Handled::Yes`] to consume it.
    fn handle_stanza(&mut self, ctx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled;

    /// The response to an IQ this module sent with [`ModuleContext::send_iq`]
    /// (already checked to come from the address the request went to).
    fn handle_iq_response(
        &mut self,
        ctx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let _ = (ctx, id, result);
    }

    /// The session came online (resource bound).
    fn online(&mut self, ctx: &mut ModuleContext<'_>) {
        let _ = ctx;
    }

    /// The session ended.
    fn offline(&mut self) {}

    /// For downcasting to the concrete module.
    fn as_any(&self) -> &dyn Any;

    /// For downcasting to the concrete module.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// True when `from` is absent or exactly our account's bare JID: the only
/// senders allowed to push account state. RFC 6121 §2.1.6 (roster pushes)
/// and XEP-0280 §11 (carbons) name the bare JID: a full JID, even one of
/// our own other resources, is another client, which may not change our
/// roster or claim to be a copy the server made.
pub fn from_own_account(from: Option<&Jid>, own: &FullJid) -> bool {
    match from {
        None => true,
        Some(j) => j.resource().is_none() && j.to_bare() == own.to_bare(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_no_from_or_the_bare_jid_speaks_for_the_account() {
        let own: FullJid = "juliet@example.com/balcony".parse().expect("jid");
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
}
