//! The roster commands and events of the contract, on the core's roster
//! module (`xmpp_proto::roster`): `roster`, `roster-set`, `roster-remove`
//! run the module's commands where the core lives; their `result` (and the
//! `roster` event) is printed when the module reports the request done;
//! every accepted push is a `roster-push` event. Pushes the module refuses
//! (not from our server) become `warning` events like any other.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};
use xmpp_proto::roster::{Roster, RosterChange, RosterEvent, RosterItem};
use xmpp_proto::stanza::BareJid;
use xmpp_proto::Client;

use super::command::{iq_failure, send_failure};

/// A roster command, decoded.
#[derive(Clone, Debug)]
pub enum RosterCmd {
    /// `roster`: fetch, then print the roster.
    Fetch,
    /// `roster-set`.
    Set(RosterItem),
    /// `roster-remove`.
    Remove(BareJid),
}

/// A command waiting for the module's `Done`.
struct Waiting {
    cmd: String,
    tag: Value,
    prints_roster: bool,
}

/// What the CLI knows: the commands in flight, and the roster as last
/// loaded and pushed (printed by `roster`).
#[derive(Default)]
struct State {
    waiting: HashMap<String, Waiting>,
    ver: Option<String>,
    items: Vec<RosterItem>,
    /// The server's last answer to a fetch said the copy was current
    /// (RFC 6121 §2.6: a versioned fetch answered without items).
    unchanged: bool,
}

fn state() -> MutexGuard<'static, State> {
    static STATE: LazyLock<Mutex<State>> = LazyLock::new(Mutex::default);
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers the roster module on a new session's core, with the copy and
/// version `--store` kept (none: an empty roster, fetched whole).
pub fn register(client: &mut Client, ver: Option<String>, items: Vec<RosterItem>) {
    {
        let mut s = state();
        s.ver = ver.clone();
        s.items = items.clone();
    }
    // A fresh core has no roster module yet: this cannot conflict.
    let _ = client.register(Roster::with_stored(ver, items));
}

/// Runs `cmd` on the core (where it lives: the adapter's `with`). The
/// request is recorded before anything is sent, so its answer always finds
/// it. `Err` is the short reason the command failed at once.
pub fn run(
    client: &mut Client,
    now: Instant,
    cmd: RosterCmd,
    name: String,
    tag: Value,
) -> Result<(), String> {
    let prints_roster = matches!(cmd, RosterCmd::Fetch);
    let sent = client
        .with_module(now, |r: &mut Roster, cx| match cmd {
            RosterCmd::Fetch => r.fetch(cx),
            RosterCmd::Set(item) => r.set(cx, item),
            RosterCmd::Remove(jid) => r.remove(cx, &jid),
        })
        .map_err(|e| e.to_string())?;
    let id = sent.map_err(|e| send_failure(&e))?;
    state().waiting.insert(
        id,
        Waiting {
            cmd: name,
            tag,
            prints_roster,
        },
    );
    Ok(())
}

/// The events to print for what the module reported.
pub fn event(event: &RosterEvent) -> Vec<Value> {
    let mut s = state();
    match event {
        RosterEvent::Loaded { ver, items } => {
            s.ver = ver.clone();
            s.items = items.clone();
            s.unchanged = false;
            Vec::new()
        }
        RosterEvent::Changed { change, ver } => {
            s.ver = ver.clone();
            let item = match change {
                RosterChange::Set(item) => {
                    match s.items.iter_mut().find(|i| i.jid == item.jid) {
                        Some(old) => *old = item.clone(),
                        None => s.items.push(item.clone()),
                    }
                    item_json(item)
                }
                RosterChange::Removed(jid) => {
                    s.items.retain(|i| i.jid != *jid);
                    json!({ "jid": jid.as_str(), "name": null, "subscription": "remove", "ask": null, "groups": [] })
                }
            };
            vec![json!({ "event": "roster-push", "item": item })]
        }
        RosterEvent::Done { id, result } => {
            let Some(w) = s.waiting.remove(id) else {
                return Vec::new(); // the module's own fetch at login
            };
            let mut out = Vec::new();
            match result {
                Ok(()) => {
                    if w.prints_roster {
                        let items: Vec<Value> = s.items.iter().map(item_json).collect();
                        // Added field: `unchanged`, the server said the stored copy is current.
                        out.push(json!({
                            "event": "roster", "ver": s.ver, "items": items, "unchanged": s.unchanged,
                        }));
                    }
                    out.push(json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": true }));
                }
                Err(e) => out.push(json!({
                    "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": false, "error": iq_failure(e),
                })),
            }
            out
        }
        RosterEvent::Unchanged { ver } => {
            s.ver = ver.clone();
            s.unchanged = true;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// A roster item: `{jid, name, subscription, ask, groups}` (RFC 6121 §2.1.2).
pub fn item_json(item: &RosterItem) -> Value {
    json!({
        "jid": item.jid.as_str(),
        "name": item.name,
        "subscription": item.subscription.as_str(),
        "ask": item.ask.then_some("subscribe"),
        "groups": item.groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_print_their_item_and_done_prints_the_waiting_result() {
        let romeo = RosterItem::new("romeo@example.net".parse().unwrap())
            .with_name("Romeo")
            .with_groups(["Friends"]);
        let out = event(&RosterEvent::Changed {
            change: RosterChange::Set(romeo),
            ver: Some("v2".into()),
        });
        assert_eq!(
            out,
            [
                json!({"event": "roster-push", "item": {"jid": "romeo@example.net", "name": "Romeo", "subscription": "none", "ask": null, "groups": ["Friends"]}})
            ]
        );
        state().waiting.insert(
            "r1".into(),
            Waiting {
                cmd: "roster".into(),
                tag: json!("t"),
                prints_roster: true,
            },
        );
        let out = event(&RosterEvent::Done {
            id: "r1".into(),
            result: Ok(()),
        });
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["event"], "roster");
        assert_eq!(out[0]["ver"], "v2");
        assert_eq!(out[0]["items"][0]["jid"], "romeo@example.net");
        assert_eq!(
            out[1],
            json!({"event": "result", "cmd": "roster", "tag": "t", "ok": true})
        );
        // An id nobody waits for (the module's own fetch) prints nothing.
        assert!(event(&RosterEvent::Done {
            id: "x".into(),
            result: Ok(())
        })
        .is_empty());
    }
}
