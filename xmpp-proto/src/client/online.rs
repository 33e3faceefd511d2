//! Routing while online (RFC 6120 §8, §10): address checks, IQ response
//! matching with spoofing protection, modules, the `service-unavailable`
//! answer to unhandled requests, XEP-0199 pings (answering and idle checks).

use crate::iq_tracker::ResponseMatch;
use crate::stanza::{
    DefinedCondition, ErrorType, FullJid, Iq, IqPayload, Jid, Stanza, StanzaError, NS_CLIENT,
};
use crate::xml::Element;

use super::event::{Event, IqFailure, WarningKind};
use super::module::{Handled, ModuleContext};
use super::{Client, DisconnectReason, IqOwner};

/// XEP-0199 ping namespace.
pub const NS_PING: &str = "urn:xmpp:ping";

impl Client {
    pub(super) fn online_element(&mut self, element: Element) {
        let Some(own) = self.bound.clone() else {
            return;
        };
        let is_stanza = element.ns() == NS_CLIENT
            && matches!(element.local_name(), "message" | "presence" | "iq");
        if !is_stanza {
            self.events.push_back(Event::Nonza(element));
            return;
        }
        let stanza = match Stanza::parse(element) {
            Ok(s) => s,
            Err(e) => {
                return self.warn(
                    WarningKind::InvalidStanza,
                    format!("dropped an invalid stanza: {e}"),
                )
            }
        };
        if let Some(to) = stanza.to() {
            if !addressed_to_us(to, &own) {
                return self.warn(
                    WarningKind::InvalidStanza,
                    format!("dropped a stanza addressed to {to}, not to us"),
                );
            }
        }
        match stanza {
            Stanza::Iq(iq) if !iq.is_request() => self.iq_response(iq, &own),
            stanza => self.dispatch(stanza, &own),
        }
    }

    fn dispatch(&mut self, stanza: Stanza, own: &FullJid) {
        for (i, m) in self.modules.iter_mut().enumerate() {
            let mut ctx = ModuleContext::new(self.now, own, &mut self.outbox, &mut self.events, i);
            if m.handle_stanza(&mut ctx, &stanza) == Handled::Yes {
                return;
            }
        }
        match stanza {
            Stanza::Iq(iq) if is_ping(&iq) => {
                self.outbox.send_stanza(Stanza::Iq(Iq::result_for(&iq)));
            }
            Stanza::Iq(iq) => {
                // RFC 6120 §8.4: an unhandled request gets service-unavailable.
                let err = StanzaError::new(ErrorType::Cancel, DefinedCondition::ServiceUnavailable);
                self.outbox.send_stanza(Stanza::Iq(Iq::error_for(&iq, err)));
            }
            Stanza::Message(m) => self.events.push_back(Event::Message(m)),
            Stanza::Presence(p) => self.events.push_back(Event::Presence(p)),
        }
    }

    fn iq_response(&mut self, iq: Iq, own: &FullJid) {
        match self
            .outbox
            .tracker
            .on_response(iq.from.as_ref(), &iq.id, own)
        {
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
                let Some(own) = self.bound.clone() else {
                    return;
                };
                if let Some(m) = self.modules.get_mut(i) {
                    let mut ctx =
                        ModuleContext::new(self.now, &own, &mut self.outbox, &mut self.events, i);
                    m.handle_iq_response(&mut ctx, &id, result);
                }
            }
            Some(IqOwner::KeepalivePing) => {
                if matches!(result, Err(IqFailure::Timeout)) {
                    self.fail(DisconnectReason::Timeout(
                        "the server stopped answering pings",
                    ));
                }
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

    /// Nothing received for a while: ask the server (XEP-0199 §4.2).
    pub(super) fn idle_ping(&mut self) {
        let pinging = self
            .outbox
            .owners
            .values()
            .any(|o| *o == IqOwner::KeepalivePing);
        if !self.outbox.open || pinging {
            return;
        }
        let ping = Iq::get(None, String::new(), Element::new(NS_PING, "ping"));
        let sent = self
            .outbox
            .send_tracked_iq(self.now, ping, IqOwner::KeepalivePing);
        if sent.is_err() {
            self.fail(DisconnectReason::Timeout("could not ping the server"));
        }
    }

    pub(super) fn modules_online(&mut self) {
        let Some(own) = self.bound.clone() else {
            return;
        };
        for (i, m) in self.modules.iter_mut().enumerate() {
            let mut ctx = ModuleContext::new(self.now, &own, &mut self.outbox, &mut self.events, i);
            m.online(&mut ctx);
        }
    }
}

fn is_ping(iq: &Iq) -> bool {
    matches!(&iq.payload, IqPayload::Get(p) if p.is(NS_PING, "ping"))
}

/// A stanza for us names our bare JID or our full JID (RFC 6120 §10.5).
fn addressed_to_us(to: &Jid, own: &FullJid) -> bool {
    to.to_bare() == own.to_bare()
        && to
            .resource()
            .is_none_or(|r| r.as_str() == own.resource().as_str())
}

fn show(j: Option<&Jid>) -> String {
    j.map_or_else(|| "(no from)".to_string(), |j| j.to_string())
}
