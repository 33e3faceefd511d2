//! The `ping` command of the contract, on the core's ping module
//! (`xmpp_proto::ping`, XEP-0199), which every session has: it runs the
//! module's command where the core lives, and its `result` is printed when
//! the module reports the answer (with the added field `rtt_ms`, the round
//! trip in milliseconds, when ok).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};
use xmpp_proto::ping::{Ping, PingEvent};
use xmpp_proto::stanza::Jid;
use xmpp_proto::Client;

use super::command::{iq_failure, send_failure};

/// The `ping` commands in flight: request id -> (cmd, tag).
fn waiting() -> MutexGuard<'static, HashMap<String, (String, Value)>> {
    static WAITING: LazyLock<Mutex<HashMap<String, (String, Value)>>> =
        LazyLock::new(Mutex::default);
    WAITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Pings `jid` (the command's default is our server's domain) on the core (where it lives: the
/// adapter's `with`). The request is recorded before anything is sent, so
/// its answer always finds it. `Err` is the short reason it failed at once.
pub fn run(
    client: &mut Client,
    now: Instant,
    jid: Jid,
    name: String,
    tag: Value,
) -> Result<(), String> {
    let sent = client
        .with_module(now, |p: &mut Ping, cx| p.ping(cx, Some(jid)))
        .map_err(|e| e.to_string())?;
    let id = sent.map_err(|e| send_failure(&e))?;
    waiting().insert(id, (name, tag));
    Ok(())
}

/// The `result` for an answer, if a command waits for it.
pub fn event(event: &PingEvent) -> Option<Value> {
    let (cmd, tag) = waiting().remove(&event.id)?;
    Some(match &event.result {
        Ok(rtt) => json!({
            "event": "result", "cmd": cmd, "tag": tag, "ok": true,
            "rtt_ms": rtt.as_secs_f64() * 1000.0,
        }),
        Err(e) => {
            json!({ "event": "result", "cmd": cmd, "tag": tag, "ok": false, "error": iq_failure(e) })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use xmpp_proto::IqFailure;

    #[test]
    fn an_answer_prints_the_waiting_result() {
        waiting().insert("p1".into(), ("ping".into(), json!("t")));
        let answer = |id: &str, result| PingEvent {
            id: id.into(),
            jid: "example.com".parse().unwrap(),
            result,
        };
        let out = event(&answer("p1", Ok(Duration::from_millis(3)))).unwrap();
        assert_eq!(out["ok"], true);
        assert_eq!(out["tag"], "t");
        assert_eq!(out["rtt_ms"], 3.0);
        waiting().insert("p2".into(), ("ping".into(), Value::Null));
        let out = event(&answer("p2", Err(IqFailure::Timeout))).unwrap();
        assert_eq!(
            (&out["ok"], &out["error"]),
            (&json!(false), &json!("timeout"))
        );
        // Nobody waits (answered already).
        assert!(event(&answer("p2", Ok(Duration::ZERO))).is_none());
    }
}
