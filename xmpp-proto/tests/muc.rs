//! Multi-user chat (XEP-0045) and direct invitations (XEP-0249) as
//! transcripts: the server (playing the rooms) sends these bytes, the
//! client must send those and tell the application this. Every safety
//! rule is played by an attacker, byte for byte: room traffic from a room
//! we are not in, a nick that looks like a JID, a correction from another
//! occupant, invitations from nowhere, and floods past every bound.

use xmpp_test_support::{scram_server, session};

use std::time::Duration;

use scram_server::{Hash, ScramServer};
use session::{config, Session};
use xmpp_proto::connect::Security;
use xmpp_proto::disco::{FieldType, FormKind};
use xmpp_proto::messages::{ChatMessage, Messages};
use xmpp_proto::muc::{
    Affiliation, Departure, History, InvitationKind, Join, JoinError, Muc, MucError, MucEvent,
    MucLimits, Role, StatusCode,
};
use xmpp_proto::presence::Presence;
use xmpp_proto::stanza::BareJid;
use xmpp_proto::testing::attr_after;
use xmpp_proto::{Event, Input, ModuleContext, ReconnectPolicy, WarningKind};

const OWN: &str = "juliet@example.com/balcony";
const ROOM: &str = "coven@chat.example.org";

fn room() -> BareJid {
    ROOM.parse().expect("jid")
}

/// Online with the messages, presence and MUC modules, in `order`.
fn online_with(muc: Muc, muc_first: bool) -> Session {
    let mut s = Session::login_with(config().build(), "", |c| {
        if muc_first {
            c.register(muc).expect("register");
            c.register(Messages::new()).expect("register");
            c.register(Presence::new()).expect("register");
        } else {
            // The catch-all modules first: the MUC module is offered room
            // traffic before them anyway (its routing priority).
            c.register(Messages::new()).expect("register");
            c.register(Presence::new()).expect("register");
            c.register(muc).expect("register");
        }
    });
    s.sent();
    s.events.clear();
    s
}

fn online() -> Session {
    online_with(Muc::new(), false)
}

