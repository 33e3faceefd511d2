//! The presence commands and events of the contract, on the core's
//! presence module (`xmpp_proto::presence`): `presence`, `subscribe`,
//! `approve`, `deny`, `unsubscribe` run the module's commands where the
//! core lives (their `result` at once); what the module reports becomes
//! `presence` events (`type` available, unavailable, subscribe, subscribed,
//! unsubscribe, unsubscribed). Presences the module leaves alone (errors,
//! rooms) are printed from the core's `Event::Presence` as before.

use std::time::Instant;

use serde_json::{json, Value};
use xmpp_proto::presence::{Availability, Presence, PresenceError, PresenceEvent};
use xmpp_proto::stanza::{BareJid, Show};
use xmpp_proto::Client;

use super::command::send_failure;

/// A presence command, decoded.
#[derive(Clone, Debug)]
pub enum PresenceCmd {
    /// `presence`: available with show and status.
    Available(Option<Show>, Option<String>),
    /// `presence` with `"type":"unavailable"`.
    Unavailable(Option<String>),
    /// `subscribe`.
    Subscribe(BareJid),
    /// `approve`: a pending request, else a pre-approval.
    Approve(BareJid),
    /// `deny`.
    Deny(BareJid),
    /// `unsubscribe`.
    Unsubscribe(BareJid),
}

/// Registers the presence module on a new session's core.
pub fn register(client: &mut Client) {
    // A fresh core has no presence module yet: this cannot conflict.
    let _ = client.register(Presence::new());
}

/// Runs `cmd` on the core (where it lives: the adapter's `with`); `Err` is
/// the short reason it failed.
pub fn run(client: &mut Client, now: Instant, cmd: PresenceCmd) -> Result<(), String> {
    client
        .with_module(now, |p: &mut Presence, cx| match cmd {
            PresenceCmd::Available(show, status) => {
                let mut a = Availability::new();
                a.show = show;
                a.status = status;
                p.available(cx, a)
            }
            PresenceCmd::Unavailable(status) => p.unavailable(cx, status),
            PresenceCmd::Subscribe(jid) => p.subscribe(cx, &jid, None),
            PresenceCmd::Approve(jid) => match p.approve(cx, &jid) {
                Err(PresenceError::NoPendingRequest { .. }) => p.pre_approve(cx, &jid),
                other => other,
            },
            PresenceCmd::Deny(jid) => p.deny(cx, &jid).map(|_| ()),
            PresenceCmd::Unsubscribe(jid) => p.unsubscribe(cx, &jid),
        })
        .map_err(|e| e.to_string())?
        .map_err(|e| match e {
            PresenceError::Send(e) => send_failure(&e),
            PresenceError::PreApprovalUnsupported { .. } => "no-pending-request".into(),
            other => other.to_string(),
        })
}

/// The `presence` event for what the module reported.
pub fn event(event: &PresenceEvent) -> Option<Value> {
    let (from, kind, show, status) = match event {
        PresenceEvent::Changed {
            jid,
            available,
            show,
            status,
            ..
        } => (
            jid.as_str().to_string(),
            if *available {
                "available"
            } else {
                "unavailable"
            },
            show.map(|s| s.as_str()),
            status.clone(),
        ),
        PresenceEvent::SubscriptionRequest { from, status } => {
            (from.to_string(), "subscribe", None, status.clone())
        }
        PresenceEvent::SubscriptionApproved { from } => {
            (from.to_string(), "subscribed", None, None)
        }
        PresenceEvent::ContactUnsubscribed { from } => {
            (from.to_string(), "unsubscribe", None, None)
        }
        PresenceEvent::SubscriptionRevoked { from } => {
            (from.to_string(), "unsubscribed", None, None)
        }
        _ => return None,
    };
    Some(json!({ "event": "presence", "from": from, "type": kind, "show": show, "status": status }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_events_print_as_the_contract_says() {
        let v = event(&PresenceEvent::Changed {
            jid: "bob@example.com/phone".parse().unwrap(),
            available: true,
            show: Some(Show::Away),
            status: Some("lunch".into()),
            priority: 0,
            payloads: Vec::new(),
        })
        .unwrap();
        assert_eq!(
            v,
            json!({"event": "presence", "from": "bob@example.com/phone", "type": "available", "show": "away", "status": "lunch"})
        );
        let v = event(&PresenceEvent::SubscriptionRequest {
            from: "bob@example.com".parse().unwrap(),
            status: None,
        })
        .unwrap();
        assert_eq!(v["type"], "subscribe");
        assert_eq!(v["from"], "bob@example.com");
    }
}
