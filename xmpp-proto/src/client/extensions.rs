//! The session side of the extension interface (see [`module`](super::module)
//! for the rules): registration, reaching a module by type, running a
//! module's hook with its context, the outgoing hooks, module deadlines, and
//! the one request a module may make of the session (`connection_lost`).

use std::any::Any;
use std::collections::VecDeque;
use std::time::Instant;

use crate::stanza::Stanza;

use super::features::StreamFeatures;
use super::module::{Module, ModuleContext, ModuleError, Provenance, RegisterError};
use super::online::CORE_IQS;
use super::{Client, DisconnectReason};

/// The registered modules and who answers which IQ requests.
#[derive(Default)]
pub(super) struct Extensions {
    pub(super) modules: Vec<Box<dyn Module>>,
    /// (namespace, element) of IQ request payloads -> module index.
    pub(super) iq_routes: Vec<((&'static str, &'static str), usize)>,
    /// (routing priority, module index) in the order messages and
    /// presences are offered to the modules: highest priority first,
    /// registration order among equals.
    pub(super) offer_order: Vec<(i32, usize)>,
    /// Stanzas modules routed again, in order, with where they came from.
    pub(super) again: Vec<(Stanza, Provenance)>,
    /// Where the stanza being routed came from (`Live` but while one from
    /// `again` is routed).
    pub(super) provenance: Provenance,
    /// When bytes last arrived on the transport (`ModuleContext::last_received`).
    pub(super) last_received: Option<Instant>,
    /// A module declared the connection lost (`ModuleContext::connection_lost`).
    pub(super) lost: Option<&'static str>,
    /// Modules that observe other modules' events (`Module::observes_events`).
    pub(super) event_observers: Vec<usize>,
}

impl Extensions {
    /// The module answering IQ requests with this payload, if any.
    pub(super) fn iq_owner(&self, ns: &str, element: &str) -> Option<usize> {
        self.iq_routes
            .iter()
            .find(|((n, e), _)| *n == ns && *e == element)
            .map(|(_, i)| *i)
    }

    fn index_of<T: Module>(&self) -> Option<usize> {
        self.modules
            .iter()
            .position(|m| (m.as_ref() as &dyn Any).is::<T>())
    }
}

impl Client {
    /// Registers a module. Modules are offered messages and presences in
    /// registration order, unless a module asks to be offered them earlier
    /// ([`Module::routing_priority`]). Refused when a module of the same type is registered, or
    /// when another module (or the core) answers one of its IQ requests.
    pub fn register<M: Module>(&mut self, module: M) -> Result<(), RegisterError> {
        let name = module.name();
        if self
            .ext
            .modules
            .iter()
            .any(|m| (m.as_ref() as &dyn Any).is::<M>())
        {
            return Err(RegisterError::Duplicate(std::any::type_name::<M>()));
        }
        let index = self.ext.modules.len();
        let mut routes = Vec::new();
        for &(ns, element) in module.iq_requests() {
            let owner = if CORE_IQS.contains(&(ns, element)) {
                Some("the core")
            } else {
                self.ext
                    .iq_owner(ns, element)
                    .map(|i| self.ext.modules[i].name())
            }
            .or_else(|| {
                routes
                    .iter()
                    .any(|(pair, _)| *pair == (ns, element))
                    .then_some(name)
            });
            if let Some(owner) = owner {
                return Err(RegisterError::IqConflict {
                    module: name,
                    ns,
                    element,
                    owner,
                });
            }
            routes.push(((ns, element), index));
        }
        self.ext.iq_routes.extend(routes);
        if module.observes_events() {
            self.ext.event_observers.push(index);
        }
        // After every module of the same or a higher priority: registration
        // order among equals.
        let priority = module.routing_priority();
        let at = self
            .ext
            .offer_order
            .iter()
            .position(|&(p, _)| p < priority)
            .unwrap_or(self.ext.offer_order.len());
        self.ext.offer_order.insert(at, (priority, index));
        self.ext.modules.push(Box::new(module));
        if self.outbox.open {
            // Our disco#info changed under the modules that were online.
            self.announce_disco_info();
        }
        Ok(())
    }

    /// The registered module of type `T`, to read its state.
    pub fn module<T: Module>(&self) -> Option<&T> {
        self.ext
            .modules
            .iter()
            .find_map(|m| (m.as_ref() as &dyn Any).downcast_ref::<T>())
    }

    /// The registered module of type `T`, to change its state without
    /// sending anything (use [`Client::with_module`] to run its commands).
    pub fn module_mut<T: Module>(&mut self) -> Option<&mut T> {
        self.ext
            .modules
            .iter_mut()
            .find_map(|m| (m.as_mut() as &mut dyn Any).downcast_mut::<T>())
    }