/// Runs a command of the MUC module.
fn muc<R>(s: &mut Session, f: impl FnOnce(&mut Muc, &mut ModuleContext<'_>) -> R) -> R {
    let now = s.now;
    let r = s.client.with_module(now, f).expect("registered");
    s.drain();
    r
}

fn muc_events(s: &mut Session) -> Vec<MucEvent> {
    s.drain();
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::Muc(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn chats(s: &Session) -> Vec<ChatMessage> {
    s.events
        .iter()
        .filter_map(|e| match e {
            Event::ChatMessage(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn warnings(s: &Session) -> Vec<String> {
    s.events
        .iter()
        .filter_map(|e| match e {
            Event::Warning(w) if w.kind == WarningKind::Module => Some(w.message.clone()),
            _ => None,
        })
        .collect()
}

/// The room's presence for an occupant: `item` attributes and codes.
fn occupant(nick: &str, item: &str, codes: &[u16]) -> String {
    let codes: String = codes
        .iter()
        .map(|c| format!("<status code='{c}'/>"))
        .collect();
    format!(
        "<presence from='{ROOM}/{nick}' to='{OWN}'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item {item}/>{codes}</x></presence>"
    )
}

fn gone(nick: &str, inner: &str) -> String {
    format!(
        "<presence from='{ROOM}/{nick}' to='{OWN}' type='unavailable'>\
         <x xmlns='http://jabber.org/protocol/muc#user'>{inner}</x></presence>"
    )
}

/// Joins ROOM as `thirdwitch` with two occupants present; returns the
/// events of the join.
fn joined(s: &mut Session) -> Vec<MucEvent> {
    muc(s, |m, cx| m.join(cx, Join::new(room(), "thirdwitch"))).expect("sent");
    assert!(s.sent().contains(&format!("to='{ROOM}/thirdwitch'")));
    s.server(&occupant(
        "firstwitch",
        "affiliation='owner' role='moderator' jid='crone1@shakespeare.lit/desktop'",
        &[],
    ));
    s.server(&occupant(
        "secondwitch",
        "affiliation='admin' role='moderator'",
        &[],
    ));
    s.server(&occupant(
        "thirdwitch",
        "affiliation='member' role='participant' jid='juliet@example.com/balcony'",
        &[110],
    ));
    muc_events(s)
}

/// Joined, the (empty) history over: the subject came.
fn in_room(s: &mut Session) {
    joined(s);
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat'><subject/></message>"
    ));
    s.events.clear();
}

#[test]
fn joining_sends_the_muc_presence_and_completes_on_the_self_presence_with_the_occupants() {
    let mut s = online();
    muc(&mut s, |m, cx| {
        m.join(
            cx,
            Join::new(room(), "thirdwitch")
                .password("cauldronburn")
                .history(History::MaxStanzas(2)),
        )
    })
    .expect("sent");
    let sent = s.sent();
    let id = attr_after(&sent, "<presence", "id").expect("id");
    assert_eq!(
        sent,
        format!(
            "<presence to='{ROOM}/thirdwitch' id='{id}'>\
             <x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='2'/>\
             <password>cauldronburn</password></x></presence>"
        )
    );
    let room_state = s.client.module::<Muc>().and_then(|m| m.room(&room()));
    assert!(room_state.is_some_and(|r| r.is_joining() && !r.is_joined()));
    // The room's roster first: nothing to say until our self-presence.
    s.server(&occupant(
        "firstwitch",
        "affiliation='owner' role='moderator' jid='crone1@shakespeare.lit/desktop'",
        &[],
    ));
    s.server(&occupant(
        "secondwitch",
        "affiliation='admin' role='moderator'",
        &[],
    ));
    assert!(muc_events(&mut s).is_empty());
    // The self-presence, under the nick the room gave (210).
    s.server(&occupant(
        "ThirdWitch",
        "affiliation='member' role='participant' jid='juliet@example.com/balcony'",
        &[100, 110, 170, 210],
    ));
    let events = muc_events(&mut s);
    let [MucEvent::Joined {
        room: r,
        nick,
        occupants,
        codes,
        rejoined,
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(
        (r, nick.as_str(), *rejoined),
        (&room(), "ThirdWitch", false)
    );
    assert_eq!(
        codes,
        &[
            StatusCode::JidsVisible,
            StatusCode::SelfPresence,
            StatusCode::Logged,
            StatusCode::NickModified
        ]
    );
    let listed: Vec<_> = occupants
        .iter()
        .map(|o| {
            (
                o.nick.as_str(),
                o.jid.as_ref().map(|j| j.to_string()),
                o.affiliation,
                o.role,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                "ThirdWitch",
                Some(OWN.to_string()),
                Affiliation::Member,
                Role::Participant
            ),
            (
                "firstwitch",
                Some("crone1@shakespeare.lit/desktop".into()),
                Affiliation::Owner,
                Role::Moderator
            ),
            ("secondwitch", None, Affiliation::Admin, Role::Moderator),
        ]
    );
    let m = s.client.module::<Muc>().expect("registered");
    let r = m.room(&room()).expect("room");
    assert!(r.is_joined() && r.in_history());
    assert_eq!(r.nick(), "ThirdWitch");
    assert_eq!(r.me().map(|o| o.role), Some(Role::Participant));
    assert!(warnings(&s).is_empty(), "{:?}", s.events);
}

#[test]
fn history_then_subject_then_live_messages_arrive_told_apart() {
    let mut s = online();
    joined(&mut s);
    // History (§7.2.15): delayed, from the occupants, before the subject.
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='h1'>\
         <body>Thrice the brinded cat hath mew'd.</body>\
         <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='2002-10-13T23:58:37Z'/>\
         <stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='{ROOM}'/></message>"
    ));
    let history = chats(&s);
    assert_eq!(history.len(), 1, "{:?}", s.events);
    assert!(history[0].delay.is_some());
    assert_eq!(history[0].stanza_id.as_deref(), Some("s1"));
    assert!(s
        .client
        .module::<Muc>()
        .and_then(|m| m.room(&room()))
        .is_some_and(|r| r.in_history()));
    s.events.clear();
    // The subject ends the history: a Subject event, not a message.
    s.server(&format!(
        "<message from='{ROOM}/secondwitch' to='{OWN}' type='groupchat' id='subj'>\
         <subject>Fire Burn and Cauldron Bubble!</subject>\
         <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='1610-04-20T00:00:00Z'/></message>"
    ));
    assert!(chats(&s).is_empty(), "the subject is no chat message");
    assert_eq!(
        muc_events(&mut s),
        [MucEvent::Subject {
            room: room(),
            subject: Some("Fire Burn and Cauldron Bubble!".into()),
            by: Some("secondwitch".into()),
            initial: true,
        }]
    );
    let r = s
        .client
        .module::<Muc>()
        .and_then(|m| m.room(&room()))
        .expect("room");
    assert!(!r.in_history());
    assert_eq!(r.subject(), Some("Fire Burn and Cauldron Bubble!"));
    // Live: no delay; a later subject change is not initial.
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='l1'>\
         <body>Harpier cries.</body></message>\
         <message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat'><subject></subject></message>"
    ));
    let live = chats(&s);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].message.body.as_deref(), Some("Harpier cries."));
    assert!(live[0].delay.is_none());
    assert_eq!(
        muc_events(&mut s),
        [MucEvent::Subject {
            room: room(),
            subject: None,
            by: Some("firstwitch".into()),
            initial: false,
        }]
    );
}

#[test]
fn a_refused_join_is_a_typed_error_event_and_the_room_is_forgotten() {
    let mut s = online();
    for (condition, kind, expected) in [
        ("not-authorized", "auth", JoinError::PasswordRequired),
        ("forbidden", "auth", JoinError::Banned),
        ("conflict", "cancel", JoinError::NickConflict),
        ("registration-required", "auth", JoinError::MembersOnly),
        ("item-not-found", "cancel", JoinError::RoomNotFound),
        ("not-allowed", "cancel", JoinError::CreationRestricted),
        ("service-unavailable", "wait", JoinError::Full),
    ] {
        muc(&mut s, |m, cx| m.join(cx, Join::new(room(), "thirdwitch"))).expect("sent");
        s.sent();
        s.server(&format!(
            "<presence from='{ROOM}/thirdwitch' to='{OWN}' type='error'>\
             <x xmlns='http://jabber.org/protocol/muc'/>\
             <error by='{ROOM}' type='{kind}'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>\
             </presence>"
        ));
        let events = muc_events(&mut s);
        let [MucEvent::JoinFailed {
            room: r,
            nick,
            error,
            stanza_error,
        }] = events.as_slice()
        else {
            panic!("{condition}: {events:?}")
        };
        assert_eq!(
            (r, nick.as_str(), *error),
            (&room(), "thirdwitch", expected)
        );
        assert_eq!(error.as_str(), condition);
        assert_eq!(
            stanza_error.as_ref().map(|e| e.condition.name()),
            Some(condition)
        );
        assert!(s
            .client
            .module::<Muc>()
            .and_then(|m| m.room(&room()))
            .is_none());
        assert!(
            !s.events.iter().any(|e| matches!(e, Event::Presence(_))),
            "consumed"
        );
    }
    // No answer at all: a timeout after Muc::join_timeout.
    muc(&mut s, |m, cx| m.join(cx, Join::new(room(), "thirdwitch"))).expect("sent");
    s.advance(Duration::from_secs(59));
    assert!(muc_events(&mut s).is_empty());
    s.advance(Duration::from_secs(1));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::JoinFailed {
            error: JoinError::Timeout,
            stanza_error: None,
            ..
        }]
    ));
    // Refused commands: a bad nick, a room we are not in.
    assert_eq!(
        muc(&mut s, |m, cx| m.join(cx, Join::new(room(), ""))),
        Err(MucError::InvalidNick(String::new()))
    );
    assert_eq!(
        muc(&mut s, |m, cx| m.leave(cx, &room(), None)),
        Err(MucError::NotInRoom(room()))
    );
}

