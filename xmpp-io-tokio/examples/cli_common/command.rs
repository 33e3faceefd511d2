//! Commands: one JSON object a line on stdin, named by `"cmd"` (also
//! accepted: `"command"`), with an optional `"tag"` echoed in the command's
//! `result` event. Every command line gets exactly one `result` event
//! (`ok: false` with a short reason for a bad line; the client goes on).

use serde_json::{json, Map, Value};
use xmpp_proto::muc::Join;
use xmpp_proto::roster::RosterItem;
use xmpp_proto::stanza::{BareJid, Iq, Jid, Message, Show, Stanza};
use xmpp_proto::{IqFailure, SendError};

use std::time::Instant;

use xmpp_proto::Client;

use super::blocking::{self, BlockingCmd};
use super::disco;
use super::mam::{self, MamCmd};
use super::muc::{self, MucCmd};
use super::ping;
use super::presence::{self, PresenceCmd};
use super::roster::{self, RosterCmd};
use super::vcard::{self, VCardChange, VCardCmd};

/// Commands of the contract that this version does not carry out yet.
pub const NOT_IMPLEMENTED: [&str; 0] = [];

/// A decoded command line.
#[derive(Clone, Debug)]
pub struct Command {
    /// The command's name.
    pub name: String,
    /// The tag to echo (`null` when absent).
    pub tag: Value,
    /// What to do.
    pub plan: Plan,
}

/// What a command asks of the session.
#[derive(Clone, Debug)]
pub enum Plan {
    /// Send this stanza; `ok` once the session accepted it.
    Send(Stanza),
    /// Send this IQ request and report its answer as `expect` says.
    Request(Iq, Expect),
    /// A command of one of the core's modules, run where the core lives
    /// (the adapter's `with`).
    Module(ModuleCmd),
    /// Close the stream cleanly and exit 0.
    Quit,
}

/// A module's command (see `roster.rs`, `presence.rs`, `ping.rs`,
/// `blocking.rs`).
#[derive(Clone, Debug)]
pub enum ModuleCmd {
    /// Answered when the roster module reports the request done.
    Roster(RosterCmd),
    /// Answered at once.
    Presence(PresenceCmd),
    /// `ping`: answered when the ping module reports the answer.
    Ping(Jid),
    /// Answered when the blocking module reports the request done.
    Blocking(BlockingCmd),
    /// `disco-info`: answered when the disco module reports the answer.
    DiscoInfo(Jid),
    /// `vcard-get`, `vcard-set`: answered when the vCard module reports.
    VCard(VCardCmd),
    /// `join` / `leave`: answered when the room does.
    Muc(MucCmd),
    /// `mam`: answered when the archive ends the query.
    Mam(MamCmd),
}

impl ModuleCmd {
    /// Runs on the core for `command`: `Ok(true)` when its `result` is due
    /// now, `Ok(false)` when the module reports it later, `Err` the reason
    /// it failed.
    pub fn run(self, command: &Command, client: &mut Client, now: Instant) -> Result<bool, String> {
        match self {
            ModuleCmd::Roster(cmd) => {
                roster::run(client, now, cmd, command.name.clone(), command.tag.clone())?;
                Ok(false)
            }
            ModuleCmd::Presence(cmd) => presence::run(client, now, cmd).map(|()| true),
            ModuleCmd::Ping(jid) => {
                ping::run(client, now, jid, command.name.clone(), command.tag.clone())?;
                Ok(false)
            }
            ModuleCmd::Blocking(cmd) => {
                blocking::run(client, now, cmd, command.name.clone(), command.tag.clone())?;
                Ok(false)
            }
            ModuleCmd::DiscoInfo(jid) => {
                disco::run(client, now, jid, command.name.clone(), command.tag.clone())?;
                Ok(false)
            }
            ModuleCmd::VCard(cmd) => {
                vcard::run(client, now, cmd, command.name.clone(), command.tag.clone())?;
                Ok(false)
            }
            ModuleCmd::Muc(cmd) => {
                muc::run(client, now, cmd, command.name.clone(), command.tag.clone())?;
                Ok(false)
            }
            ModuleCmd::Mam(cmd) => {
                mam::run(client, now, cmd, command.name.clone(), command.tag.clone())?;
                Ok(false)
            }
        }
    }
}

/// The `result` to print for a module command's outcome (`run` above,
/// through an adapter's `with`), if it is due now.
pub fn module_result(command: &Command, outcome: Result<bool, String>) -> Option<Value> {
    match outcome {
        Ok(false) => None,
        Ok(true) => Some(result(command, Ok(()))),
        Err(e) => Some(result(command, Err(e))),
    }
}

