//! Service discovery and entity capabilities in the contract, on the
//! core's disco and caps modules (`xmpp_proto::disco`): `disco-info` runs
//! the Disco module's query where the core lives; its `disco-info` event
//! and `result` are printed when the module reports the answer. The caps
//! module puts our capabilities on every available presence and learns
//! others' (nothing of it is printed; answers it refuses become `warning`
//! events like any other).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};
use xmpp_proto::disco::{Caps, CapsHash, Disco, DiscoError, DiscoEvent, DiscoInfo};
use xmpp_proto::stanza::Jid;
use xmpp_proto::Client;

use super::command::{iq_failure, send_failure};

/// The caps node the CLI advertises (XEP-0115 §4: a URI naming the software).
pub const CAPS_NODE: &str = "urn:xmpp-proto:xmpp-cli";

/// A command waiting for the module's answer.
struct Waiting {
    cmd: String,
    tag: Value,
}

fn waiting() -> MutexGuard<'static, HashMap<String, Waiting>> {
    static WAITING: LazyLock<Mutex<HashMap<String, Waiting>>> = LazyLock::new(Mutex::default);
    WAITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers the disco and caps modules on a new session's core, the caps
/// cache filled with what `--store` kept (each entry verified again).
pub fn register(client: &mut Client, cache: Vec<(CapsHash, String, DiscoInfo)>) {
    // A fresh core has neither yet: these cannot conflict.
    let _ = client.register(Disco::new());
    let _ = client.register(Caps::with_cache(CAPS_NODE, cache));
}

/// Runs `disco-info` for `jid` on the core (where it lives: the adapter's
/// `with`). The request is recorded before anything is sent, so its answer
/// always finds it. `Err` is the short reason the command failed at once.
pub fn run(
    client: &mut Client,
    now: Instant,
    jid: Jid,
    cmd: String,
    tag: Value,
) -> Result<(), String> {
    let mut waiting = waiting();
    let sent = client
        .with_module(now, |d: &mut Disco, cx| d.query_info(cx, jid, None))
        .map_err(|e| e.to_string())?;
    let id = sent.map_err(|e| send_failure(&e))?;
    waiting.insert(id, Waiting { cmd, tag });
    Ok(())
}

/// The events to print for what the modules reported.
pub fn event(event: &DiscoEvent) -> Vec<Value> {
    let DiscoEvent::Info {
        id, jid, result, ..
    } = event
    else {
        return Vec::new();
    };
    let Some(w) = waiting().remove(id) else {
        return Vec::new();
    };
    match result {
        Ok(info) => vec![
            disco_info(jid, info),
            json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": true }),
        ],
        Err(e) => {
            let error = match e {
                DiscoError::Iq(f) => iq_failure(f),
                DiscoError::Invalid(_) => "bad-answer".to_string(),
                other => other.to_string(),
            };
            vec![
                json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": false, "error": error }),
            ]
        }
    }
}

/// `disco-info`: `jid`, `identities` (`{category, type, name}`), `features`.
pub fn disco_info(jid: &Jid, info: &DiscoInfo) -> Value {
    let identities: Vec<Value> = info
        .identities
        .iter()
        .map(|i| json!({ "category": i.category, "type": i.kind, "name": i.name }))
        .collect();
    json!({ "event": "disco-info", "jid": jid.as_str(), "identities": identities, "features": info.features })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_proto::disco::Identity;
    use xmpp_proto::IqFailure;

    #[test]
    fn an_answer_prints_disco_info_then_the_waiting_result() {
        let server: Jid = "example.com".parse().unwrap();
        let info = DiscoInfo::new(
            [Identity::new("server", "im").with_name("S")],
            ["urn:xmpp:ping"],
        );
        waiting().insert(
            "d1".into(),
            Waiting {
                cmd: "disco-info".into(),
                tag: json!("t"),
            },
        );
        let out = event(&DiscoEvent::Info {
            id: "d1".into(),
            jid: server.clone(),
            node: None,
            result: Ok(info),
        });
        assert_eq!(
            out,
            [
                json!({"event": "disco-info", "jid": "example.com",
                       "identities": [{"category": "server", "type": "im", "name": "S"}],
                       "features": ["urn:xmpp:ping"]}),
                json!({"event": "result", "cmd": "disco-info", "tag": "t", "ok": true}),
            ]
        );
        waiting().insert(
            "d2".into(),
            Waiting {
                cmd: "disco-info".into(),
                tag: Value::Null,
            },
        );
        let out = event(&DiscoEvent::Info {
            id: "d2".into(),
            jid: server,
            node: None,
            result: Err(DiscoError::Iq(IqFailure::Timeout)),
        });
        assert_eq!(
            out,
            [
                json!({"event": "result", "cmd": "disco-info", "tag": null, "ok": false, "error": "timeout"})
            ]
        );
        // An id nobody waits for (the caps module's own queries) prints nothing.
        assert!(event(&DiscoEvent::Info {
            id: "x".into(),
            jid: "example.com".parse().unwrap(),
            node: None,
            result: Err(DiscoError::Iq(IqFailure::Timeout)),
        })
        .is_empty());
    }
}
