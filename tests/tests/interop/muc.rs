//! Multi-user chat (XEP-0045) and direct invitations (XEP-0249) against
//! Prosody's MUC component (`conference.localhost`): through both CLIs,
//! two accounts join a room an owner created and configured, chat, write
//! privately, one is refused a nick in use, kicked, and the other leaves;
//! through the library (the Tokio adapter and the core's MUC module), a
//! room created and configured with a form (a password), history told
//! apart from live, real JIDs shown to moderators only, a nick change,
//! invitations mediated and direct (declined, accepted), typed join
//! failures (wrong password, banned), a kick, a ban and the room
//! destroyed.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use xmpp_io_tokio::{connect, ConnectOptions, Event, Events, Handle};
use xmpp_proto::messages::{ChatMessage, Messages};
use xmpp_proto::muc::{
    Affiliation, Departure, InvitationKind, Join, JoinError, Muc, MucEvent, Role, StatusCode,
};
use xmpp_proto::presence::{Availability, Presence};
use xmpp_proto::stanza::{BareJid, Jid};
use xmpp_proto::{Module, ModuleContext, ReconnectPolicy};

use super::cli::{assert_contract_fields, Cli, Driver, Server};
use super::each_driver;

const T: Duration = Duration::from_secs(10);

/// The MUC service of the private Prosody.
fn muc_domain(s: &Server) -> String {
    std::env::var("PROSODY_MUC_DOMAIN").unwrap_or_else(|_| format!("conference.{}", s.domain))
}

/// A room name no earlier run used (rooms persist in Prosody's data).
pub(crate) fn fresh_room(s: &Server, what: &str) -> BareJid {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{what}-{}-{nanos}@{}", std::process::id(), muc_domain(s))
        .parse()
        .expect("room jid")
}

/// A library session (Tokio adapter) with the messages, presence and MUC
/// modules, available (invitations to the bare JID reach only available
/// resources), and the events it has not been asked for yet.
struct Lib {
    handle: Handle,
    events: Events,
    backlog: VecDeque<xmpp_proto::Event>,
}

impl Lib {
    async fn start(s: &Server, user: &str, resource: &str) -> Lib {
        Lib::start_with(s, user, resource, false).await
    }

    /// With `reconnect`, a session that reconnects after a lost
    /// connection, and whose connection can be dropped on purpose
    /// ([`Lib::drop_connection`]).
    async fn start_with(s: &Server, user: &str, resource: &str, reconnect: bool) -> Lib {
        let jid = format!("{user}@{}", s.domain).parse().expect("jid");
        let mut options = ConnectOptions::new(jid, format!("{user}-pass"));
        if reconnect {
            options = options.reconnect(ReconnectPolicy::new());
        }
        let options = options
            .server(s.host.clone(), s.c2s_port.parse().expect("port"))
            .ca_file(s.ca.clone())
            .resource(resource)
            .on_client(|c| {
                c.register(Messages::new()).expect("register");
                c.register(Presence::new().with_initial(Availability::new()))
                    .expect("register");
                c.register(Muc::new()).expect("register");
                c.register(Dropper).expect("register");
            });
        let (handle, events) = connect(options).await.expect("online");
        Lib {
            handle,
            events,
            backlog: VecDeque::new(),
        }
    }

    /// Declares the connection lost (as a failed liveness check would):
    /// the core ends it, and with a reconnect policy logs in anew (no
    /// resumption), which is when the MUC module rejoins its rooms.
    async fn drop_connection(&self) {
        self.handle
            .with(|c, now| {
                c.with_module(now, |_: &mut Dropper, cx| {
                    cx.connection_lost("interop: dropped on purpose")
                })
            })
            .await
            .expect("online")
            .expect("registered");
    }