/// How to report an IQ's answer.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Only the result.
    Ack,
}

/// Decodes a line. `Err` is the `result` event to print for a bad line.
/// `own` is the account, for commands whose default target is our server.
pub fn decode(line: &str, own: &BareJid) -> Result<Command, Value> {
    let object = match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return Err(failure(
                &Value::Null,
                &Value::Null,
                "bad-command",
                "not a JSON object",
            ))
        }
        Err(e) => {
            return Err(failure(
                &Value::Null,
                &Value::Null,
                "bad-json",
                &e.to_string(),
            ))
        }
    };
    let tag = object.get("tag").cloned().unwrap_or(Value::Null);
    let name = match object.get("cmd").or_else(|| object.get("command")) {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(failure(
                &Value::Null,
                &tag,
                "bad-command",
                "missing \"cmd\"",
            ))
        }
    };
    let fields = Fields {
        object: &object,
        name: &name,
        tag: &tag,
    };
    let plan = plan(&fields, own)?;
    Ok(Command { name, tag, plan })
}

fn plan(f: &Fields<'_>, own: &BareJid) -> Result<Plan, Value> {
    let plan = match f.name {
        "send" => {
            let to = f.jid("to")?;
            let body = f.string("body")?;
            let mut message = match f.opt_string("type")?.as_deref() {
                None | Some("chat") => Message::chat(to, body),
                Some("groupchat") => Message::groupchat(to, body),
                Some("normal") => Message::normal(to, body),
                Some(other) => {
                    return Err(f.bad(&format!("type {other:?} is not chat, groupchat or normal")))
                }
            };
            if let Some(id) = f.opt_string("id")? {
                message = message.with_id(id);
            }
            // Added fields: a XEP-0184 receipt request, a XEP-0308 correction.
            if f.opt_bool("receipt")? {
                message = message.with_receipt_request();
            }
            if let Some(id) = f.opt_string("replaces")? {
                message = message.with_replace(id);
            }
            Plan::Send(message.into())
        }
        "presence" => {
            let show = match f.opt_string("show")? {
                Some(show) => Some(Show::from_text(&show).ok_or_else(|| {
                    f.bad(&format!("show {show:?} is not away, chat, dnd or xa"))
                })?),
                None => None,
            };
            let status = f.opt_string("status")?;
            Plan::Module(ModuleCmd::Presence(
                match f.opt_string("type")?.as_deref() {
                    None | Some("available") => PresenceCmd::Available(show, status),
                    Some("unavailable") => PresenceCmd::Unavailable(status),
                    Some(other) => {
                        return Err(
                            f.bad(&format!("type {other:?} is not available or unavailable"))
                        )
                    }
                },
            ))
        }
        "subscribe" => Plan::Module(ModuleCmd::Presence(PresenceCmd::Subscribe(
            f.bare_jid("to")?,
        ))),
        "approve" => Plan::Module(ModuleCmd::Presence(PresenceCmd::Approve(f.bare_jid("to")?))),
        "deny" => Plan::Module(ModuleCmd::Presence(PresenceCmd::Deny(f.bare_jid("to")?))),
        "unsubscribe" => Plan::Module(ModuleCmd::Presence(PresenceCmd::Unsubscribe(
            f.bare_jid("to")?,
        ))),
        "roster" => Plan::Module(ModuleCmd::Roster(RosterCmd::Fetch)),
        "roster-set" => {
            let mut item =
                RosterItem::new(f.bare_jid("jid")?).with_groups(f.opt_strings("groups")?);
            item.name = f.opt_string("name")?;
            Plan::Module(ModuleCmd::Roster(RosterCmd::Set(item)))
        }
        "roster-remove" => Plan::Module(ModuleCmd::Roster(RosterCmd::Remove(f.bare_jid("jid")?))),
        "disco-info" => Plan::Module(ModuleCmd::DiscoInfo(f.jid("jid")?)),
        "join" => {
            let mut join = Join::new(f.bare_jid("room")?, f.string("nick")?)
                .history(muc::history(f.opt_u64("history")?));
            join.password = f.opt_string("password")?;
            Plan::Module(ModuleCmd::Muc(MucCmd::Join(join)))
        }
        "leave" => Plan::Module(ModuleCmd::Muc(MucCmd::Leave(f.bare_jid("room")?))),
        "mam" => {
            let with = match f.opt_string("with")? {
                Some(_) => Some(f.jid("with")?),
                None => None,
            };
            let room = match f.opt_string("room")? {
                Some(_) => Some(f.bare_jid("room")?),
                None => None,
            };
            let cmd = MamCmd::new(
                with,
                room,
                f.opt_u64("max")?,
                f.opt_string("before")?,
                f.opt_string("after")?,
                f.opt_string("start")?,
                f.opt_string("end")?,
            )
            .map_err(|e| f.bad(&e))?;
            Plan::Module(ModuleCmd::Mam(cmd))
        }
        "ping" => {
            let to = match f.opt_string("jid")? {
                Some(_) => f.jid("jid")?,
                None => domain_of(own),
            };
            Plan::Module(ModuleCmd::Ping(to))
        }
        "block" => Plan::Module(ModuleCmd::Blocking(BlockingCmd::Block(f.jid("jid")?))),
        "unblock" => Plan::Module(ModuleCmd::Blocking(BlockingCmd::Unblock(f.jid("jid")?))),
        "blocklist" => Plan::Module(ModuleCmd::Blocking(BlockingCmd::List)),
        "vcard-get" => Plan::Module(ModuleCmd::VCard(VCardCmd::Get(
            match f.opt_string("jid")? {
                Some(_) => Some(f.bare_jid("jid")?),
                None => None,
            },
        ))),
        "vcard-set" => Plan::Module(ModuleCmd::VCard(VCardCmd::Set(VCardChange {
            full_name: f.opt_string("fn")?,
            nickname: f.opt_string("nickname")?,
            email: f.opt_string("email")?,
        }))),
        "quit" => Plan::Quit,
        name if NOT_IMPLEMENTED.contains(&name) => {
            return Err(json!({
                "event": "result", "cmd": name, "tag": f.tag, "ok": false, "error": "not-implemented",
            }))
        }
        _ => return Err(failure(&json!(f.name), f.tag, "unknown-command", f.name)),
    };
    Ok(plan)
}