#[test]
fn a_created_room_is_configured_with_the_default_or_a_submitted_form() {
    let mut s = online();
    muc(&mut s, |m, cx| m.join(cx, Join::new(room(), "firstwitch"))).expect("sent");
    s.sent();
    s.server(&occupant(
        "firstwitch",
        "affiliation='owner' role='moderator'",
        &[110, 201],
    ));
    let events = muc_events(&mut s);
    assert!(
        matches!(events.as_slice(), [MucEvent::Joined { codes, .. }] if codes.contains(&StatusCode::Created)),
        "{events:?}"
    );
    // The instant room: an empty submitted form (§10.1.2).
    let id = muc(&mut s, |m, cx| m.accept_default_config(cx, &room())).expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'>\
             <x xmlns='jabber:x:data' type='submit'/></query></iq>"
        )
    );
    s.server(&format!(
        "<iq from='{ROOM}' to='{OWN}' id='{id}' type='result'/>"
    ));
    assert_eq!(
        muc_events(&mut s),
        [MucEvent::Done {
            id,
            room: room(),
            result: Ok(())
        }]
    );
    // Or the form: fetched, filled in, submitted.
    let id = muc(&mut s, |m, cx| m.request_config(cx, &room())).expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='get'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>"
        )
    );
    s.server(&format!(
        "<iq from='{ROOM}' to='{OWN}' id='{id}' type='result'>\
         <query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='form'>\
         <title>Configuration for coven</title>\
         <field type='hidden' var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
         <field label='Room name' type='text-single' var='muc#roomconfig_roomname'><value/></field>\
         <field label='Persistent?' type='boolean' var='muc#roomconfig_persistentroom'><value>0</value></field>\
         </x></query></iq>"
    ));
    let events = muc_events(&mut s);
    let [MucEvent::ConfigForm {
        result: Ok(form), ..
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(form.kind, FormKind::Form);
    assert_eq!(form.title.as_deref(), Some("Configuration for coven"));
    let field = form.field("muc#roomconfig_persistentroom").expect("field");
    assert_eq!(
        (field.kind, field.label.as_deref()),
        (Some(FieldType::Boolean), Some("Persistent?"))
    );
    let mut form = form.clone();
    form.set("muc#roomconfig_roomname", ["A Dark Cave"]);
    form.set("muc#roomconfig_persistentroom", ["1"]);
    let id = muc(&mut s, |m, cx| m.submit_config(cx, &room(), &form)).expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'>\
             <x xmlns='jabber:x:data' type='submit'>\
             <field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
             <field var='muc#roomconfig_roomname'><value>A Dark Cave</value></field>\
             <field var='muc#roomconfig_persistentroom'><value>1</value></field>\
             </x></query></iq>"
        )
    );
    // Not an owner: the failure comes back typed.
    s.server(&format!(
        "<iq from='{ROOM}' to='{OWN}' id='{id}' type='error'><error type='auth'>\
         <forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Done { result: Err(_), .. }]
    ));
}

#[test]
fn occupants_follow_the_rooms_presences_and_nick_changes() {
    let mut s = online();
    in_room(&mut s);
    // Someone enters, changes presence, is given voice (role change).
    s.server(&occupant(
        "hecate",
        "affiliation='none' role='visitor'",
        &[],
    ));
    s.server(&format!(
        "<presence from='{ROOM}/hecate' to='{OWN}'><show>away</show>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='visitor'/></x></presence>"
    ));
    s.server(&format!(
        "<presence from='{ROOM}/hecate' to='{OWN}'><show>away</show>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='visitor'/></x></presence>"
    ));
    s.server(&occupant(
        "hecate",
        "affiliation='none' role='participant'",
        &[],
    ));
    let events = muc_events(&mut s);
    let summary: Vec<_> = events
        .iter()
        .map(|e| match e {
            MucEvent::OccupantJoined { occupant, .. } => format!("joined {:?}", occupant.role),
            MucEvent::OccupantChanged { occupant, .. } => {
                format!("changed {:?} {:?}", occupant.role, occupant.show)
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "joined Visitor",
            "changed Visitor Some(Away)",
            "changed Participant None"
        ],
        "the repeated presence changed nothing and said nothing"
    );
    // A nick change (303): one event, the same occupant under the new nick.
    s.server(&gone(
        "hecate",
        "<item affiliation='none' role='participant' nick='queen'/><status code='303'/>",
    ));
    s.server(&occupant(
        "queen",
        "affiliation='none' role='participant'",
        &[],
    ));
    let events = muc_events(&mut s);
    assert!(
        matches!(events.as_slice(), [MucEvent::NickChanged { old, occupant, own: false, .. }]
            if old == "hecate" && occupant.nick == "queen"),
        "{events:?}"
    );
    let r = s
        .client
        .module::<Muc>()
        .and_then(|m| m.room(&room()))
        .expect("room");
    assert!(r.occupant("hecate").is_none() && r.occupant("queen").is_some());
    // Our own nick change: asked, then the room's 303 with 110.
    muc(&mut s, |m, cx| m.change_nick(cx, &room(), "oldhag")).expect("sent");
    let sent = s.sent();
    let id = attr_after(&sent, "<presence", "id").expect("id");
    assert_eq!(sent, format!("<presence to='{ROOM}/oldhag' id='{id}'/>"));
    s.server(&gone(
        "thirdwitch",
        "<item affiliation='member' role='participant' nick='oldhag'/>\
         <status code='303'/><status code='110'/>",
    ));
    s.server(&occupant(
        "oldhag",
        "affiliation='member' role='participant'",
        &[110],
    ));
    let events = muc_events(&mut s);
    assert!(
        matches!(events.as_slice(), [MucEvent::NickChanged { old, own: true, .. }, ..] if old == "thirdwitch"),
        "{events:?}"
    );
    assert_eq!(
        s.client
            .module::<Muc>()
            .and_then(|m| m.room(&room()))
            .map(|r| r.nick().to_string()),
        Some("oldhag".into())
    );
    // A refused nick change.
    muc(&mut s, |m, cx| m.change_nick(cx, &room(), "firstwitch")).expect("sent");
    s.server(&format!(
        "<presence from='{ROOM}/oldhag' to='{OWN}' type='error'><x xmlns='http://jabber.org/protocol/muc'/>\
         <error by='{ROOM}' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::NickChangeFailed { nick, .. }] if nick == "firstwitch"
    ));
    // Someone leaves with a message.
    s.server(&gone("queen", "<item affiliation='none' role='none'/>"));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::OccupantLeft { occupant, departure: Departure::Left, .. }] if occupant.nick == "queen"
    ));
    // Nothing of this reached the presence module or the application raw.
    assert!(!s
        .events
        .iter()
        .any(|e| matches!(e, Event::Presence(_) | Event::PresenceUpdate(_))));
}