    /// Runs a command of the MUC module.
    async fn muc<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Muc, &mut ModuleContext<'_>) -> R + Send + 'static,
    ) -> R {
        self.handle
            .with(move |c, now| c.with_module(now, f))
            .await
            .expect("online")
            .expect("registered")
    }

    /// The first event (earlier ones not taken yet first) `pick` accepts.
    async fn next<R>(&mut self, what: &str, pick: impl Fn(&xmpp_proto::Event) -> Option<R>) -> R {
        if let Some(i) = self.backlog.iter().position(|e| pick(e).is_some()) {
            let e = self.backlog.remove(i).expect("there");
            return pick(&e).expect("picked");
        }
        loop {
            let event = tokio::time::timeout(T, self.events.next())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {T:?}; backlog: {:?}", self.backlog))
                .expect("the session goes on");
            let Event::Core(e) = event else { continue };
            if let Some(r) = pick(&e) {
                return r;
            }
            self.backlog.push_back(e);
        }
    }

    /// The first MUC event `pick` accepts.
    async fn muc_event<R>(&mut self, what: &str, pick: impl Fn(&MucEvent) -> Option<R>) -> R {
        self.next(what, |e| match e {
            xmpp_proto::Event::Muc(m) => pick(m),
            _ => None,
        })
        .await
    }

    /// The first chat message with this body.
    async fn message(&mut self, body: &str) -> ChatMessage {
        self.next(body, |e| match e {
            xmpp_proto::Event::ChatMessage(m) if m.message.body.as_deref() == Some(body) => {
                Some(m.clone())
            }
            _ => None,
        })
        .await
    }

    /// The outcome of the request `id`.
    async fn done(&mut self, id: &str) -> Result<(), xmpp_proto::IqFailure> {
        self.muc_event(id, |m| match m {
            MucEvent::Done {
                id: got, result, ..
            } if got == id => Some(result.clone()),
            _ => None,
        })
        .await
    }

    /// Joins `room` as `nick` (optionally with a password): the events'
    /// Joined, or the failure.
    async fn join(
        &mut self,
        room: &BareJid,
        nick: &str,
        password: Option<&str>,
    ) -> Result<MucEvent, JoinError> {
        let mut join = Join::new(room.clone(), nick);
        join.password = password.map(str::to_string);
        self.muc(move |m, cx| m.join(cx, join)).await.expect("sent");
        let r = room.clone();
        self.muc_event("the join's outcome", move |m| match m {
            MucEvent::Joined { room, .. } if *room == r => Some(Ok(m.clone())),
            MucEvent::JoinFailed { room, error, .. } if *room == r => Some(Err(*error)),
            _ => None,
        })
        .await
    }
}

/// A module with no protocol: its context lets a test drop the connection.
struct Dropper;

impl Module for Dropper {
    fn name(&self) -> &'static str {
        "dropper"
    }
}

/// Creates `room` as its owner (nick `owner`) with the default
/// configuration (an instant room, §10.1.2): status 201, then the empty
/// submitted form that unlocks it.
async fn create_instant(owner: &mut Lib, room: &BareJid) {
    let joined = owner.join(room, "owner", None).await.expect("created");
    let MucEvent::Joined { codes, .. } = joined else {
        unreachable!()
    };
    assert!(codes.contains(&StatusCode::Created), "{codes:?}");
    let r = room.clone();
    let id = owner
        .muc(move |m, cx| m.accept_default_config(cx, &r))
        .await
        .expect("sent");
    owner.done(&id).await.expect("the room took the default");
}

fn cli(d: &Driver, s: &Server, user: &str, resource: &str) -> Cli {
    let mut c = Cli::start(
        d,
        s,
        user,
        &format!("{user}-pass"),
        &["--ca-file", &s.ca, "--resource", resource],
    );
    c.online();
    c
}

