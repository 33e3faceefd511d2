//! The blocking commands and events of the contract, on the core's
//! blocking module (`xmpp_proto::blocking`, XEP-0191): `block`, `unblock`
//! and `blocklist` run the module's commands where the core lives; their
//! `result` (and for `blocklist` the `blocklist` event before it) is
//! printed when the module reports the request done. Every push the module
//! accepted prints a `blocklist` event with the JIDs blocked now; pushes it
//! refused (not from our server) become `warning` events like any other.

use std::collections::{BTreeSet, HashMap};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};
use xmpp_proto::blocking::{BlockError, Blocking, BlockingEvent};
use xmpp_proto::stanza::Jid;
use xmpp_proto::Client;

use super::command::{iq_failure, send_failure};

/// A blocking command, decoded.
#[derive(Clone, Debug)]
pub enum BlockingCmd {
    /// `block`.
    Block(Jid),
    /// `unblock`.
    Unblock(Jid),
    /// `blocklist`: fetch, then print the list.
    List,
}

/// A command waiting for the module's `Done`.
struct Waiting {
    cmd: String,
    tag: Value,
    prints_list: bool,
}

/// What the CLI knows: the commands in flight, and the list as last
/// fetched and pushed.
#[derive(Default)]
struct State {
    waiting: HashMap<String, Waiting>,
    items: BTreeSet<String>,
}

fn state() -> MutexGuard<'static, State> {
    static STATE: LazyLock<Mutex<State>> = LazyLock::new(Mutex::default);
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers the blocking module on a new session's core.
pub fn register(client: &mut Client) {
    // A fresh core has no blocking module yet: this cannot conflict.
    let _ = client.register(Blocking::new());
}

/// Runs `cmd` on the core (where it lives: the adapter's `with`). The
/// request is recorded before anything is sent, so its answer always finds
/// it. `Err` is the short reason the command failed at once.
pub fn run(
    client: &mut Client,
    now: Instant,
    cmd: BlockingCmd,
    name: String,
    tag: Value,
) -> Result<(), String> {
    let prints_list = matches!(cmd, BlockingCmd::List);
    let sent = client
        .with_module(now, |b: &mut Blocking, cx| match cmd {
            BlockingCmd::Block(jid) => b.block(cx, [jid]),
            BlockingCmd::Unblock(jid) => b.unblock(cx, [jid]).map_err(BlockError::from),
            BlockingCmd::List => b.request_list(cx).map_err(BlockError::from),
        })
        .map_err(|e| e.to_string())?;
    let id = sent.map_err(|e| match e {
        BlockError::Send(e) => send_failure(&e),
        other => other.to_string(),
    })?;
    state().waiting.insert(
        id,
        Waiting {
            cmd: name,
            tag,
            prints_list,
        },
    );
    Ok(())
}

/// The `blocklist` event for the list as it is now.
fn list(items: &BTreeSet<String>) -> Value {
    json!({ "event": "blocklist", "items": items.iter().collect::<Vec<_>>() })
}

/// The events to print for what the module reported.
pub fn event(event: &BlockingEvent) -> Vec<Value> {
    let mut s = state();
    let jids = |j: &[Jid]| j.iter().map(|j| j.to_string()).collect::<Vec<_>>();
    match event {
        BlockingEvent::List(items) => {
            s.items = jids(items).into_iter().collect();
            Vec::new()
        }
        BlockingEvent::Blocked(items) => {
            s.items.extend(jids(items));
            vec![list(&s.items)]
        }
        BlockingEvent::Unblocked(items) => {
            for jid in jids(items) {
                s.items.remove(&jid);
            }
            vec![list(&s.items)]
        }
        BlockingEvent::UnblockedAll => {
            s.items.clear();
            vec![list(&s.items)]
        }
        BlockingEvent::Done { id, result } => {
            let Some(w) = s.waiting.remove(id) else {
                return Vec::new(); // the module's own fetch at login
            };
            match result {
                Ok(()) if w.prints_list => vec![
                    list(&s.items),
                    json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": true }),
                ],
                Ok(()) => {
                    vec![json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": true })]
                }
                Err(e) => vec![json!({
                    "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": false, "error": iq_failure(e),
                })],
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_print_the_list_and_done_prints_the_waiting_result() {
        let romeo: Jid = "romeo@example.net".parse().unwrap();
        // The login's fetch prints nothing, nor its Done.
        assert!(event(&BlockingEvent::List(vec![romeo.clone()])).is_empty());
        assert!(event(&BlockingEvent::Done {
            id: "login".into(),
            result: Ok(())
        })
        .is_empty());
        let iago: Jid = "iago@example.net".parse().unwrap();
        assert_eq!(
            event(&BlockingEvent::Blocked(vec![iago.clone()])),
            [json!({"event": "blocklist", "items": ["iago@example.net", "romeo@example.net"]})]
        );
        assert_eq!(
            event(&BlockingEvent::Unblocked(vec![romeo])),
            [json!({"event": "blocklist", "items": ["iago@example.net"]})]
        );
        state().waiting.insert(
            "l1".into(),
            Waiting {
                cmd: "blocklist".into(),
                tag: json!("t"),
                prints_list: true,
            },
        );
        let out = event(&BlockingEvent::Done {
            id: "l1".into(),
            result: Ok(()),
        });
        assert_eq!(
            out,
            [
                json!({"event": "blocklist", "items": ["iago@example.net"]}),
                json!({"event": "result", "cmd": "blocklist", "tag": "t", "ok": true}),
            ]
        );
        assert_eq!(
            event(&BlockingEvent::UnblockedAll),
            [json!({"event": "blocklist", "items": []})]
        );
    }
}