#[test]
fn being_removed_from_a_room_is_always_an_event() {
    let cases: [(&str, &str); 7] = [
        (
            "<item affiliation='none' role='none'><actor nick='Fluellen'/><reason>Avaunt, you cullion!</reason></item>\
             <status code='110'/><status code='307'/>",
            "kicked",
        ),
        (
            "<item affiliation='outcast' role='none'><actor nick='The King'/><reason>Treason</reason></item>\
             <status code='301'/>",
            "banned",
        ),
        (
            "<item affiliation='none' role='none'/><status code='110'/><status code='321'/>",
            "affiliation-changed",
        ),
        (
            "<item affiliation='none' role='none'/><status code='110'/><status code='322'/>",
            "members-only",
        ),
        (
            "<item affiliation='none' role='none'/><status code='110'/><status code='332'/>",
            "shutdown",
        ),
        (
            "<item affiliation='none' role='none'/><status code='110'/><status code='307'/><status code='333'/>",
            "error",
        ),
        (
            "<item affiliation='none' role='none'/>\
             <destroy jid='heath@chat.example.org'><reason>Macbeth doth come.</reason></destroy>",
            "destroyed",
        ),
    ];
    for (inner, name) in cases {
        let mut s = online();
        in_room(&mut s);
        // Others first: their removal is an OccupantLeft with the reason.
        s.server(&gone(
            "firstwitch",
            &inner.replace("<status code='110'/>", ""),
        ));
        let events = muc_events(&mut s);
        assert!(
            matches!(events.as_slice(), [MucEvent::OccupantLeft { departure, .. }] if departure.as_str() == name),
            "{name}: {events:?}"
        );
        // Ours (by our occupant JID, with or without 110).
        s.server(&gone("thirdwitch", inner));
        let events = muc_events(&mut s);
        let [MucEvent::Left {
            room: r,
            nick,
            departure,
        }] = events.as_slice()
        else {
            panic!("{name}: {events:?}")
        };
        assert_eq!(
            (r, nick.as_str(), departure.as_str()),
            (&room(), "thirdwitch", name)
        );
        assert!(departure.is_removal());
        match departure {
            Departure::Kicked(r) => {
                assert_eq!(
                    r.actor.as_ref().and_then(|a| a.nick.as_deref()),
                    Some("Fluellen")
                );
                assert_eq!(r.reason.as_deref(), Some("Avaunt, you cullion!"));
            }
            Departure::Destroyed(d) => {
                assert_eq!(
                    d.alternate.as_ref().map(|j| j.to_string()).as_deref(),
                    Some("heath@chat.example.org")
                );
                assert_eq!(d.reason.as_deref(), Some("Macbeth doth come."));
            }
            _ => {}
        }
        assert!(s
            .client
            .module::<Muc>()
            .and_then(|m| m.room(&room()))
            .is_none());
    }
}

#[test]
fn leaving_sends_the_exit_presence_and_ends_on_the_rooms_answer() {
    let mut s = online();
    in_room(&mut s);
    muc(&mut s, |m, cx| {
        m.leave(cx, &room(), Some("gone where the goblins go".into()))
    })
    .expect("sent");
    let sent = s.sent();
    let id = attr_after(&sent, "<presence", "id").expect("id");
    assert_eq!(
        sent,
        format!(
            "<presence to='{ROOM}/thirdwitch' id='{id}' type='unavailable'>\
             <status>gone where the goblins go</status></presence>"
        )
    );
    assert!(muc_events(&mut s).is_empty(), "until the room answers");
    s.server(&gone(
        "thirdwitch",
        "<item affiliation='member' role='none'/><status code='110'/>",
    ));
    assert_eq!(
        muc_events(&mut s),
        [MucEvent::Left {
            room: room(),
            nick: "thirdwitch".into(),
            departure: Departure::Left
        }]
    );
    // Out: the room's traffic is now a stranger's.
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat'><body>late</body></message>"
    ));
    assert!(chats(&s).is_empty());
    assert_eq!(warnings(&s).len(), 1);
}