fn result_of<'a>(tag: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |v: &Value| v["event"] == "result" && v["tag"] == tag
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn two_accounts_join_a_room_chat_write_privately_and_one_is_kicked_through_the_cli() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    each_driver(|d, s| {
        let room = fresh_room(s, &format!("cli-{}", d.name));
        let mut owner = rt.block_on(async {
            let mut owner = Lib::start(s, "alice", "muc-owner").await;
            create_instant(&mut owner, &room).await;
            let r = room.clone();
            owner
                .muc(move |m, cx| m.set_subject(cx, &r, Some("Toil and trouble".into())))
                .await
                .expect("sent");
            owner
                .muc_event("our subject", |m| {
                    matches!(m, MucEvent::Subject { initial: false, .. }).then_some(())
                })
                .await;
            owner
        });

        // Alice's CLI joins: joined lists the occupants, then the result,
        // then the subject that ends the (empty) history.
        let mut alice = cli(d, s, "alice", "muc-a");
        alice.send(json!({"cmd": "join", "room": room.as_str(), "nick": "alice", "tag": "j"}));
        let joined = alice.expect("joined", T, |v| v["event"] == "joined");
        assert_contract_fields(&joined);
        assert_eq!(joined["room"], room.as_str(), "[{}] {joined}", d.name);
        assert_eq!(joined["nick"], "alice");
        let occupants = joined["occupants"].as_array().expect("a list");
        let owner_row = occupants
            .iter()
            .find(|o| o["nick"] == "owner")
            .unwrap_or_else(|| panic!("[{}] no owner in {joined}", d.name));
        assert_eq!(
            (
                owner_row["affiliation"].as_str(),
                owner_row["role"].as_str()
            ),
            (Some("owner"), Some("moderator"))
        );
        assert!(occupants.iter().any(|o| o["nick"] == "alice"));
        let r = alice.expect("join result", T, result_of("j"));
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);
        let subject = alice.expect("subject", T, |v| v["event"] == "subject");
        assert_contract_fields(&subject);
        assert_eq!(
            subject["subject"], "Toil and trouble",
            "[{}] {subject}",
            d.name
        );
        assert_eq!(subject["initial"], true);

        // Bob asks for a nick in use: refused with the room's condition.
        let mut bob = cli(d, s, "bob", "muc-b");
        bob.send(json!({"cmd": "join", "room": room.as_str(), "nick": "alice", "tag": "taken"}));
        let r = bob.expect("refused join", T, result_of("taken"));
        assert_eq!(
            (r["ok"].clone(), r["error"].clone()),
            (json!(false), json!("conflict")),
            "[{}] {r}",
            d.name
        );
        bob.send(json!({"cmd": "join", "room": room.as_str(), "nick": "bob", "tag": "j"}));
        let r = bob.expect("join result", T, result_of("j"));
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);
        let seen = alice.expect("bob enters", T, |v| {
            v["event"] == "occupant" && v["nick"] == "bob"
        });
        assert_contract_fields(&seen);
        assert_eq!(seen["available"], true);
        assert_eq!(seen["room"], room.as_str());

        // A groupchat message reaches everyone, live (no delay).
        alice.send(
            json!({"cmd": "send", "to": room.as_str(), "body": "hello room", "type": "groupchat"}),
        );
        let m = bob.expect("the room's message", T, |v| {
            v["event"] == "message" && v["body"] == "hello room"
        });
        assert_eq!(m["type"], "groupchat");
        assert_eq!(m["from"], format!("{room}/alice"), "[{}] {m}", d.name);
        assert_eq!(m["delay"], Value::Null, "live, not history");
        assert!(m["stanza_id"].is_string(), "the room's stanza-id: {m}");
        // A private message to an occupant.
        bob.send(
            json!({"cmd": "send", "to": format!("{room}/alice"), "body": "psst", "type": "chat"}),
        );
        let m = alice.expect("the private message", T, |v| {
            v["event"] == "message" && v["body"] == "psst"
        });
        assert_eq!(
            (m["type"].as_str(), m["from"].as_str()),
            (Some("chat"), Some(format!("{room}/bob").as_str()))
        );

        // The owner kicks bob: bob is told, alice sees him go.
        let r = room.clone();
        rt.block_on(async {
            let id = owner
                .muc(move |m, cx| m.kick(cx, &r, "bob", Some("Avaunt")))
                .await
                .expect("sent");
            owner.done(&id).await.expect("kicked");
        });
        let out = bob.expect("bob removed", T, |v| {
            v["event"] == "occupant" && v["self"] == true
        });
        assert_contract_fields(&out);
        assert_eq!(
            (
                out["available"].clone(),
                out["departure"].clone(),
                out["reason"].clone()
            ),
            (json!(false), json!("kicked"), json!("Avaunt")),
            "[{}] {out}",
            d.name
        );
        let gone = alice.expect("bob gone", T, |v| {
            v["event"] == "occupant" && v["nick"] == "bob" && v["available"] == false
        });
        assert_eq!(gone["departure"], "kicked");

        // Alice leaves: the result once the room confirms.
        alice.send(json!({"cmd": "leave", "room": room.as_str(), "tag": "l"}));
        let out = alice.expect("alice out", T, |v| {
            v["event"] == "occupant" && v["self"] == true
        });
        assert_eq!(
            (out["available"].clone(), out["departure"].clone()),
            (json!(false), json!("left"))
        );
        let r = alice.expect("leave result", T, result_of("l"));
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);
        // Out of the room: leaving again is refused at once.
        alice.send(json!({"cmd": "leave", "room": room.as_str(), "tag": "l2"}));
        let r = alice.expect("second leave", T, result_of("l2"));
        assert_eq!(r["error"], "not-in-room");

        rt.block_on(async {
            let r = room.clone();
            let id = owner
                .muc(move |m, cx| m.destroy(cx, &r, Some("done"), None))
                .await
                .expect("sent");
            owner.done(&id).await.expect("destroyed");
            owner.handle.close().await;
        });
        assert_eq!(alice.finish().0, 0);
        assert_eq!(bob.finish().0, 0);
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_configured_room_history_nick_change_invitations_kick_ban_and_destroy_through_the_library() {
    let s = Server::from_env();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let room = fresh_room(&s, "lib");
        let mut alice = Lib::start(&s, "alice", "muc-lib").await;
        let mut bob = Lib::start(&s, "bob", "muc-lib").await;

        // Created (201), then configured through the room's form.
        let joined = alice.join(&room, "owner", None).await.expect("created");
        assert!(matches!(&joined, MucEvent::Joined { codes, .. } if codes.contains(&StatusCode::Created)));
        let r = room.clone();
        let id = alice.muc(move |m, cx| m.request_config(cx, &r)).await.expect("sent");
        let form = alice
            .muc_event("the form", |m| match m {
                MucEvent::ConfigForm { id: got, result, .. } if *got == id => Some(result.clone()),
                _ => None,
            })
            .await
            .expect("a form");
        assert_eq!(form.form_type(), Some("http://jabber.org/protocol/muc#roomconfig"));
        assert!(form.field("muc#roomconfig_roomsecret").is_some(), "{form:?}");
        let mut form = form;
        form.set("muc#roomconfig_roomname", ["The heath"]);
        form.set("muc#roomconfig_roomsecret", ["cauldron"]);
        let r = room.clone();
        let id = alice.muc(move |m, cx| m.submit_config(cx, &r, &form)).await.expect("sent");
        alice.done(&id).await.expect("configured");

        // History: a message before bob enters.
        let r = room.clone();
        alice.muc(move |m, cx| m.send_message(cx, &r, "before bob")).await.expect("sent");
        alice.message("before bob").await;

        // Invitations: a mediated one (declined), a direct one (accepted,
        // but it carries no password: refused, typed).
        let (r, to) = (room.clone(), Jid::from(format!("bob@{}", s.domain).parse::<BareJid>().expect("jid")));
        alice.muc(move |m, cx| m.invite(cx, &r, &to, Some("come in"))).await.expect("sent");
        // (Invitations of earlier runs may come from offline storage.)
        let r = room.clone();
        let invitation = bob
            .muc_event("the mediated invitation", move |m| match m {
                MucEvent::Invited(i) if i.room == r => Some(i.clone()),
                _ => None,
            })
            .await;
        assert_eq!(invitation.room, room);
        assert_eq!(invitation.kind, InvitationKind::Mediated);
        assert_eq!(invitation.password.as_deref(), Some("cauldron"), "Prosody adds the password");
        assert_eq!(invitation.reason.as_deref(), Some("come in"));
        let r = room.clone();
        bob.muc(move |m, cx| m.decline(cx, &r, Some("busy"))).await.expect("sent");
        let (who, why) = alice
            .muc_event("the decline", |m| match m {
                MucEvent::Declined { from, reason, .. } => Some((from.clone(), reason.clone())),
                _ => None,
            })
            .await;
        assert_eq!(who.map(|j| j.to_bare().to_string()), Some(format!("bob@{}", s.domain)));
        assert_eq!(why.as_deref(), Some("busy"));
        let (r, to) = (room.clone(), Jid::from(format!("bob@{}", s.domain).parse::<BareJid>().expect("jid")));
        alice.muc(move |m, cx| m.invite_direct(cx, &r, &to, Some("really"))).await.expect("sent");
        let r = room.clone();
        let invitation = bob
            .muc_event("the direct invitation", move |m| match m {
                MucEvent::Invited(i) if i.room == r => Some(i.clone()),
                _ => None,
            })
            .await;
        assert_eq!((invitation.kind, invitation.password.as_deref()), (InvitationKind::Direct, None));
        let r = room.clone();
        bob.muc(move |m, cx| m.accept(cx, &r, "bob")).await.expect("sent");
        let r = room.clone();
        let failed = bob
            .muc_event("the refused join", move |m| match m {
                MucEvent::JoinFailed { room, error, .. } if *room == r => Some(*error),
                _ => None,
            })
            .await;
        assert_eq!(failed, JoinError::PasswordRequired);

        // With the password: in, the history delayed, then the subject.
        let joined = bob.join(&room, "bob", Some("cauldron")).await.expect("joined");
        let MucEvent::Joined { occupants, .. } = joined else { unreachable!() };
        let owner = occupants.iter().find(|o| o.nick == "owner").expect("the owner");
        assert_eq!((owner.affiliation, owner.role), (Affiliation::Owner, Role::Moderator));
        assert_eq!(owner.jid, None, "semi-anonymous: a participant sees no real JID");
        let history = bob.message("before bob").await;
        assert!(history.delay.is_some(), "history is delayed: {history:?}");
        let initial = bob
            .muc_event("the subject", |m| match m {
                MucEvent::Subject { initial, .. } => Some(*initial),
                _ => None,
            })
            .await;
        assert!(initial, "the subject after the history");
        // The owner, a moderator, sees bob's real JID.
        let seen = alice
            .muc_event("bob enters", |m| match m {
                MucEvent::OccupantJoined { occupant, .. } if occupant.nick == "bob" => Some(occupant.clone()),
                _ => None,
            })
            .await;
        assert_eq!(seen.jid.map(|j| j.to_string()), Some(format!("bob@{}/muc-lib", s.domain)));
        // Live, after the subject.
        let r = room.clone();
        alice.muc(move |m, cx| m.send_message(cx, &r, "after bob")).await.expect("sent");
        let live = bob.message("after bob").await;
        assert!(live.delay.is_none());
        assert!(live.stanza_id.is_some(), "the room's stanza-id");

        // A nick change, seen by both.
        let r = room.clone();
        bob.muc(move |m, cx| m.change_nick(cx, &r, "robert")).await.expect("sent");
        let (old, own) = bob
            .muc_event("our nick change", |m| match m {
                MucEvent::NickChanged { old, occupant, own, .. } if occupant.nick == "robert" => Some((old.clone(), *own)),
                _ => None,
            })
            .await;
        assert_eq!((old.as_str(), own), ("bob", true));
        alice
            .muc_event("bob's nick change", |m| match m {
                MucEvent::NickChanged { old, occupant, own: false, .. } if old == "bob" && occupant.nick == "robert" => Some(()),
                _ => None,
            })
            .await;
        let nick = bob.muc(|m, _| m.rooms().next().map(|r| r.nick().to_string())).await;
        assert_eq!(nick.as_deref(), Some("robert"));

        // Kicked: an event on both sides, with the reason.
        let r = room.clone();
        let id = alice.muc(move |m, cx| m.kick(cx, &r, "robert", Some("Avaunt"))).await.expect("sent");
        alice.done(&id).await.expect("kicked");
        let departure = bob
            .muc_event("our removal", |m| match m {
                MucEvent::Left { departure, .. } => Some(departure.clone()),
                _ => None,
            })
            .await;
        let Departure::Kicked(removal) = departure else { panic!("{departure:?}") };
        assert_eq!(removal.reason.as_deref(), Some("Avaunt"));
        alice
            .muc_event("robert kicked", |m| match m {
                MucEvent::OccupantLeft { occupant, departure: Departure::Kicked(_), .. } if occupant.nick == "robert" => Some(()),
                _ => None,
            })
            .await;

        // Back in, then banned: removed, and refused from then on.
        bob.join(&room, "bob", Some("cauldron")).await.expect("joined again");
        let (r, who) = (room.clone(), format!("bob@{}", s.domain).parse::<BareJid>().expect("jid"));
        let id = alice.muc(move |m, cx| m.ban(cx, &r, &who, Some("Treason"))).await.expect("sent");
        alice.done(&id).await.expect("banned");
        let departure = bob
            .muc_event("our ban", |m| match m {
                MucEvent::Left { departure, .. } => Some(departure.clone()),
                _ => None,
            })
            .await;
        assert!(matches!(departure, Departure::Banned(_)), "{departure:?}");
        assert_eq!(bob.join(&room, "bob", Some("cauldron")).await.err(), Some(JoinError::Banned));
        // The ban list says so.
        let r = room.clone();
        let id = alice.muc(move |m, cx| m.request_affiliations(cx, &r, Affiliation::Outcast)).await.expect("sent");
        let items = alice
            .muc_event("the ban list", |m| match m {
                MucEvent::Items { id: got, result, .. } if *got == id => Some(result.clone()),
                _ => None,
            })
            .await
            .expect("a list");
        assert!(items.iter().any(|i| i.jid.as_ref().map(|j| j.to_string()) == Some(format!("bob@{}", s.domain))), "{items:?}");

        // Destroyed: the owner is removed too, with the reason.
        let r = room.clone();
        let id = alice.muc(move |m, cx| m.destroy(cx, &r, Some("Macbeth doth come."), None)).await.expect("sent");
        let departure = alice
            .muc_event("our removal", |m| match m {
                MucEvent::Left { departure, .. } => Some(departure.clone()),
                _ => None,
            })
            .await;
        let Departure::Destroyed(d) = departure else { panic!("{departure:?}") };
        assert_eq!(d.reason.as_deref(), Some("Macbeth doth come."));
        alice.done(&id).await.expect("destroyed");
        assert_eq!(alice.muc(|m, _| m.rooms().count()).await, 0);
        alice.handle.close().await;
        bob.handle.close().await;
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn after_a_new_session_the_room_is_rejoined_with_only_the_missed_history() {
    let s = Server::from_env();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let room = fresh_room(&s, "rejoin");
        let mut alice = Lib::start(&s, "alice", "muc-rejoin").await;
        create_instant(&mut alice, &room).await;
        let say = |alice: &Lib, body: &'static str| {
            let r = room.clone();
            let h = alice.handle.clone();
            async move {
                h.with(move |c, now| {
                    c.with_module(now, |m: &mut Muc, cx| m.send_message(cx, &r, body))
                })
                .await
                .expect("online")
                .expect("registered")
                .expect("sent");
            }
        };
        say(&alice, "m0").await;
        alice.message("m0").await;

        // Bob enters: m0 is history (stamped by the room), m1 and m2 live.
        let mut bob = Lib::start_with(&s, "bob", "muc-rejoin", true).await;
        bob.join(&room, "bob", None).await.expect("joined");
        assert!(bob.message("m0").await.delay.is_some());
        bob.muc_event("the subject", |m| match m {
            MucEvent::Subject { initial: true, .. } => Some(()),
            _ => None,
        })
        .await;
        for body in ["m1", "m2"] {
            say(&alice, body).await;
            assert!(bob.message(body).await.delay.is_none());
        }

        // Bob's connection is lost; the room sees him go; m3 is missed.
        bob.drop_connection().await;
        alice
            .muc_event("bob gone", |m| match m {
                MucEvent::OccupantLeft { occupant, .. } if occupant.nick == "bob" => Some(()),
                _ => None,
            })
            .await;
        say(&alice, "m3").await;

        // A new session: the room is entered again by itself.
        let r = room.clone();
        bob.muc_event("the rejoin", move |m| match m {
            MucEvent::Joined {
                room,
                rejoined: true,
                ..
            } if *room == r => Some(()),
            _ => None,
        })
        .await;
        bob.muc_event("the subject", |m| match m {
            MucEvent::Subject { initial: true, .. } => Some(()),
            _ => None,
        })
        .await;
        // Between the rejoin and the subject: only what was missed (the
        // room replays m0-m3: since the stamp of m0, at most 50).
        let replayed: Vec<_> = bob
            .backlog
            .iter()
            .filter_map(|e| match e {
                xmpp_proto::Event::ChatMessage(c) => c.message.body.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(replayed, ["m3"], "m0-m2 were seen before the reconnection");
        let m3 = bob.message("m3").await;
        assert!(m3.delay.is_some(), "missed, so history: {m3:?}");
        // And live again.
        say(&alice, "m4").await;
        assert!(bob.message("m4").await.delay.is_none());
        let r = room.clone();
        let id = alice
            .muc(move |m, cx| m.destroy(cx, &r, None, None))
            .await
            .expect("sent");
        alice.done(&id).await.expect("destroyed");
        alice.handle.close().await;
        bob.handle.close().await;
    });
}
