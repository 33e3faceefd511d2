//! The multi-user chat commands and events of the contract, on the core's
//! MUC module (`xmpp_proto::muc`, XEP-0045): `join` and `leave` run the
//! module's commands where the core lives; the `result` of `join` is
//! printed when the room lets us in (after the `joined` event) or refuses
//! (`ok: false`, `error` the room's condition: `not-authorized`,
//! `conflict`, `registration-required`, ..., or `timeout`); the `result`
//! of `leave` when the room confirms. Occupant changes are `occupant`
//! events, the subject a `subject` event; groupchat and private messages
//! are `message` events like any (history ones carry their `delay`).
//!
//! Added fields: `join` takes an optional `password` and `history` (the
//! most messages of history to ask for; 0 for none). `joined` has `codes`
//! (the self-presence's status codes) and `rejoined`; `occupant` has
//! `self` (it is us), `show`, `status`, and when unavailable `departure`
//! (`left`, `kicked`, `banned`, `affiliation-changed`, `members-only`,
//! `shutdown`, `error`, `destroyed`), `reason`, and `new_nick` for a nick
//! change (the new nick's `occupant` event follows); `subject` has `by`
//! and `initial` (the subject sent on entering, which ends the history).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};
use xmpp_proto::muc::{Departure, History, Join, Muc, MucError, MucEvent, Occupant};
use xmpp_proto::stanza::{BareJid, Jid};
use xmpp_proto::Client;

use super::command::send_failure;

/// A MUC command, decoded.
#[derive(Clone, Debug)]
pub enum MucCmd {
    /// `join`.
    Join(Join),
    /// `leave`.
    Leave(BareJid),
}

/// A command waiting for the room's answer.
struct Waiting {
    cmd: String,
    tag: Value,
}

/// The commands waiting, by room (joins and leaves), and our nick in
/// each room we are in (for `self`).
#[derive(Default)]
struct State {
    joins: HashMap<BareJid, Waiting>,
    leaves: HashMap<BareJid, Waiting>,
    nicks: HashMap<BareJid, String>,
}

fn state() -> MutexGuard<'static, State> {
    static STATE: LazyLock<Mutex<State>> = LazyLock::new(Mutex::default);
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers the MUC module on a new session's core.
pub fn register(client: &mut Client) {
    // A fresh core has no MUC module yet: this cannot conflict.
    let _ = client.register(Muc::new());
}

/// The history a `join` asks for: the added field `history`, a number of
/// messages (0: none), else the room's default.
pub fn history(max: Option<u64>) -> History {
    match max {
        None => History::Default,
        Some(0) => History::None,
        Some(n) => History::MaxStanzas(u32::try_from(n).unwrap_or(u32::MAX)),
    }
}

/// The short reason for a refused MUC command.
fn failure(e: &MucError) -> String {
    match e {
        MucError::Send(e) => send_failure(e),
        MucError::NotInRoom(_) => "not-in-room".into(),
        MucError::AlreadyInRoom(_) => "already-in-room".into(),
        MucError::TooManyRooms { .. } => "too-many-rooms".into(),
        MucError::InvalidNick(_) => "bad-nick".into(),
        other => other.to_string(),
    }
}

/// Runs `cmd` on the core (where it lives: the adapter's `with`); its
/// `result` is printed when the room answers. `Err` is the short reason
/// it failed at once.
pub fn run(
    client: &mut Client,
    now: Instant,
    cmd: MucCmd,
    name: String,
    tag: Value,
) -> Result<(), String> {
    let room = match &cmd {
        MucCmd::Join(j) => j.room.clone(),
        MucCmd::Leave(room) => room.clone(),
    };
    let leaving = matches!(cmd, MucCmd::Leave(_));
    client
        .with_module(now, |m: &mut Muc, cx| match cmd {
            MucCmd::Join(join) => m.join(cx, join),
            MucCmd::Leave(room) => m.leave(cx, &room, None),
        })
        .map_err(|e| e.to_string())?
        .map_err(|e| failure(&e))?;
    let waiting = Waiting { cmd: name, tag };
    let mut s = state();
    if leaving {
        s.leaves.insert(room, waiting);
    } else {
        s.joins.insert(room, waiting);
    }
    Ok(())
}

/// `{nick, jid, affiliation, role}`, as `joined` lists occupants.
fn listed(o: &Occupant) -> Value {
    json!({
        "nick": o.nick,
        "jid": o.jid.as_ref().map(Jid::as_str),
        "affiliation": o.affiliation.as_str(),
        "role": o.role.as_str(),
    })
}

/// `occupant`.
fn occupant(room: &BareJid, o: &Occupant, available: bool, own: bool) -> Value {
    json!({
        "event": "occupant",
        "room": room.as_str(),
        "nick": o.nick,
        "jid": o.jid.as_ref().map(Jid::as_str),
        "affiliation": o.affiliation.as_str(),
        "role": o.role.as_str(),
        "available": available,
        "self": own,
        "show": o.show.map(|s| s.as_str()),
        "status": o.status,
    })
}

/// `occupant` for someone who left, with why.
fn departed(room: &BareJid, o: &Occupant, departure: &Departure, own: bool) -> Value {
    let mut v = occupant(room, o, false, own);
    v["departure"] = json!(departure.as_str());
    let reason = match departure {
        Departure::Kicked(r)
        | Departure::Banned(r)
        | Departure::AffiliationChanged(r)
        | Departure::MembersOnly(r)
        | Departure::Shutdown(r)
        | Departure::Error(r) => r.reason.clone(),
        Departure::Destroyed(d) => d.reason.clone(),
        _ => None,
    };
    v["reason"] = json!(reason);
    v
}

