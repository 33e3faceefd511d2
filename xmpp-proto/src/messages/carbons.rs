//! XEP-0280 message carbons: the server copies to this client the messages
//! the account's other clients send (`<sent/>`) and receive
//! (`<received/>`), each wrapped in a XEP-0297 `<forwarded/>` (§6, §7).
//!
//! Enabled on login (§4: an `<enable/>` set, pipelined with the rest of
//! the login; a server without carbons answers with an error, reported as
//! [`CarbonsEvent::Failed`]). A copy is unwrapped and routed again marked
//! [`Provenance::Carbon`], so every message module sees it as it sees a
//! live message. §11 (security): a copy is accepted only when its outer
//! `from` is the account's bare JID (or absent: the server speaking for
//! the account); anything else is refused with a warning and never becomes
//! a message. The copy itself must be ours too: a `<sent/>` copy from one
//! of the account's resources, a `<received/>` copy addressed to the account.

use crate::client::{Carbon, Event, Handled, IqFailure, Module, ModuleContext, Provenance};
use crate::stanza::{BareJid, Iq, Jid, Message, Stanza};
use crate::xml::Element;

/// The XEP-0280 namespace.
pub const NS_CARBONS: &str = "urn:xmpp:carbons:2";
/// The XEP-0297 stanza forwarding namespace.
pub const NS_FORWARD: &str = "urn:xmpp:forward:0";

/// News from the carbons module ([`Event::Carbons`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CarbonsEvent {
    /// The server now sends this client carbon copies.
    Enabled,
    /// The server stopped sending copies (our `<disable/>` was accepted).
    Disabled,
    /// An `<enable/>` or `<disable/>` failed: the server has no carbons
    /// or refused (the state is unchanged).
    Failed(IqFailure),
}

/// The carbons module: enables carbons on login, unwraps the copies.
#[derive(Debug)]
pub struct Carbons {
    enable_on_login: bool,
    enabled: bool,
    /// The id of our `<enable/>` (true) or `<disable/>` (false) in flight.
    pending: Option<(String, bool)>,
}

impl Default for Carbons {
    fn default() -> Self {
        Carbons::new()
    }
}

impl Carbons {
    /// Enables carbons on every login.
    pub fn new() -> Self {
        Carbons {
            enable_on_login: true,
            enabled: false,
            pending: None,
        }
    }

    /// Whether carbons are enabled on login (on by default).
    pub fn enable_on_login(mut self, on: bool) -> Self {
        self.enable_on_login = on;
        self
    }

    /// True while the server sends this client copies.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Asks the server for copies. Returns the request's id.
    pub fn enable(&mut self, cx: &mut ModuleContext<'_>) -> Result<String, crate::SendError> {
        self.request(cx, true)
    }

    /// Asks the server to stop the copies. Returns the request's id.
    pub fn disable(&mut self, cx: &mut ModuleContext<'_>) -> Result<String, crate::SendError> {
        self.request(cx, false)
    }

    fn request(
        &mut self,
        cx: &mut ModuleContext<'_>,
        enable: bool,
    ) -> Result<String, crate::SendError> {
        let name = if enable { "enable" } else { "disable" };
        let iq = Iq::set(None, String::new(), Element::new(NS_CARBONS, name));
        let id = cx.send_iq(iq)?;
        self.pending = Some((id.clone(), enable));
        Ok(id)
    }
}

impl Message {
    /// Asks the server not to copy this message to the account's other
    /// clients (XEP-0280 §8: `<private/>`, with the XEP-0334 `<no-copy/>`
    /// hint the XEP asks for alongside).
    pub fn with_no_carbons(self) -> Message {
        self.with_payload(Element::new(NS_CARBONS, "private"))
            .with_payload(Element::new(super::NS_HINTS, "no-copy"))
    }
}

/// The carbon wrapper a message carries, if any: which copy, and the
/// `<forwarded/>` element.
pub(crate) fn wrapped(m: &Message) -> Option<(Carbon, &Element)> {
    m.payloads.iter().find_map(|p| {
        if p.ns() != NS_CARBONS {
            return None;
        }
        let kind = match p.local_name() {
            "sent" => Carbon::Sent,
            "received" => Carbon::Received,
            _ => return None,
        };
        Some((kind, p))
    })
}

/// True when `jid` is the account or one of its resources.
fn of_account(jid: Option<&Jid>, account: &BareJid) -> bool {
    jid.is_some_and(|j| j.to_bare() == *account)
}

impl Module for Carbons {
    fn name(&self) -> &'static str {
        "carbons"
    }

    fn online(&mut self, cx: &mut ModuleContext<'_>, resumed: bool) {
        // A resumed stream keeps the server's carbons state (§4: per session).
        if resumed {
            return;
        }
        self.enabled = false;
        self.pending = None;
        if self.enable_on_login {
            let _ = self.enable(cx);
        }
    }

    fn offline(&mut self, resumable: bool) {
        if !resumable {
            self.enabled = false;
            self.pending = None;
        }
    }

    fn handle_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        let Stanza::Message(m) = stanza else {
            return Handled::No;
        };
        let Some((kind, wrapper)) = wrapped(m) else {
            return Handled::No;
        };
        let sender = m.from.as_ref().map_or("(no from)", Jid::as_str);
        if cx.is_redispatched() {
            cx.warn(format!(
                "refused a carbon nested in a forwarded message from {sender}"
            ));
            return Handled::Yes;
        }
        if !crate::from_own_account(m.from.as_ref(), cx.account()) {
            cx.warn(format!(
                "refused a {} carbon from {sender}: only the account's bare JID may send \
                 carbons (XEP-0280 §11)",
                kind.as_str()
            ));
            return Handled::Yes;
        }
        let inner = wrapper
            .children()
            .find(|c| c.is(NS_FORWARD, "forwarded"))
            .and_then(|f| f.children().find(|c| c.local_name() == "message"));
        let Some(inner) = inner else {
            cx.warn("refused a carbon without a forwarded message");
            return Handled::Yes;
        };
        let copy = match Message::parse_lenient(inner.clone()) {
            Ok((copy, dropped)) => {
                for e in dropped {
                    cx.warn(format!(
                        "carbon: kept the first text and dropped the other: {e}"
                    ));
                }
                copy
            }
            Err(e) => {
                cx.warn(format!("refused a carbon whose message is invalid: {e}"));
                return Handled::Yes;
            }
        };
        // The copy must be the account's: sent by one of its clients, or
        // received by the account.
        let ours = match kind {
            Carbon::Sent => of_account(copy.from.as_ref(), cx.account()),
            Carbon::Received => of_account(copy.to.as_ref(), cx.account()),
        };
        if !ours {
            cx.warn(format!(
                "refused a {} carbon of a message {} the account",
                kind.as_str(),
                match kind {
                    Carbon::Sent => "not sent by",
                    Carbon::Received => "not addressed to",
                }
            ));
            return Handled::Yes;
        }
        cx.dispatch(Stanza::Message(copy), Provenance::Carbon(kind));
        Handled::Yes
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let Some((pending, enable)) = self.pending.take() else {
            return;
        };
        if pending != id {
            self.pending = Some((pending, enable));
            return;
        }
        let event = match result {
            Ok(_) => {
                self.enabled = enable;
                if enable {
                    CarbonsEvent::Enabled
                } else {
                    CarbonsEvent::Disabled
                }
            }
            Err(e) => CarbonsEvent::Failed(e),
        };
        cx.emit(Event::Carbons(event));
    }
}
