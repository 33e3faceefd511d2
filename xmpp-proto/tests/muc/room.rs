//! Joining (history, refusals, a created room), occupants, removals and leaving.

use super::*;

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
    assert!(s.module_warnings().is_empty(), "{:?}", s.events);
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
    let history = s.chat_messages();
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
    assert!(
        s.chat_messages().is_empty(),
        "the subject is no chat message"
    );
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
    let live = s.chat_messages();
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
    assert!(s.chat_messages().is_empty());
    assert_eq!(s.module_warnings().len(), 1);
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