fn result(w: Waiting, outcome: Result<(), &str>) -> Value {
    match outcome {
        Ok(()) => json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": true }),
        Err(e) => {
            json!({ "event": "result", "cmd": w.cmd, "tag": w.tag, "ok": false, "error": e })
        }
    }
}

/// The events to print for what the module reported.
pub fn event(event: &MucEvent) -> Vec<Value> {
    let mut s = state();
    match event {
        MucEvent::Joined {
            room,
            nick,
            occupants,
            codes,
            rejoined,
        } => {
            s.nicks.insert(room.clone(), nick.clone());
            let mut out = vec![json!({
                "event": "joined",
                "room": room.as_str(),
                "nick": nick,
                "occupants": occupants.iter().map(listed).collect::<Vec<_>>(),
                "codes": codes.iter().map(|c| c.code()).collect::<Vec<_>>(),
                "rejoined": rejoined,
            })];
            out.extend(s.joins.remove(room).map(|w| result(w, Ok(()))));
            out
        }
        MucEvent::JoinFailed {
            room, nick, error, ..
        } => match s.joins.remove(room) {
            Some(w) => vec![result(w, Err(error.as_str()))],
            None => {
                // A rejoin after a reconnection: nobody waits for it.
                eprintln!("xmpp-cli: could not enter {room} again as {nick}: {error}");
                Vec::new()
            }
        },
        MucEvent::OccupantJoined { room, occupant: o }
        | MucEvent::OccupantChanged { room, occupant: o } => {
            let own = false;
            vec![occupant(room, o, true, own)]
        }
        MucEvent::OccupantLeft {
            room,
            occupant: o,
            departure,
        } => vec![departed(room, o, departure, false)],
        MucEvent::NickChanged {
            room,
            old,
            occupant: o,
            own,
        } => {
            if *own {
                s.nicks.insert(room.clone(), o.nick.clone());
            }
            let before = Occupant {
                nick: old.clone(),
                ..o.clone()
            };
            let mut gone = departed(room, &before, &Departure::Left, *own);
            gone["new_nick"] = json!(o.nick);
            vec![gone, occupant(room, o, true, *own)]
        }
        MucEvent::Left {
            room,
            nick,
            departure,
        } => {
            s.nicks.remove(room);
            let me = Occupant {
                nick: nick.clone(),
                ..Occupant::default()
            };
            let mut out = vec![departed(room, &me, departure, true)];
            if let Some(w) = s.leaves.remove(room) {
                out.push(result(w, Ok(())));
            }
            if let Some(w) = s.joins.remove(room) {
                out.push(result(w, Err(departure.as_str())));
            }
            out
        }
        MucEvent::Subject {
            room,
            subject,
            by,
            initial,
        } => vec![json!({
            "event": "subject",
            "room": room.as_str(),
            "subject": subject.as_deref().unwrap_or(""),
            "by": by,
            "initial": initial,
        })],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xmpp_proto::muc::{Affiliation, JoinError, Removal, Role};

    fn room() -> BareJid {
        "coven@chat.example.org".parse().unwrap()
    }

    #[test]
    fn joined_lists_the_occupants_and_answers_the_join() {
        state().joins.insert(
            room(),
            Waiting {
                cmd: "join".into(),
                tag: json!("j"),
            },
        );
        let me = Occupant {
            nick: "thirdwitch".into(),
            jid: Some("juliet@example.com/balcony".parse().unwrap()),
            affiliation: Affiliation::Member,
            role: Role::Participant,
            ..Occupant::default()
        };
        let out = event(&MucEvent::Joined {
            room: room(),
            nick: "thirdwitch".into(),
            occupants: vec![me],
            codes: vec![],
            rejoined: false,
        });
        assert_eq!(out[0]["event"], "joined");
        assert_eq!(
            out[0]["occupants"],
            json!([{"nick": "thirdwitch", "jid": "juliet@example.com/balcony", "affiliation": "member", "role": "participant"}])
        );
        assert_eq!(
            out[1],
            json!({"event": "result", "cmd": "join", "tag": "j", "ok": true})
        );
        // A refused join: the room's condition.
        state().joins.insert(
            room(),
            Waiting {
                cmd: "join".into(),
                tag: json!("k"),
            },
        );
        let out = event(&MucEvent::JoinFailed {
            room: room(),
            nick: "thirdwitch".into(),
            error: JoinError::NickConflict,
            stanza_error: None,
        });
        assert_eq!(
            out,
            [
                json!({"event": "result", "cmd": "join", "tag": "k", "ok": false, "error": "conflict"})
            ]
        );
    }

    #[test]
    fn removals_and_nick_changes_are_occupant_events() {
        let o = Occupant {
            nick: "pistol".into(),
            ..Occupant::default()
        };
        let out = event(&MucEvent::OccupantLeft {
            room: room(),
            occupant: o.clone(),
            departure: Departure::Kicked(Removal {
                actor: None,
                reason: Some("Avaunt".into()),
            }),
        });
        assert_eq!(out[0]["available"], false);
        assert_eq!(out[0]["departure"], "kicked");
        assert_eq!(out[0]["reason"], "Avaunt");
        let out = event(&MucEvent::NickChanged {
            room: room(),
            old: "pistol".into(),
            occupant: Occupant {
                nick: "ancient".into(),
                ..o
            },
            own: false,
        });
        assert_eq!(
            (
                out[0]["nick"].clone(),
                out[0]["available"].clone(),
                out[0]["new_nick"].clone()
            ),
            (json!("pistol"), json!(false), json!("ancient"))
        );
        assert_eq!(
            (out[1]["nick"].clone(), out[1]["available"].clone()),
            (json!("ancient"), json!(true))
        );
    }
}
