//! The `mam` command and `mam-done` event of the contract, on the core's
//! archive module (`xmpp_proto::mam`, XEP-0313): the query runs where the
//! core lives; its results are printed as `message` events with
//! `archived: true` as they come, then `mam-done` with the page's cursor,
//! then the command's `result`. With `--store` or `--reconnect` the module
//! also catches up after each login that is not a resumption (from the
//! stored cursor), its messages printed like any other archived ones.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};
use xmpp_proto::mam::{Mam, MamError, MamEvent, Page, Query};
use xmpp_proto::messages::Stamp;
use xmpp_proto::stanza::{BareJid, Jid};
use xmpp_proto::Client;

use super::command::{iq_failure, send_failure};

/// The page size when the command names none (the contract's default).
pub const DEFAULT_MAX: usize = 50;

/// The most results one `mam` command may ask for.
pub const MAX_MAX: usize = 1000;

/// A `mam` command, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MamCmd {
    /// The query to send.
    pub query: Query,
}

impl MamCmd {
    /// The query for the command's fields: `with`, `room` (a room's
    /// archive), `max`, `before` (an archive id, or `""` for the last
    /// page), `after`, `start`, `end` (XEP-0082 stamps).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        with: Option<Jid>,
        room: Option<BareJid>,
        max: Option<u64>,
        before: Option<String>,
        after: Option<String>,
        start: Option<String>,
        end: Option<String>,
    ) -> Result<MamCmd, String> {
        let max = match max {
            None => DEFAULT_MAX,
            Some(n) if n == 0 || n > MAX_MAX as u64 => {
                return Err(format!("\"max\" must be 1 to {MAX_MAX}"))
            }
            Some(n) => n as usize,
        };
        let stamp = |key: &str, v: Option<String>| {
            v.map(|s| Stamp::parse(&s).map_err(|e| format!("{key:?} is not a date-time: {e}")))
                .transpose()
        };
        let mut query = match room {
            Some(room) => Query::room(room),
            None => Query::new(),
        };
        query.with = with;
        query.start = stamp("start", start)?;
        query.end = stamp("end", end)?;
        let mut page = Page::new().with_max(max);
        page.before = before;
        page.after = after;
        query.page = page;
        Ok(MamCmd { query })
    }
}

/// A command waiting for its query's end.
struct Waiting {
    cmd: String,
    tag: Value,
}

/// The `mam` commands in flight, by the query's IQ id.
fn waiting() -> MutexGuard<'static, HashMap<String, Waiting>> {
    static WAITING: LazyLock<Mutex<HashMap<String, Waiting>>> = LazyLock::new(Mutex::default);
    WAITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers the archive module on a new session's core; `catch_up` with
/// the stored cursor (or `Some(None)` for none yet) turns on the automatic
/// catch-up.
pub fn register(client: &mut Client, catch_up: Option<Option<String>>) {
    let mam = match catch_up {
        Some(cursor) => Mam::new().catch_up(cursor),
        None => Mam::new(),
    };
    // A fresh core has no archive module yet: this cannot conflict.
    let _ = client.register(mam);
}

/// Sends the query on the core (the adapter's `with`). The command is
/// recorded before the query leaves, so its end always finds it.
pub fn run(
    client: &mut Client,
    now: Instant,
    cmd: MamCmd,
    name: String,
    tag: Value,
) -> Result<(), String> {
    let mut waiting = waiting();
    let started = client
        .with_module(now, |m: &mut Mam, cx| m.query(cx, cmd.query))
        .map_err(|e| e.to_string())?;
    let started = started.map_err(|e| match e {
        MamError::Send(e) => send_failure(&e),
        MamError::TooManyQueries => "too-many-queries".to_string(),
        other => other.to_string(),
    })?;
    waiting.insert(started.id, Waiting { cmd: name, tag });
    Ok(())
}

/// The events to print for what the archive module reported.
pub fn event(event: &MamEvent) -> Vec<Value> {
    match event {
        MamEvent::Done {
            id,
            complete,
            first,
            last,
            count,
            ..
        } => {
            let Some(w) = waiting().remove(id) else {
                return Vec::new();
            };
            vec![
                json!({
                    "event": "mam-done", "complete": complete, "count": count,
                    "first": first, "last": last,
                }),
                json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": true }),
            ]
        }
        MamEvent::Failed { id, error, .. } => {
            let Some(w) = waiting().remove(id) else {
                return Vec::new();
            };
            let reason = match error {
                xmpp_proto::mam::QueryError::Iq(f) => iq_failure(f),
                other => other.to_string(),
            };
            vec![
                json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": false, "error": reason }),
            ]
        }
        // Cursor moves and catch-up ends are for the store; not printed.
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_proto::IqFailure;

    #[test]
    fn the_fields_become_the_query() {
        let cmd = MamCmd::new(
            Some("romeo@montague.lit".parse().unwrap()),
            None,
            None,
            Some(String::new()),
            None,
            Some("2010-06-07T00:00:00Z".into()),
            None,
        )
        .unwrap();
        assert_eq!(cmd.query.page.max, Some(DEFAULT_MAX));
        assert_eq!(cmd.query.page.before.as_deref(), Some(""), "the last page");
        assert!(cmd.query.archive.is_none());
        assert_eq!(
            cmd.query.start.as_ref().map(Stamp::as_str),
            Some("2010-06-07T00:00:00Z")
        );
        let room = MamCmd::new(
            None,
            Some("coven@chat.shakespeare.lit".parse().unwrap()),
            Some(10),
            None,
            Some("a1".into()),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            room.query.archive.as_ref().map(|r| r.as_str()),
            Some("coven@chat.shakespeare.lit")
        );
        assert_eq!(room.query.page.after.as_deref(), Some("a1"));
        assert!(MamCmd::new(None, None, Some(0), None, None, None, None).is_err());
        assert!(MamCmd::new(None, None, None, None, None, Some("yesterday".into()), None).is_err());
    }

    #[test]
    fn the_end_of_a_query_prints_mam_done_then_the_result() {
        waiting().insert(
            "q1".into(),
            Waiting {
                cmd: "mam".into(),
                tag: json!("t"),
            },
        );
        let done = MamEvent::Done {
            id: "q1".into(),
            query_id: "x".into(),
            complete: true,
            first: Some("a".into()),
            last: Some("b".into()),
            count: Some(2),
        };
        let out = event(&done);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["event"], "mam-done");
        assert_eq!(
            (&out[0]["complete"], &out[0]["count"]),
            (&json!(true), &json!(2))
        );
        assert_eq!(
            (&out[0]["first"], &out[0]["last"]),
            (&json!("a"), &json!("b"))
        );
        assert_eq!((&out[1]["ok"], &out[1]["tag"]), (&json!(true), &json!("t")));
        assert!(event(&done).is_empty(), "answered once");
        waiting().insert(
            "q2".into(),
            Waiting {
                cmd: "mam".into(),
                tag: Value::Null,
            },
        );
        let failed = MamEvent::Failed {
            id: "q2".into(),
            query_id: "y".into(),
            error: IqFailure::Timeout.into(),
        };
        assert_eq!(event(&failed)[0]["error"], "timeout");
    }
}
