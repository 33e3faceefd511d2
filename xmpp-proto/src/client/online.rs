//! Routing while online (RFC 6120 §8, §10): address checks, the modules'
//! hooks (see [`module`](super::module) for the order), IQ response matching
//! with spoofing protection, the `service-unavailable` answer to unowned
//! requests, and what the core answers itself: XEP-0030 disco#info and
//! disco#items about this client (answered in `disco.rs`). (XEP-0199
//! pings, answers and liveness checks, are the built-in `ping` module's.)

use crate::disco::NS_DISCO_ITEMS;
use crate::iq_tracker::ResponseMatch;
use crate::stanza::{
    DefinedCondition, ErrorType, FullJid, Iq, IqPayload, Jid, JidSource, Stanza, NS_CLIENT,
};
use crate::xml::Element;

use super::event::{Event, IqFailure, WarningKind};
use super::module::{Handled, IqAnswer, Provenance};
use super::{Client, IqOwner};

/// XEP-0030 disco#info namespace.
pub const NS_DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";

/// The IQ requests the core answers itself; no module may claim them.
pub(super) const CORE_IQS: [(&str, &str); 2] =
    [(NS_DISCO_INFO, "query"), (NS_DISCO_ITEMS, "query")];

impl Client {
    pub(super) fn online_element(&mut self, element: Element) {
        if self.bound.is_none() {
            return;
        }
        let is_stanza = element.ns() == NS_CLIENT
            && matches!(element.local_name(), "message" | "presence" | "iq");
        if !is_stanza {
            if element.ns() == crate::ns::NS_SM {
                return self.sm_nonza(element);
            }
            return self.nonza(element);
        }
        // XEP-0198: handled once received, valid or not.
        if self.sm.phase == super::sm::Phase::On {
            self.sm.handled = self.sm.handled.wrapping_add(1);
        }
        let mut jids = JidSource::cached(&mut self.jids, self.bound.as_ref());
        let mut dropped = Vec::new();
        let stanza = match Stanza::parse_received(element, &mut jids, &mut dropped) {
            Ok(s) => s,
            Err(e) => {
                return self.warn(
                    WarningKind::InvalidStanza,
                    format!("dropped an invalid stanza: {e}"),
                )
            }
        };
        for e in dropped {
            self.warn(
                WarningKind::InvalidStanza,
                format!("kept the first text and dropped the other: {e}"),
            );
        }
        if let Some(to) = stanza.to() {
            if !self
                .bound
                .as_ref()
                .is_some_and(|own| addressed_to_us(to, own))
            {
                return self.warn(
                    WarningKind::InvalidStanza,
                    format!("dropped a stanza addressed to {to}, not to us"),
                );
            }
        }
        self.route(stanza);
        // What modules routed again, after the stanza that carried it.
        for (stanza, provenance) in std::mem::take(&mut self.ext.again) {
            self.ext.provenance = provenance;
            self.route(stanza);
            self.ext.provenance = Provenance::Live;
            if self.ended {
                return;
            }
        }
    }

    fn route(&mut self, stanza: Stanza) {
        self.each_module(|m, cx| m.observe_stanza(cx, &stanza));
        match stanza {
            Stanza::Iq(iq) if !iq.is_request() => {
                if self.ext.provenance != Provenance::Live {
                    self.warn(
                        WarningKind::InvalidStanza,
                        "ignored an IQ response forwarded inside another stanza".into(),
                    );
                } else {
                    self.iq_response(iq);
                }
            }
            Stanza::Iq(iq) => self.iq_request(iq),
            stanza => self.offer(stanza),
        }
    }

    /// A message or presence: to the modules (highest routing priority
    /// first) until one consumes it, else to the application.
    fn offer(&mut self, stanza: Stanza) {
        for k in 0..self.ext.offer_order.len() {
            let (_, i) = self.ext.offer_order[k];
            match self.with_context(i, |m, cx| m.handle_stanza(cx, &stanza)) {
                Some(Handled::Yes) => return,
                Some(Handled::Take) => {
                    self.with_context(i, |m, cx| m.take_stanza(cx, stanza));
                    return;
                }
                Some(Handled::No) | None => {}
            }
        }
        match stanza {
            Stanza::Message(m) => self.events.push_back(Event::Message(m)),
            Stanza::Presence(p) => self.events.push_back(Event::Presence(p)),
            Stanza::Iq(_) => {}
        }
    }