#[test]
fn room_traffic_from_a_room_we_are_not_in_is_dropped_with_a_warning_whatever_the_module_order() {
    for muc_first in [true, false] {
        let mut s = online_with(Muc::new(), muc_first);
        in_room(&mut s);
        // The attacker poses as another room, as an occupant of it, and as
        // a bare contact sending "groupchat".
        for from in [
            "lair@chat.evil.example/mallory",
            "lair@chat.evil.example",
            "mallory@evil.example/x",
        ] {
            s.server(&format!(
                "<message from='{from}' to='{OWN}' type='groupchat' id='g1'><body>pwned</body>\
                 <stanza-id xmlns='urn:xmpp:sid:0' id='x' by='lair@chat.evil.example'/></message>"
            ));
            assert!(chats(&s).is_empty(), "{from}: {:?}", s.events);
            assert!(
                !s.events.iter().any(|e| matches!(e, Event::Message(_))),
                "not delivered raw either"
            );
            let w = warnings(&s);
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(w[0].contains("not a room we are in"), "{w:?}");
            s.events.clear();
        }
        // A subject from nowhere: no Subject event.
        s.server(&format!(
            "<message from='lair@chat.evil.example' to='{OWN}' type='groupchat'><subject>owned</subject></message>"
        ));
        assert!(muc_events_and_warnings(&mut s).0.is_empty());
        // An occupant presence of a room we are not in: not an occupant,
        // not a contact's presence either.
        s.server(&format!(
            "<presence from='lair@chat.evil.example/mallory' to='{OWN}'>\
             <x xmlns='http://jabber.org/protocol/muc#user'>\
             <item affiliation='owner' role='moderator' jid='juliet@example.com/balcony'/>\
             <status code='110'/></x></presence>"
        ));
        let (events, w) = muc_events_and_warnings(&mut s);
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(!s
            .events
            .iter()
            .any(|e| matches!(e, Event::Presence(_) | Event::PresenceUpdate(_))));
        assert_eq!(s.client.module::<Muc>().map(|m| m.rooms().count()), Some(1));
        // The real room's traffic still flows.
        s.server(&format!(
            "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='ok'><body>hi</body></message>"
        ));
        assert_eq!(chats(&s).len(), 1);
        assert!(warnings(&s).is_empty());
    }
}

fn muc_events_and_warnings(s: &mut Session) -> (Vec<MucEvent>, Vec<String>) {
    let w = warnings(s);
    (muc_events(s), w)
}

#[test]
fn a_nick_is_never_taken_as_a_real_jid() {
    let mut s = online();
    in_room(&mut s);
    // A semi-anonymous room: no item jid, whatever the nick looks like.
    s.server(&occupant(
        "romeo@montague.lit",
        "affiliation='none' role='participant'",
        &[],
    ));
    s.server(&occupant(
        "juliet@example.com",
        "affiliation='none' role='participant'",
        &[],
    ));
    let events = muc_events(&mut s);
    assert_eq!(events.len(), 2);
    for e in &events {
        let MucEvent::OccupantJoined { occupant, .. } = e else {
            panic!("{e:?}")
        };
        assert_eq!(occupant.jid, None, "{occupant:?}");
    }
    let r = s
        .client
        .module::<Muc>()
        .and_then(|m| m.room(&room()))
        .expect("room");
    assert_eq!(
        r.occupant("romeo@montague.lit").and_then(|o| o.jid.clone()),
        None
    );
    // The room's item is the one source of a real JID.
    s.server(&occupant(
        "benvolio",
        "affiliation='none' role='participant' jid='benvolio@montague.lit/street'",
        &[],
    ));
    let events = muc_events(&mut s);
    assert!(matches!(
        events.as_slice(),
        [MucEvent::OccupantJoined { occupant, .. }]
            if occupant.jid.as_ref().map(|j| j.as_str()) == Some("benvolio@montague.lit/street")
    ));
}

#[test]
fn an_occupants_correction_applies_only_to_a_message_of_the_same_occupant() {
    let mut s = online();
    in_room(&mut s);
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='m1'><body>Thrice</body></message>"
    ));
    s.events.clear();
    // Another occupant claims to correct it: a new message, a warning.
    s.server(&format!(
        "<message from='{ROOM}/secondwitch' to='{OWN}' type='groupchat' id='m2'><body>Never</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    ));
    let c = chats(&s);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].replaces, None);
    assert_eq!(warnings(&s).len(), 1);
    s.events.clear();
    // The room itself (its bare JID) is not that occupant either.
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat' id='m3'><body>Never</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    ));
    assert_eq!(chats(&s)[0].replaces, None);
    s.events.clear();
    // The same occupant: a correction.
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='m4'><body>Thrice!</body>\
         <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>"
    ));
    let c = chats(&s);
    assert_eq!(c[0].replaces.as_deref(), Some("m1"));
    assert!(warnings(&s).is_empty());
}

#[test]
fn private_messages_go_to_an_occupant_and_come_back_as_chat_messages() {
    let mut s = online();
    in_room(&mut s);
    let id = muc(&mut s, |m, cx| {
        m.send_private(cx, &room(), "firstwitch", "I'll give thee a wind.")
    })
    .expect("sent");
    let sent = s.sent();
    assert!(
        sent.starts_with(&format!(
            "<message to='{ROOM}/firstwitch' id='{id}' type='chat'><body>I'll give thee a wind.</body>\
             <x xmlns='http://jabber.org/protocol/muc#user'/>"
        )),
        "{sent}"
    );
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='chat' id='p1'><body>Thou art kind.</body>\
         <x xmlns='http://jabber.org/protocol/muc#user'/></message>"
    ));
    let c = chats(&s);
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].message.from.as_ref().map(|j| j.to_string()).as_deref(),
        Some("coven@chat.example.org/firstwitch")
    );
    // And to everyone: a groupchat message to the room's bare JID.
    let id = muc(&mut s, |m, cx| m.send_message(cx, &room(), "All hail")).expect("sent");
    assert!(s.sent().starts_with(&format!(
        "<message to='{ROOM}' id='{id}' type='groupchat'><body>All hail</body>"
    )));
}

