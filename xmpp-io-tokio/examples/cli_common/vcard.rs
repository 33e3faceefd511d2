//! The vCard commands and event of the contract, on the core's vCard
//! module (`xmpp_proto::vcard`, XEP-0054): `vcard-get` fetches a card (ours
//! without `jid`) and prints a `vcard` event, then its `result`;
//! `vcard-set` edits ours with the module's `update` (fetch, change, store),
//! so the properties it does not name (a photo, other clients' fields)
//! are kept: each of `fn`, `nickname`, `email` given replaces that
//! property (`email`: the first address), an empty string removes it, and
//! an absent one is left alone. Its `result` comes when the server stored
//! the card.
//!
//! The session also runs vCard-based avatars (XEP-0153: our photo's hash on
//! our presence, contacts' cards fetched when theirs changes), user
//! avatars (XEP-0084) and bookmarks (XEP-0402); nothing of them is
//! printed but the warnings of what they refuse.

use std::collections::{BTreeSet, HashMap};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};
use xmpp_proto::stanza::BareJid;
use xmpp_proto::vcard::{Email, EmailType, VCard, VCardError, VCardEvent, VCards};
use xmpp_proto::Client;

use super::command::{iq_failure, send_failure};

/// A vCard command, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VCardCmd {
    /// `vcard-get`: `jid`'s card, or ours.
    Get(Option<BareJid>),
    /// `vcard-set`: the properties to change.
    Set(VCardChange),
}

/// What `vcard-set` changes: `None` leaves a property alone, an empty
/// string removes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VCardChange {
    /// FN.
    pub full_name: Option<String>,
    /// NICKNAME.
    pub nickname: Option<String>,
    /// The first EMAIL's address.
    pub email: Option<String>,
}

impl VCardChange {
    /// Applies the change to `card`.
    pub fn apply(self, card: &mut VCard) {
        let value = |v: String| (!v.is_empty()).then_some(v);
        if let Some(full_name) = self.full_name {
            card.full_name = value(full_name);
        }
        if let Some(nickname) = self.nickname {
            card.nickname = value(nickname);
        }
        match (self.email.map(value), card.emails.first_mut()) {
            (None, _) => {}
            (Some(None), Some(_)) => {
                card.emails.remove(0);
            }
            (Some(None), None) => {}
            (Some(Some(address)), Some(first)) => first.address = address,
            (Some(Some(address)), None) => card.emails.push(Email {
                address,
                types: BTreeSet::from([EmailType::Internet]),
            }),
        }
    }
}

/// A command waiting for the module's answer.
struct Waiting {
    cmd: String,
    tag: Value,
}

fn waiting() -> MutexGuard<'static, HashMap<String, Waiting>> {
    static WAITING: LazyLock<Mutex<HashMap<String, Waiting>>> = LazyLock::new(Mutex::default);
    WAITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers the vCard module on a new session's core.
pub fn register(client: &mut Client, avatar_hashes: Vec<(BareJid, String)>) {
    // A fresh core has no vCard module yet: this cannot conflict.
    let _ = client.register(VCards::new().with_avatar_hashes(avatar_hashes));
}

/// Runs `cmd` on the core (where it lives: the adapter's `with`). The
/// request is recorded before its answer can be handled, so the answer
/// always finds it. `Err` is the short reason the command failed at once.
pub fn run(
    client: &mut Client,
    now: Instant,
    cmd: VCardCmd,
    name: String,
    tag: Value,
) -> Result<(), String> {
    let mut waiting = waiting();
    let sent = client
        .with_module(now, |v: &mut VCards, cx| match cmd {
            VCardCmd::Get(jid) => v.fetch(cx, jid),
            VCardCmd::Set(change) => v.update(cx, move |card| change.apply(card)),
        })
        .map_err(|e| e.to_string())?;
    let id = sent.map_err(|e| send_failure(&e))?;
    waiting.insert(id, Waiting { cmd: name, tag });
    Ok(())
}

