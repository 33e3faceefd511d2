//! Events: the core's news and IQ answers as the contract's JSON objects.

use serde_json::{json, Value};
use xmpp_proto::messages::{ChatMessage, ChatState};
use xmpp_proto::stanza::{BareJid, FullJid, Jid, Message, Presence};
use xmpp_proto::{Carbon, Event};

/// XEP-0203 delayed delivery.
pub const NS_DELAY: &str = "urn:xmpp:delay";
/// XEP-0359 unique and stable stanza ids.
pub const NS_SID: &str = "urn:xmpp:sid:0";
/// XEP-0308 last message correction.
pub const NS_CORRECT: &str = "urn:xmpp:message-correct:0";

/// The JSON for a core event, or `None` for events the contract does not
/// print (SCRAM keys, non-stanza elements, answers nobody waits for).
/// `own` is the account: a `stanza-id` counts only when the account's
/// server stamped it (XEP-0359 §4).
pub fn core_event(event: &Event, own: &BareJid) -> Option<Value> {
    Some(match event {
        Event::Online {
            jid,
            tls,
            mechanism,
            resumed,
        } => online(jid, *tls, mechanism.name(), *resumed),
        Event::Message(m) => message(m, own),
        Event::ChatMessage(m) => chat_message(m),
        Event::Presence(p) => presence(p),
        Event::Warning(w) => warning(w.kind.as_str(), &w.message),
        Event::Disconnected { reason } => disconnected(&reason.to_string()),
        _ => return None,
    })
}

/// `online`.
pub fn online(jid: &FullJid, tls: bool, mechanism: &str, resumed: bool) -> Value {
    json!({ "event": "online", "jid": jid.as_str(), "tls": tls, "mechanism": mechanism, "resumed": resumed })
}

/// `message` for a message the messages module decoded and checked: a
/// `stanza_id` only from our server (or the room), `replaces` only for a
/// correction from the sender of the corrected message. Added fields:
/// `receipt_for` (the id a delivery receipt acknowledges) and `chat_state`.
pub fn chat_message(c: &ChatMessage) -> Value {
    let m = &c.message;
    json!({
        "event": "message",
        "from": m.from.as_ref().map(Jid::as_str),
        "to": m.to.as_ref().map(Jid::as_str),
        "type": m.type_.as_str(),
        "id": m.id,
        "body": m.body,
        "carbon": c.carbon().map(Carbon::as_str),
        "archived": c.is_archived(),
        "delay": c.delay.as_ref().map(|d| d.stamp.as_str()),
        "stanza_id": c.stanza_id,
        "replaces": c.replaces,
        "receipt_for": c.receipt_for,
        "chat_state": c.chat_state.map(ChatState::as_str),
    })
}

/// `message` for a message no module decoded (the messages module is not
/// registered): `carbon` is null and `archived` false.
pub fn message(m: &Message, own: &BareJid) -> Value {
    let stanza_id = m
        .payloads
        .iter()
        .filter(|p| p.is(NS_SID, "stanza-id"))
        .find(|p| {
            p.attr("by")
                .and_then(|by| by.parse::<BareJid>().ok())
                .as_ref()
                == Some(own)
        })
        .and_then(|p| p.attr("id"));
    json!({
        "event": "message",
        "from": m.from.as_ref().map(Jid::as_str),
        "to": m.to.as_ref().map(Jid::as_str),
        "type": m.type_.as_str(),
        "id": m.id,
        "body": m.body,
        "carbon": Value::Null,
        "archived": false,
        "delay": m.payload(NS_DELAY, "delay").and_then(|d| d.attr("stamp")),
        "stanza_id": stanza_id,
        "replaces": m.payload(NS_CORRECT, "replace").and_then(|r| r.attr("id")),
    })
}

/// `presence`.
pub fn presence(p: &Presence) -> Value {
    json!({
        "event": "presence",
        "from": p.from.as_ref().map(Jid::as_str),
        "type": p.type_.to_string(),
        "show": p.show.map(|s| s.as_str()),
        "status": p.status,
    })
}

/// `warning`.
pub fn warning(kind: &str, message: &str) -> Value {
    json!({ "event": "warning", "kind": kind, "message": message })
}

/// `disconnected`.
pub fn disconnected(reason: &str) -> Value {
    json!({ "event": "disconnected", "reason": reason })
}

/// `reconnected`. `jid` is an added field: the address bound this time.
pub fn reconnected(jid: &FullJid, resumed: bool) -> Value {
    json!({ "event": "reconnected", "resumed": resumed, "jid": jid.as_str() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_proto::stanza::Stanza;
    use xmpp_proto::xml::{Element, StreamEvent, StreamReader};

    fn parse(xml: &str) -> Element {
        let mut reader = StreamReader::new(Default::default());
        reader.feed(format!("<stream xmlns='jabber:client'>{xml}").as_bytes());
        loop {
            match reader.next_event().unwrap().unwrap() {
                StreamEvent::Element(e) => return e,
                _ => continue,
            }
        }
    }

    #[test]
    fn message_fields() {
        let own: BareJid = "alice@example.com".parse().unwrap();
        let Stanza::Message(m) = Stanza::parse(parse(
            "<message from='bob@example.com/x' to='alice@example.com' type='chat' id='m1'>\
             <body>hi</body><delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z'/>\
             <stanza-id xmlns='urn:xmpp:sid:0' by='evil@example.com' id='forged'/>\
             <stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.com' id='s1'/>\
             <replace xmlns='urn:xmpp:message-correct:0' id='m0'/></message>",
        ))
        .unwrap() else {
            panic!()
        };
        let v = message(&m, &own);
        assert_eq!(v["body"], "hi");
        assert_eq!(v["delay"], "2002-09-10T23:08:25Z");
        assert_eq!(v["stanza_id"], "s1");
        assert_eq!(v["replaces"], "m0");
        assert_eq!(v["carbon"], Value::Null);
    }
}