fn domain_of(own: &BareJid) -> Jid {
    // A domain is a valid JID by itself.
    Jid::new(own.domain().as_str()).expect("the domain of a JID is a JID")
}

/// Access to a command's fields with contract-shaped errors.
struct Fields<'a> {
    object: &'a Map<String, Value>,
    name: &'a str,
    tag: &'a Value,
}

impl Fields<'_> {
    fn bad(&self, detail: &str) -> Value {
        failure(&json!(self.name), self.tag, "bad-command", detail)
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, Value> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(&format!("{key:?} must be a string"))),
        }
    }

    fn opt_bool(&self, key: &str) -> Result<bool, Value> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(&format!("{key:?} must be true or false"))),
        }
    }

    fn opt_u64(&self, key: &str) -> Result<Option<u64>, Value> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.bad(&format!("{key:?} must be a whole number"))),
            Some(_) => Err(self.bad(&format!("{key:?} must be a whole number"))),
        }
    }

    fn string(&self, key: &str) -> Result<String, Value> {
        self.opt_string(key)?
            .ok_or_else(|| self.bad(&format!("missing {key:?}")))
    }

    fn jid(&self, key: &str) -> Result<Jid, Value> {
        let s = self.string(key)?;
        Jid::new(&s).map_err(|e| self.bad(&format!("{key:?} is not a JID: {e}")))
    }

    fn bare_jid(&self, key: &str) -> Result<BareJid, Value> {
        let jid = self.jid(key)?;
        if jid.resource().is_some() {
            return Err(self.bad(&format!("{key:?} must be a bare JID (no resource)")));
        }
        Ok(jid.to_bare())
    }

    fn opt_strings(&self, key: &str) -> Result<Vec<String>, Value> {
        match self.object.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| self.bad(&format!("{key:?} must be a list of strings")))
                })
                .collect(),
            Some(_) => Err(self.bad(&format!("{key:?} must be a list of strings"))),
        }
    }
}

/// A `result` event with `ok: false`; `detail` is an added field for people.
pub fn failure(cmd: &Value, tag: &Value, error: &str, detail: &str) -> Value {
    json!({ "event": "result", "cmd": cmd, "tag": tag, "ok": false, "error": error, "detail": detail })
}

/// The `result` of a `send`: with the added field `id`, the id the
/// message went out with (to match receipts, markers, corrections).
pub fn sent(command: &Command, outcome: Result<String, String>) -> Value {
    match outcome {
        Ok(id) => {
            // Its `sent` event comes when the server confirms it (or came
            // already: printed now).
            if let Some(early) = super::sent::record(&id) {
                super::print(&early);
            }
            let mut v = result(command, Ok(()));
            v["id"] = json!(id);
            v
        }
        Err(e) => result(command, Err(e)),
    }
}