#[test]
fn moderation_and_administration_requests() {
    let mut s = online();
    in_room(&mut s);
    let q = |inner: &str| {
        format!("<query xmlns='http://jabber.org/protocol/muc#admin'>{inner}</query>")
    };
    let id = muc(&mut s, |m, cx| {
        m.kick(cx, &room(), "pistol", Some("Avaunt, you cullion!"))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='set'>{}</iq>",
            q("<item nick='pistol' role='none'><reason>Avaunt, you cullion!</reason></item>")
        )
    );
    s.server(&format!(
        "<iq from='{ROOM}' to='{OWN}' id='{id}' type='result'/>"
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Done { result: Ok(()), .. }]
    ));
    let cambridge: BareJid = "earlofcambridge@shakespeare.lit".parse().expect("jid");
    let id = muc(&mut s, |m, cx| {
        m.ban(cx, &room(), &cambridge, Some("Treason"))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='set'>{}</iq>",
            q("<item affiliation='outcast' jid='earlofcambridge@shakespeare.lit'><reason>Treason</reason></item>")
        )
    );
    for (f, item) in [
        (
            Box::new(|m: &mut Muc, cx: &mut ModuleContext<'_>| {
                m.grant_voice(cx, &room(), "thirdwitch")
            })
                as Box<dyn Fn(&mut Muc, &mut ModuleContext<'_>) -> Result<String, MucError>>,
            "<item nick='thirdwitch' role='participant'/>",
        ),
        (
            Box::new(|m: &mut Muc, cx: &mut ModuleContext<'_>| {
                m.revoke_voice(cx, &room(), "thirdwitch")
            }),
            "<item nick='thirdwitch' role='visitor'/>",
        ),
        (
            Box::new(|m: &mut Muc, cx: &mut ModuleContext<'_>| {
                let hecate: BareJid = "hecate@shakespeare.lit".parse().expect("jid");
                m.set_affiliation(cx, &room(), &hecate, Affiliation::Member, None)
            }),
            "<item affiliation='member' jid='hecate@shakespeare.lit'/>",
        ),
        (
            Box::new(|m: &mut Muc, cx: &mut ModuleContext<'_>| {
                let hecate: BareJid = "hecate@shakespeare.lit".parse().expect("jid");
                m.set_affiliation(cx, &room(), &hecate, Affiliation::Owner, None)
            }),
            "<item affiliation='owner' jid='hecate@shakespeare.lit'/>",
        ),
    ] {
        let id = muc(&mut s, |m, cx| f(m, cx)).expect("sent");
        assert_eq!(
            s.sent(),
            format!("<iq to='{ROOM}' id='{id}' type='set'>{}</iq>", q(item))
        );
    }
    // A list: the ban list comes back as items.
    let id = muc(&mut s, |m, cx| {
        m.request_affiliations(cx, &room(), Affiliation::Outcast)
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='get'>{}</iq>",
            q("<item affiliation='outcast'/>")
        )
    );
    s.server(&format!(
        "<iq from='{ROOM}' to='{OWN}' id='{id}' type='result'>{}</iq>",
        q("<item affiliation='outcast' jid='earlofcambridge@shakespeare.lit'><reason>Treason</reason></item>")
    ));
    let events = muc_events(&mut s);
    let [MucEvent::Items {
        result: Ok(items), ..
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].affiliation, Some(Affiliation::Outcast));
    assert_eq!(items[0].reason.as_deref(), Some("Treason"));
    // Destroy, with an alternate venue.
    let heath: BareJid = "heath@chat.example.org".parse().expect("jid");
    let id = muc(&mut s, |m, cx| {
        m.destroy(cx, &room(), Some("Macbeth doth come."), Some(&heath))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq to='{ROOM}' id='{id}' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'>\
             <destroy jid='heath@chat.example.org'><reason>Macbeth doth come.</reason></destroy></query></iq>"
        )
    );
    // An answer from someone else than the room is not the room's.
    s.server(&format!(
        "<iq from='mallory@evil.example/x' to='{OWN}' id='{id}' type='result'/>"
    ));
    assert!(muc_events(&mut s).is_empty());
}

#[test]
fn invitations_both_ways_mediated_and_direct() {
    let mut s = online();
    in_room(&mut s);
    let hecate = "hecate@shakespeare.lit".parse().expect("jid");
    let id = muc(&mut s, |m, cx| {
        m.invite(cx, &room(), &hecate, Some("the place for all good witches"))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<message to='{ROOM}' id='{id}'><x xmlns='http://jabber.org/protocol/muc#user'>\
             <invite to='hecate@shakespeare.lit'><reason>the place for all good witches</reason></invite></x>\
             <origin-id xmlns='urn:xmpp:sid:0' id='{id}'/></message>"
        )
    );
    let id = muc(&mut s, |m, cx| {
        m.invite_direct(cx, &room(), &hecate, Some("come"))
    })
    .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<message to='hecate@shakespeare.lit' id='{id}'>\
             <x xmlns='jabber:x:conference' jid='{ROOM}' reason='come'/>\
             <origin-id xmlns='urn:xmpp:sid:0' id='{id}'/></message>"
        )
    );
    // Someone declines through the room.
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <decline from='hecate@shakespeare.lit'><reason>Too busy</reason></decline></x></message>"
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Declined { reason: Some(r), .. }] if r == "Too busy"
    ));
    // Received: a mediated one (from the room) and a direct one.
    s.server(
        "<message from='darkcave@chat.example.org' to='juliet@example.com/balcony' id='i1'>\
         <x xmlns='http://jabber.org/protocol/muc#user'>\
         <invite from='crone1@shakespeare.lit/desktop'><reason>Hey</reason></invite>\
         <password>cauldronburn</password></x></message>\
         <message from='crone1@shakespeare.lit/desktop' to='juliet@example.com/balcony' id='i2'>\
         <x xmlns='jabber:x:conference' jid='heath@chat.example.org' password='p' reason='Come'/></message>",
    );
    let events = muc_events(&mut s);
    let kinds: Vec<_> = events
        .iter()
        .map(|e| match e {
            MucEvent::Invited(i) => (
                i.room.to_string(),
                i.kind,
                i.from.as_ref().map(|j| j.to_string()),
                i.password.clone(),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "darkcave@chat.example.org".to_string(),
                InvitationKind::Mediated,
                Some("crone1@shakespeare.lit/desktop".to_string()),
                Some("cauldronburn".to_string())
            ),
            (
                "heath@chat.example.org".into(),
                InvitationKind::Direct,
                Some("crone1@shakespeare.lit/desktop".into()),
                Some("p".into())
            ),
        ]
    );
    assert!(chats(&s).is_empty(), "invitations are not chat messages");
    // The same room again, or a room we are in: not presented twice.
    s.server(&format!(
        "<message from='crone1@shakespeare.lit/desktop' to='{OWN}'><x xmlns='jabber:x:conference' jid='heath@chat.example.org'/></message>\
         <message from='crone1@shakespeare.lit/desktop' to='{OWN}'><x xmlns='jabber:x:conference' jid='{ROOM}'/></message>"
    ));
    assert!(muc_events(&mut s).is_empty());
    assert_eq!(
        s.client.module::<Muc>().map(|m| m.invitations().count()),
        Some(2)
    );
    // Declining the mediated one goes through the room to the inviter.
    let darkcave: BareJid = "darkcave@chat.example.org".parse().expect("jid");
    muc(&mut s, |m, cx| m.decline(cx, &darkcave, Some("Sorry"))).expect("sent");
    let sent = s.sent();
    assert!(
        sent.starts_with(
            "<message to='darkcave@chat.example.org' id='"
        ) && sent.contains(
            "<x xmlns='http://jabber.org/protocol/muc#user'><decline to='crone1@shakespeare.lit/desktop'>\
             <reason>Sorry</reason></decline></x>"
        ),
        "{sent}"
    );
    // Accepting the direct one joins with its password.
    let heath: BareJid = "heath@chat.example.org".parse().expect("jid");
    muc(&mut s, |m, cx| m.accept(cx, &heath, "thirdwitch")).expect("sent");
    assert!(s.sent().contains("<password>p</password>"));
    assert_eq!(
        s.client.module::<Muc>().map(|m| m.invitations().count()),
        Some(0)
    );
    assert_eq!(
        muc(&mut s, |m, cx| m.decline(cx, &heath, None)),
        Err(MucError::NoInvitation(heath))
    );
}