/// The short reason a vCard request failed.
fn failure(e: &VCardError) -> String {
    match e {
        VCardError::Iq(f) => iq_failure(f),
        VCardError::Invalid(_) => "bad-answer".into(),
        other => other.to_string(),
    }
}

/// The events to print for what the module reported.
pub fn event(event: &VCardEvent) -> Vec<Value> {
    let (id, outcome) = match event {
        VCardEvent::Fetched { id, jid, result } => (
            id,
            result
                .as_ref()
                .map(|card| Some(vcard(jid, card)))
                .map_err(failure),
        ),
        VCardEvent::Done { id, result } => (id, result.as_ref().map(|()| None).map_err(failure)),
        _ => return Vec::new(),
    };
    // An id nobody waits for: the module's own requests.
    let Some(w) = waiting().remove(id) else {
        return Vec::new();
    };
    match outcome {
        Ok(card) => card
            .into_iter()
            .chain([json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": true })])
            .collect(),
        Err(error) => vec![
            json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": false, "error": error }),
        ],
    }
}

/// `vcard`: `jid`, `fn`, `nickname`, `email` (the first address).
pub fn vcard(jid: &BareJid, card: &VCard) -> Value {
    json!({
        "event": "vcard",
        "jid": jid.as_str(),
        "fn": card.full_name,
        "nickname": card.nickname,
        "email": card.email(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_proto::IqFailure;

    #[test]
    fn a_fetched_card_prints_vcard_then_the_waiting_result() {
        let alice: BareJid = "alice@example.com".parse().unwrap();
        let card = VCard {
            full_name: Some("Alice".into()),
            emails: vec![Email::new("a@example.org"), Email::new("b@example.org")],
            ..VCard::new()
        };
        waiting().insert(
            "v1".into(),
            Waiting {
                cmd: "vcard-get".into(),
                tag: json!("t"),
            },
        );
        let out = event(&VCardEvent::Fetched {
            id: "v1".into(),
            jid: alice.clone(),
            result: Ok(Box::new(card)),
        });
        assert_eq!(
            out,
            [
                json!({"event": "vcard", "jid": "alice@example.com", "fn": "Alice",
                       "nickname": null, "email": "a@example.org"}),
                json!({"event": "result", "cmd": "vcard-get", "tag": "t", "ok": true}),
            ]
        );
        waiting().insert(
            "v2".into(),
            Waiting {
                cmd: "vcard-set".into(),
                tag: Value::Null,
            },
        );
        let out = event(&VCardEvent::Done {
            id: "v2".into(),
            result: Err(VCardError::Iq(IqFailure::Timeout)),
        });
        assert_eq!(
            out,
            [
                json!({"event": "result", "cmd": "vcard-set", "tag": null, "ok": false, "error": "timeout"})
            ]
        );
        // The module's own fetches print nothing.
        assert!(event(&VCardEvent::Done {
            id: "own".into(),
            result: Ok(())
        })
        .is_empty());
    }

    #[test]
    fn a_change_replaces_removes_or_leaves_each_property() {
        let mut card = VCard {
            full_name: Some("Alice".into()),
            nickname: Some("al".into()),
            emails: vec![Email::new("a@example.org"), Email::new("b@example.org")],
            ..VCard::new()
        };
        VCardChange {
            full_name: Some("Alice Liddell".into()),
            nickname: Some(String::new()),
            email: None,
        }
        .apply(&mut card);
        assert_eq!(card.full_name.as_deref(), Some("Alice Liddell"));
        assert_eq!(card.nickname, None);
        assert_eq!(card.emails.len(), 2);
        VCardChange {
            email: Some("c@example.org".into()),
            ..VCardChange::default()
        }
        .apply(&mut card);
        assert_eq!(card.email(), Some("c@example.org"));
        let mut empty = VCard::new();
        VCardChange {
            email: Some("d@example.org".into()),
            ..VCardChange::default()
        }
        .apply(&mut empty);
        assert_eq!(empty.emails[0].types, BTreeSet::from([EmailType::Internet]));
    }
}