/// The `result` event for a command.
pub fn result(command: &Command, outcome: Result<(), String>) -> Value {
    match outcome {
        Ok(()) => json!({ "event": "result", "cmd": command.name, "tag": command.tag, "ok": true }),
        Err(error) => {
            json!({ "event": "result", "cmd": command.name, "tag": command.tag, "ok": false, "error": error })
        }
    }
}

/// The events for an IQ's answer: the data event (if any) and the result.
/// `outcome` is the answer, or the short reason it failed (see
/// [`iq_failure`] and [`send_failure`]).
pub fn iq_outcome(command: &Command, expect: &Expect, outcome: Result<Iq, String>) -> Vec<Value> {
    match (outcome, expect) {
        (Ok(_), Expect::Ack) => vec![result(command, Ok(()))],
        (Err(error), _) => vec![result(command, Err(error))],
    }
}

/// The short reason for an IQ that produced no result: the stanza error's
/// condition (`item-not-found`), `timeout` or `disconnected`.
pub fn iq_failure(failure: &IqFailure) -> String {
    match failure {
        IqFailure::Error(e) => e.condition.name().to_string(),
        IqFailure::Timeout => "timeout".into(),
        IqFailure::Disconnected => "disconnected".into(),
        other => other.to_string(),
    }
}