#[test]
fn a_mediated_invitation_is_believed_only_from_a_rooms_bare_jid() {
    let mut s = online();
    // A full JID is no room: dropped with a warning.
    s.server(&format!(
        "<message from='mallory@evil.example/x' to='{OWN}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <invite from='romeo@montague.lit'/></x></message>\
         <message from='mallory@evil.example/x' to='{OWN}'><x xmlns='jabber:x:conference' jid='lair@chat.evil.example/x'/></message>"
    ));
    let (events, w) = muc_events_and_warnings(&mut s);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(
        s.client.module::<Muc>().map(|m| m.invitations().count()),
        Some(0)
    );
}

#[test]
fn everything_a_peer_can_grow_is_bounded() {
    let limits = MucLimits {
        rooms: 2,
        occupants: 3,
        invitations: 2,
        ..MucLimits::default()
    };
    let mut s = online_with(Muc::new().with_limits(limits), false);
    in_room(&mut s); // 3 occupants: the limit
    s.server(&occupant(
        "hecate",
        "affiliation='none' role='participant'",
        &[],
    ));
    let (events, w) = muc_events_and_warnings(&mut s);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("MucLimits::occupants"));
    // Known occupants still update.
    s.server(&occupant(
        "firstwitch",
        "affiliation='owner' role='participant'",
        &[],
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::OccupantChanged { .. }]
    ));
    // Rooms.
    let other: BareJid = "heath@chat.example.org".parse().expect("jid");
    muc(&mut s, |m, cx| m.join(cx, Join::new(other, "w"))).expect("sent");
    let third: BareJid = "lair@chat.example.org".parse().expect("jid");
    assert_eq!(
        muc(&mut s, |m, cx| m.join(cx, Join::new(third, "w"))),
        Err(MucError::TooManyRooms { limit: 2 })
    );
    // Invitations.
    for n in 0..5 {
        s.server(&format!(
            "<message from='crone1@shakespeare.lit/desktop' to='{OWN}'>\
             <x xmlns='jabber:x:conference' jid='room{n}@chat.example.org'/></message>"
        ));
    }
    let (events, w) = muc_events_and_warnings(&mut s);
    assert_eq!(events.len(), 2);
    assert_eq!(w.len(), 3);
    assert_eq!(
        s.client.module::<Muc>().map(|m| m.invitations().count()),
        Some(2)
    );
}

/// The transport drops and a new session logs in (no resumption).
fn reconnect(s: &mut Session) {
    s.client.handle_input(Input::TransportClosed(s.now));
    s.drain();
    let delay = s.deadline.expect("reconnect timer") - s.now;
    s.advance(delay);
    s.close_transport = false;
    s.start_tls.clear();
    s.client
        .handle_input(Input::Connected(s.now, Security::StartTls));
    s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, session::PASSWORD);
    s.scram(&mut scram);
    // The same resource again: the rooms' stanzas keep their address.
    s.bind("balcony");
}