    /// An IQ get/set: to the module that owns its payload, or answered here.
    fn iq_request(&mut self, iq: Iq) {
        let (ns, name) = match iq.payload_element() {
            Some(p) => (p.ns().to_string(), p.local_name().to_string()),
            None => (String::new(), String::new()),
        };
        let answer = match self.ext.iq_owner(&ns, &name) {
            Some(i) => self
                .with_context(i, |m, cx| m.handle_iq_request(cx, &iq))
                .unwrap_or_else(unavailable),
            None if (ns.as_str(), name.as_str()) == (NS_DISCO_INFO, "query") => {
                self.answer_disco_info(&iq)
            }
            None if (ns.as_str(), name.as_str()) == (NS_DISCO_ITEMS, "query") => {
                self.answer_disco_items(&iq)
            }
            // RFC 6120 §8.4: an unhandled request gets service-unavailable.
            None => unavailable(),
        };
        let reply = match answer {
            IqAnswer::Result(Some(payload)) => Iq::result_with(&iq, payload),
            IqAnswer::Result(None) => Iq::result_for(&iq),
            IqAnswer::Error(error) => Iq::error_for(&iq, error),
        };
        self.transmit(Stanza::Iq(reply));
    }

    /// Every XEP-0030 feature this session implements: the core's (disco)
    /// and the registered modules' (ping, from the module `Client::new`
    /// registers).
    pub fn disco_features(&self) -> Vec<&'static str> {
        let mut all = vec![NS_DISCO_INFO, NS_DISCO_ITEMS];
        all.extend(self.module_features());
        all
    }

    /// A top-level element that is not a stanza: to the modules, else an event.
    pub(super) fn nonza(&mut self, element: Element) {
        for i in 0..self.ext.modules.len() {
            let handled = self.with_context(i, |m, cx| m.handle_nonza(cx, &element));
            if handled == Some(Handled::Yes) {
                return;
            }
        }
        self.events.push_back(Event::Nonza(element));
    }

    fn iq_response(&mut self, iq: Iq) {
        // Borrowed, not cloned: a clone of the JID would be an allocation
        // per response. Without a bound JID (a module ended the connection
        // while this stanza was routed) its requests were cancelled.
        let outcome = match self.bound.as_ref() {
            Some(own) => self
                .outbox
                .tracker
                .on_response(iq.from.as_ref(), &iq.id, own),
            None => ResponseMatch::Unknown,
        };
        match outcome {
            ResponseMatch::Accepted => {
                let id = iq.id.clone();
                let result = match iq.payload {
                    IqPayload::Error { ref error, .. } => Err(IqFailure::Error(error.clone())),
                    _ => Ok(iq),
                };
                self.iq_done(id, result);
            }
            ResponseMatch::Spoofed { id, expected, got } => self.warn(
                WarningKind::SpoofedIqResponse,
                format!(
                    "ignored a response to IQ {id} from {}, expected {}",
                    show(got.as_ref()),
                    show(expected.as_ref())
                ),
            ),
            ResponseMatch::Unknown => self.warn(
                WarningKind::UnknownIqResponse,
                format!("ignored a response to unknown IQ id {:?}", iq.id),
            ),
        }
    }

    /// Delivers an IQ outcome to whoever sent the request.
    pub(super) fn iq_done(&mut self, id: String, result: Result<Iq, IqFailure>) {
        match self.outbox.owners.remove(&id) {
            Some(IqOwner::App) | None => self.events.push_back(Event::IqResponse { id, result }),
            Some(IqOwner::Module(i)) => {
                self.with_context(i, |m, cx| m.handle_iq_response(cx, &id, result));
            }
        }
    }

    pub(super) fn expire_iqs(&mut self) {
        for id in self.outbox.tracker.expire(self.now) {
            self.iq_done(id, Err(IqFailure::Timeout));
            if self.ended {
                return;
            }
        }
    }
}

fn unavailable() -> IqAnswer {
    IqAnswer::error(ErrorType::Cancel, DefinedCondition::ServiceUnavailable)
}

/// A stanza for us names our bare JID or our full JID (RFC 6120 §10.5).
/// Compared part by part on the normalized strings (both JIDs were
/// normalized when parsed), without building bare JIDs.
fn addressed_to_us(to: &Jid, own: &FullJid) -> bool {
    to.node().map(|n| n.as_str()) == own.node().map(|n| n.as_str())
        && to.domain().as_str() == own.domain().as_str()
        && to
            .resource()
            .is_none_or(|r| r.as_str() == own.resource().as_str())
}

fn show(j: Option<&Jid>) -> String {
    j.map_or_else(|| "(no from)".to_string(), |j| j.to_string())
}