/// The short reason for a command the session refused.
pub fn send_failure(error: &SendError) -> String {
    match error {
        SendError::NotOnline => "not-online".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_proto::stanza::MessageType;

    fn own() -> BareJid {
        "alice@example.com".parse().unwrap()
    }

    #[test]
    fn send_and_presence() {
        let c = decode(
            r#"{"cmd":"send","to":"bob@example.com","body":"hi","tag":"t1"}"#,
            &own(),
        )
        .unwrap();
        assert_eq!(c.tag, json!("t1"));
        let Plan::Send(Stanza::Message(m)) = c.plan else {
            panic!()
        };
        assert_eq!(
            (m.type_, m.body.as_deref()),
            (MessageType::Chat, Some("hi"))
        );
        assert!(m.payloads.is_empty());
        let c = decode(
            r#"{"cmd":"send","to":"bob@example.com","body":"hi!","receipt":true,"replaces":"m1"}"#,
            &own(),
        )
        .unwrap();
        let Plan::Send(Stanza::Message(m)) = c.plan else {
            panic!()
        };
        assert!(m.payload("urn:xmpp:receipts", "request").is_some());
        let replace = m.payload("urn:xmpp:message-correct:0", "replace");
        assert_eq!(replace.and_then(|r| r.attr("id")), Some("m1"));
        let v = decode(
            r#"{"cmd":"send","to":"b@x","body":"","receipt":"yes"}"#,
            &own(),
        )
        .unwrap_err();
        assert_eq!(v["error"], "bad-command");
        let c = decode(r#"{"cmd":"presence","show":"dnd","status":"busy"}"#, &own()).unwrap();
        assert!(matches!(
            c.plan,
            Plan::Module(ModuleCmd::Presence(PresenceCmd::Available(Some(Show::Dnd), Some(ref s)))) if s == "busy"
        ));
        let c = decode(r#"{"cmd":"subscribe","to":"bob@example.com"}"#, &own()).unwrap();
        assert!(matches!(
            c.plan,
            Plan::Module(ModuleCmd::Presence(PresenceCmd::Subscribe(_)))
        ));
        // Subscriptions are between accounts: a full JID is refused.
        let v = decode(r#"{"cmd":"approve","to":"bob@example.com/x"}"#, &own()).unwrap_err();
        assert_eq!(v["error"], "bad-command");
        let c = decode(
            r#"{"cmd":"roster-set","jid":"bob@example.com","name":"Bob","groups":["A","A"]}"#,
            &own(),
        )
        .unwrap();
        let Plan::Module(ModuleCmd::Roster(RosterCmd::Set(item))) = c.plan else {
            panic!()
        };
        assert_eq!(
            (item.name.as_deref(), item.groups),
            (Some("Bob"), vec!["A".to_string()])
        );
    }

    #[test]
    fn bad_lines_become_results() {
        for (line, error) in [
            ("not json", "bad-json"),
            ("[1]", "bad-command"),
            (r#"{"to":"x"}"#, "bad-command"),
            (r#"{"cmd":"send","body":"no to"}"#, "bad-command"),
            (r#"{"cmd":"send","to":"@@","body":"x"}"#, "bad-command"),
            (r#"{"cmd":"fly"}"#, "unknown-command"),
            (r#"{"cmd":"mam","max":0}"#, "bad-command"),
            (r#"{"cmd":"mam","room":"r@muc/x"}"#, "bad-command"),
            (r#"{"cmd":"mam","start":"yesterday"}"#, "bad-command"),
            (
                r#"{"cmd":"join","room":"r@muc/x","nick":"n"}"#,
                "bad-command",
            ),
            (r#"{"cmd":"join","room":"r@muc"}"#, "bad-command"),
            (r#"{"cmd":"leave"}"#, "bad-command"),
        ] {
            let v = decode(line, &own()).unwrap_err();
            assert_eq!(v["event"], "result", "{line}");
            assert_eq!(v["ok"], false, "{line}");
            assert_eq!(v["error"], error, "{line}");
        }
    }

    #[test]
    fn join_and_leave() {
        let c = decode(
            r#"{"cmd":"join","room":"coven@chat.example.org","nick":"thirdwitch","password":"p","history":0}"#,
            &own(),
        )
        .unwrap();
        let Plan::Module(ModuleCmd::Muc(MucCmd::Join(j))) = c.plan else {
            panic!()
        };
        assert_eq!(
            (j.room.as_str(), j.nick.as_str(), j.password.as_deref()),
            ("coven@chat.example.org", "thirdwitch", Some("p"))
        );
        assert_eq!(j.history, xmpp_proto::muc::History::None);
        let c = decode(r#"{"cmd":"leave","room":"coven@chat.example.org"}"#, &own()).unwrap();
        assert!(matches!(
            c.plan,
            Plan::Module(ModuleCmd::Muc(MucCmd::Leave(_)))
        ));
    }

    #[test]
    fn ping_defaults_to_own_server() {
        let c = decode(r#"{"cmd":"ping"}"#, &own()).unwrap();
        let Plan::Module(ModuleCmd::Ping(to)) = c.plan else {
            panic!()
        };
        assert_eq!(to.as_str(), "example.com");
        let c = decode(r#"{"cmd":"ping","jid":"bob@example.com/x"}"#, &own()).unwrap();
        assert!(
            matches!(c.plan, Plan::Module(ModuleCmd::Ping(ref j)) if j.as_str() == "bob@example.com/x")
        );
    }

    #[test]
    fn block_unblock_and_blocklist() {
        let c = decode(r#"{"cmd":"block","jid":"example.net"}"#, &own()).unwrap();
        assert!(
            matches!(c.plan, Plan::Module(ModuleCmd::Blocking(BlockingCmd::Block(ref j))) if j.as_str() == "example.net")
        );
        let c = decode(r#"{"cmd":"unblock","jid":"bob@example.com"}"#, &own()).unwrap();
        assert!(matches!(
            c.plan,
            Plan::Module(ModuleCmd::Blocking(BlockingCmd::Unblock(_)))
        ));
        let c = decode(r#"{"cmd":"blocklist"}"#, &own()).unwrap();
        assert!(matches!(
            c.plan,
            Plan::Module(ModuleCmd::Blocking(BlockingCmd::List))
        ));
        let v = decode(r#"{"cmd":"block"}"#, &own()).unwrap_err();
        assert_eq!(v["error"], "bad-command");
    }

    #[test]
    fn vcard_get_and_set() {
        let c = decode(r#"{"cmd":"vcard-get"}"#, &own()).unwrap();
        assert!(matches!(
            c.plan,
            Plan::Module(ModuleCmd::VCard(VCardCmd::Get(None)))
        ));
        let c = decode(r#"{"cmd":"vcard-get","jid":"bob@example.com"}"#, &own()).unwrap();
        assert!(
            matches!(c.plan, Plan::Module(ModuleCmd::VCard(VCardCmd::Get(Some(ref j)))) if j.as_str() == "bob@example.com")
        );
        // A card belongs to an account: a full JID is refused.
        let v = decode(r#"{"cmd":"vcard-get","jid":"bob@example.com/x"}"#, &own()).unwrap_err();
        assert_eq!(v["error"], "bad-command");
        let c = decode(
            r#"{"cmd":"vcard-set","fn":"Alice","email":"a@example.org"}"#,
            &own(),
        )
        .unwrap();
        let Plan::Module(ModuleCmd::VCard(VCardCmd::Set(change))) = c.plan else {
            panic!()
        };
        assert_eq!(
            change,
            VCardChange {
                full_name: Some("Alice".into()),
                nickname: None,
                email: Some("a@example.org".into()),
            }
        );
        let v = decode(r#"{"cmd":"vcard-set","nickname":7}"#, &own()).unwrap_err();
        assert_eq!(v["error"], "bad-command");
    }
}
