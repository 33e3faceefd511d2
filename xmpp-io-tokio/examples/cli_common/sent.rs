//! The `sent` event of the contract: with stream management on, each
//! message the application sent (the `send` command) is reported once,
//! `acked: true` when the server confirmed it (XEP-0198 `<a h/>`,
//! `<resumed h/>`, `<failed h/>`), `acked: false` when this client gave up
//! on it (the session ended without resumption, or a new stream has no
//! stream management): it may or may not have reached the server. The
//! core reports every stanza with an id; only the `send` commands' are
//! printed.

use std::collections::{HashSet, VecDeque};
use std::sync::{LazyLock, Mutex, MutexGuard};

use serde_json::{json, Value};
use xmpp_proto::sm::SmEvent;

/// The most ids awaiting their report (the core's queue holds at most
/// 1,000 by default; the rest were refused at `send`).
pub const MAX_WAITING: usize = 100_000;

/// Reports the core made about ids no `send` had recorded yet: an adapter
/// whose events run on another thread than its commands (the blocking
/// one) may see a confirmation before the `send` returns.
pub const MAX_EARLY: usize = 4096;

#[derive(Default)]
struct State {
    waiting: HashSet<String>,
    early: VecDeque<(String, bool)>,
}

fn state() -> MutexGuard<'static, State> {
    static STATE: LazyLock<Mutex<State>> = LazyLock::new(Mutex::default);
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A `send` the session accepted, with the id it went out with: its
/// `sent` event if the core reported it already, else later.
pub fn record(id: &str) -> Option<Value> {
    let mut s = state();
    if let Some(i) = s.early.iter().position(|(e, _)| e == id) {
        let (id, acked) = s.early.remove(i)?;
        return Some(json!({ "event": "sent", "id": id, "acked": acked }));
    }
    if s.waiting.len() < MAX_WAITING {
        s.waiting.insert(id.to_string());
    }
    None
}

/// The `sent` events for stream management news.
pub fn event(event: &SmEvent) -> Vec<Value> {
    let (ids, acked) = match event {
        SmEvent::Acked { ids } => (ids, true),
        SmEvent::Unacked { ids } => (ids, false),
        _ => return Vec::new(),
    };
    let mut s = state();
    let mut out = Vec::new();
    for id in ids {
        if s.waiting.remove(id.as_str()) {
            out.push(json!({ "event": "sent", "id": id, "acked": acked }));
        } else {
            if s.early.len() == MAX_EARLY {
                s.early.pop_front();
            }
            s.early.push_back((id.clone(), acked));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sent_message_is_reported_once_and_nothing_else() {
        assert_eq!(record("m1"), None);
        assert_eq!(record("m2"), None);
        let out = event(&SmEvent::Acked {
            ids: vec!["presence-1".into(), "m1".into()],
        });
        assert_eq!(out, [json!({"event": "sent", "id": "m1", "acked": true})]);
        assert!(event(&SmEvent::Acked {
            ids: vec!["m1".into()]
        })
        .is_empty());
        let out = event(&SmEvent::Unacked {
            ids: vec!["m2".into()],
        });
        assert_eq!(out, [json!({"event": "sent", "id": "m2", "acked": false})]);
        // Confirmed before its `send` returned: reported at the record.
        assert!(event(&SmEvent::Acked {
            ids: vec!["m3".into()]
        })
        .is_empty());
        assert_eq!(
            record("m3"),
            Some(json!({"event": "sent", "id": "m3", "acked": true}))
        );
        assert_eq!(record("m3"), None, "once");
    }
}