    /// Runs a command of the registered module of type `T` with its
    /// context, at `now`: what it sends leaves when `f` returns (through
    /// every module's outgoing hook), its events are queued like any.
    ///
    /// The same closure runs on a bare core, in the Tokio adapter's
    /// `Handle::with` and in the blocking adapter's `Sender::with`.
    pub fn with_module<T: Module, R>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut T, &mut ModuleContext<'_>) -> R,
    ) -> Result<R, ModuleError> {
        let index = self
            .ext
            .index_of::<T>()
            .ok_or(ModuleError::NotRegistered(std::any::type_name::<T>()))?;
        self.now = now;
        let result = self.with_context(index, |m, cx| {
            (m as &mut dyn Any).downcast_mut::<T>().map(|m| f(m, cx))
        });
        self.apply_module_requests();
        self.arm_session_timers();
        result
            .flatten()
            .ok_or(ModuleError::NotRegistered(std::any::type_name::<T>()))
    }

    /// Runs `f` on module `index` with its context, then sends what it
    /// queued (through the outgoing hooks). `None` for an index that is
    /// not registered (indexes come from the registration table).
    pub(super) fn with_context<R>(
        &mut self,
        index: usize,
        f: impl FnOnce(&mut dyn Module, &mut ModuleContext<'_>) -> R,
    ) -> Option<R> {
        let mut queued = Vec::new();
        let first_new_event = self.events.len();
        let m = self.ext.modules.get_mut(index)?;
        let module_name = m.name();
        let mut cx = ModuleContext {
            now: self.now,
            account: &self.config.jid,
            bound: self.bound.as_ref(),
            outbox: &mut self.outbox,
            events: &mut self.events,
            queued: &mut queued,
            again: &mut self.ext.again,
            provenance: &self.ext.provenance,
            last_received: self.ext.last_received,
            lost: &mut self.ext.lost,
            module_index: index,
            module_name,
        };
        let result = f(m.as_mut(), &mut cx);
        for stanza in queued {
            self.transmit(stanza);
        }
        if self.events.len() > first_new_event && !self.ext.event_observers.is_empty() {
            self.observe_events(index, first_new_event);
        }
        Some(result)
    }

    /// Shows the events module `index` just emitted (from `first` on in
    /// the queue) to the other modules that observe events, in place: no
    /// copy of the events. What observers emit meanwhile follows them and
    /// is not observed in turn; what they send leaves afterwards.
    fn observe_events(&mut self, index: usize, first: usize) {
        let mut extra = VecDeque::new();
        let mut queued = Vec::new();
        for k in first..self.events.len() {
            for o in 0..self.ext.event_observers.len() {
                let j = self.ext.event_observers[o];
                if j == index {
                    continue;
                }
                let Some(m) = self.ext.modules.get_mut(j) else {
                    continue;
                };
                let module_name = m.name();
                let mut cx = ModuleContext {
                    now: self.now,
                    account: &self.config.jid,
                    bound: self.bound.as_ref(),
                    outbox: &mut self.outbox,
                    events: &mut extra,
                    queued: &mut queued,
                    again: &mut self.ext.again,
                    provenance: &self.ext.provenance,
                    last_received: self.ext.last_received,
                    lost: &mut self.ext.lost,
                    module_index: j,
                    module_name,
                };
                m.observe_event(&mut cx, &self.events[k]);
            }
        }
        self.events.extend(extra);
        for stanza in queued {
            self.transmit(stanza);
        }
    }

    /// Carries out what modules asked of the session while the last input
    /// or command was handled: a connection a module declared lost
    /// (`ModuleContext::connection_lost`) ends as a timeout, the same
    /// failure as any dead connection (the reconnect policy applies).
    pub(super) fn apply_module_requests(&mut self) {
        if let Some(reason) = self.ext.lost.take() {
            // Only a connection still online: one that ended meanwhile
            // (the server closed it, the application did) is over already.
            if self.outbox.open && !self.ended {
                self.fail(DisconnectReason::Timeout(reason));
            }
        }
    }

    /// Runs `f` on every module in registration order.
    pub(super) fn each_module(
        &mut self,
        mut f: impl FnMut(&mut dyn Module, &mut ModuleContext<'_>),
    ) {
        for i in 0..self.ext.modules.len() {
            self.with_context(i, &mut f);
        }
    }

    /// Sends a stanza through every module's outgoing hook (which see it
    /// with its id: a fresh one when it had none). Returns the id.
    pub(super) fn transmit(&mut self, mut stanza: Stanza) -> String {
        let id = self.outbox.ensure_id(&mut stanza);
        for m in &mut self.ext.modules {
            m.on_outgoing(&mut stanza);
        }
        self.outbox.send_stanza(stanza);
        id
    }

    /// Online: the stream's features, our disco#info, then the `online` hooks.
    pub(super) fn modules_online(&mut self, features: &StreamFeatures, resumed: bool) {
        for m in &mut self.ext.modules {
            m.stream_features(features);
        }
        self.announce_disco_info();
        self.each_module(|m, cx| m.online(cx, resumed));
    }

    /// Offline: the `offline` hooks.
    pub(super) fn modules_offline(&mut self, resumable: bool) {
        for m in &mut self.ext.modules {
            m.offline(resumable);
        }
    }

    /// The earliest deadline of any module.
    pub(super) fn modules_deadline(&self) -> Option<Instant> {
        self.ext
            .modules
            .iter()
            .filter_map(|m| m.next_deadline())
            .min()
    }

    /// Runs the timeout hook of every module whose deadline passed.
    pub(super) fn modules_timeout(&mut self) {
        let now = self.now;
        for i in 0..self.ext.modules.len() {
            let due = self.ext.modules[i]
                .next_deadline()
                .is_some_and(|d| d <= now);
            if due {
                self.with_context(i, |m, cx| m.handle_timeout(cx, now));
            }
        }
    }

    /// The XEP-0030 features of the registered modules.
    pub(super) fn module_features(&self) -> Vec<&'static str> {
        self.ext
            .modules
            .iter()
            .flat_map(|m| m.features().iter().copied())
            .collect()
    }
}