#[test]
fn after_a_new_session_the_rooms_are_rejoined_with_history_since_the_last_message_seen() {
    let policy = ReconnectPolicy::new().backoff(Duration::from_secs(2), Duration::from_secs(2), 1);
    let mut s = Session::login_with(config().reconnect(policy).build(), "", |c| {
        c.register(Messages::new()).expect("register");
        c.register(Muc::new()).expect("register");
    });
    s.sent();
    s.events.clear();
    joined(&mut s);
    let msg = |n: u32, stamp: Option<&str>| {
        let delay = stamp
            .map(|st| format!("<delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='{st}'/>"))
            .unwrap_or_default();
        format!(
            "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='m{n}'><body>{n}</body>\
             {delay}<stanza-id xmlns='urn:xmpp:sid:0' id='s{n}' by='{ROOM}'/></message>"
        )
    };
    // History 1-2 (stamped by the room), subject, live 3-4.
    s.server(&msg(1, Some("2024-01-01T10:00:00Z")));
    s.server(&msg(2, Some("2024-01-01T10:01:00Z")));
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat'><subject/></message>"
    ));
    s.server(&msg(3, None));
    s.server(&msg(4, None));
    assert_eq!(chats(&s).len(), 4);
    s.events.clear();

    reconnect(&mut s);
    let sent = s.sent();
    let id = attr_after(
        &sent[sent.find("<presence").expect("rejoin")..],
        "<presence",
        "id",
    )
    .expect("id");
    assert!(
        sent.contains(&format!(
            "<presence to='{ROOM}/thirdwitch' id='{id}'><x xmlns='http://jabber.org/protocol/muc'>\
             <history maxstanzas='50' since='2024-01-01T10:01:00Z'/></x></presence>"
        )),
        "{sent}"
    );
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::Reconnected { .. })));
    s.events.clear();
    s.server(&occupant(
        "firstwitch",
        "affiliation='owner' role='moderator'",
        &[],
    ));
    s.server(&occupant(
        "thirdwitch",
        "affiliation='member' role='participant'",
        &[110],
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Joined { rejoined: true, occupants, .. }] if occupants.len() == 2
    ));
    // The room replays from message 2: 2-4 were seen, 5-6 were missed.
    for n in 2..=6 {
        s.server(&msg(n, Some(&format!("2024-01-01T10:0{n}:00Z"))));
    }
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat'><subject/></message>"
    ));
    let bodies: Vec<_> = chats(&s)
        .iter()
        .map(|c| {
            (
                c.message.body.clone().unwrap_or_default(),
                c.delay.is_some(),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        [("5".to_string(), true), ("6".to_string(), true)],
        "replays up to the last seen are dropped; the missed ones arrive as history"
    );
    s.events.clear();
    // Live again: nothing dropped any more, even an id seen before.
    s.server(&msg(3, None));
    assert_eq!(chats(&s).len(), 1);
}

#[test]
fn a_room_being_left_when_the_connection_drops_is_left_not_rejoined() {
    let policy = ReconnectPolicy::new().backoff(Duration::from_secs(2), Duration::from_secs(2), 1);
    let mut s = Session::login_with(config().reconnect(policy).build(), "", |c| {
        c.register(Muc::new()).expect("register");
    });
    s.sent();
    s.events.clear();
    joined(&mut s);
    muc(&mut s, |m, cx| m.leave(cx, &room(), None)).expect("sent");
    s.sent();
    reconnect(&mut s);
    assert!(
        !s.sent().contains("http://jabber.org/protocol/muc"),
        "no rejoin"
    );
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Left {
            departure: Departure::Left,
            ..
        }]
    ));
    assert_eq!(s.client.module::<Muc>().map(|m| m.rooms().count()), Some(0));
}

#[test]
fn the_module_advertises_muc_and_direct_invitations() {
    let s = online();
    let features = s.client.disco_features();
    assert!(features.contains(&"http://jabber.org/protocol/muc"));
    assert!(features.contains(&"jabber:x:conference"));
}

#[test]
fn a_delay_an_occupant_forged_does_not_steer_the_next_rejoin() {
    let policy = ReconnectPolicy::new().backoff(Duration::from_secs(2), Duration::from_secs(2), 1);
    let mut s = Session::login_with(config().reconnect(policy).build(), "", |c| {
        c.register(Messages::new()).expect("register");
        c.register(Muc::new()).expect("register");
    });
    s.sent();
    joined(&mut s);
    // History: the occupant's own delay (claiming the room, far in the
    // future) comes first, the room's own stamp last.
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='h1'><body>old</body>\
         <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='2099-01-01T00:00:00Z'/>\
         <delay xmlns='urn:xmpp:delay' from='mallory@evil.example' stamp='2098-01-01T00:00:00Z'/>\
         <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='2024-01-01T10:00:00Z'/></message>"
    ));
    s.server(&format!(
        "<message from='{ROOM}' to='{OWN}' type='groupchat'><subject/></message>"
    ));
    // Live, with a forged delay claiming the room: not history, not used.
    s.server(&format!(
        "<message from='{ROOM}/firstwitch' to='{OWN}' type='groupchat' id='l1'><body>now</body>\
         <delay xmlns='urn:xmpp:delay' from='{ROOM}' stamp='2099-06-01T00:00:00Z'/></message>"
    ));
    assert_eq!(chats(&s).len(), 2);
    reconnect(&mut s);
    let sent = s.sent();
    assert!(
        sent.contains("<history maxstanzas='50' since='2024-01-01T10:00:00Z'/>"),
        "{sent}"
    );
}

#[test]
fn a_leave_the_room_never_answers_or_refuses_still_ends_in_left() {
    let mut s = online();
    in_room(&mut s);
    muc(&mut s, |m, cx| m.leave(cx, &room(), None)).expect("sent");
    s.advance(Duration::from_secs(59));
    assert!(muc_events(&mut s).is_empty());
    s.advance(Duration::from_secs(1));
    assert_eq!(
        muc_events(&mut s),
        [MucEvent::Left {
            room: room(),
            nick: "thirdwitch".into(),
            departure: Departure::Left
        }]
    );
    // Left while the join was pending, then refused: out, once.
    muc(&mut s, |m, cx| m.join(cx, Join::new(room(), "thirdwitch"))).expect("sent");
    muc(&mut s, |m, cx| m.leave(cx, &room(), None)).expect("sent");
    s.server(&format!(
        "<presence from='{ROOM}/thirdwitch' to='{OWN}' type='error'><x xmlns='http://jabber.org/protocol/muc'/>\
         <error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"
    ));
    assert!(matches!(
        muc_events(&mut s).as_slice(),
        [MucEvent::Left {
            departure: Departure::Left,
            ..
        }]
    ));
    assert_eq!(s.client.module::<Muc>().map(|m| m.rooms().count()), Some(0));
    s.advance(Duration::from_secs(120));
    assert!(muc_events(&mut s).is_empty(), "no second word");
}
